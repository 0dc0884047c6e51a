import Foundation

/// The settings of adaptive multilevel splitting (`AdaptiveMultilevelSplitting`): the
/// ensemble sizes, the reaction coordinate ξ and the two levels that define the start set
/// A = {ξ ≤ `startLevel`} and the level set Σ = {ξ ≥ `sigmaLevel`} near the start
/// (docs/THEORY.md §6).
public struct SplittingSettings: Sendable {
    /// N, the replicas of one AMS run.
    public var replicas: Int
    /// k: each iteration kills every replica whose level is ≤ the k-th smallest.
    public var kill: Int
    /// R, independent AMS runs (their spread is the error bar of p).
    public var runs: Int
    /// Loops simulated directly for E[τ₀], E[loop] and the Σ-entry distribution.
    public var loops: Int
    /// ξ over the landscape's variables.
    public var reactionCoordinate: Expression
    /// How ξ was chosen, for the estimator text.
    public var coordinateDescription: String
    /// z_A: the start set is A = {ξ ≤ z_A}.
    public var startLevel: Double
    /// z_Σ > z_A: a path enters Σ when ξ ≥ z_Σ (or it exits).
    public var sigmaLevel: Double
    /// When set (2-D), the replicas' levels are this function of the state — the committor
    /// from the backward-Kolmogorov grid — instead of ξ; ξ still defines A and Σ. AMS is
    /// unbiased for any level function, and the committor's is the least variance.
    public var levelGrid: GridFunction2D? = nil

    public init(replicas: Int, kill: Int, runs: Int, loops: Int, reactionCoordinate: Expression,
                coordinateDescription: String, startLevel: Double, sigmaLevel: Double) {
        self.replicas = replicas; self.kill = kill; self.runs = runs; self.loops = loops
        self.reactionCoordinate = reactionCoordinate; self.coordinateDescription = coordinateDescription
        self.startLevel = startLevel; self.sigmaLevel = sigmaLevel
    }

    /// The defaults on `problem`: the exit region's level function as ξ (`defaultCoordinate`),
    /// A = {ξ ≤ 0.95·ξ₀} and Σ = {ξ ≥ 0.9·ξ₀} unless `startLevel`/`sigmaLevel` are given.
    public init(defaultsFor problem: ExitProblem, replicas: Int = SplittingSettings.defaultReplicas, kill: Int? = nil,
                runs: Int = SplittingSettings.defaultRuns, loops: Int = SplittingSettings.defaultLoops,
                startLevel: Double? = nil, sigmaLevel: Double? = nil) throws(DynamicsError) {
        let (xi, description) = try SplittingSettings.defaultCoordinate(problem)
        let xi0 = CompiledProgram(outputs: [xi], dimension: problem.augmented(problem.start).count).evaluate(at: problem.augmented(problem.start))[0]
        // the exit level is 0 and ξ₀ < 0 (the start is not in the exit region)
        self.init(replicas: replicas, kill: kill ?? SplittingSettings.defaultKill(replicas: replicas), runs: runs, loops: loops,
                  reactionCoordinate: xi, coordinateDescription: description,
                  startLevel: startLevel ?? xi0 * (1 - SplittingSettings.defaultStartFraction),
                  sigmaLevel: sigmaLevel ?? xi0 * (1 - SplittingSettings.defaultSigmaFraction))
    }

    public static let defaultReplicas = 1000
    public static let defaultRuns = 20
    public static let defaultLoops = 20_000
    /// Default k = N/10: batches of killed replicas are resimulated together in a block of
    /// lanes; the relative variance grows only by a factor ≈ 1 + k/(2N) over k = 1
    /// (Cérou & Guyader 2007: with a fraction α killed per level, the relative variance is
    /// ≈ |log p|·α/((1 − α)|log(1 − α)|)/N).
    public static func defaultKill(replicas: Int) -> Int { max(1, replicas / 10) }
    /// The default levels on the default coordinate (exit at ξ = 0), as fractions of the way
    /// from the start's ξ₀ < 0 to the exit: A = {ξ ≤ 0.95·ξ₀}, Σ = {ξ ≥ 0.9·ξ₀}. A is a
    /// neighbourhood of the start with positive volume (ξ₀ itself may be the minimum of ξ,
    /// as at the centre of a ball exit), Σ just beyond it, so loops are short and frequent.
    public static let defaultStartFraction = 0.05
    public static let defaultSigmaFraction = 0.1

    /// The default reaction coordinate on `problem`'s exit region: the largest of the exit
    /// terms' level functions, each scaled by 1/‖∇g‖ at the start — the signed distance to the
    /// nearest boundary (exit at ξ ≥ 0) when the boundaries are hyperplanes, as in 1-D
    /// `x > b` (a term whose gradient vanishes or is undefined at the start, such as a ball's
    /// ‖x − c‖ − r at its centre, is left unscaled). Throws when a term has no level function
    /// (a compound condition).
    ///
    /// It is the optimal coordinate (the committor's level sets) only in 1-D; in more
    /// dimensions it ignores the landscape, which raises the variance (never the bias) of p̂.
    public static func defaultCoordinate(_ problem: ExitProblem) throws(DynamicsError) -> (Expression, String) {
        let d = problem.landscape.dimension
        var parts: [Expression] = []
        for term in problem.exitTerms {
            guard let g = term.level else {
                throw DynamicsError("the exit term \"\(term.label)\" is not a single comparison, so it has no level function to serve as the default reaction coordinate; set reaction_coordinate")
            }
            // a term on a finite sum's loss is g = L − c (ExitRegion.lossTerms): ∇g = ∇L
            let gradient = g.usesVariables.contains(d)
                ? problem.landscape.gradient(at: problem.start)
                : CompiledProgram(outputs: (0..<d).map { g.derivative(withRespectTo: $0) }, dimension: d).evaluate(at: problem.start)
            // a zero or undefined gradient at the start (the centre of a ball: ‖x − c‖ − r) leaves g unscaled
            let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
            parts.append(norm == 1 || !(norm > 0 && norm.isFinite) ? g : .binary(.multiply, .constant(1 / norm), g))
        }
        guard var xi = parts.first else {
            throw DynamicsError("the exit region has no terms; splitting needs an exit")
        }
        for p in parts.dropFirst() { xi = .call(.max, [xi, p]) }
        let text = xi.formatted(variables: problem.landscape.variables + (problem.lossVariable == nil ? [] : ["L"]))
        let crude = d > 1 ? " (crude in \(d)-D: it ignores the landscape; set reaction_coordinate to an approximate committor to reduce the variance)" : ""
        return (xi, "ξ = \(text), the exit level function\(parts.count > 1 ? "s' maximum" : "") scaled to distance units (default)\(crude)")
    }
}

/// A numerical failure of a splitting run, recorded as the cell's failure.
public struct SplittingFailure: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
