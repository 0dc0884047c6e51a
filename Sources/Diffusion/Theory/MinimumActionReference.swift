import Foundation

/// A problem's large-deviation prediction from its minimum-action path (docs/THEORY.md §2):
/// the quasi-potential barrier from the minimum reached from the start to the saddle (given,
/// or in 1-D the first maximum towards the exit region), under the problem's own noise
/// geometry, and the log-asymptotic exit time it implies — no prefactor, so only its
/// exponent is comparable with Monte Carlo (slopes of log τ, not τ itself).
///
/// - `langevin`: Σ = 2I so the barrier is ΔV and E τ ≍ exp(V̄/ε).
/// - `sgd`, `sgd-sde`: Σ₁ the per-sample covariance of the noise law (or the finite sum's);
///   the barrier is the steepness s and E[iterations] ≍ η⁻¹ exp(s/(η·c_B)) with the
///   minibatch factor c_B of `NoiseModel` — exp(B·s/η) for c_B = 1/B (Hu et al. 2019);
///   `sgd-sde` reports t = η·iterations.
public struct MinimumActionReference: Sendable {
    public let barrier: Double
    public let prediction: Double
    public let saddle: [Double]
    public let converged: Bool
    public let formula: String

    public init(problem: ExitProblem, saddle given: [Double]?) throws {
        let landscape = problem.landscape
        guard let minimum = try CriticalPointFinder.find(on: landscape, near: problem.start), minimum.kind == .minimum else {
            throw TheoryError("no minimum found by Newton from the start \(problem.start)")
        }
        let z: [Double]
        if let given { z = given } else {
            guard landscape.dimension == 1 else {
                throw TheoryError("give saddle = [...] (the index-1 saddle on the way out) for a \(landscape.dimension)-D landscape")
            }
            z = [try TheoryReference.barrier1D(problem, minimum: minimum.point[0])]
        }
        saddle = z
        let noise: NoiseModel
        do { noise = try NoiseModel(dynamics: problem.dynamics, landscape: landscape) } catch { throw TheoryError(error.message) }
        switch problem.dynamics {
        case .sgd(let eta, let b, let law, let replacement), .sgdSDE(let eta, let b, let law, let replacement):
            let s = try MinimumAction.steepness(on: landscape, minimum: minimum.point, saddles: [z], noise: law)
            barrier = s
            converged = true
            let iterations: Double
            if case .finiteSum = law, !replacement {
                // ε = η·c_B with c_B = (n−B)/(B(n−1)), not η/B
                iterations = exp(s / (eta * noise.minibatchFactor!)) / eta
                formula = "E[iterations] ≍ η⁻¹·exp(s/(η·c_B)), c_B = (n−B)/(B(n−1)) (without replacement), s the steepness (action under Σ₁); no prefactor"
            } else {
                iterations = try EscapeTheory.sgdArrheniusIterations(quasiPotential: s, learningRate: eta, batchSize: b).value
                formula = "E[iterations] ≍ η⁻¹·exp(B·s/η), s the steepness (action under Σ₁); no prefactor"
            }
            if case .sgd = problem.dynamics { prediction = iterations } else { prediction = iterations * eta }
        default:
            // isotropic dynamics dX = −∇V dt + √(2ε) dW: Σ = 2I, E τ ≍ exp(V̄/ε)
            guard let sigma = noise.largeDeviationCovariance, let eps = noise.isotropicDiffusion else {
                throw TheoryError("minimum-action needs Gaussian-type noise; Lévy exits are by jumps (use theory = \"imkeller-pavlyukevich\")")
            }
            let path = try MinimumAction.basinBarrier(on: landscape, minimum: minimum.point, saddles: [z], covariance: sigma)
            barrier = path.action
            converged = path.converged
            prediction = exp(barrier / eps)
            formula = "E τ ≍ exp(V̄/ε), V̄ the action with Σ = 2I (= ΔV for a gradient system); no prefactor"
        }
    }
}
