/// A loss landscape `L(θ)` with exact value, gradient and Hessian.
///
/// Two kinds: an expression (`x^4/4 - x^2/2`), differentiated symbolically and compiled
/// to a vectorised register program, or a finite sum `L = (1/n) Σ ℓᵢ` whose per-sample
/// gradients let discrete SGD sample real minibatches (docs/THEORY.md §0).
public struct Landscape: Sendable {
    public let dimension: Int
    public let variables: [String]
    /// The potential as an expression; `nil` for finite sums.
    public let potential: Expression?
    public let finiteSum: (any FiniteSum)?
    /// The finite sum when it computes batch gradients in one pass, and when it computes a
    /// block's gradients with the chains in lanes (cast once here, not per block step).
    let batchedSum: (any BatchedFiniteSum)?
    let laneSum: (any LaneBatchedFiniteSum)?
    /// Critical points known in closed form (built-ins); empty when not known.
    public let criticalPoints: [CriticalPoint]
    /// Human-readable description, e.g. the expression text or the built-in and parameters.
    public let summary: String
    /// Named constants of an expression landscape (`[landscape.constants]`, one value per
    /// cell): every expression parsed on the landscape may use them (`parse(_:)`).
    public private(set) var constants: [String: Double]

    /// The same landscape with named constants added for the expressions read on it (a
    /// built-in's numeric parameters: `exit.when = "x > -0.5*barrier"`, a noise covariance
    /// `"h_sharp"`). Names that are variables are left out.
    public func adding(constants more: [String: Double]) -> Landscape {
        var copy = self
        for (name, value) in more where !variables.contains(name) { copy.constants[name] = value }
        return copy
    }

    let valueProgram: CompiledProgram?
    let gradientProgram: CompiledProgram?
    /// Row-major d×d outputs.
    let hessianProgram: CompiledProgram?

    /// Parses `text` with the given variables (inferred as x, y, z or x1…xn when nil) and
    /// named constants (each name stands for its value, here and in every expression read
    /// on this landscape: exit conditions, noise covariances, reaction coordinates).
    public init(expression text: String, variables: [String]? = nil, constants: [String: Double] = [:],
                criticalPoints: [CriticalPoint] = [], summary: String? = nil) throws(ExpressionError) {
        let names: [String]
        if let variables { names = variables } else { names = try ExpressionParser.inferVariables(text, constants: constants) }
        if let clash = names.first(where: { constants[$0] != nil }) {
            throw ExpressionError(message: "'\(clash)' is both a variable and a constant", column: 1)
        }
        let expression = try ExpressionParser.parse(text, variables: names, constants: constants)
        self.constants = constants
        let d = names.count
        self.dimension = d
        self.variables = names
        self.potential = expression
        self.finiteSum = nil
        batchedSum = nil
        laneSum = nil
        self.criticalPoints = criticalPoints
        self.summary = summary ?? text
        let gradient = (0..<d).map { expression.derivative(withRespectTo: $0) }
        var hessian: [Expression] = []
        for i in 0..<d { for j in 0..<d { hessian.append(gradient[i].derivative(withRespectTo: j)) } }
        valueProgram = CompiledProgram(outputs: [expression], dimension: d)
        gradientProgram = CompiledProgram(outputs: gradient, dimension: d)
        hessianProgram = CompiledProgram(outputs: hessian, dimension: d)
    }

    public init(finiteSum: any FiniteSum, criticalPoints: [CriticalPoint] = [], summary: String) {
        self.dimension = finiteSum.dimension
        self.variables = finiteSum.dimension <= 3
            ? Array(["x", "y", "z"].prefix(finiteSum.dimension))
            : (1...finiteSum.dimension).map { "x\($0)" }
        self.potential = nil
        self.constants = [:]
        self.finiteSum = finiteSum
        batchedSum = finiteSum as? any BatchedFiniteSum
        laneSum = finiteSum as? any LaneBatchedFiniteSum
        self.criticalPoints = criticalPoints
        self.summary = summary
        valueProgram = nil
        gradientProgram = nil
        hessianProgram = nil
    }

    /// Parses an expression over the landscape's variables and constants (exit conditions,
    /// noise covariances, reaction coordinates: one place that knows both).
    public func parse(_ text: String) throws(ExpressionError) -> Expression {
        try ExpressionParser.parse(text, variables: variables, constants: constants)
    }

    /// Parses a condition (`||` of comparisons) over the landscape's variables and constants.
    public func parseCondition(_ text: String) throws(ExpressionError) -> [ConditionTerm] {
        try ExpressionParser.parseCondition(text, variables: variables, constants: constants)
    }

    /// Workspace doubles per point that `gradient(count:…)` and friends need.
    public var registerCount: Int {
        max(valueProgram?.registerCount ?? 0, gradientProgram?.registerCount ?? 0,
            hessianProgram?.registerCount ?? 0, 1)
    }

    // MARK: - Convenience (allocating) evaluation

    public func value(at point: [Double]) -> Double {
        if let valueProgram { return valueProgram.evaluate(at: point)[0] }
        return point.withUnsafeBufferPointer { finiteSum!.loss(at: $0.baseAddress!) }
    }

    public func gradient(at point: [Double]) -> [Double] {
        if let gradientProgram { return gradientProgram.evaluate(at: point) }
        var g = [Double](repeating: 0, count: dimension)
        point.withUnsafeBufferPointer { p in
            g.withUnsafeMutableBufferPointer { finiteSum!.gradient(at: p.baseAddress!, into: $0.baseAddress!) }
        }
        return g
    }

    /// Row-major d×d Hessian.
    public func hessian(at point: [Double]) -> [Double] {
        if let hessianProgram { return hessianProgram.evaluate(at: point) }
        var h = [Double](repeating: 0, count: dimension * dimension)
        point.withUnsafeBufferPointer { p in
            h.withUnsafeMutableBufferPointer { finiteSum!.hessian(at: p.baseAddress!, into: $0.baseAddress!) }
        }
        return h
    }

    // MARK: - Block evaluation (hot loops; structure-of-arrays, no allocation)

    /// Gradient at `count` points: coordinate j of point i at `inputs[j*stride + i]`,
    /// component k written to `outputs[k*stride + i]`. `workspace` holds
    /// `registerCount*stride` doubles; `scratch` at least 2·d doubles. A network's full
    /// gradients come from the lanes kernel (`LaneBatchedFiniteSum`, blocks of a multiple of 8
    /// lanes) or from matrix products chain by chain (`BatchedFiniteSum`): the same mean of
    /// sample gradients as `FiniteSum.gradient(at:into:)`, summed in another order.
    @inline(__always)
    func gradient(count: Int, stride: Int, inputs: UnsafePointer<Double>,
                  outputs: UnsafeMutablePointer<Double>, workspace: UnsafeMutablePointer<Double>,
                  scratch: UnsafeMutablePointer<Double>) {
        if let gradientProgram {
            gradientProgram.evaluate(count: count, stride: stride, inputs: inputs,
                                     outputs: outputs, workspace: workspace)
            return
        }
        let sum = finiteSum!
        let n = sum.sampleCount
        if let lanes = laneSum, lanes.servesLanes(width: stride) {
            // a network: the whole block's full gradients with the chains in SIMD lanes
            for j in 0..<dimension { for i in 0..<count { outputs[j * stride + i] = 0 } }
            lanes.addLaneGradients(indices: nil, first: 0, weights: nil, batch: n, count: count, stride: stride,
                                   theta: inputs, scale: 1 / Double(n), into: outputs)
            return
        }
        if let batched = batchedSum {
            // a network, chain by chain: all n samples in blocks of matrix products
            Landscape.pointwise(count: count, stride: stride, dimension: dimension, outputsPerPoint: dimension,
                                inputs: inputs, outputs: outputs, scratch: scratch) { p, o in
                for j in 0..<dimension { o[j] = 0 }
                batched.addWeightedBatchGradient(indices: nil, weights: nil, count: n, at: p, scale: 1 / Double(n), into: o)
            }
            return
        }
        Landscape.pointwise(count: count, stride: stride, dimension: dimension, outputsPerPoint: dimension,
                            inputs: inputs, outputs: outputs, scratch: scratch) { p, o in
            sum.gradient(at: p, into: o)
        }
    }

    @inline(__always)
    func value(count: Int, stride: Int, inputs: UnsafePointer<Double>,
               outputs: UnsafeMutablePointer<Double>, workspace: UnsafeMutablePointer<Double>,
               scratch: UnsafeMutablePointer<Double>) {
        if let valueProgram {
            valueProgram.evaluate(count: count, stride: stride, inputs: inputs,
                                  outputs: outputs, workspace: workspace)
            return
        }
        for i in 0..<count {
            for j in 0..<dimension { scratch[j] = inputs[j * stride + i] }
            outputs[i] = finiteSum!.loss(at: scratch)
        }
    }

    /// Hessian rows: entry (r, c) of point i at `outputs[(r*d + c)*stride + i]`.
    /// `scratch` at least d + d² doubles.
    @inline(__always)
    func hessian(count: Int, stride: Int, inputs: UnsafePointer<Double>,
                 outputs: UnsafeMutablePointer<Double>, workspace: UnsafeMutablePointer<Double>,
                 scratch: UnsafeMutablePointer<Double>) {
        if let hessianProgram {
            hessianProgram.evaluate(count: count, stride: stride, inputs: inputs,
                                    outputs: outputs, workspace: workspace)
            return
        }
        Landscape.pointwise(count: count, stride: stride, dimension: dimension,
                            outputsPerPoint: dimension * dimension,
                            inputs: inputs, outputs: outputs, scratch: scratch) { p, o in
            finiteSum!.hessian(at: p, into: o)
        }
    }

    @inline(__always)
    private static func pointwise(count: Int, stride: Int, dimension d: Int, outputsPerPoint m: Int,
                                  inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>,
                                  scratch: UnsafeMutablePointer<Double>,
                                  _ body: (UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Void) {
        let point = scratch
        let result = scratch + d
        for i in 0..<count {
            for j in 0..<d { point[j] = inputs[j * stride + i] }
            body(point, result)
            for k in 0..<m { outputs[k * stride + i] = result[k] }
        }
    }
}

/// A critical point of a landscape: where ∇L = 0.
public struct CriticalPoint: Sendable, Equatable {
    public enum Kind: String, Sendable { case minimum, saddle, maximum }
    public let point: [Double]
    public let value: Double
    public let kind: Kind
    /// A short name such as "sharp minimum" or "barrier".
    public let label: String

    public init(point: [Double], value: Double, kind: Kind, label: String) {
        self.point = point
        self.value = value
        self.kind = kind
        self.label = label
    }
}
