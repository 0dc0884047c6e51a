import Foundation

/// The noise of a problem's dynamics on its landscape: the one place where the per-sample
/// covariance, the minibatch factor, the diffusion matrix and the law of one step's noise
/// are derived. Monte Carlo (`EnsembleSimulator`), the backward-Kolmogorov grids, minimum
/// action and the theory formulas all read them from here.
///
/// Conventions (docs/THEORY.md §0). A diffusion is `dX = −∇L(X) dt + √(2D(X)) dW`.
/// - `langevin(ε)`: `D = ε·I`.
/// - `sgd`, `sgd-sde` with a per-sample gradient-noise covariance `Σ₁(θ)` (`NoiseLaw`):
///   `D(θ) = η·Σ_B(θ)/2`, `Σ_B = c_B·Σ₁`, time `t = kη` (Li, Tai & E 2017; Hu et al. 2019).
///   The minibatch factor `c_B` is `1/B` for B independent draws — every parametric law,
///   and a finite sum sampled with replacement — and `(n−B)/(B(n−1))` for a finite sum of
///   n samples sampled without replacement (0 at B = n: the full gradient).
/// - `levy(ε, α)` and α-stable laws have no covariance: their step is `scale·h^{1/α}·ζ`
///   with ζ standard symmetric α-stable (docs/THEORY.md §4; Şimşekli et al. 2019).
///
/// Evaluation order. Products are evaluated left to right as written in each doc comment
/// (e.g. `D = (η/2)/B·σ·σ`), and `x·c_B` as `x/B` with replacement (one rounding), so
/// that every engine sees the same bits for the same quantity.
public struct NoiseModel: Sendable {
    public let dynamics: Dynamics
    public let landscape: Landscape

    /// Checks the dynamics' parameters (ε, α, η, B, the law's parameters; a finite-sum law
    /// needs a finite-sum landscape and, without replacement, B ≤ n). The step size `dt`
    /// of continuous dynamics is the integrator's business and is not checked here.
    public init(dynamics: Dynamics, landscape: Landscape) throws(DynamicsError) {
        func positive(_ name: String, _ v: Double) throws(DynamicsError) {
            guard v > 0, v.isFinite else { throw DynamicsError("\(name) must be > 0, got \(v)") }
        }
        func alphaOK(_ a: Double) throws(DynamicsError) {
            guard a > 0, a <= 2 else { throw DynamicsError("alpha must be in (0, 2], got \(a)") }
        }
        switch dynamics {
        case .langevin(let eps):
            try positive("epsilon", eps)
        case .sgld(let eta, let eps):
            try positive("learning_rate", eta); try positive("temperature", eps)
        case .levy(let eps, let alpha):
            try positive("epsilon", eps); try alphaOK(alpha)
        case .sgd(let eta, let b, let noise, let replacement), .sgdSDE(let eta, let b, let noise, let replacement):
            let continuous: Bool
            if case .sgdSDE = dynamics { continuous = true } else { continuous = false }
            try positive("learning_rate", eta)
            guard b >= 1 else { throw DynamicsError("batch_size must be ≥ 1, got \(b)") }
            switch noise {
            case .gaussian(let s):
                try positive("sigma", s)
            case .studentT(let s, let nu):
                try positive("sigma", s)
                if continuous {
                    guard nu > 2 else { throw DynamicsError("sgd-sde with student-t noise needs nu > 2 (finite variance), got \(nu)") }
                } else {
                    try positive("nu", nu)
                }
            case .alphaStable(let s, let alpha):
                try positive("sigma", s); try alphaOK(alpha)
            case .hessian(let c, _):
                try positive("scale", c)
            case .lossProportional(let c, let hStar):
                try positive("scale", c)
                if let hStar { try positive("hessian_scale", hStar) }
            case .covariance(let matrix):
                guard matrix.dimension == landscape.dimension else {
                    throw DynamicsError("the covariance matrix is \(matrix.dimension)×\(matrix.dimension) for a \(landscape.dimension)-D landscape")
                }
            case .finiteSum:
                guard let fs = landscape.finiteSum else {
                    throw DynamicsError("noise law \"finite-sum\" needs a finite-sum landscape; give a noise law (gaussian, student-t, alpha-stable, hessian, loss-proportional, covariance)")
                }
                if !replacement && b > fs.sampleCount {
                    throw DynamicsError("batch_size must be ≤ the number of samples (\(fs.sampleCount)) without replacement, got \(b)")
                }
            }
        }
        self.dynamics = dynamics
        self.landscape = landscape
    }

    // MARK: - What kind of noise

    /// The per-sample law of `sgd` / `sgd-sde`; nil for `langevin` and `levy`.
    public var law: NoiseLaw? {
        switch dynamics {
        case .sgd(_, _, let noise, _), .sgdSDE(_, _, let noise, _): noise
        case .langevin, .levy, .sgld: nil
        }
    }

    /// True for the discrete chains `sgd` and `sgld` (time in iterations).
    public static func isDiscreteChain(_ dynamics: Dynamics) -> Bool {
        switch dynamics {
        case .sgd, .sgld: true
        default: false
        }
    }

    /// True for the discrete chains `sgd` and `sgld`, whose step is η by definition.
    public var isDiscrete: Bool {
        switch dynamics {
        case .sgd, .sgld: true
        default: false
        }
    }

    /// True when each step's noise is Gaussian given the state: `langevin`; `sgd` with a
    /// Gaussian, Hessian, loss-proportional or covariance law; `sgd-sde` with any law but α-stable
    /// (Student t and finite sums enter the SDE through their covariance). A Brownian-bridge
    /// exit test applies to the continuous ones among these.
    public var isGaussian: Bool {
        switch dynamics {
        case .langevin, .sgld: true
        case .levy: false
        case .sgd(_, _, let noise, _):
            switch noise {
            case .gaussian, .hessian, .lossProportional, .covariance: true
            case .studentT, .alphaStable, .finiteSum: false
            }
        case .sgdSDE(_, _, let noise, _):
            if case .alphaStable = noise { false } else { true }
        }
    }

    /// True when a Brownian-bridge exit test applies (`ExitTestKind.bridge`): continuous
    /// dynamics with Gaussian noise. The discrete chain is checked at its iterates only.
    public var bridgeTestApplies: Bool { isGaussian && !isDiscrete }

    /// True when the noise covariance depends on the state: Hessian, loss-proportional,
    /// covariance and finite-sum laws.
    public var isStateDependent: Bool {
        switch law {
        case .hessian, .lossProportional, .covariance, .finiteSum: true
        default: false
        }
    }

    /// The index α and scale of α-stable noise, nil otherwise. The scale multiplies a
    /// standard symmetric α-stable variable (`E e^{itζ} = e^{−|t|^α}`) per coordinate:
    /// per unit time for `levy` (ε) and `sgd-sde` (`η^{(α−1)/α}·σ_B`, σ_B = σ·B^{1/α−1}, the
    /// mean of B per-sample draws being exactly σ_B·ζ; Şimşekli et al. 2019, docs/THEORY.md §4),
    /// per iteration for `sgd` (`η·σ·B^{1/α−1}`).
    public var alphaStable: (index: Double, scale: Double)? {
        switch dynamics {
        case .levy(let eps, let alpha):
            return (alpha, eps)
        case .sgd(let eta, let b, .alphaStable(let s, let alpha), _):
            return (alpha, eta * s * pow(Double(b), 1 / alpha - 1))
        case .sgdSDE(let eta, let b, .alphaStable(let s, let alpha), _):
            let sigmaB = s * pow(Double(b), 1 / alpha - 1)
            return (alpha, pow(eta, (alpha - 1) / alpha) * sigmaB)
        default:
            return nil
        }
    }

    /// True when the dynamics have a diffusion matrix D(θ) (a Gaussian diffusion or SGD's
    /// diffusion approximation): all but `levy`, α-stable laws and Student t with ν ≤ 2
    /// (infinite variance).
    public var hasDiffusion: Bool {
        switch dynamics {
        case .langevin, .sgld: true
        case .levy: false
        case .sgd(_, _, let noise, _), .sgdSDE(_, _, let noise, _):
            switch noise {
            case .alphaStable: false
            case .studentT(_, let nu): nu > 2
            default: true
            }
        }
    }

    // MARK: - Minibatch factor

    /// `c_B`, with `Σ_B = c_B·Σ₁` (docs/THEORY.md §0): `1/B` with replacement, `(n−B)/(B(n−1))`
    /// without (0 for n = 1, where B = n).
    public static func minibatchFactor(batchSize b: Int, sampleCount n: Int, withReplacement: Bool) -> Double {
        if withReplacement { return 1 / Double(b) }
        return n > 1 ? (Double(n) - Double(b)) / (Double(b) * (Double(n) - 1)) : 0
    }

    /// `c_B` of the dynamics: `1/B` for a parametric law (B independent draws, with or
    /// without "replacement"), the finite sum's factor for the finite-sum law; nil for
    /// `langevin` and `levy`.
    public var minibatchFactor: Double? {
        switch dynamics {
        case .sgd(_, let b, let noise, let replacement), .sgdSDE(_, let b, let noise, let replacement):
            if case .finiteSum = noise {
                return NoiseModel.minibatchFactor(batchSize: b, sampleCount: landscape.finiteSum!.sampleCount,
                                                  withReplacement: replacement)
            }
            return 1 / Double(b)
        case .langevin, .levy, .sgld:
            return nil
        }
    }

    /// `x·c_B`, evaluated as `x/B` when `c_B = 1/B` (one rounding).
    func minibatch(_ x: Double) -> Double {
        switch dynamics {
        case .sgd(_, let b, let noise, let replacement), .sgdSDE(_, let b, let noise, let replacement):
            if case .finiteSum = noise, !replacement {
                return x * NoiseModel.minibatchFactor(batchSize: b, sampleCount: landscape.finiteSum!.sampleCount,
                                                      withReplacement: false)
            }
            return x / Double(b)
        case .langevin, .levy, .sgld:
            preconditionFailure("no minibatch in \(dynamics.name) dynamics")
        }
    }

    /// The temperature of `sgld` matched to SGD's minibatch noise at `point`: the isotropic
    /// noise √(2ηε)ξ has the total variance per step of SGD's, 2ηε·d = η²·Tr(Σ_B(θ₀)), so
    /// ε = η·Tr(Σ_B(θ₀))/(2d), Σ_B = c_B·Σ(θ₀) with Σ the finite sum's per-sample gradient
    /// covariance and c_B `minibatchFactor` (docs/THEORY.md §0). Throws when the landscape
    /// is not a finite sum or the batch is invalid; returns 0 where Σ(θ₀) = 0.
    public static func matchedTemperature(learningRate eta: Double, batchSize b: Int, withReplacement: Bool,
                                          landscape: Landscape, at point: [Double]) throws(DynamicsError) -> Double {
        let sgd = try NoiseModel(dynamics: .sgd(learningRate: eta, batchSize: b, noise: .finiteSum, withReplacement: withReplacement),
                                 landscape: landscape)
        let d = landscape.dimension
        let sigma = sgd.perSampleCovariance(at: point)
        var trace = 0.0
        for j in 0..<d { trace += sigma[j * d + j] }
        return eta * sgd.minibatchFactor! * trace / (2 * Double(d))
    }

    // MARK: - Covariance and diffusion

    /// `k·Σ₁(θ)` (row-major d×d) for the law's per-sample covariance (`NoiseLaw`; docs/THEORY.md
    /// §0, §2), with the prefactor applied first: `k·σ·σ·I` (Gaussian), `k·σ·σ·ν/(ν−2)·I`
    /// (Student t, ν > 2), `(k·c)·H⁺` or `(k·c)·|H|` (Hessian), `(k·2·c·L⁺)·H⁺` or
    /// `(k·2·c·L⁺·h*)·I` (loss-proportional; L⁺ = max(L, 0), h* the fixed Hessian scale),
    /// `k·Σ₁(θ)` (covariance: the expressions, symmetrised, not checked here — see
    /// `CovarianceMatrix.violation`), `k·Σ(θ)` (finite sum, `FiniteSum.gradientCovariance`).
    /// H⁺ is `positivePart`, |H| `absoluteValue`. Precondition: the law has a finite covariance.
    public static func scaledCovariance(_ law: NoiseLaw, on landscape: Landscape, prefactor k: Double,
                                        at point: [Double]) -> [Double] {
        let d = landscape.dimension
        precondition(point.count == d)
        switch law {
        case .gaussian(let s):
            return scaledIdentity(k * s * s, dimension: d)
        case .studentT(let s, let nu):
            precondition(nu > 2, "Student t with nu = \(nu) has no finite covariance")
            return scaledIdentity(k * s * s * nu / (nu - 2), dimension: d)
        case .alphaStable:
            preconditionFailure("alpha-stable noise has no finite covariance")
        case .hessian(let c, let curvature):
            let m = k * c
            let h = landscape.hessian(at: point)
            return (curvature == .absolute ? absoluteValue(h, dimension: d) : positivePart(h, dimension: d)).map { m * $0 }
        case .lossProportional(let c, let hStar):
            let m = k * 2 * c * max(landscape.value(at: point), 0)
            if let hStar { return scaledIdentity(m * hStar, dimension: d) }
            return positivePart(landscape.hessian(at: point), dimension: d).map { m * $0 }
        case .covariance(let matrix):
            let sigma = matrix.evaluate(at: point)
            return k == 1 ? sigma : sigma.map { k * $0 }
        case .finiteSum:
            guard let sum = landscape.finiteSum else { preconditionFailure("finite-sum noise needs a finite-sum landscape") }
            var mean = [Double](repeating: 0, count: d)
            var cov = [Double](repeating: 0, count: d * d)
            var scratch = [Double](repeating: 0, count: d)
            point.withUnsafeBufferPointer { p in
                sum.sampledGradientCovariance(at: p.baseAddress!, mean: &mean, covariance: &cov, scratch: &scratch)
            }
            return k == 1 ? cov : cov.map { k * $0 }
        }
    }

    /// `k·Σ₁` when it is the same at every point (`k·σ²` for Gaussian, `k·σ²ν/(ν−2)` for
    /// Student t; evaluated as in `scaledCovariance`); nil for state-dependent laws.
    static func scaledVariance(_ law: NoiseLaw, prefactor k: Double) -> Double? {
        switch law {
        case .gaussian(let s): k * s * s
        case .studentT(let s, let nu): nu > 2 ? k * s * s * nu / (nu - 2) : nil
        default: nil
        }
    }

    /// The per-sample covariance Σ₁(θ) (row-major d×d) of the law of `sgd` / `sgd-sde`.
    /// Precondition: `law != nil && hasDiffusion`.
    public func perSampleCovariance(at point: [Double]) -> [Double] {
        guard let law, hasDiffusion else { preconditionFailure("\(dynamics.name) here has no per-sample covariance") }
        return NoiseModel.scaledCovariance(law, on: landscape, prefactor: 1, at: point)
    }

    /// The prefactor of Σ₁ in D: `(η/2)·c_B`, evaluated as `(η/2)/B` or `(η/2)·c_B`.
    var diffusionPrefactor: Double {
        guard let eta = dynamics.learningRate else { preconditionFailure("no learning rate in \(dynamics.name)") }
        return minibatch(eta / 2)
    }

    /// The diffusion matrix `D(θ)` (row-major d×d; docs/THEORY.md §0): `ε·I` for `langevin`,
    /// `η·Σ_B(θ)/2 = ((η/2)·c_B)·Σ₁(θ)` for `sgd` (its diffusion approximation) and
    /// `sgd-sde`. Precondition: `hasDiffusion`.
    public func diffusionMatrix(at point: [Double]) -> [Double] {
        precondition(hasDiffusion, "\(dynamics.name) here has no diffusion matrix")
        switch dynamics {
        case .langevin(let eps), .sgld(_, let eps): return NoiseModel.scaledIdentity(eps, dimension: landscape.dimension)
        default: break
        }
        return NoiseModel.scaledCovariance(law!, on: landscape, prefactor: diffusionPrefactor, at: point)
    }

    /// `D` when `D(θ) = D·I` everywhere: ε (`langevin`), `(η/2)/B·σ·σ` (Gaussian law; the
    /// Langevin temperature `ε = ησ²/(2B)` of docs/THEORY.md §0), `(η/2)/B·σ·σ·ν/(ν−2)` (Student
    /// t, ν > 2); nil otherwise.
    public var isotropicDiffusion: Double? {
        switch dynamics {
        case .langevin(let eps), .sgld(_, let eps): eps
        case .levy: nil
        case .sgd(_, _, let noise, _), .sgdSDE(_, _, let noise, _):
            NoiseModel.scaledVariance(noise, prefactor: diffusionPrefactor)
        }
    }

    /// The drift `−∇L(θ)` of the SDE (`sgd`: of its diffusion approximation).
    public func drift(at point: [Double]) -> [Double] {
        landscape.gradient(at: point).map { -$0 }
    }

    /// Small-noise form `dX = −∇L dt + √(ε·Σ(X)) dW` for large deviations (docs/THEORY.md §2):
    /// Σ(θ) with ε factored out — `2I` for `langevin` (ε the temperature), Σ₁ for `sgd` and
    /// `sgd-sde` (ε = η·c_B). nil where there is no diffusion.
    public var largeDeviationCovariance: MinimumAction.Covariance? {
        guard hasDiffusion else { return nil }
        let d = landscape.dimension
        switch dynamics {
        case .langevin, .sgld: return { _ in NoiseModel.scaledIdentity(2, dimension: d) }
        default: break
        }
        let model = self
        return { x in model.perSampleCovariance(at: x) }
    }

    // MARK: - One step

    /// The noise of one step `x ← x − h·∇L(x) + noise`, what the engines' step samplers draw.
    public enum StepNoise: Sendable, Equatable {
        /// `standardDeviation·ξ`, ξ ~ N(0, I).
        case gaussian(standardDeviation: Double)
        /// `scale·ζ`, ζ standard symmetric α-stable per coordinate.
        case alphaStable(alpha: Double, scale: Double)
        /// `scale·(1/B) Σ_{b<B} t_ν` per coordinate: the mean of B Student-t draws.
        case studentTMean(degreesOfFreedom: Double, scale: Double, batchSize: Int)
        /// `√variance·S(x)ξ` with `S Sᵀ = Σ₁(x)` of the law (hessian, loss-proportional or
        /// covariance; `NoiseModel.scaledCovariance` states each).
        case stateDependent(law: NoiseLaw, variance: Double)
        /// No added noise: the step uses a sampled minibatch gradient `∇L_B` in place of ∇L.
        case minibatch(batchSize: Int, withReplacement: Bool)
        /// Gaussian with covariance `variance·Σ(x)`, Σ the finite sum's per-sample gradient
        /// covariance: `√variance·S(x)ξ` with `S Sᵀ = Σ(x)`, or in the same law
        /// `√variance·(1/√n)·Σₖ (gₖ − ḡ)ζₖ` with ζ ∈ ℝⁿ (`FiniteSumNoiseRoot` says which).
        case finiteSumCovariance(variance: Double)

        /// Gaussian given the state (the Brownian-bridge exit test applies to continuous time).
        public var isGaussian: Bool {
            switch self {
            case .gaussian, .stateDependent, .finiteSumCovariance: true
            case .alphaStable, .studentTMean, .minibatch: false
            }
        }
    }

    /// One step's noise for step size `h` (`dt` of continuous dynamics; for `sgd` the step is
    /// η and `h` is ignored). Continuous dynamics (Euler–Maruyama, docs/THEORY.md §1): covariance
    /// `2D·h` — `√(2·ε·h)` (Langevin), `η·h·c_B·Σ₁` (SGD's SDE, written as
    /// `√((η·h)/B·σ·σ)` for Gaussian and Student-t laws), α-stable `scale·h^{1/α}`. The
    /// discrete chain: the minibatch mean of B per-sample draws times η — `η·σ/√B·ξ`
    /// (Gaussian), the mean of B t-draws, `η·σ·B^{1/α−1}·ζ`, `η·η·c_B·Σ₁` for the
    /// Hessian-type and covariance laws, or the finite sum's own minibatch.
    public func stepNoise(stepSize h: Double) -> StepNoise {
        switch dynamics {
        case .langevin(let eps):
            return .gaussian(standardDeviation: (2 * eps * h).squareRoot())
        case .sgld(let eta, let eps):
            // Euler–Maruyama of langevin with h = η: the same expression, so the same bits
            return .gaussian(standardDeviation: (2 * eps * eta).squareRoot())
        case .levy(_, let alpha), .sgd(_, _, .alphaStable(_, let alpha), _), .sgdSDE(_, _, .alphaStable(_, let alpha), _):
            let scale = alphaStable!.scale
            return .alphaStable(alpha: alpha, scale: isDiscrete ? scale : scale * pow(h, 1 / alpha))
        case .sgd(let eta, let b, let noise, let replacement):
            switch noise {
            case .gaussian(let s): return .gaussian(standardDeviation: eta * s / Double(b).squareRoot())
            case .studentT(let s, let nu): return .studentTMean(degreesOfFreedom: nu, scale: eta * s, batchSize: b)
            case .covariance(let m) where m.isConstant && m.dimension == 1 && m.evaluate(at: [0])[0] >= 0:
                // a constant 1-D Σ₁ is Gaussian noise of fixed variance (the discrete chain's kernel)
                return .gaussian(standardDeviation: (minibatch(eta * eta) * m.evaluate(at: [0])[0]).squareRoot())
            case .hessian, .lossProportional, .covariance: return .stateDependent(law: noise, variance: minibatch(eta * eta))
            case .finiteSum: return .minibatch(batchSize: b, withReplacement: replacement)
            case .alphaStable: preconditionFailure()
            }
        case .sgdSDE(let eta, _, let noise, _):
            let variance = minibatch(eta * h)
            switch noise {
            case .gaussian, .studentT:
                return .gaussian(standardDeviation: NoiseModel.scaledVariance(noise, prefactor: variance)!.squareRoot())
            case .covariance(let m) where m.isConstant && m.dimension == 1 && m.evaluate(at: [0])[0] >= 0:
                return .gaussian(standardDeviation: (variance * m.evaluate(at: [0])[0]).squareRoot())
            case .hessian, .lossProportional, .covariance: return .stateDependent(law: noise, variance: variance)
            case .finiteSum: return .finiteSumCovariance(variance: variance)
            case .alphaStable: preconditionFailure()
            }
        }
    }

    // MARK: - Matrix helpers

    static func scaledIdentity(_ v: Double, dimension d: Int) -> [Double] {
        (0..<(d * d)).map { $0 % (d + 1) == 0 ? v : 0 }
    }

    /// A⁺, the positive part of a row-major symmetric d×d matrix (negative eigenvalues set
    /// to 0): `max(a, 0)` in 1-D, else `S Sᵀ` with S from `SymmetricSquareRoot` (the factor
    /// the Monte Carlo step uses).
    public static func positivePart(_ a: [Double], dimension d: Int) -> [Double] {
        precondition(a.count == d * d)
        if d == 1 { return [max(a[0], 0)] }
        var s = [Double](repeating: 0, count: d * d)
        let root = SymmetricSquareRoot(dimension: d)
        a.withUnsafeBufferPointer { root.positivePartRoot($0.baseAddress!, into: &s) }
        var out = [Double](repeating: 0, count: d * d)
        for r in 0..<d { for c in 0..<d { for k in 0..<d { out[r * d + c] += s[r * d + k] * s[c * d + k] } } }
        return out
    }

    /// |A| = Q|Λ|Qᵀ of a row-major symmetric d×d matrix: `|a|` in 1-D, else `S Sᵀ` with S
    /// from `SymmetricSquareRoot` (`.absolute`, the factor the Monte Carlo step uses).
    public static func absoluteValue(_ a: [Double], dimension d: Int) -> [Double] {
        precondition(a.count == d * d)
        if d == 1 { return [abs(a[0])] }
        var s = [Double](repeating: 0, count: d * d)
        let root = SymmetricSquareRoot(dimension: d)
        a.withUnsafeBufferPointer { root.root($0.baseAddress!, into: &s, spectrum: .absolute) }
        var out = [Double](repeating: 0, count: d * d)
        for r in 0..<d { for c in 0..<d { for k in 0..<d { out[r * d + c] += s[r * d + k] * s[c * d + k] } } }
        return out
    }
}

// MARK: - I.i.d. minibatch noise (the discrete chain's sampler where the law does not depend on the point)

extension NoiseLaw {
    /// `count` i.i.d. draws of the minibatch gradient noise of this law in `dimension`
    /// coordinates (count × dimension, row-major), as `sgd` adds it (`NoiseLaw`'s cases):
    /// gaussian `σξ/√B`; student-t `σ·(1/B)Σ t_ν` per coordinate; alpha-stable
    /// `σ B^{1/α−1} ζ`, ζ standard SαS (`gsl_ran_levy`, E e^{itζ} = e^{−|t|^α}). nil for the
    /// state-dependent laws (hessian, loss-proportional, finite-sum), whose noise depends on
    /// the point: use `FiniteSum.minibatchGradientNoise` for a finite sum's own.
    public func minibatchNoise(dimension d: Int, batchSize b: Int, count: Int, stream: RandomStream) -> [Double]? {
        precondition(d >= 1 && b >= 1 && count >= 0)
        let total = count * d
        switch self {
        case .gaussian(let sigma):
            let s = sigma / Double(b).squareRoot()
            return (0..<total).map { _ in s * stream.normal() }
        case .studentT(let sigma, let nu):
            let s = sigma / Double(b)
            return (0..<total).map { _ in
                var sum = 0.0
                for _ in 0..<b { sum += stream.studentT(degreesOfFreedom: nu) }
                return s * sum
            }
        case .alphaStable(let sigma, let alpha):
            let s = sigma * pow(Double(b), 1 / alpha - 1)
            return (0..<total).map { _ in s * stream.symmetricStable(alpha: alpha) }
        case .hessian, .lossProportional, .covariance, .finiteSum:
            return nil
        }
    }
}

extension NoiseModel {
    /// Throws when `noise` has no finite per-sample covariance Σ₁ on `landscape`: α-stable
    /// noise, Student t with ν ≤ 2, a non-positive scale, or a finite-sum law on a landscape
    /// that is not a finite sum (what a Gaussian quasi-potential needs, `MinimumAction`).
    public static func requireFiniteCovariance(_ noise: NoiseLaw, on landscape: Landscape) throws(MinimumActionError) {
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws(MinimumActionError) {
            if !ok { throw MinimumActionError(message()) }
        }
        switch noise {
        case .gaussian(let sigma):
            try require(sigma > 0 && sigma.isFinite, "sigma must be > 0, got \(sigma)")
        case .studentT(let sigma, let nu):
            try require(sigma > 0 && sigma.isFinite, "sigma must be > 0, got \(sigma)")
            try require(nu > 2, "Student t noise needs nu > 2 for a finite covariance, got \(nu)")
        case .alphaStable:
            throw MinimumActionError("alpha-stable noise has no Gaussian quasi-potential (no finite covariance)")
        case .hessian(let c, _):
            try require(c > 0 && c.isFinite, "hessian noise scale must be > 0, got \(c)")
        case .lossProportional(let c, let hStar):
            try require(c > 0 && c.isFinite, "loss-proportional noise scale must be > 0, got \(c)")
            if let hStar { try require(hStar > 0 && hStar.isFinite, "hessian_scale must be > 0, got \(hStar)") }
        case .covariance(let matrix):
            try require(matrix.dimension == landscape.dimension,
                        "the covariance matrix is \(matrix.dimension)×\(matrix.dimension) for a \(landscape.dimension)-D landscape")
        case .finiteSum:
            try require(landscape.finiteSum != nil, "finite-sum noise needs a finite-sum landscape; pass noise or covariance")
        }
    }
}
