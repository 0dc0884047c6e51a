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

    public init(problem: ExitProblem, maxNodes: Int = 4001) throws {
        let landscape = problem.landscape
        guard landscape.dimension == 1, landscape.finiteSum == nil else {
            throw DynamicsError("method \"chain\" needs a 1-D expression landscape (the chain's kernel must be Gaussian)")
        }
        let simulator = try EnsembleSimulator(problem: problem, integrator: EulerMaruyama(exitTest: .step))
        guard case .additive(let s) = simulator.mode else {
            throw DynamicsError("method \"chain\" needs Gaussian additive noise (langevin, or sgd / sgd-sde with a gaussian law); \(EnsembleSimulator.noiseName(problem.dynamics)) noise has no Gaussian kernel")
        }
        let h = problem.stepSize
        var lower: Double? = nil, upper: Double? = nil
        for term in problem.exitTerms {
            guard let g = term.level, let c = g.derivative(withRespectTo: 0).constantValue, c != 0 else {
                throw DynamicsError("method \"chain\" needs exit sides of the form x > b or x < a; '\(term.label)' is not")
            }
            let boundary = -g.evaluate(at: [0]) / c + 0  // + 0 turns −0 into 0
            if c > 0 {
                if upper != nil { throw DynamicsError("method \"chain\" allows one upper exit boundary") }
                upper = boundary
            } else {
                if lower != nil { throw DynamicsError("method \"chain\" allows one lower exit boundary") }
                lower = boundary
            }
        }
        let x0 = problem.start[0]
        // A truncation far enough that the chain never reaches it: V − V(x₀) above 40 ε_eff,
        // ε_eff = s²/(2h) the chain's temperature (e^{−40} ≈ 4e-18 of the mass).
        let temperature = s * s / (2 * h)
        func truncation(_ direction: Double) throws -> Double {
            let v0 = landscape.value(at: [x0])
            var step = max(s, 1e-3)
            var x = x0
            while abs(x - x0) < 1e3 {
                x += direction * step
                step *= 1.1
                if landscape.value(at: [x]) - v0 > 40 * temperature && direction * landscape.gradient(at: [x])[0] > 0 { return x }
            }
            throw DynamicsError("method \"chain\": the landscape does not confine the chain on the open side; add an exit boundary there")
        }
        let lo = try lower ?? truncation(-1)
        let hi = try upper ?? truncation(1)
        guard lo < x0, x0 < hi else { throw DynamicsError("method \"chain\": the start must lie strictly inside the exit boundaries") }
        let wanted = Int(((hi - lo) / (s / 4)).rounded(.up)) + 1
        let nodes = min(max(wanted, 201), maxNodes) | 1
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
