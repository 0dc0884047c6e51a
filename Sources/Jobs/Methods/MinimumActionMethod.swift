import Diffusion

/// `method = "minimum-action"`: the quasi-potential barrier from the minimum to the saddle
/// (given, or in 1-D the first maximum towards the exit) along the minimum-action path under
/// the dynamics' own noise geometry (gMAM), and the log-asymptotic exit time it implies
/// (`MinimumActionReference`, docs/THEORY.md §2). No prefactor: only the exponent (the slope of
/// log τ) compares with Monte Carlo, so reports use it for predicted slopes, not ratios.
public struct MinimumActionMethod: ExperimentMethod {
    public static let name = "minimum-action"
    /// Not `sgld`: the reference of that discrete chain is `chain` (1-D) or Monte Carlo.
    public static let dynamics: [DynamicsKind]? = DynamicsKind.continuousFamilies
    public static let kind = MethodKind.theory
    public static let summary = "quasi-potential barrier / steepness by gMAM; log-asymptotic exit time (exponent only)"
    public static let keys = ["saddle"]
    public static let simulationKeysNotApplicable = "a deterministic result for the continuous dynamics"
    public static let isComparisonReference = false

    public let saddle: [Double]?

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {
        let saddle = try r.vector("saddle")
        if let saddle, saddle.count != landscape.dimension { throw r.error("saddle", "must have \(landscape.dimension) coordinates, got \(saddle.count)") }
        if saddle == nil, landscape.dimension > 1 {
            throw r.error("saddle", "is required for a \(landscape.dimension)-D landscape (the index-1 saddle on the way out)")
        }
        self.saddle = saddle
    }

    public mutating func finish(_ r: inout TableReader, _ x: inout ExperimentDraft) throws(SpecError) {
        if x.dynamics == .levy {
            throw r.error("method", "\(Self.quoted) needs Gaussian-type noise; Lévy exits are by jumps (use method = \(TheoryMethod.quoted), theory = \"imkeller-pavlyukevich\")")
        }
        if x.noiseLaw == .alphaStable {
            throw r.error("method", "\(Self.quoted) needs Gaussian-type noise; alpha-stable exits are by jumps")
        }
    }

    public func check(_ cell: MethodCell) throws(SpecError) {
        let found: CriticalPoint?
        do { found = try CriticalPointFinder.find(on: cell.problem.landscape, near: cell.problem.start) }
        catch { throw cell.error("method", "\(Self.quoted): \(error)") }
        guard let minimum = found, minimum.kind == .minimum else {
            throw cell.error("method", "\(Self.quoted): no minimum found by Newton from the start \(cell.problem.start)")
        }
    }

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        let reference = try MinimumActionReference(problem: cell.problem, saddle: saddle)
        return MethodOutput(
            estimate: ExitTimeEstimate(exact: reference.prediction,
                                       estimator: "minimum action (gMAM) through the saddle \(reference.saddle): barrier \(reference.barrier); \(reference.formula)",
                                       termCount: cell.problem.exitTerms.count),
            quantities: [("quasi_potential_barrier", reference.barrier)])
    }
}
