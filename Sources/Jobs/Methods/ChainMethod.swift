import Diffusion

/// `method = "chain"`: the exact mean exit time of the step-checked discrete chain (discrete
/// `sgd`, or the Euler–Maruyama chain of a diffusion at its `dt`) by a grid solve of the
/// chain's own backward equation, Richardson-extrapolated (`ChainReference`,
/// docs/THEORY.md §1). It validates Monte Carlo with `exit_test = "step"` exactly, bias
/// included. 1-D expression landscapes with Gaussian increments only.
public struct ChainMethod: ExperimentMethod {
    public static let name = "chain"
    public static let kind = MethodKind.exact
    public static let summary = "exact mean exit time of the step-checked chain (1-D grid solve of its backward equation)"
    public static let keys = ["nodes"]
    public static let usesTimeStep = true
    public static let simulationKeysNotApplicable = "a deterministic solve of the step-checked chain"

    /// The finest grid's node count (nil: resolve the kernel at Δ = s/40).
    public let nodes: Int?

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {
        nodes = try r.integer("nodes")
        if let nodes, !(11...1_000_001).contains(nodes) {
            throw r.error("nodes", "must be in 11...1000001, got \(nodes)")
        }
    }

    public mutating func finish(_ r: inout TableReader, _ x: inout ExperimentDraft) throws(SpecError) {
        // a covariance law qualifies when its Σ₁ is constant (checked per cell)
        let gaussian = x.noiseLaw == nil || x.noiseLaw == .gaussian || x.noiseLaw == .covariance
            || (x.dynamics == .sgdSDE && x.noiseLaw == .studentT)
        guard x.dynamics != .levy, gaussian else {
            throw r.error("method", "\(Self.quoted) needs Gaussian increments (langevin, sgld, or sgd / sgd-sde with noise law \(NoiseLawKind.gaussian.quoted)), got dynamics \(x.dynamics.quoted)\(x.noiseLaw.map { " with noise law \($0.quoted)" } ?? "")")
        }
        guard x.landscape.dimension == 1, x.landscape.finiteSum == nil else {
            throw r.error("method", "\(Self.quoted) needs a 1-D expression landscape (the chain's kernel must be Gaussian), this one is \(x.landscape.dimension)-D\(x.landscape.finiteSum == nil ? "" : " finite sum")")
        }
    }

    public func check(_ cell: MethodCell) throws(SpecError) {
        let simulator: EnsembleSimulator
        do { simulator = try EnsembleSimulator(problem: cell.problem, integrator: Integrator(exitTest: .step)) }
        catch { throw cell.error(cell.experiment.noiseLaw == nil ? "dynamics" : "noise", error.message) }
        guard simulator.hasGaussianIncrements else {
            throw cell.error("noise", "must give Gaussian increments of fixed variance for method \(Self.quoted) (a covariance law needs a Σ₁ that does not depend on x)")
        }
        do { _ = try TheoryReference.boundaries(cell.problem) }
        catch { throw cell.error("method", "\(Self.quoted) \(error)") }
    }

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        let reference = try ChainReference(problem: cell.problem, nodes: nodes)
        try CellFailure.requireResolved(reference.steps, error: reference.stepsError, what: "the chain's grid solve")
        let scale = cell.timeScale
        return MethodOutput(
            estimate: ExitTimeEstimate(exact: reference.steps * scale,
                                       estimator: "exact discrete chain: grid solve of its backward equation on [\(reference.lower), \(reference.upper)], \(reference.nodes) nodes, Richardson-extrapolated",
                                       termCount: cell.problem.exitTerms.count),
            methodError: reference.stepsError * scale)
    }
}
