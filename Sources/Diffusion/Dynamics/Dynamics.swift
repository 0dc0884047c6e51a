/// Per-sample gradient-noise law for `sgd` on a landscape that is not a finite sum, and
/// the diffusion it induces for `sgd-sde` (docs/THEORY.md §0, §2, §4). Minibatch scaling with
/// batch size B is exact where the law is closed under averaging, as stated per case.
/// `NoiseModel` derives the covariance, the diffusion and the step law from it.
public enum NoiseLaw: Sendable, Equatable {
    /// Per-sample noise σ·ξ, ξ ~ N(0, I); minibatch mean: σ/√B · ξ.
    case gaussian(sigma: Double)
    /// Per-sample noise σ·t_ν per coordinate (variance σ²ν/(ν−2)); minibatch: the mean of
    /// B independent draws. `sgd-sde` uses the Gaussian of the same covariance (ν > 2).
    case studentT(sigma: Double, degreesOfFreedom: Double)
    /// Per-sample noise σ·ζ, ζ symmetric α-stable with E e^{itζ} = e^{−|t|^α} per
    /// coordinate; the mean of B such is exactly σ·B^{1/α−1}·ζ (stability). `sgd-sde`
    /// becomes `dΘ = −∇L dt + η^{(α−1)/α} σ_B dL^α` (Şimşekli et al. 2019).
    case alphaStable(sigma: Double, alpha: Double)
    /// Hessian-proportional covariance Σ₁(θ) = c·H(θ)⁺ (Xie, Sato & Sugiyama 2021; H⁺ the
    /// positive part of the Hessian's spectrum), or c·|H(θ)| with `curvature = .absolute`
    /// (|H| = Q|Λ|Qᵀ: the form Xie et al. use across a barrier); minibatch Σ₁/B.
    case hessian(scale: Double, curvature: HessianCurvature = .positivePart)
    /// Loss-proportional covariance Σ₁(θ) = 2c·L(θ)⁺·H(θ)⁺ (Mori et al. 2022, square loss), or
    /// with a fixed Hessian scale h* (`hessianScale`) Σ₁(θ) = 2c·L(θ)⁺·h*·I (Mori, Ziyin,
    /// Liu & Ueda 2022's model near a minimum of curvature h*); minibatch Σ₁/B.
    case lossProportional(scale: Double, hessianScale: Double? = nil)
    /// A user-given covariance Σ₁(θ) (`CovarianceMatrix`, expressions of the landscape's
    /// variables); minibatch Σ₁/B.
    case covariance(CovarianceMatrix)
    /// The finite sum's own minibatches (`sgd`) or its true covariance Σ(θ) (`sgd-sde`).
    case finiteSum

    /// The law's name in job specs and results.
    public var kind: NoiseLawKind {
        switch self {
        case .gaussian: .gaussian
        case .studentT: .studentT
        case .alphaStable: .alphaStable
        case .hessian: .hessian
        case .lossProportional: .lossProportional
        case .covariance: .covariance
        case .finiteSum: .finiteSum
        }
    }
}

extension NoiseLaw {
    /// True when Σ₁ depends on the state (hessian, loss-proportional, covariance, finite-sum).
    public var isStateDependent: Bool {
        switch self {
        case .hessian, .lossProportional, .covariance, .finiteSum: true
        case .gaussian, .studentT, .alphaStable: false
        }
    }

    /// ", curvature …" for the hessian law in messages, "" otherwise.
    var curvatureNote: String {
        if case .hessian(_, let curvature) = self { return ", curvature \"\(curvature.rawValue)\"" }
        return ""
    }
}

/// Which part of the Hessian's spectrum the `hessian` law uses (`curvature = "…"`).
public enum HessianCurvature: String, Sendable, CaseIterable, Codable {
    /// H⁺: negative eigenvalues set to 0 (the default; Σ ≈ H/B near a minimum).
    case positivePart = "positive"
    /// |H|: eigenvalues by absolute value (noise |H_b| at a barrier top, Xie et al.).
    case absolute
}

/// The names of the noise laws: the one place each is spelled (job specs, results, messages).
public enum NoiseLawKind: String, Sendable, CaseIterable, Codable {
    case gaussian
    case studentT = "student-t"
    case alphaStable = "alpha-stable"
    case hessian
    case lossProportional = "loss-proportional"
    case covariance
    case finiteSum = "finite-sum"

    /// Quoted for messages: `"student-t"`.
    public var quoted: String { "\"\(rawValue)\"" }
}

/// The names of the dynamics: the one place each is spelled (job specs, results, messages).
public enum DynamicsKind: String, Sendable, CaseIterable, Codable {
    case langevin
    case levy
    case sgd
    case sgdSDE = "sgd-sde"
    case sgld

    /// Quoted for messages: `"sgd-sde"`.
    public var quoted: String { "\"\(rawValue)\"" }
    /// The discrete chain or its diffusion: parametrised by learning rate, batch size and a noise law.
    public var isSGDFamily: Bool { self == .sgd || self == .sgdSDE }
    /// Discrete chains whose time is counted in iterations (`sgd`, `sgld`).
    public var countsIterations: Bool { self == .sgd || self == .sgld }
    /// The continuous dynamics (the grid, theory and minimum-action methods' own): all but
    /// `sgld`, a discrete chain with no diffusion of its own to solve (`sgd`'s references
    /// are those of its SDE).
    public static let continuousFamilies: [DynamicsKind] = [.langevin, .levy, .sgd, .sgdSDE]
}

/// What moves the state. Time conventions (docs/THEORY.md §0): `sgd` counts iterations;
/// `sgd-sde` runs in t = kη so iterations = t/η; `langevin` and `levy` in their own time.
public enum Dynamics: Sendable, Equatable {
    /// `dX = −∇V dt + √(2ε) dW` (physics convention, D = ε).
    case langevin(epsilon: Double)
    /// `dX = −∇V dt + ε dL^α`, L^α a standard symmetric α-stable Lévy motion with
    /// independent coordinates (E e^{iuL_t} = e^{−t|u|^α} per coordinate).
    case levy(epsilon: Double, alpha: Double)
    /// The discrete chain `θ_{k+1} = θ_k − η ∇L_{B_k}(θ_k)`.
    case sgd(learningRate: Double, batchSize: Int, noise: NoiseLaw, withReplacement: Bool)
    /// Its diffusion approximation `dΘ = −∇L dt + √(η Σ_B(Θ)) dW` (Li, Tai & E 2017;
    /// Hu et al. 2019), Σ_B = Σ/B with replacement, Σ·(n−B)/(B(n−1)) without
    /// (`NoiseModel`).
    case sgdSDE(learningRate: Double, batchSize: Int, noise: NoiseLaw, withReplacement: Bool)
    /// Stochastic gradient Langevin dynamics without minibatch gradients, the control with
    /// isotropic noise: `θ_{k+1} = θ_k − η ∇L(θ_k) + √(2ηε) ξ_k`, ξ_k ~ N(0, I) (Welling &
    /// Teh 2011 with the full gradient: the unadjusted Langevin algorithm with step η,
    /// Roberts & Tweedie 1996). It is Euler–Maruyama of `langevin` at temperature ε with
    /// dt = η, time counted in iterations as for `sgd`.
    case sgld(learningRate: Double, temperature: Double)

    public var kind: DynamicsKind {
        switch self {
        case .langevin: .langevin
        case .levy: .levy
        case .sgd: .sgd
        case .sgdSDE: .sgdSDE
        case .sgld: .sgld
        }
    }

    public var name: String { kind.rawValue }

    /// η for the SGD dynamics, nil otherwise.
    public var learningRate: Double? {
        switch self {
        case .sgd(let eta, _, _, _), .sgdSDE(let eta, _, _, _), .sgld(let eta, _): eta
        default: nil
        }
    }

    /// The law of the driving noise: Gaussian for `langevin`, α-stable for `levy`, the
    /// noise law's for the SGD dynamics.
    /// The noise law of the SGD dynamics, nil otherwise.
    public var noiseLaw: NoiseLaw? {
        switch self {
        case .sgd(_, _, let noise, _), .sgdSDE(_, _, let noise, _): noise
        case .langevin, .levy, .sgld: nil
        }
    }

    public var noiseLawKind: NoiseLawKind {
        switch self {
        case .langevin, .sgld: .gaussian
        case .levy: .alphaStable
        case .sgd(_, _, let noise, _), .sgdSDE(_, _, let noise, _): noise.kind
        }
    }
}
