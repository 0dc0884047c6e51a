import Foundation
import Diffusion

// `--noise-costs`: nanoseconds per lane-step of the engine for the pairs issue 15 compares,
// each pair on one model, one thread, 4,096 paths, a fixed number of steps (the exit is out
// of reach), best of `--repeats`:
//   - a linear regression (n = 64 samples, d = 2): discrete `sgd` (B = 4) against `sgd-sde`
//     with the finite sum's own covariance (the rule's route) and with Gaussian noise;
//   - a convex landscape V = x²/2 + x⁴/4 in 1-D and V = x²/2 + x⁴/4 + y²/2 + xy/4 in 2-D:
//     `sgd-sde` with Hessian noise (Σ₁ = H) against Gaussian noise.
// Targets (issue 15): finite-sum sgd-sde within 3× of sgd, Hessian within 2× of Gaussian.
func noiseCosts() throws {
    let pathCount = 4096, steps = 200
    func nanoseconds(_ landscape: Landscape, _ dynamics: Dynamics, start: [Double]) throws -> Double {
        let problem = try ExitProblem(landscape: landscape, dynamics: dynamics, dt: 0.01, start: start,
                                      exit: .distanceFromStart(1e9), maxSteps: steps)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator())
        simulator.prepareCompiledSteps()  // where a compiled step kernel applies, built before timing
        var best = Double.infinity
        for r in 0..<repeats {
            best = min(best, seconds { _ = simulator.run(paths: pathCount, seed: UInt64(r + 1), threads: 1) })
        }
        return best / Double(pathCount * steps) * 1e9
    }
    let stream = RandomStream(key: StreamKey(seed: 7))
    let n = 64, d = 2
    let features = (0..<n).map { _ in (0..<d).map { _ in stream.normal() } }
    let targets = (0..<n).map { _ in stream.normal() }
    let regression = Landscape(finiteSum: LinearRegression(features: features, targets: targets), summary: "bench")
    let origin = [Double](repeating: 0, count: d)
    let sgd = try nanoseconds(regression, .sgd(learningRate: 0.05, batchSize: 4, noise: .finiteSum, withReplacement: true), start: origin)
    let sde = try nanoseconds(regression, .sgdSDE(learningRate: 0.05, batchSize: 4, noise: .finiteSum, withReplacement: true), start: origin)
    let gaussianSDE = try nanoseconds(regression, .sgdSDE(learningRate: 0.05, batchSize: 4, noise: .gaussian(sigma: 1), withReplacement: true),
                                      start: origin)
    print("{\"name\": \"noise-cost\", \"model\": \"linear regression n = \(n), d = \(d)\", \"sgd_ns\": \(sgd), \"sgd_sde_finite_sum_ns\": \(sde), \"sgd_sde_gaussian_ns\": \(gaussianSDE), \"finite_sum_over_sgd\": \(sde / sgd), \"gaussian_over_sgd\": \(gaussianSDE / sgd)}")
    for (expression, start) in [("x^2/2 + x^4/4", [0.1]), ("x^2/2 + x^4/4 + y^2/2 + x*y/4", [0.1, 0.1])] {
        let landscape = try Landscape(expression: expression)
        let gaussian = try nanoseconds(landscape, .sgdSDE(learningRate: 0.05, batchSize: 4, noise: .gaussian(sigma: 1), withReplacement: true),
                                       start: start)
        let hessian = try nanoseconds(landscape, .sgdSDE(learningRate: 0.05, batchSize: 4, noise: .hessian(scale: 1), withReplacement: true),
                                      start: start)
        print("{\"name\": \"noise-cost\", \"model\": \"\(expression)\", \"gaussian_ns\": \(gaussian), \"hessian_ns\": \(hessian), \"hessian_over_gaussian\": \(hessian / gaussian)}")
    }
}
