import Diffusion

/// `method = "theory"`: a closed-form prediction of the mean exit time (`TheoryReference`:
/// Kramers, Eyring–Kramers, Getoor, Imkeller–Pavlyukevich, Hu et al.'s saddle law, Xie et
/// al.), or with `theory = "stability"` the largest stable learning rates at the minimum
/// (docs/THEORY.md §2–§4). Each formula states its source and assumptions in the cell's
/// estimator. Every cell's prediction is computed when the spec is checked (it costs
/// microseconds), so a formula that does not apply is a spec error before any cell runs.
public struct TheoryMethod: ExperimentMethod {
    public static let name = "theory"
    /// Not `sgld`: the reference of that discrete chain is `chain` (1-D) or Monte Carlo.
    public static let dynamics: [DynamicsKind]? = DynamicsKind.continuousFamilies
    public static let kind = MethodKind.theory
    public static let summary = "closed-form prediction (kramers, eyring-kramers, getoor, imkeller-pavlyukevich, hu-saddle, xie, mori, stability, sharpness)"
    public static let keys = ["theory", "saddle"]
    public static let simulationKeysNotApplicable = "a deterministic result for the continuous dynamics"

    static let stability = "stability"
    static let sharpness = "sharpness"
    /// Formulas that give quantities of the landscape, no exit time.
    static let geometryFormulas = [stability, sharpness]
    static let levyLaws = ["getoor", "imkeller-pavlyukevich"]
    /// Formulas for SGD's state-dependent noise (any law with a covariance; each cell's check decides).
    static let stateDependentLaws = ["xie", "mori"]

    /// The formula (one of `TheoryReference.names`).
    public let formula: String
    public let saddle: [Double]?

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {
        formula = try r.string("theory", required: true, allowed: TheoryReference.names)!
        let saddle = try r.vector("saddle")
        if let saddle, saddle.count != landscape.dimension && formula != "hu-saddle" {
            throw r.error("saddle", "must have \(landscape.dimension) coordinates, got \(saddle.count)")
        }
        self.saddle = saddle
    }

    /// `theory = "stability"` needs no learning rate (the thresholds are learning rates);
    /// given, it adds the Lyapunov exponent at η.
    public var optionalDynamicsParameters: [String] { formula == Self.stability ? ["learning_rate"] : [] }
    var isGeometry: Bool { Self.geometryFormulas.contains(formula) }

    public mutating func finish(_ r: inout TableReader, _ x: inout ExperimentDraft) throws(SpecError) {
        let levy = x.dynamics == .levy
        if Self.levyLaws.contains(formula) != levy {
            throw r.error("theory", levy
                ? "\"\(formula)\" does not apply to dynamics \(x.dynamics.quoted); Lévy exits follow \(Self.levyLaws.map { "\"\($0)\"" }.joined(separator: " or "))"
                : "\"\(formula)\" is a law for dynamics \(DynamicsKind.levy.quoted), got \(x.dynamics.quoted)")
        }
        if isGeometry {
            guard x.dynamics.isSGDFamily, x.landscape.finiteSum != nil else {
                throw r.error("theory", "\"\(formula)\" needs dynamics \(DynamicsKind.sgd.quoted) on a finite-sum landscape")
            }
        } else if Self.stateDependentLaws.contains(formula) {
            guard x.dynamics.isSGDFamily else {
                throw r.error("theory", "\"\(formula)\" needs dynamics \(DynamicsKind.sgd.quoted) or \(DynamicsKind.sgdSDE.quoted)")
            }
            if formula == "mori", x.noiseLaw != .lossProportional {
                throw r.error("theory", "\"mori\" needs noise law \(NoiseLawKind.lossProportional.quoted) with hessian_scale")
            }
        } else if !levy {
            guard x.noiseLaw == nil || x.noiseLaw == .gaussian else {
                throw r.error("theory", "\"\(formula)\" needs isotropic Gaussian noise (langevin, or sgd / sgd-sde with noise law \(NoiseLawKind.gaussian.quoted)), got noise law \(x.noiseLaw!.quoted)")
            }
        }
    }

    /// The prediction, or the reason it does not apply (a spec error: the spec alone decides it).
    func predict(_ cell: MethodCell) throws(SpecError) -> TheoryPrediction {
        do { return try TheoryReference.predict(formula, problem: cell.problem, saddle: saddle) }
        catch { throw cell.error("theory", "\"\(formula)\": \(error)") }
    }

    public func check(_ cell: MethodCell) throws(SpecError) {
        guard isGeometry else { _ = try predict(cell); return }
        // the thresholds themselves cost up to O(d⁶) (the mean-square operator): computed when run
        if case .sgd(_, let b, _, false) = cell.problem.dynamics, let n = cell.problem.landscape.finiteSum?.sampleCount, b > n {
            throw cell.error("batch_size", "sampling without replacement needs B ≤ n = \(n), got \(b) (with replacement = true any B ≥ 1 is defined)")
        }
    }

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        let terms = cell.problem.exitTerms.count
        if formula == Self.stability {
            let quantities = try TheoryReference.stability(problem: cell.problem)
            return MethodOutput(
                estimate: ExitTimeEstimate(exact: .nan, estimator: "theory stability: largest stable learning rates at the minimum (docs/THEORY.md §3: GD, mean-square, Wu–Ma–E, sure, almost-sure Lyapunov with every stable interval, Wu–Wang–Su, μ_min at a zero-loss minimum); no exit time", termCount: terms),
                quantities: quantities)
        }
        if formula == Self.sharpness {
            let quantities = try TheoryReference.sharpness(problem: cell.problem)
            return MethodOutput(
                estimate: ExitTimeEstimate(exact: .nan, estimator: "theory sharpness: λ_max(H), ‖H‖_F, L, ‖∇L‖, 2/λ_max and the Wu–Wang–Su alignment and bound at the start (docs/THEORY.md §3, §7); no exit time", termCount: terms),
                quantities: quantities)
        }
        let prediction = try predict(cell)
        let value = cell.problem.dynamics.kind == .sgd ? prediction.value / cell.problem.dynamics.learningRate! : prediction.value
        return MethodOutput(estimate: ExitTimeEstimate(
            exact: value, estimator: "theory \(formula): \(prediction.formula) [\(prediction.reference); \(prediction.assumptions)]",
            termCount: terms))
    }
}
