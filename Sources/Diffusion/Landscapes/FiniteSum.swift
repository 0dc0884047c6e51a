/// A finite-sum loss `L(θ) = (1/n) Σᵢ ℓᵢ(θ)` (docs/THEORY.md §0) with exact per-sample
/// gradients and Hessians, so discrete SGD samples real minibatches and the SDE can use
/// the true gradient covariance `Σ(θ) = (1/n) Σᵢ ∇ℓᵢ∇ℓᵢᵀ − ∇L∇Lᵀ`.
///
/// Implementations are value types; the pointer methods are called from hot loops and
/// must not allocate.
public protocol FiniteSum: Sendable {
    var dimension: Int { get }
    var sampleCount: Int { get }
    func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double
    /// g += scale · ∇ℓᵢ(θ)
    func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                           into g: UnsafeMutablePointer<Double>)
    /// h += scale · ∇²ℓᵢ(θ) (row-major d×d)
    func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                          into h: UnsafeMutablePointer<Double>)
    /// Σ(θ) = (1/n) Σᵢ ∇ℓᵢ∇ℓᵢᵀ − ∇L∇Lᵀ (row-major d×d) and ∇L(θ) into `mean`; `scratch`
    /// holds at least d doubles. Default: `sampledGradientCovariance` (O(n·d²)).
    func gradientCovariance(at theta: UnsafePointer<Double>, mean: UnsafeMutablePointer<Double>,
                            covariance: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>)
}

extension FiniteSum {
    public func loss(at theta: UnsafePointer<Double>) -> Double {
        var total = 0.0
        for i in 0..<sampleCount { total += sampleLoss(i, at: theta) }
        return total / Double(sampleCount)
    }

    public func gradient(at theta: UnsafePointer<Double>, into g: UnsafeMutablePointer<Double>) {
        for j in 0..<dimension { g[j] = 0 }
        let w = 1.0 / Double(sampleCount)
        for i in 0..<sampleCount { addSampleGradient(i, at: theta, scale: w, into: g) }
    }

    public func hessian(at theta: UnsafePointer<Double>, into h: UnsafeMutablePointer<Double>) {
        for j in 0..<(dimension * dimension) { h[j] = 0 }
        let w = 1.0 / Double(sampleCount)
        for i in 0..<sampleCount { addSampleHessian(i, at: theta, scale: w, into: h) }
    }

    /// Per-sample gradient covariance Σ(θ) (row-major d×d) and the mean gradient.
    /// `scratch` holds at least d doubles.
    public func gradientCovariance(at theta: UnsafePointer<Double>, mean: UnsafeMutablePointer<Double>,
                                   covariance: UnsafeMutablePointer<Double>,
                                   scratch: UnsafeMutablePointer<Double>) {
        sampledGradientCovariance(at: theta, mean: mean, covariance: covariance, scratch: scratch)
    }

    /// Σ(θ) and ∇L(θ) over the samples one by one: the mean of gᵢgᵢᵀ minus ḡḡᵀ, O(n·d²).
    public func sampledGradientCovariance(at theta: UnsafePointer<Double>, mean: UnsafeMutablePointer<Double>,
                                          covariance: UnsafeMutablePointer<Double>,
                                          scratch: UnsafeMutablePointer<Double>) {
        let d = dimension
        for j in 0..<d { mean[j] = 0 }
        for j in 0..<(d * d) { covariance[j] = 0 }
        let w = 1.0 / Double(sampleCount)
        for i in 0..<sampleCount {
            for j in 0..<d { scratch[j] = 0 }
            addSampleGradient(i, at: theta, scale: 1, into: scratch)
            for r in 0..<d {
                mean[r] += w * scratch[r]
                for c in 0..<d { covariance[r * d + c] += w * scratch[r] * scratch[c] }
            }
        }
        for r in 0..<d { for c in 0..<d { covariance[r * d + c] -= mean[r] * mean[c] } }
    }
}

/// Patel's quadratic sums problem (seeds 000/003):
/// `ℓᵢ(θ) = ½ (θ − θ*)ᵀ Aᵢ (θ − θ*)`, Aᵢ symmetric.
public struct QuadraticSums: FiniteSum {
    public let dimension: Int
    public let sampleCount: Int
    /// n row-major d×d matrices, concatenated.
    public let matrices: [Double]
    public let minimizer: [Double]

    public init(matrices: [[Double]], minimizer: [Double]) {
        precondition(!matrices.isEmpty)
        let d = minimizer.count
        precondition(matrices.allSatisfy { $0.count == d * d })
        self.dimension = d
        self.sampleCount = matrices.count
        self.matrices = matrices.flatMap { $0 }
        self.minimizer = minimizer
    }

    /// The mean matrix Ā = (1/n) Σ Aᵢ (row-major).
    public var meanMatrix: [Double] {
        var m = [Double](repeating: 0, count: dimension * dimension)
        for i in 0..<sampleCount { for k in 0..<(dimension * dimension) { m[k] += matrices[i * dimension * dimension + k] } }
        return m.map { $0 / Double(sampleCount) }
    }

    public func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        let d = dimension, base = i * d * d
        var total = 0.0
        for r in 0..<d {
            var row = 0.0
            for c in 0..<d { row += matrices[base + r * d + c] * (theta[c] - minimizer[c]) }
            total += (theta[r] - minimizer[r]) * row
        }
        return 0.5 * total
    }

    public func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        let d = dimension, base = i * d * d
        matrices.withUnsafeBufferPointer { a in
            minimizer.withUnsafeBufferPointer { m in
                for r in 0..<d {
                    var row = 0.0
                    for c in 0..<d { row += a[base + r * d + c] * (theta[c] - m[c]) }
                    g[r] += scale * row
                }
            }
        }
    }

    public func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                 into h: UnsafeMutablePointer<Double>) {
        let d = dimension, base = i * d * d
        for k in 0..<(d * d) { h[k] += scale * matrices[base + k] }
    }
}

/// The Wu–Ma–E (2018) toy: `f₁ = min{x², 0.1(x−1)²}`, `f₂ = min{x², 1.9(x−1)²}`,
/// `f = (f₁ + f₂)/2`. Minima at 0 (sharpness 2, non-uniform: both samples agree) and at 1
/// (sharpness 2·(0.1+1.9)/2 = 2, non-uniformity s = 1.8). SGD with η = 0.7, B = 1 leaves
/// the minimum at 1; GD does not (docs/THEORY.md §3).
public struct WuMaEToy: FiniteSum {
    public let dimension = 1
    public let sampleCount = 2
    static let curvatures = [0.1, 1.9]

    public init() {}

    @inline(__always)
    private func branch(_ i: Int, _ x: Double) -> (value: Double, slope: Double, curvature: Double) {
        let a = WuMaEToy.curvatures[i]
        let left = x * x
        let right = a * (x - 1) * (x - 1)
        // ties go to x² (the branch through the minimum at 0)
        return left <= right ? (left, 2 * x, 2) : (right, 2 * a * (x - 1), 2 * a)
    }

    public func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double { branch(i, theta[0]).value }

    public func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        g[0] += scale * branch(i, theta[0]).slope
    }

    public func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                 into h: UnsafeMutablePointer<Double>) {
        h[0] += scale * branch(i, theta[0]).curvature
    }
}

/// Least-squares linear regression: `ℓᵢ(θ) = ½ (aᵢᵀθ − yᵢ)²`.
public struct LinearRegression: FiniteSum {
    public let dimension: Int
    public let sampleCount: Int
    /// n×d row-major design matrix.
    public let features: [Double]
    public let targets: [Double]
    /// Σ(θ) in O(d⁴) for d ≤ 4 and n > d² (`RegressionGradientMoments`); nil otherwise.
    public private(set) var moments: RegressionGradientMoments?

    public init(features: [[Double]], targets: [Double]) {
        precondition(!features.isEmpty && features.count == targets.count)
        let d = features[0].count
        precondition(d > 0 && features.allSatisfy { $0.count == d })
        self.dimension = d
        self.sampleCount = features.count
        self.features = features.flatMap { $0 }
        self.targets = targets
        moments = nil
        moments = RegressionGradientMoments(self)
    }

    /// Σ(θ) from the precomputed moments when there are any, else sample by sample.
    public func gradientCovariance(at theta: UnsafePointer<Double>, mean: UnsafeMutablePointer<Double>,
                                   covariance: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>) {
        if let moments {
            moments.covariance(at: theta, mean: mean, covariance: covariance, scratch: scratch)
        } else {
            sampledGradientCovariance(at: theta, mean: mean, covariance: covariance, scratch: scratch)
        }
    }

    /// Synthetic data: aᵢ ~ N(0, I_d), yᵢ = aᵢᵀθ_true + noise·N(0,1), from its own stream.
    public static func synthetic(samples n: Int, dimension d: Int, trueParameters: [Double]? = nil,
                                 noise: Double, seed: UInt64) -> LinearRegression {
        let stream = RandomStream(key: StreamKey(seed: seed, experiment: Int(bitPattern: 0xDA7A)))
        let truth = trueParameters ?? (0..<d).map { _ in stream.normal() }
        var rows: [[Double]] = []
        var y: [Double] = []
        for _ in 0..<n {
            let a = (0..<d).map { _ in stream.normal() }
            rows.append(a)
            y.append(zip(a, truth).reduce(0) { $0 + $1.0 * $1.1 } + noise * stream.normal())
        }
        return LinearRegression(features: rows, targets: y)
    }

    @inline(__always)
    private func residual(_ i: Int, _ theta: UnsafePointer<Double>) -> Double {
        var r = -targets[i]
        let base = i * dimension
        for j in 0..<dimension { r += features[base + j] * theta[j] }
        return r
    }

    public func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        let r = residual(i, theta)
        return 0.5 * r * r
    }

    public func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        let r = scale * residual(i, theta)
        let base = i * dimension
        for j in 0..<dimension { g[j] += r * features[base + j] }
    }

    public func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                 into h: UnsafeMutablePointer<Double>) {
        let d = dimension, base = i * d
        for r in 0..<d { for c in 0..<d { h[r * d + c] += scale * features[base + r] * features[base + c] } }
    }
}
