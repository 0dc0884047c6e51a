/// A numeric parameter of a dynamics or a noise law under the name job specs give it, with
/// the range it must lie in: each dynamics and noise law declares its own
/// (`DynamicsKind.parameters`, `NoiseLawKind.parameters(for:)`), so a spec reader needs no
/// list of its own and a new law brings its keys with it.
public struct ModelParameter: Sendable {
    public enum Range: Sendable {
        /// x > 0, finite.
        case positive
        /// α ∈ (0, 2].
        case stabilityIndex
        /// An integer ≥ 1 (below 10¹⁵).
        case integerAtLeastOne
        /// x > 2: the Student-t variance σ²ν/(ν − 2) of an SDE's diffusion is finite only then.
        case finiteStudentVariance
    }

    /// The key in the spec (inside `noise = {…}` for a noise law).
    public let key: String
    public let range: Range
    /// The value when the key is absent; nil: the key is required (unless `isOptional`).
    public let defaultValue: Double?
    /// True when the key may be absent without a default (the law then has no such value).
    public let isOptional: Bool
    /// What it is, for "is required (…)".
    public let meaning: String

    public init(_ key: String, _ range: Range, default defaultValue: Double? = nil, optional: Bool = false, meaning: String) {
        self.key = key; self.range = range; self.defaultValue = defaultValue; self.isOptional = optional; self.meaning = meaning
    }

    /// What `x` fails to be ("> 0", "in (0, 2]", …), nil when it is in range.
    public func violation(_ x: Double) -> String? {
        switch range {
        case .positive: x > 0 && x.isFinite ? nil : "> 0"
        case .stabilityIndex: x > 0 && x <= 2 ? nil : "in (0, 2]"
        case .integerAtLeastOne: x >= 1 && x == x.rounded() && x < 1e15 ? nil : "an integer ≥ 1"
        case .finiteStudentVariance:
            x > 2 && x.isFinite ? nil : "> 2 for dynamics \(DynamicsKind.sgdSDE.quoted) (the diffusion has the noise's covariance, finite only for nu > 2)"
        }
    }
}

extension DynamicsKind {
    /// The dynamics' own numeric parameters, in the order cells list them (its noise law's
    /// and its time step's follow).
    public var parameters: [ModelParameter] {
        switch self {
        case .langevin:
            [ModelParameter("epsilon", .positive, meaning: "noise strength, a number > 0")]
        case .levy:
            [ModelParameter("epsilon", .positive, meaning: "noise strength, a number > 0"),
             ModelParameter("alpha", .stabilityIndex, meaning: "stability index in (0, 2]")]
        case .sgd, .sgdSDE:
            [ModelParameter("learning_rate", .positive, meaning: "a number > 0"),
             ModelParameter("batch_size", .integerAtLeastOne, default: 1, meaning: "an integer ≥ 1")]
        case .sgld:
            // temperature may also be "matched" (`matchedTemperatureKeys`, read by the spec)
            [ModelParameter("learning_rate", .positive, meaning: "a number > 0"),
             ModelParameter("temperature", .positive, meaning: "a number > 0, or \"matched\"")]
        }
    }

    /// `sgld`'s keys read only with `temperature = "matched"`: the minibatch whose noise the
    /// temperature matches (`NoiseModel.matchedTemperature`).
    public static let matchedTemperatureKeys = ["batch_size", "replacement"]

    /// Whether the per-sample gradient noise is given by a noise law (`noise = {…}`) with
    /// minibatch sampling (`replacement`).
    public var hasNoiseLaw: Bool { isSGDFamily }
}

extension NoiseLawKind {
    /// The law's numeric parameters under `noise = { law = …, … }`, for `dynamics`.
    public func parameters(for dynamics: DynamicsKind) -> [ModelParameter] {
        let sigma = ModelParameter("sigma", .positive, meaning: "a number > 0")
        let scale = ModelParameter("scale", .positive, meaning: "a number > 0")
        switch self {
        case .gaussian: return [sigma]
        case .studentT:
            return [sigma, ModelParameter("nu", dynamics == .sgdSDE ? .finiteStudentVariance : .positive,
                                          meaning: "degrees of freedom > 0")]
        case .alphaStable: return [sigma, ModelParameter("alpha", .stabilityIndex, meaning: "in (0, 2]")]
        case .hessian: return [scale]
        case .lossProportional:
            return [scale, ModelParameter("hessian_scale", .positive, optional: true,
                                          meaning: "a fixed Hessian scale h* > 0 in Σ₁ = 2c·L·h*·I (Mori et al.); absent: H⁺(θ)")]
        case .covariance, .finiteSum: return []
        }
    }

    /// The law's settings that are not numbers (not sweep axes), under `noise = {…}`.
    public var settings: [NoiseLawSetting] {
        switch self {
        case .hessian:
            [NoiseLawSetting("curvature", .choice(HessianCurvature.allCases.map(\.rawValue), default: HessianCurvature.positivePart.rawValue),
                             meaning: "\"positive\" (H⁺) or \"absolute\" (|H|, across a barrier)")]
        case .covariance:
            [NoiseLawSetting("matrix", .expressionMatrix,
                             meaning: "Σ₁(θ) as expressions: one string in 1-D, d rows of d strings in d dimensions")]
        default: []
        }
    }

    /// Every key of the law inside `noise = {…}` besides `law`: its parameters, then its settings.
    public func keys(for dynamics: DynamicsKind) -> [String] {
        parameters(for: dynamics).map(\.key) + settings.map(\.key)
    }
}

/// A setting of a noise law that is not a number and so not a sweep axis: a choice among
/// names, or a matrix of expressions. Declared by the law (`NoiseLawKind.settings`) beside
/// its numeric `ModelParameter`s, so a spec reader needs no list of its own.
public struct NoiseLawSetting: Sendable {
    public enum Kind: Sendable {
        /// One of the names, `default` when absent.
        case choice([String], default: String)
        /// Required: one expression string (1-D) or d rows of d expression strings.
        case expressionMatrix
    }
    public let key: String
    public let kind: Kind
    public let meaning: String

    public init(_ key: String, _ kind: Kind, meaning: String) {
        self.key = key; self.kind = kind; self.meaning = meaning
    }
}

/// The values of a law's non-numeric settings (`NoiseLawSetting`), as read from a spec.
public struct NoiseLawOptions: Sendable, Equatable {
    public var curvature: HessianCurvature
    public var matrix: CovarianceMatrix?

    public init(curvature: HessianCurvature = .positivePart, matrix: CovarianceMatrix? = nil) {
        self.curvature = curvature; self.matrix = matrix
    }
}

extension NoiseLaw {
    /// The law of `kind` with its parameters read by `value` (keys of `kind.parameters`; nil
    /// for an absent optional one) and its settings from `options`.
    public init(kind: NoiseLawKind, options: NoiseLawOptions = NoiseLawOptions(), value: (String) -> Double?) {
        switch kind {
        case .gaussian: self = .gaussian(sigma: value("sigma")!)
        case .studentT: self = .studentT(sigma: value("sigma")!, degreesOfFreedom: value("nu")!)
        case .alphaStable: self = .alphaStable(sigma: value("sigma")!, alpha: value("alpha")!)
        case .hessian: self = .hessian(scale: value("scale")!, curvature: options.curvature)
        case .lossProportional: self = .lossProportional(scale: value("scale")!, hessianScale: value("hessian_scale"))
        case .covariance:
            guard let matrix = options.matrix else { preconditionFailure("noise law covariance without its matrix") }
            self = .covariance(matrix)
        case .finiteSum: self = .finiteSum
        }
    }
}

extension Dynamics {
    /// The dynamics of `kind` with its parameters read by `value` (keys of `kind.parameters`);
    /// `noise` and `withReplacement` for the SGD family.
    public init(kind: DynamicsKind, value: (String) -> Double, noise: NoiseLaw, withReplacement: Bool) {
        switch kind {
        case .langevin: self = .langevin(epsilon: value("epsilon"))
        case .levy: self = .levy(epsilon: value("epsilon"), alpha: value("alpha"))
        case .sgd:
            self = .sgd(learningRate: value("learning_rate"), batchSize: Int(value("batch_size")), noise: noise,
                        withReplacement: withReplacement)
        case .sgdSDE:
            self = .sgdSDE(learningRate: value("learning_rate"), batchSize: Int(value("batch_size")), noise: noise,
                           withReplacement: withReplacement)
        case .sgld:
            self = .sgld(learningRate: value("learning_rate"), temperature: value("temperature"))
        }
    }
}

extension DynamicsKind {
    /// How a cell's step size is given.
    public enum TimeStep: Sendable {
        /// The step is the learning rate (discrete `sgd`): no key.
        case learningRate
        /// `dt`, default given.
        case dt(default: Double)
        /// `dt`, or `dt_fraction` (dt = dt_fraction·η), default fraction given; not both.
        case dtOrFraction(defaultFraction: Double)
    }

    public var timeStep: TimeStep {
        switch self {
        case .langevin, .levy: .dt(default: 1e-3)
        case .sgd, .sgld: .learningRate
        case .sgdSDE: .dtOrFraction(defaultFraction: 0.1)
        }
    }

    /// Every experiment key of the dynamics, in order: its parameters, the noise law's
    /// table and sampling, its time step.
    public var keys: [String] {
        var keys = parameters.map(\.key)
        if hasNoiseLaw { keys += ["replacement", "noise"] }
        if self == .sgld { keys += DynamicsKind.matchedTemperatureKeys }
        switch timeStep {
        case .learningRate: break
        case .dt: keys.append("dt")
        case .dtOrFraction: keys += ["dt", "dt_fraction"]
        }
        return keys
    }
}
