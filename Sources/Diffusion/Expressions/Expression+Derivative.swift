import Foundation

// MARK: - Symbolic differentiation

extension Expression {
    /// Exact symbolic partial derivative with respect to coordinate `variable`, simplified.
    ///
    /// Conventions: `abs'(u) = sign(u)·u'` (0 at 0); `min(a,b)' = if(a <= b, a', b')`,
    /// `max(a,b)' = if(a >= b, a', b')`; `if(c,a,b)' = if(c, a', b')`; comparisons, `&&`, `||`, `!`
    /// and `sign` have derivative 0; `u^v` with `v` independent of the variable gives `v·u^(v-1)·u'`
    /// (integer powers stay powers, so negative bases work), otherwise `u^v·(v'·log u + v·u'/u)`.
    ///
    /// The result is built with simplifying constructors (the rules of `simplified()`), but subtrees
    /// copied from `self` (e.g. the `u` in `cos(u)·u'`) are kept exactly as written, so that a compiled
    /// potential-plus-gradient program shares them and they round exactly like the potential does.
    public func derivative(withRespectTo variable: Int) -> Expression {
        rawDerivative(variable)
    }

    /// All partial derivatives `[∂/∂x0, …, ∂/∂x(dimension-1)]`.
    public func gradient(dimension: Int) -> [Expression] {
        (0..<dimension).map { derivative(withRespectTo: $0) }
    }

    private func rawDerivative(_ v: Int) -> Expression {
        typealias E = Expression
        switch self {
        case .constant:
            return .constant(0)
        case .variable(let i):
            return .constant(i == v ? 1 : 0)
        case .unary(let op, let a):
            switch op {
            case .negate: return E.neg(a.rawDerivative(v))
            case .not: return .constant(0)
            }
        case .binary(let op, let a, let b):
            switch op {
            case .add: return E.add(a.rawDerivative(v), b.rawDerivative(v))
            case .subtract: return E.sub(a.rawDerivative(v), b.rawDerivative(v))
            case .multiply:
                return E.add(E.mul(a.rawDerivative(v), b), E.mul(a, b.rawDerivative(v)))
            case .divide:
                let da = a.rawDerivative(v)
                if !b.uses(variable: v) { return E.div(da, b) }
                let db = b.rawDerivative(v)
                return E.div(E.sub(E.mul(da, b), E.mul(a, db)), E.pow(b, .constant(2)))
            case .power:
                let da = a.rawDerivative(v)
                if !b.uses(variable: v) {
                    // v·u^(v-1)·u'
                    return E.mul(E.mul(b, E.pow(a, E.sub(b, .constant(1)))), da)
                }
                let db = b.rawDerivative(v)
                // u^v·(v'·log u + v·u'/u)
                return E.mul(self, E.add(E.mul(db, .call(.log, [a])), E.div(E.mul(b, da), a)))
            case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual, .and, .or:
                return .constant(0)
            }
        case .call(let f, let args):
            switch f {
            case .min:
                return Simplifier.call(.if, [.binary(.lessEqual, args[0], args[1]), args[0].rawDerivative(v), args[1].rawDerivative(v)])
            case .max:
                return Simplifier.call(.if, [.binary(.greaterEqual, args[0], args[1]), args[0].rawDerivative(v), args[1].rawDerivative(v)])
            case .if:
                return Simplifier.call(.if, [args[0], args[1].rawDerivative(v), args[2].rawDerivative(v)])
            case .sign:
                return .constant(0)
            default:
                let u = args[0]
                let du = u.rawDerivative(v)
                let outer: Expression
                switch f {
                case .exp: outer = self
                case .log: return E.div(du, u)
                case .sqrt: return E.div(du, E.mul(.constant(2), self))
                case .sin: outer = .call(.cos, [u])
                case .cos: outer = E.neg(.call(.sin, [u]))
                case .tanh: outer = E.sub(.constant(1), E.pow(self, .constant(2)))
                case .abs: outer = .call(.sign, [u])
                case .sign, .min, .max, .if: preconditionFailure()
                }
                return E.mul(outer, du)
            }
        }
    }

    // Simplifying constructors: they simplify the node being built, never the operands' insides.
    static func add(_ a: Expression, _ b: Expression) -> Expression { Simplifier.binary(.add, a, b) }
    static func sub(_ a: Expression, _ b: Expression) -> Expression { Simplifier.binary(.subtract, a, b) }
    static func mul(_ a: Expression, _ b: Expression) -> Expression { Simplifier.binary(.multiply, a, b) }
    static func div(_ a: Expression, _ b: Expression) -> Expression { Simplifier.binary(.divide, a, b) }
    static func pow(_ a: Expression, _ b: Expression) -> Expression { Simplifier.binary(.power, a, b) }
    static func neg(_ a: Expression) -> Expression { Simplifier.unary(.negate, a) }
}

// MARK: - Simplification

extension Expression {
    /// Algebraic simplification: constant folding (with the evaluator's exact semantics), `x+0`, `x-0`,
    /// `0-x → -x`, `x*1`, `x*0 → 0`, `0/x → 0`, `x/1`, `x^1`, `x^0 → 1`, `--x`, constants moved to the left
    /// of products and merged (`2*(3*x) → 6*x`), `(c1*x)/c2 → (c1/c2)*x` when `c1/c2` is exact,
    /// `x - x → 0`, `if` with constant or identical branches, `min(a,a)`, `max(a,a)`.
    ///
    /// Note: rules such as `x*0 → 0` and `x - x → 0` are algebraic identities that do not hold for
    /// infinities/NaN; simplified and unsimplified expressions agree for finite values only.
    public func simplified() -> Expression {
        switch self {
        case .constant, .variable:
            return self
        case .unary(let op, let a):
            return Simplifier.unary(op, a.simplified())
        case .binary(let op, let a, let b):
            return Simplifier.binary(op, a.simplified(), b.simplified())
        case .call(let f, let args):
            return Simplifier.call(f, args.map { $0.simplified() })
        }
    }
}

enum Simplifier {
    static func isConstant(_ e: Expression, _ value: Double) -> Bool {
        if case .constant(let c) = e { return c == value }
        return false
    }

    /// `c/d` when it is exactly representable (checked with an FMA residual).
    static func exactQuotient(_ c: Double, _ d: Double) -> Double? {
        let q = c / d
        guard q.isFinite, d != 0, (-c).addingProduct(q, d) == 0 else { return nil }
        return q
    }

    /// True when the expression always evaluates to exactly 0 or 1.
    static func isBoolean(_ e: Expression) -> Bool {
        switch e {
        case .unary(.not, _): return true
        case .binary(let op, _, _): return op.isBoolean
        default: return false
        }
    }

    static func unary(_ op: UnaryOperator, _ a: Expression) -> Expression {
        if case .constant(let c) = a {
            return .constant(op == .negate ? -c : ExpressionMath.not(c))
        }
        if op == .negate {
            switch a {
            case .unary(.negate, let inner): return inner
            case .binary(.subtract, let x, let y): return .binary(.subtract, y, x)
            case .binary(.multiply, .constant(let c), let x): return .binary(.multiply, .constant(-c), x)
            default: break
            }
        }
        return .unary(op, a)
    }

    static func binary(_ op: BinaryOperator, _ a: Expression, _ b: Expression) -> Expression {
        if case .constant(let x) = a, case .constant(let y) = b {
            return .constant(ExpressionMath.binary(op, x, y))
        }
        switch op {
        case .add:
            if isConstant(a, 0) { return b }
            if isConstant(b, 0) { return a }
            if case .unary(.negate, let nb) = b { return binary(.subtract, a, nb) }
            if case .unary(.negate, let na) = a { return binary(.subtract, b, na) }
            if case .constant(let c) = b, c < 0 { return .binary(.subtract, a, .constant(-c)) }
            return .binary(.add, a, b)
        case .subtract:
            if isConstant(b, 0) { return a }
            if isConstant(a, 0) { return unary(.negate, b) }
            if a == b { return .constant(0) }
            if case .unary(.negate, let nb) = b { return binary(.add, a, nb) }
            if case .constant(let c) = b, c < 0 { return .binary(.add, a, .constant(-c)) }
            return .binary(.subtract, a, b)
        case .multiply:
            if isConstant(a, 0) || isConstant(b, 0) { return .constant(0) }
            if isConstant(a, 1) { return b }
            if isConstant(b, 1) { return a }
            if isConstant(a, -1) { return unary(.negate, b) }
            if isConstant(b, -1) { return unary(.negate, a) }
            // Constants to the left.
            if case .constant = b { return binary(.multiply, b, a) }
            if case .constant(let c1) = a {
                switch b {
                case .binary(.multiply, .constant(let c2), let x):
                    return binary(.multiply, .constant(c1 * c2), x)
                case .unary(.negate, let x):
                    return binary(.multiply, .constant(-c1), x)
                default: break
                }
            }
            if case .unary(.negate, let na) = a, case .unary(.negate, let nb) = b { return binary(.multiply, na, nb) }
            if case .unary(.negate, let na) = a { return unary(.negate, binary(.multiply, na, b)) }
            if case .unary(.negate, let nb) = b { return unary(.negate, binary(.multiply, a, nb)) }
            // Pull constants out of the right factor: x*(c*y) → c*(x*y).
            if case .binary(.multiply, .constant(let c), let y) = b {
                return binary(.multiply, .constant(c), binary(.multiply, a, y))
            }
            if case .binary(.multiply, .constant(let c), let x) = a {
                return binary(.multiply, .constant(c), binary(.multiply, x, b))
            }
            return .binary(.multiply, a, b)
        case .divide:
            if isConstant(a, 0) { return .constant(0) }
            if isConstant(b, 1) { return a }
            if isConstant(b, -1) { return unary(.negate, a) }
            if case .constant(let d) = b, case .binary(.multiply, .constant(let c), let x) = a,
               let q = exactQuotient(c, d) {
                return binary(.multiply, .constant(q), x)
            }
            if case .binary(.multiply, .constant(let d), let v) = b {
                if case .binary(.multiply, .constant(let c), let u) = a, let q = exactQuotient(c, d) {
                    return binary(.divide, binary(.multiply, .constant(q), u), v)
                }
                if case .constant(let c) = a, let q = exactQuotient(c, d) {
                    return binary(.divide, .constant(q), v)
                }
            }
            if case .unary(.negate, let na) = a { return unary(.negate, binary(.divide, na, b)) }
            return .binary(.divide, a, b)
        case .power:
            if isConstant(b, 1) { return a }
            if isConstant(b, 0) { return .constant(1) }
            if isConstant(a, 1) { return .constant(1) }
            return .binary(.power, a, b)
        case .and:
            if isConstant(a, 0) || isConstant(b, 0) { return .constant(0) }
            return .binary(.and, a, b)
        case .or:
            if case .constant(let c) = a, c != 0 { return .constant(1) }
            if case .constant(let c) = b, c != 0 { return .constant(1) }
            return .binary(.or, a, b)
        case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual:
            return .binary(op, a, b)
        }
    }

    static func call(_ f: ExpressionFunction, _ args: [Expression]) -> Expression {
        if args.allSatisfy({ $0.constantValue != nil }) {
            return .constant(Expression.call(f, args).evaluate(at: []))
        }
        switch f {
        case .if:
            if case .constant(let c) = args[0] { return c != 0 ? args[1] : args[2] }
            if args[1] == args[2] { return args[1] }
            if isBoolean(args[0]) {
                if isConstant(args[1], 1) && isConstant(args[2], 0) { return args[0] }
                if isConstant(args[1], 0) && isConstant(args[2], 1) { return .unary(.not, args[0]) }
            }
        case .min, .max:
            if args[0] == args[1] { return args[0] }
        case .abs:
            if case .unary(.negate, let inner) = args[0] { return call(.abs, [inner]) }
        default: break
        }
        return .call(f, args)
    }
}
