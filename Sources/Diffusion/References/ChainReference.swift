import Foundation

/// The exact mean exit time of a 1-D Monte Carlo problem's own discrete chain — Euler–
/// Maruyama for `langevin`/`sgd-sde`, the SGD iteration itself for `sgd` with Gaussian
/// noise — checked at step ends, by `DiscreteChain1D` (grid solve of the chain's backward
/// equation, Richardson-extrapolated, with its error estimate). No sampling error: what
/// it differs from the SDE's exact MFPT by is the discretisation, not noise.
public struct ChainReference: Sendable {
    public let steps: Double
    /// Richardson error estimate of `steps`.
    public let stepsError: Double
    public let nodes: Int
    public let lower: Double
    public let upper: Double

    /// `nodes`: the finest grid's node count (odd; the default resolves the kernel at
    /// Δ = s/40, at least 201 and at most `maxNodes`).
    public init(problem: ExitProblem, nodes requested: Int? = nil, maxNodes: Int = 100_001) throws {
        let landscape = problem.landscape
        guard landscape.dimension == 1, landscape.finiteSum == nil else {
            throw DynamicsError("method \"chain\" needs a 1-D expression landscape (the chain's kernel must be Gaussian)")
        }
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .step))
        guard case .gaussian(let s) = simulator.increment else {
            throw DynamicsError("method \"chain\" needs Gaussian additive noise (langevin, sgld, or sgd / sgd-sde with a gaussian law); \(problem.dynamics.noiseLawKind.rawValue) noise has no Gaussian kernel")
        }
        let h = problem.stepSize
        let (lower, upper) = try TheoryReference.boundaries(problem)
        let x0 = problem.start[0]
        // the chain's temperature ε_eff = s²/(2h) sets where it never goes
        let lo = try lower ?? problem.truncation(direction: -1, temperature: s * s / (2 * h), minimumStep: s)
        let hi = try upper ?? problem.truncation(direction: 1, temperature: s * s / (2 * h), minimumStep: s)
        guard lo < x0, x0 < hi else { throw DynamicsError("method \"chain\": the start must lie strictly inside the exit boundaries") }
        let wanted = Int(((hi - lo) / (s / 40)).rounded(.up)) + 1  // Δ = s/40: the kernel resolved (banded solve, O(nodes·(480 + shift/Δ)²))
        let nodes = (requested ?? min(max(wanted, 201), maxNodes)) | 1
        let slope = { (x: Double) in landscape.gradient(at: [x])[0] }
        let result = try DiscreteChain1D.meanExitSteps(slope: slope, stepSize: h, noise: s, start: x0,
                                                       lower: lo, upper: hi, lowerAbsorbing: lower != nil,
                                                       upperAbsorbing: upper != nil, nodes: nodes)
        steps = result.extrapolated
        stepsError = result.errorEstimate
        self.nodes = nodes
        self.lower = lo
        self.upper = hi
    }
}
