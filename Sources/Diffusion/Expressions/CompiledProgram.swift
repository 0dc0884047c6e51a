import Foundation
internal import CKernels

/// Where an instruction reads or writes a row of `count` doubles (rows are `stride` apart).
public enum Slot: Sendable, Hashable, CustomStringConvertible {
    /// Coordinate row `j` of the caller's `inputs` (read-only).
    case input(Int)
    /// Row `r` of the caller's workspace.
    case register(Int)
    /// Row `k` of the caller's `outputs`.
    case output(Int)

    public var description: String {
        switch self {
        case .input(let j): return "in\(j)"
        case .register(let r): return "r\(r)"
        case .output(let k): return "out\(k)"
        }
    }
}

/// One vector instruction. The first slot is always the destination; every instruction runs one
/// tight loop over `count` contiguous elements. Immediates are `Double` (or `Int` for `powInt`).
public enum Instruction: Sendable, Hashable {
    case loadConst(Slot, Double)
    case copy(Slot, Slot)
    case add(Slot, Slot, Slot)
    case sub(Slot, Slot, Slot)
    case mul(Slot, Slot, Slot)
    case div(Slot, Slot, Slot)
    case neg(Slot, Slot)
    /// d = a * c
    case mulConst(Slot, Slot, Double)
    /// d = a + c  (also used for `a - c` as `a + (-c)`, which is the same IEEE operation)
    case addConst(Slot, Slot, Double)
    /// d = c - a
    case constSubtract(Slot, Double, Slot)
    /// d = c / a
    case divConstBy(Slot, Double, Slot)
    /// d = a / c  (kept as a division; turned into `mulConst(1/c)` only when `c` is a power of two)
    case divByConst(Slot, Slot, Double)
    /// d = a * a
    case square(Slot, Slot)
    /// d = a * (a * a)
    case cube(Slot, Slot)
    /// d = a^n by binary exponentiation (`ExpressionMath.powi`)
    case powInt(Slot, Slot, Int)
    /// d = a^b (`ExpressionMath.pow`)
    case powReal(Slot, Slot, Slot)
    case exp(Slot, Slot)
    case log(Slot, Slot)
    case sqrt(Slot, Slot)
    case sin(Slot, Slot)
    case cos(Slot, Slot)
    case tanh(Slot, Slot)
    case abs(Slot, Slot)
    case sign(Slot, Slot)
    case min(Slot, Slot, Slot)
    case max(Slot, Slot, Slot)
    /// d = cond != 0 ? a : b
    case select(Slot, Slot, Slot, Slot)
    case lt(Slot, Slot, Slot)
    case le(Slot, Slot, Slot)
    case gt(Slot, Slot, Slot)
    case ge(Slot, Slot, Slot)
    case eq(Slot, Slot, Slot)
    case ne(Slot, Slot, Slot)
    case and(Slot, Slot, Slot)
    case or(Slot, Slot, Slot)
    case not(Slot, Slot)
}

/// A register program evaluating several expressions at many points at once (structure of arrays).
///
/// Exactness: the compiler only applies transformations that are bit-for-bit identical to
/// `Expression.evaluate(at:)` (both use `ExpressionMath`): constant folding with the same operations,
/// `x*1 → x`, `x-0 → x`, `--x → x`, `x - c → x + (-c)`, `c*x → mulConst`, `x/c → mulConst(1/c)` only when
/// `c` is a power of two (otherwise a true division), integer powers `|n| <= 16` expanded into the exact
/// square/multiply sequence `ExpressionMath.powi` performs, and hash-consed common subexpressions. It does
/// not call `simplified()` (whose rules, e.g. `x*0 → 0`, are not IEEE-exact). The block evaluator is C
/// (`sgd_program_evaluate`, compiled with −ffp-contract=off: no `a*b + c` is contracted into an
/// FMA; AVX2 where the CPU has it, the same bits on every instruction set), so compiled results
/// equal the reference evaluator exactly.
///
/// The program is an immutable value; evaluate it concurrently from any number of threads, each with
/// its own workspace. `inputs`, `outputs` and `workspace` must not overlap.
public struct CompiledProgram: Sendable {
    public let dimension: Int
    public let outputCount: Int
    /// Workspace rows needed; `evaluate(count:…)` needs `registerCount * stride` doubles of workspace.
    public let registerCount: Int
    /// The flat instruction list (first slot = destination).
    public let instructions: [Instruction]
    /// The same, encoded for the C block evaluator.
    let encoded: EncodedProgram

    /// Compiles several outputs into one register program with common-subexpression elimination.
    /// Every variable index used must be `< dimension`.
    public init(outputs: [Expression], dimension: Int) {
        precondition(dimension >= 0)
        var builder = ProgramBuilder(dimension: dimension)
        let values = outputs.map { builder.compile($0) }
        let lowered = builder.lower(outputs: values)
        self.dimension = dimension
        self.outputCount = outputs.count
        self.registerCount = lowered.registerCount
        self.instructions = lowered.instructions
        self.encoded = EncodedProgram(lowered.instructions)
    }

    /// Human-readable listing, one instruction per line.
    public var disassembly: String {
        instructions.map { "\($0)" }.joined(separator: "\n")
    }

    /// Evaluates all outputs for `count` points laid out structure-of-arrays: coordinate `j` of point
    /// `i` is `inputs[j*stride + i]`; output `k` of point `i` is written to `outputs[k*stride + i]`.
    /// `workspace` must hold `registerCount*stride` doubles. Does not allocate.
    public func evaluate(count: Int, stride: Int, inputs: UnsafePointer<Double>,
                         outputs: UnsafeMutablePointer<Double>, workspace: UnsafeMutablePointer<Double>) {
        evaluate(count: count, stride: stride, inputs: inputs, outputs: outputs, workspace: workspace,
                 instructionSet: KernelInstructionSet.blocks)
    }

    /// As `evaluate(count:…)`, on a chosen instruction set (≤ `KernelInstructionSet.best`;
    /// the tests compare them).
    func evaluate(count: Int, stride: Int, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>,
                  workspace: UnsafeMutablePointer<Double>, instructionSet: Int) {
        precondition(stride >= count, "stride must be >= count")
        guard count > 0 else { return }
        sgd_program_evaluate(encoded.code, encoded.count, count, stride, inputs, outputs, workspace, instructionSet)
    }

    /// The block evaluator as a view that calling retains nothing (for hot loops whose owner
    /// holds this program).
    var kernel: ProgramKernel {
        ProgramKernel(code: UnsafePointer(encoded.code), length: encoded.count, instructionSet: KernelInstructionSet.blocks)
    }

    /// Convenience for one point (allocates; not for hot loops).
    public func evaluate(at point: [Double]) -> [Double] {
        precondition(point.count >= dimension, "point has fewer coordinates than the program's dimension")
        var result = [Double](repeating: 0, count: outputCount)
        var workspace = [Double](repeating: 0, count: Swift.max(registerCount, 1))
        point.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { out in
                workspace.withUnsafeMutableBufferPointer { ws in
                    // A dummy input row when dimension == 0 and the array is empty.
                    let dummy = 0.0
                    withUnsafePointer(to: dummy) { d in
                        evaluate(count: 1, stride: 1, inputs: input.baseAddress ?? d,
                                 outputs: out.baseAddress ?? UnsafeMutablePointer(mutating: d),
                                 workspace: ws.baseAddress!)
                    }
                }
            }
        }
        return result
    }
}

// MARK: - Execution

/// A compiled program's block evaluator as a trivially copyable view (the encoded code and
/// the instruction set), for hot loops: calling it retains nothing. Valid while the program
/// it came from (`CompiledProgram.kernel`) lives; its owner keeps that program.
struct ProgramKernel {
    let code: UnsafePointer<sgd_program_instruction>
    let length: Int
    let instructionSet: Int

    /// `CompiledProgram.evaluate(count:stride:inputs:outputs:workspace:)`.
    @inline(__always)
    func evaluate(count: Int, stride: Int, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>,
                  workspace: UnsafeMutablePointer<Double>) {
        guard count > 0 else { return }
        sgd_program_evaluate(code, length, count, stride, inputs, outputs, workspace, instructionSet)
    }
}

/// The instructions encoded for the C block evaluator (`sgd_program_evaluate`,
/// CKernels/program_eval.c), allocated once per program.
final class EncodedProgram: @unchecked Sendable {
    let code: UnsafeMutablePointer<sgd_program_instruction>
    let count: Int

    init(_ instructions: [Instruction]) {
        let encoded = EncodedProgram.foldConstantComparisons(instructions.map(EncodedProgram.encode))
        count = encoded.count
        code = .allocate(capacity: Swift.max(count, 1))
        for (k, instruction) in encoded.enumerated() { (code + k).initialize(to: instruction) }
    }

    /// A comparison with a constant operand reads the constant as an immediate: `loadConst r, c`
    /// followed by a comparison of x with register r, where no later instruction reads r before
    /// writing it, becomes the one comparison with b = −1 and imm = c (mirrored when the
    /// constant is on the left: c < x is x > c, c ≤ x is x ≥ c, the same truth for every x,
    /// NaN included). One pass over the block fewer (`x > 0` is one pass, not two); the same
    /// results.
    static func foldConstantComparisons(_ code: [sgd_program_instruction]) -> [sgd_program_instruction] {
        let comparisons: Set<Int64> = [Int64(SGD_OP_LT), Int64(SGD_OP_LE), Int64(SGD_OP_GT), Int64(SGD_OP_GE),
                                       Int64(SGD_OP_EQ), Int64(SGD_OP_NE)]
        let mirrored: [Int64: Int64] = [Int64(SGD_OP_LT): Int64(SGD_OP_GT), Int64(SGD_OP_GT): Int64(SGD_OP_LT),
                                        Int64(SGD_OP_LE): Int64(SGD_OP_GE), Int64(SGD_OP_GE): Int64(SGD_OP_LE),
                                        Int64(SGD_OP_EQ): Int64(SGD_OP_EQ), Int64(SGD_OP_NE): Int64(SGD_OP_NE)]
        func deadAfter(_ r: Int64, from k: Int) -> Bool {
            for next in code[k...] {
                if next.a == r || next.b == r || next.c == r { return false }
                if next.d == r { return true }
            }
            return true
        }
        var out: [sgd_program_instruction] = []
        var k = 0
        while k < code.count {
            let load = code[k]
            if load.op == Int64(SGD_OP_LOAD_CONST), load.d >> 32 == 1, k + 1 < code.count,
               comparisons.contains(code[k + 1].op), code[k + 1].a != code[k + 1].b, deadAfter(load.d, from: k + 2) {
                var compare = code[k + 1]
                if compare.b == load.d {
                    compare.b = -1; compare.imm = load.imm
                    out.append(compare); k += 2; continue
                }
                if compare.a == load.d {
                    compare.a = compare.b; compare.b = -1; compare.imm = load.imm; compare.op = mirrored[compare.op]!
                    out.append(compare); k += 2; continue
                }
            }
            out.append(load)
            k += 1
        }
        return out
    }

    deinit { code.deallocate() }

    /// kind·2³² + row: kind 0 inputs, 1 workspace, 2 outputs (program_eval.h); −1 unused.
    static func slot(_ s: Slot?) -> Int64 {
        switch s {
        case .input(let j): return Int64(j)
        case .register(let r): return 1 << 32 | Int64(r)
        case .output(let k): return 2 << 32 | Int64(k)
        case nil: return -1
        }
    }

    static func encode(_ instruction: Instruction) -> sgd_program_instruction {
        func op(_ code: Int, _ d: Slot, _ a: Slot? = nil, _ b: Slot? = nil, _ c: Slot? = nil,
                immediate: Double = 0, n: Int = 0) -> sgd_program_instruction {
            sgd_program_instruction(op: Int64(code), n: Int64(n), d: slot(d), a: slot(a), b: slot(b), c: slot(c), imm: immediate)
        }
        switch instruction {
        case .loadConst(let d, let c): return op(SGD_OP_LOAD_CONST, d, immediate: c)
        case .copy(let d, let a): return op(SGD_OP_COPY, d, a)
        case .add(let d, let a, let b): return op(SGD_OP_ADD, d, a, b)
        case .sub(let d, let a, let b): return op(SGD_OP_SUB, d, a, b)
        case .mul(let d, let a, let b): return op(SGD_OP_MUL, d, a, b)
        case .div(let d, let a, let b): return op(SGD_OP_DIV, d, a, b)
        case .neg(let d, let a): return op(SGD_OP_NEG, d, a)
        case .mulConst(let d, let a, let c): return op(SGD_OP_MUL_CONST, d, a, immediate: c)
        case .addConst(let d, let a, let c): return op(SGD_OP_ADD_CONST, d, a, immediate: c)
        case .constSubtract(let d, let c, let a): return op(SGD_OP_CONST_SUBTRACT, d, a, immediate: c)
        case .divConstBy(let d, let c, let a): return op(SGD_OP_DIV_CONST_BY, d, a, immediate: c)
        case .divByConst(let d, let a, let c): return op(SGD_OP_DIV_BY_CONST, d, a, immediate: c)
        case .square(let d, let a): return op(SGD_OP_SQUARE, d, a)
        case .cube(let d, let a): return op(SGD_OP_CUBE, d, a)
        case .powInt(let d, let a, let n): return op(SGD_OP_POW_INT, d, a, n: n)
        case .powReal(let d, let a, let b): return op(SGD_OP_POW_REAL, d, a, b)
        case .exp(let d, let a): return op(SGD_OP_EXP, d, a)
        case .log(let d, let a): return op(SGD_OP_LOG, d, a)
        case .sqrt(let d, let a): return op(SGD_OP_SQRT, d, a)
        case .sin(let d, let a): return op(SGD_OP_SIN, d, a)
        case .cos(let d, let a): return op(SGD_OP_COS, d, a)
        case .tanh(let d, let a): return op(SGD_OP_TANH, d, a)
        case .abs(let d, let a): return op(SGD_OP_ABS, d, a)
        case .sign(let d, let a): return op(SGD_OP_SIGN, d, a)
        case .min(let d, let a, let b): return op(SGD_OP_MIN, d, a, b)
        case .max(let d, let a, let b): return op(SGD_OP_MAX, d, a, b)
        case .select(let d, let c, let a, let b): return op(SGD_OP_SELECT, d, c, a, b)
        case .lt(let d, let a, let b): return op(SGD_OP_LT, d, a, b)
        case .le(let d, let a, let b): return op(SGD_OP_LE, d, a, b)
        case .gt(let d, let a, let b): return op(SGD_OP_GT, d, a, b)
        case .ge(let d, let a, let b): return op(SGD_OP_GE, d, a, b)
        case .eq(let d, let a, let b): return op(SGD_OP_EQ, d, a, b)
        case .ne(let d, let a, let b): return op(SGD_OP_NE, d, a, b)
        case .and(let d, let a, let b): return op(SGD_OP_AND, d, a, b)
        case .or(let d, let a, let b): return op(SGD_OP_OR, d, a, b)
        case .not(let d, let a): return op(SGD_OP_NOT, d, a)
        }
    }
}

// MARK: - Compiler

/// SSA operation codes (one per instruction kind).
private enum OpCode: UInt8, Hashable {
    case loadConst, add, sub, mul, div, neg, mulConst, addConst, constSubtract, divConstBy, divByConst
    case square, cube, powInt, powReal, exp, log, sqrt, sin, cos, tanh, abs, sign, min, max, select
    case lt, le, gt, ge, eq, ne, and, or, not

    var isCommutative: Bool {
        switch self {
        case .add, .mul, .eq, .ne, .and, .or: return true
        default: return false
        }
    }
}

/// An SSA node. Operands are refs: `>= 0` node index, `< 0` input `-(ref+1)`, `none` unused.
private struct IRNode: Hashable {
    var op: OpCode
    var a: Int
    var b: Int
    var c: Int
    /// Bit pattern of the immediate (bit patterns make the hash-consing distinguish 0.0 and -0.0).
    var immediate: UInt64
    var n: Int

    static let none = Int.min

    var operands: [Int] { [a, b, c].filter { $0 != IRNode.none } }
    var immediateValue: Double { Double(bitPattern: immediate) }
}

private enum Value {
    case constant(Double)
    case ref(Int)
}

private struct ProgramBuilder {
    let dimension: Int
    var nodes: [IRNode] = []
    var table: [IRNode: Int] = [:]

    init(dimension: Int) { self.dimension = dimension }

    static let none = IRNode.none
    static let expandedPowerLimit = 16

    mutating func emit(_ op: OpCode, _ a: Int, _ b: Int = none, _ c: Int = none,
                       immediate: Double = 0, n: Int = 0) -> Int {
        var node = IRNode(op: op, a: a, b: b, c: c, immediate: immediate.bitPattern, n: n)
        if op.isCommutative, node.b < node.a { swap(&node.a, &node.b) }
        if let existing = table[node] { return existing }
        nodes.append(node)
        table[node] = nodes.count - 1
        return nodes.count - 1
    }

    mutating func materialize(_ v: Value) -> Int {
        switch v {
        case .ref(let r): return r
        case .constant(let c): return emit(.loadConst, ProgramBuilder.none, immediate: c)
        }
    }

    func isNode(_ r: Int, _ op: OpCode) -> IRNode? {
        guard r >= 0, nodes[r].op == op else { return nil }
        return nodes[r]
    }

    mutating func compile(_ e: Expression) -> Value {
        switch e {
        case .constant(let c):
            return .constant(c)
        case .variable(let j):
            precondition(j >= 0 && j < dimension, "variable index \(j) out of range for dimension \(dimension)")
            return .ref(-(j + 1))
        case .unary(let op, let a):
            let va = compile(a)
            if case .constant(let c) = va { return .constant(op == .negate ? -c : ExpressionMath.not(c)) }
            let ra = materialize(va)
            if op == .negate {
                if let inner = isNode(ra, .neg) { return .ref(inner.a) }  // -(-x) == x exactly
                return .ref(emit(.neg, ra))
            }
            return .ref(emit(.not, ra))
        case .binary(let op, let a, let b):
            return binary(op, compile(a), compile(b))
        case .call(let f, let args):
            let values = args.map { compile($0) }
            return call(f, values)
        }
    }

    mutating func binary(_ op: BinaryOperator, _ va: Value, _ vb: Value) -> Value {
        if case .constant(let x) = va, case .constant(let y) = vb {
            return .constant(ExpressionMath.binary(op, x, y))
        }
        switch op {
        case .add:
            if case .constant(let c) = vb { return addConstant(materialize(va), c) }
            if case .constant(let c) = va { return addConstant(materialize(vb), c) }
            return .ref(emit(.add, materialize(va), materialize(vb)))
        case .subtract:
            if case .constant(let c) = vb {
                if c == 0 && c.sign == .plus { return va }  // x - (+0) == x exactly
                return addConstant(materialize(va), -c)    // x - c == x + (-c) exactly
            }
            if case .constant(let c) = va { return .ref(emit(.constSubtract, materialize(vb), immediate: c)) }
            return .ref(emit(.sub, materialize(va), materialize(vb)))
        case .multiply:
            if case .constant(let c) = vb { return mulConstant(materialize(va), c) }
            if case .constant(let c) = va { return mulConstant(materialize(vb), c) }
            let ra = materialize(va), rb = materialize(vb)
            if ra == rb { return .ref(emit(.square, ra)) }  // x*x is exactly square(x)
            return .ref(emit(.mul, ra, rb))
        case .divide:
            if case .constant(let c) = vb {
                let ra = materialize(va)
                if c == 1 { return .ref(ra) }
                if Self.hasExactReciprocal(c) { return .ref(emit(.mulConst, ra, immediate: 1 / c)) }
                return .ref(emit(.divByConst, ra, immediate: c))
            }
            if case .constant(let c) = va { return .ref(emit(.divConstBy, materialize(vb), immediate: c)) }
            return .ref(emit(.div, materialize(va), materialize(vb)))
        case .power:
            if case .constant(let c) = vb, let n = ExpressionMath.integerExponent(c) {
                return integerPower(materialize(va), n)
            }
            return .ref(emit(.powReal, materialize(va), materialize(vb)))
        case .and:
            if case .constant(let c) = va, c == 0 { return .constant(0) }
            if case .constant(let c) = vb, c == 0 { return .constant(0) }
            return .ref(emit(.and, materialize(va), materialize(vb)))
        case .or:
            if case .constant(let c) = va, c != 0 { return .constant(1) }
            if case .constant(let c) = vb, c != 0 { return .constant(1) }
            return .ref(emit(.or, materialize(va), materialize(vb)))
        case .less: return .ref(emit(.lt, materialize(va), materialize(vb)))
        case .lessEqual: return .ref(emit(.le, materialize(va), materialize(vb)))
        case .greater: return .ref(emit(.gt, materialize(va), materialize(vb)))
        case .greaterEqual: return .ref(emit(.ge, materialize(va), materialize(vb)))
        case .equal: return .ref(emit(.eq, materialize(va), materialize(vb)))
        case .notEqual: return .ref(emit(.ne, materialize(va), materialize(vb)))
        }
    }

    /// `1/c` is exact (and `x/c == x*(1/c)` for every x) iff c is a power of two whose reciprocal
    /// is a normal number.
    static func hasExactReciprocal(_ c: Double) -> Bool {
        c.isNormal && c.significandBitPattern == 0 && (1 / c).isNormal
    }

    mutating func addConstant(_ r: Int, _ c: Double) -> Value {
        if c == 0 && c.sign == .minus { return .ref(r) }  // x + (-0) == x exactly
        return .ref(emit(.addConst, r, immediate: c))
    }

    mutating func mulConstant(_ r: Int, _ c: Double) -> Value {
        if c == 1 { return .ref(r) }
        if c == -1 { return .ref(emit(.neg, r)) }  // (-1)*x == -x exactly
        return .ref(emit(.mulConst, r, immediate: c))
    }

    /// Reproduces `ExpressionMath.powi`'s multiplication order exactly.
    mutating func integerPower(_ r: Int, _ n: Int) -> Value {
        if n == 0 { return .constant(1) }
        let m = n.magnitude
        let positive: Int
        if m == 1 {
            positive = r
        } else if m == 2 {
            positive = emit(.square, r)
        } else if m == 3 {
            positive = emit(.cube, r)  // x * (x*x), the order powi uses
        } else if m <= UInt(ProgramBuilder.expandedPowerLimit) {
            var k = m
            var base = r
            var result: Int?
            while k > 0 {
                if k & 1 == 1 { result = result.map { emit(.mul, $0, base) } ?? base }
                k >>= 1
                if k > 0 { base = emit(.square, base) }
            }
            positive = result!
        } else {
            return .ref(emit(.powInt, r, n: n))
        }
        return n < 0 ? .ref(emit(.divConstBy, positive, immediate: 1)) : .ref(positive)
    }

    mutating func call(_ f: ExpressionFunction, _ values: [Value]) -> Value {
        let constants = values.compactMap { v -> Double? in if case .constant(let c) = v { return c } else { return nil } }
        if constants.count == values.count {
            return .constant(Expression.call(f, constants.map { .constant($0) }).evaluate(at: []))
        }
        switch f {
        case .if:
            if case .constant(let c) = values[0] { return ExpressionMath.select(c, 1, 0) != 0 ? values[1] : values[2] }
            let ra = materialize(values[1]), rb = materialize(values[2])
            if ra == rb { return .ref(ra) }
            return .ref(emit(.select, materialize(values[0]), ra, rb))
        case .min: return .ref(emit(.min, materialize(values[0]), materialize(values[1])))
        case .max: return .ref(emit(.max, materialize(values[0]), materialize(values[1])))
        default:
            let op: OpCode
            switch f {
            case .exp: op = .exp
            case .log: op = .log
            case .sqrt: op = .sqrt
            case .sin: op = .sin
            case .cos: op = .cos
            case .tanh: op = .tanh
            case .abs: op = .abs
            case .sign: op = .sign
            case .min, .max, .if: preconditionFailure()
            }
            return .ref(emit(op, materialize(values[0])))
        }
    }

    // MARK: Lowering: dead-code elimination, register allocation, output placement

    func lower(outputs: [Value]) -> (instructions: [Instruction], registerCount: Int) {
        let count = nodes.count
        // Liveness.
        var live = [Bool](repeating: false, count: count)
        for v in outputs { if case .ref(let r) = v, r >= 0 { live[r] = true } }
        for i in stride(from: count - 1, through: 0, by: -1) where live[i] {
            for o in nodes[i].operands where o >= 0 { live[o] = true }
        }
        var lastUse = [Int](repeating: -1, count: count)
        for i in 0..<count where live[i] {
            for o in nodes[i].operands where o >= 0 { lastUse[o] = i }
        }
        // Output placement: the first output that is node i is computed straight into that output row.
        var outputSlotOf = [Int: Int]()
        for (k, v) in outputs.enumerated() {
            if case .ref(let r) = v, r >= 0, outputSlotOf[r] == nil { outputSlotOf[r] = k }
        }
        var slots = [Slot?](repeating: nil, count: count)
        var free: [Int] = []  // kept sorted descending so popLast() returns the lowest register
        var registerCount = 0
        var code: [Instruction] = []
        func slot(_ ref: Int) -> Slot { ref < 0 ? .input(-ref - 1) : slots[ref]! }
        for i in 0..<count where live[i] {
            let node = nodes[i]
            // Allocate the destination before freeing operands, so a destination never aliases one of
            // its own operands (keeps every loop free of in-place updates, which vectorise better).
            let dst: Slot
            if let k = outputSlotOf[i] {
                dst = .output(k)
            } else if let r = free.popLast() {
                dst = .register(r)
            } else {
                dst = .register(registerCount)
                registerCount += 1
            }
            slots[i] = dst
            code.append(ProgramBuilder.instruction(node, dst, slot))
            for o in Set(node.operands) where o >= 0 && lastUse[o] == i {
                if case .register(let r) = slots[o]! {
                    free.append(r)
                }
            }
            free.sort(by: >)
        }
        for (k, v) in outputs.enumerated() {
            switch v {
            case .constant(let c): code.append(.loadConst(.output(k), c))
            case .ref(let r):
                let s = slot(r)
                if s != .output(k) { code.append(.copy(.output(k), s)) }
            }
        }
        return (code, registerCount)
    }

    static func instruction(_ node: IRNode, _ d: Slot, _ slot: (Int) -> Slot) -> Instruction {
        let c = node.immediateValue
        switch node.op {
        case .loadConst: return .loadConst(d, c)
        case .add: return .add(d, slot(node.a), slot(node.b))
        case .sub: return .sub(d, slot(node.a), slot(node.b))
        case .mul: return .mul(d, slot(node.a), slot(node.b))
        case .div: return .div(d, slot(node.a), slot(node.b))
        case .neg: return .neg(d, slot(node.a))
        case .mulConst: return .mulConst(d, slot(node.a), c)
        case .addConst: return .addConst(d, slot(node.a), c)
        case .constSubtract: return .constSubtract(d, c, slot(node.a))
        case .divConstBy: return .divConstBy(d, c, slot(node.a))
        case .divByConst: return .divByConst(d, slot(node.a), c)
        case .square: return .square(d, slot(node.a))
        case .cube: return .cube(d, slot(node.a))
        case .powInt: return .powInt(d, slot(node.a), node.n)
        case .powReal: return .powReal(d, slot(node.a), slot(node.b))
        case .exp: return .exp(d, slot(node.a))
        case .log: return .log(d, slot(node.a))
        case .sqrt: return .sqrt(d, slot(node.a))
        case .sin: return .sin(d, slot(node.a))
        case .cos: return .cos(d, slot(node.a))
        case .tanh: return .tanh(d, slot(node.a))
        case .abs: return .abs(d, slot(node.a))
        case .sign: return .sign(d, slot(node.a))
        case .min: return .min(d, slot(node.a), slot(node.b))
        case .max: return .max(d, slot(node.a), slot(node.b))
        case .select: return .select(d, slot(node.a), slot(node.b), slot(node.c))
        case .lt: return .lt(d, slot(node.a), slot(node.b))
        case .le: return .le(d, slot(node.a), slot(node.b))
        case .gt: return .gt(d, slot(node.a), slot(node.b))
        case .ge: return .ge(d, slot(node.a), slot(node.b))
        case .eq: return .eq(d, slot(node.a), slot(node.b))
        case .ne: return .ne(d, slot(node.a), slot(node.b))
        case .and: return .and(d, slot(node.a), slot(node.b))
        case .or: return .or(d, slot(node.a), slot(node.b))
        case .not: return .not(d, slot(node.a))
        }
    }
}
