import Foundation

// MARK: - AST

/// Unary operators of the landscape expression language.
public enum UnaryOperator: String, Sendable, Hashable, CaseIterable {
    /// Arithmetic negation `-a`.
    case negate = "-"
    /// Logical negation `!a`: 1 when `a == 0`, else 0.
    case not = "!"
}

/// Binary operators of the landscape expression language.
public enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
    case power = "^"
    case less = "<"
    case lessEqual = "<="
    case greater = ">"
    case greaterEqual = ">="
    case equal = "=="
    case notEqual = "!="
    case and = "&&"
    case or = "||"

    /// True for `< <= > >= == !=`.
    public var isComparison: Bool {
        switch self {
        case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual: return true
        default: return false
        }
    }

    /// True for operators whose result is always 0 or 1 (comparisons, `&&`, `||`).
    public var isBoolean: Bool { isComparison || self == .and || self == .or }
}

/// Built-in functions. `sign` is not needed by users but is produced by `abs'` and is parseable so that
/// every printed expression re-parses.
public enum ExpressionFunction: String, Sendable, Hashable, CaseIterable {
    case exp, log, sqrt, sin, cos, tanh, abs, sign, min, max
    case `if`

    public var arity: Int {
        switch self {
        case .min, .max: return 2
        case .if: return 3
        default: return 1
        }
    }

    public var name: String { rawValue }
}

/// A parsed scalar expression over coordinates `variable(0) … variable(d-1)`.
///
/// Semantics (shared bit-for-bit by `evaluate(at:)` and `CompiledProgram`, see `ExpressionMath`):
/// booleans are 1.0 / 0.0; a value is "true" when it is `!= 0` (so NaN counts as true, as in C);
/// `min(a,b) = a < b ? a : b`, `max(a,b) = a > b ? a : b`; `if(c,a,b) = c != 0 ? a : b` (both branches
/// are evaluated); `a^b` with an integral `b`, `|b| <= 64`, is computed by binary exponentiation
/// (repeated squaring, `1/x^|n|` for negative `n`) so negative bases work and the compiled program can
/// reproduce it exactly; any other `a^b` is Foundation's `pow`.
public indirect enum Expression: Sendable, Hashable, CustomStringConvertible {
    case constant(Double)
    case variable(Int)
    case unary(UnaryOperator, Expression)
    case binary(BinaryOperator, Expression, Expression)
    case call(ExpressionFunction, [Expression])

    /// The set of coordinate indices the expression reads.
    public var usesVariables: Set<Int> {
        var result = Set<Int>()
        collectVariables(into: &result)
        return result
    }

    private func collectVariables(into set: inout Set<Int>) {
        switch self {
        case .constant: break
        case .variable(let i): set.insert(i)
        case .unary(_, let a): a.collectVariables(into: &set)
        case .binary(_, let a, let b):
            a.collectVariables(into: &set)
            b.collectVariables(into: &set)
        case .call(_, let args):
            for a in args { a.collectVariables(into: &set) }
        }
    }

    /// True when the expression reads variable `index`.
    public func uses(variable index: Int) -> Bool {
        switch self {
        case .constant: return false
        case .variable(let i): return i == index
        case .unary(_, let a): return a.uses(variable: index)
        case .binary(_, let a, let b): return a.uses(variable: index) || b.uses(variable: index)
        case .call(_, let args): return args.contains { $0.uses(variable: index) }
        }
    }

    /// The constant value, when the node is a literal constant.
    public var constantValue: Double? {
        if case .constant(let c) = self { return c }
        return nil
    }

    /// Slow, recursive reference evaluator (tests, setup code). `point[i]` is coordinate `i`.
    public func evaluate(at point: [Double]) -> Double {
        switch self {
        case .constant(let c): return c
        case .variable(let i): return point[i]
        case .unary(let op, let a):
            let x = a.evaluate(at: point)
            switch op {
            case .negate: return -x
            case .not: return ExpressionMath.not(x)
            }
        case .binary(let op, let a, let b):
            return ExpressionMath.binary(op, a.evaluate(at: point), b.evaluate(at: point))
        case .call(let f, let args):
            switch f {
            case .min: return ExpressionMath.min(args[0].evaluate(at: point), args[1].evaluate(at: point))
            case .max: return ExpressionMath.max(args[0].evaluate(at: point), args[1].evaluate(at: point))
            case .if:
                let c = args[0].evaluate(at: point)
                let a = args[1].evaluate(at: point)
                let b = args[2].evaluate(at: point)
                return ExpressionMath.select(c, a, b)
            default:
                return ExpressionMath.unaryFunction(f, args[0].evaluate(at: point))
            }
        }
    }

    // MARK: Printing

    /// Default variable naming used by `description`: `x, y, z` when only indices 0...2 occur,
    /// otherwise `x1 … xN` (1-based). This matches `ExpressionParser.inferVariables`, so
    /// `parse(e.description, variables: inferVariables(e.description))` reproduces the indices.
    public static func defaultVariableNames(count: Int) -> [String] {
        if count <= 3 { return Array(["x", "y", "z"].prefix(count)) }
        return (1...count).map { "x\($0)" }
    }

    public var description: String {
        let maxIndex = usesVariables.max() ?? -1
        return formatted(variables: Expression.defaultVariableNames(count: maxIndex + 1))
    }

    /// Re-parseable text using the given variable names (index = coordinate). Indices without a
    /// name are printed as `v<index>`.
    public func formatted(variables: [String]) -> String {
        var out = ""
        write(to: &out, minPrecedence: 0, names: variables)
        return out
    }

    // Precedence levels (higher binds tighter).
    static let precOr = 1, precAnd = 2, precNot = 3, precCompare = 4, precAdd = 5, precMul = 6
    static let precUnary = 7, precPow = 8, precPrimary = 9

    private var precedence: Int {
        switch self {
        case .constant(let c):
            // NaN and infinities print as parenthesised quotients; negative numbers as unary minus.
            return c.isFinite && c.sign == .minus ? Expression.precUnary : Expression.precPrimary
        case .variable, .call: return Expression.precPrimary
        case .unary(let op, _): return op == .negate ? Expression.precUnary : Expression.precNot
        case .binary(let op, _, _):
            switch op {
            case .or: return Expression.precOr
            case .and: return Expression.precAnd
            case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual: return Expression.precCompare
            case .add, .subtract: return Expression.precAdd
            case .multiply, .divide: return Expression.precMul
            case .power: return Expression.precPow
            }
        }
    }

    static func formatNumber(_ c: Double) -> String {
        if c.isNaN { return "(0/0)" }
        if c.isInfinite { return c < 0 ? "(-1/0)" : "(1/0)" }
        if c == 0 { return c.sign == .minus ? "-0.0" : "0" }
        if c == c.rounded(), Swift.abs(c) < 1e15 { return String(Int64(c)) }
        return "\(c)"
    }

    private func write(to out: inout String, minPrecedence: Int, names: [String]) {
        let prec = precedence
        let paren = prec < minPrecedence
        if paren { out += "(" }
        defer { if paren { out += ")" } }
        switch self {
        case .constant(let c):
            out += Expression.formatNumber(c)
        case .variable(let i):
            out += i >= 0 && i < names.count ? names[i] : "v\(i)"
        case .unary(let op, let a):
            out += op.rawValue
            let needsParen: Bool
            switch a {
            case .unary(.negate, _): needsParen = op == .negate
            case .constant(let c): needsParen = c.isFinite && c.sign == .minus
            default: needsParen = false
            }
            if needsParen {
                out += "("
                a.write(to: &out, minPrecedence: 0, names: names)
                out += ")"
            } else {
                a.write(to: &out, minPrecedence: op == .negate ? Expression.precUnary : Expression.precNot, names: names)
            }
        case .binary(let op, let a, let b):
            let (lp, rp): (Int, Int)
            switch op {
            case .power: (lp, rp) = (Expression.precPrimary, Expression.precUnary)
            // Chained comparisons are rejected by the parser, so both sides of a comparison are arithmetic.
            case _ where op.isComparison: (lp, rp) = (Expression.precAdd, Expression.precAdd)
            default: (lp, rp) = (prec, prec + 1)
            }
            a.write(to: &out, minPrecedence: lp, names: names)
            switch op {
            case .multiply, .divide, .power: out += op.rawValue
            default: out += " \(op.rawValue) "
            }
            b.write(to: &out, minPrecedence: rp, names: names)
        case .call(let f, let args):
            out += f.name
            out += "("
            for (k, a) in args.enumerated() {
                if k > 0 { out += ", " }
                a.write(to: &out, minPrecedence: 0, names: names)
            }
            out += ")"
        }
    }
}

// MARK: - Shared scalar semantics

/// The definition of every operation's floating-point semantics, used by the reference evaluator
/// and by the compiler's constant folding. The compiled program's block evaluator
/// (`sgd_program_evaluate`, CKernels/program_eval.c: four lanes per AVX2 vector) performs the
/// same operations in C, one for one (−ffp-contract=off; the same C library for exp, log, sin,
/// cos, tanh and pow); the expression tests compare the two bit for bit, special values included.
enum ExpressionMath {
    @inline(__always) static func bool(_ b: Bool) -> Double { b ? 1.0 : 0.0 }
    @inline(__always) static func not(_ x: Double) -> Double { x == 0 ? 1.0 : 0.0 }
    @inline(__always) static func and(_ a: Double, _ b: Double) -> Double { (a != 0) && (b != 0) ? 1.0 : 0.0 }
    @inline(__always) static func or(_ a: Double, _ b: Double) -> Double { (a != 0) || (b != 0) ? 1.0 : 0.0 }
    @inline(__always) static func min(_ a: Double, _ b: Double) -> Double { a < b ? a : b }
    @inline(__always) static func max(_ a: Double, _ b: Double) -> Double { a > b ? a : b }
    @inline(__always) static func select(_ c: Double, _ a: Double, _ b: Double) -> Double { c != 0 ? a : b }
    /// -1, 0 or +1 (0 for ±0 and NaN).
    @inline(__always) static func sign(_ x: Double) -> Double { (x > 0 ? 1.0 : 0.0) - (x < 0 ? 1.0 : 0.0) }
    @inline(__always) static func square(_ x: Double) -> Double { x * x }
    @inline(__always) static func cube(_ x: Double) -> Double { x * (x * x) }

    /// Largest |n| for which `x^n` uses binary exponentiation.
    static let maxIntegerPower = 64

    /// Binary exponentiation; the multiplication order is reproduced exactly by `CompiledProgram`'s
    /// square/mul expansion: result = product of base^(2^k) over set bits, low bits first.
    @inline(__always) static func powi(_ x: Double, _ n: Int) -> Double {
        var m = n.magnitude
        var base = x
        var result = 1.0
        while m > 0 {
            if m & 1 == 1 { result *= base }
            m >>= 1
            if m > 0 { base *= base }
        }
        return n < 0 ? 1.0 / result : result
    }

    /// The exponent as a small integer when `x^b` should use `powi`.
    @inline(__always) static func integerExponent(_ b: Double) -> Int? {
        if b == b.rounded(.towardZero), Swift.abs(b) <= Double(maxIntegerPower) { return Int(b) }
        return nil
    }

    @inline(__always) static func pow(_ a: Double, _ b: Double) -> Double {
        if let n = integerExponent(b) { return powi(a, n) }
        return Foundation.pow(a, b)
    }

    static func binary(_ op: BinaryOperator, _ a: Double, _ b: Double) -> Double {
        switch op {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        case .power: return pow(a, b)
        case .less: return bool(a < b)
        case .lessEqual: return bool(a <= b)
        case .greater: return bool(a > b)
        case .greaterEqual: return bool(a >= b)
        case .equal: return bool(a == b)
        case .notEqual: return bool(a != b)
        case .and: return and(a, b)
        case .or: return or(a, b)
        }
    }

    static func unaryFunction(_ f: ExpressionFunction, _ x: Double) -> Double {
        switch f {
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .tanh: return Foundation.tanh(x)
        case .abs: return Swift.abs(x)
        case .sign: return sign(x)
        case .min, .max, .if: preconditionFailure("not a unary function")
        }
    }
}
