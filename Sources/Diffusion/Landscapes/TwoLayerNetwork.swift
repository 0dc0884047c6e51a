import Foundation

/// A finite sum of squared residuals `ℓᵢ(θ) = ½ rᵢ(θ)²`, `rᵢ = uᵢ(θ) − yᵢ`, exposing the
/// model output's gradient `∇uᵢ` so the Gauss–Newton matrix `G = (1/n) Σ ∇uᵢ∇uᵢᵀ` of Wu,
/// Wang & Su's alignment factor (seed 001; docs/THEORY.md §3) is available. For models linear in
/// θ, `G = H`.
public protocol SquareLossFiniteSum: FiniteSum {
    /// `rᵢ(θ) = uᵢ(θ) − yᵢ`.
    func residual(_ i: Int, at theta: UnsafePointer<Double>) -> Double
    /// `g += scale · ∇uᵢ(θ)`.
    func addOutputGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                           into g: UnsafeMutablePointer<Double>)
}

extension LinearRegression: SquareLossFiniteSum {
    public func residual(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        var r = -targets[i]
        let base = i * dimension
        for j in 0..<dimension { r += features[base + j] * theta[j] }
        return r
    }

    public func addOutputGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        let base = i * dimension
        for j in 0..<dimension { g[j] += scale * features[base + j] }
    }
}

/// A two-layer network with square loss on n samples, `uᵢ = Σₖ aₖ σ(wₖ·xᵢ)`,
/// `ℓᵢ = ½(uᵢ − yᵢ)²`, in two modes:
///
/// - **random features** (`trainsFirstLayer == false`; Rahimi & Recht 2007; the RFM of Wu,
///   Wang & Su 2022, seed 001): the first layer `W = W₀` is fixed and the parameters are the
///   output weights `θ = a ∈ ℝᵐ`. A linear least-squares problem in a: `∇ℓᵢ = rᵢφᵢ`,
///   per-sample Hessian `φᵢφᵢᵀ` (φᵢ = σ(W₀xᵢ), cached), `H = G = (1/n) Σ φᵢφᵢᵀ` — the same
///   at every θ, so every minimum has the same sharpness.
/// - **two-layer** (`trainsFirstLayer == true`): θ = (a, ΔW), `W = W₀ + ΔW`, d = m(p+1),
///   laid out as `θ[k] = aₖ`, `θ[m + k·p + j] = ΔW_kj`; θ = 0 is the random-feature
///   initialisation (a = 0, W = W₀). Exact derivatives: `∂u/∂aₖ = σ(zₖ)`,
///   `∂u/∂W_kj = aₖσ'(zₖ)x_j`, `∂²u/∂aₖ∂W_kj = σ'(zₖ)x_j`, `∂²u/∂W_kj∂W_kl = aₖσ''(zₖ)x_jx_l`,
///   `∇²ℓᵢ = ∇uᵢ∇uᵢᵀ + rᵢ∇²uᵢ` (zₖ = wₖ·xᵢ). With `activation = .linear` it is a two-layer
///   linear network, whose minima (a rescaling symmetry a → ca, W → W/c) differ in sharpness.
///   For ReLU, σ'' = 0 and σ'(0) = 0: the Hessian is the almost-everywhere one.
///
/// Synthetic data (`synthetic`): from the stream `StreamKey(seed: dataSeed, experiment:
/// 0x2F_EA7)`, in this order: W₀ (m×p, entries N(0, 1/p)), the teacher β ∈ ℝᵖ (N(0, I)), then
/// per sample xᵢ ~ N(0, I_p) and ξᵢ ~ N(0, 1); targets `yᵢ = β·xᵢ/√p + noise·ξᵢ` (a linear
/// teacher, so Var y = 1 + noise²).
public struct TwoLayerNetwork: SquareLossFiniteSum {
    public enum Activation: String, Sendable, CaseIterable {
        case linear, relu, tanh

        /// (σ(z), σ'(z), σ''(z)).
        @inline(__always)
        func evaluate(_ z: Double) -> (Double, Double, Double) {
            switch self {
            case .linear: return (z, 1, 0)
            case .relu: return z > 0 ? (z, 1, 0) : (0, 0, 0)
            case .tanh:
                let t = Foundation.tanh(z), s = 1 - t * t
                return (t, s, -2 * t * s)
            }
        }
    }

    public let sampleCount: Int
    /// p.
    public let inputDimension: Int
    /// m, hidden units (features).
    public let width: Int
    public let activation: Activation
    public let trainsFirstLayer: Bool
    /// n×p row-major.
    public let inputs: [Double]
    public let targets: [Double]
    /// W₀, m×p row-major.
    public let firstLayer: [Double]
    /// φᵢ = σ(W₀xᵢ), n×m row-major.
    public let features: [Double]

    public var dimension: Int { trainsFirstLayer ? width * (inputDimension + 1) : width }

    public init(inputs: [[Double]], targets: [Double], firstLayer: [[Double]], activation: Activation,
                trainsFirstLayer: Bool) {
        precondition(!inputs.isEmpty && inputs.count == targets.count && !firstLayer.isEmpty)
        let p = inputs[0].count
        precondition(p >= 1 && inputs.allSatisfy { $0.count == p } && firstLayer.allSatisfy { $0.count == p })
        sampleCount = inputs.count
        inputDimension = p
        width = firstLayer.count
        self.activation = activation
        self.trainsFirstLayer = trainsFirstLayer
        self.inputs = inputs.flatMap { $0 }
        self.targets = targets
        self.firstLayer = firstLayer.flatMap { $0 }
        var phi: [Double] = []
        phi.reserveCapacity(inputs.count * firstLayer.count)
        for x in inputs {
            for w in firstLayer { phi.append(activation.evaluate(zip(w, x).reduce(0) { $0 + $1.0 * $1.1 }).0) }
        }
        features = phi
    }

    /// Synthetic data and first layer from `dataSeed` (see the type's documentation).
    public static func synthetic(samples n: Int, inputDimension p: Int, width m: Int, activation: Activation,
                                 trainsFirstLayer: Bool, labelNoise: Double, dataSeed: UInt64) -> TwoLayerNetwork {
        precondition(n >= 1 && p >= 1 && m >= 1 && labelNoise >= 0)
        let stream = RandomStream(key: StreamKey(seed: dataSeed, experiment: 0x2F_EA7))
        let scale = 1 / Double(p).squareRoot()
        let w0 = (0..<m).map { _ in (0..<p).map { _ in scale * stream.normal() } }
        let beta = (0..<p).map { _ in stream.normal() }
        var xs: [[Double]] = [], ys: [Double] = []
        for _ in 0..<n {
            let x = (0..<p).map { _ in stream.normal() }
            let noise = stream.normal()
            xs.append(x)
            ys.append(zip(beta, x).reduce(0) { $0 + $1.0 * $1.1 } * scale + labelNoise * noise)
        }
        return TwoLayerNetwork(inputs: xs, targets: ys, firstLayer: w0, activation: activation,
                               trainsFirstLayer: trainsFirstLayer)
    }

    /// Random features: the minimum-norm least-squares output weights `a* = Φ⁺y` (m ≤ n:
    /// `(ΦᵀΦ)a = Φᵀy`; m > n: `a = Φᵀc`, `(ΦΦᵀ)c = y`), a global minimum of L; nil in
    /// two-layer mode or when the Gram matrix is singular to working precision.
    public func minimumNormSolution() -> [Double]? {
        guard !trainsFirstLayer else { return nil }
        let n = sampleCount, m = width
        if m <= n {
            var gram = [Double](repeating: 0, count: m * m), rhs = [Double](repeating: 0, count: m)
            for i in 0..<n {
                for r in 0..<m {
                    rhs[r] += features[i * m + r] * targets[i]
                    for c in 0..<m { gram[r * m + c] += features[i * m + r] * features[i * m + c] }
                }
            }
            return TheoryNumerics.solve(gram, rhs, dimension: m)
        }
        var gram = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n {
            var s = 0.0
            for k in 0..<m { s += features[i * m + k] * features[j * m + k] }
            gram[i * n + j] = s
        } }
        guard let c = TheoryNumerics.solve(gram, targets, dimension: n) else { return nil }
        return (0..<m).map { k in (0..<n).reduce(0) { $0 + features[$1 * m + k] * c[$1] } }
    }

    // MARK: - Per-sample evaluation

    /// Calls `body` with σ(zₖ), σ'(zₖ), σ''(zₖ) for k < m, zₖ = (W₀ + ΔW)ₖ·xᵢ (two-layer mode), in
    /// one stack buffer of 3m doubles (each activation evaluated once).
    @inline(__always)
    private func withActivations<R>(_ i: Int, _ theta: UnsafePointer<Double>,
                                    _ body: (_ s: UnsafePointer<Double>, _ s1: UnsafePointer<Double>,
                                             _ s2: UnsafePointer<Double>) -> R) -> R {
        let m = width, p = inputDimension
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * m) { buffer in
            let s = buffer.baseAddress!, s1 = s + m, s2 = s + 2 * m
            let x = i * p
            for k in 0..<m {
                var z = 0.0
                let w = k * p, dw = m + k * p
                for j in 0..<p { z += (firstLayer[w + j] + theta[dw + j]) * inputs[x + j] }
                (s[k], s1[k], s2[k]) = activation.evaluate(z)
            }
            return body(s, s1, s2)
        }
    }

    public func residual(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        let m = width
        if !trainsFirstLayer {
            var r = -targets[i]  // LinearRegression's order of operations: the same bits
            for k in 0..<m { r += features[i * m + k] * theta[k] }
            return r
        }
        return withActivations(i, theta) { s, _, _ in
            var r = -targets[i]
            for k in 0..<m { r += theta[k] * s[k] }
            return r
        }
    }

    public func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        let r = residual(i, at: theta)
        return 0.5 * r * r
    }

    /// g += scale·∇uᵢ from the activations (two-layer mode).
    @inline(__always)
    private func addOutputGradient(_ i: Int, s: UnsafePointer<Double>, s1: UnsafePointer<Double>,
                                   theta: UnsafePointer<Double>, scale: Double, into g: UnsafeMutablePointer<Double>) {
        let m = width, p = inputDimension, x = i * p
        for k in 0..<m {
            g[k] += scale * s[k]
            let c = scale * theta[k] * s1[k]
            if c != 0 { for j in 0..<p { g[m + k * p + j] += c * inputs[x + j] } }
        }
    }

    public func addOutputGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        let m = width
        if !trainsFirstLayer {
            for k in 0..<m { g[k] += scale * features[i * m + k] }
            return
        }
        withActivations(i, theta) { s, s1, _ in addOutputGradient(i, s: s, s1: s1, theta: theta, scale: scale, into: g) }
    }

    public func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        let m = width
        if !trainsFirstLayer {
            var u = -targets[i]
            for k in 0..<m { u += features[i * m + k] * theta[k] }
            let r = scale * u
            for k in 0..<m { g[k] += r * features[i * m + k] }
            return
        }
        withActivations(i, theta) { s, s1, _ in
            var r = -targets[i]
            for k in 0..<m { r += theta[k] * s[k] }
            addOutputGradient(i, s: s, s1: s1, theta: theta, scale: scale * r, into: g)
        }
    }

    public func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                 into h: UnsafeMutablePointer<Double>) {
        let m = width, d = dimension
        if !trainsFirstLayer {
            let base = i * m
            for r in 0..<m { for c in 0..<m { h[r * d + c] += scale * features[base + r] * features[base + c] } }
            return
        }
        let p = inputDimension, x = i * p
        withActivations(i, theta) { s, s1, s2 in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: d) { buffer in
                let gu = buffer.baseAddress!
                for k in 0..<d { gu[k] = 0 }
                addOutputGradient(i, s: s, s1: s1, theta: theta, scale: 1, into: gu)
                var r = -targets[i]
                for k in 0..<m { r += theta[k] * s[k] }
                // Gauss–Newton part ∇u∇uᵀ (products grouped so the result is exactly symmetric)
                for a in 0..<d where gu[a] != 0 {
                    for c in 0..<d { h[a * d + c] += scale * (gu[a] * gu[c]) }
                }
                // r·∇²u: the (aₖ, W_k·) blocks and the (W_k·, W_k·) blocks
                let ru = scale * r
                guard ru != 0 else { return }
                for k in 0..<m {
                    let cross = ru * s1[k], within = ru * theta[k] * s2[k]
                    let row = m + k * p
                    for j in 0..<p {
                        let v = cross * inputs[x + j]
                        h[k * d + row + j] += v
                        h[(row + j) * d + k] += v
                    }
                    if within != 0 {
                        for j in 0..<p { for l in 0..<p {
                            h[(row + j) * d + row + l] += within * (inputs[x + j] * inputs[x + l])
                        } }
                    }
                }
            }
        }
    }
}
