import Foundation
import Testing
import CGSL
import TestSupport
@testable import Diffusion

/// Exit times of the 1-D double well V = x⁴/4 − x²/2 from −1 to 0 (docs/THEORY.md §1) against
/// references exact for each scheme.
@Suite struct DoubleWellExitTests {
    static let landscape = try! Landscape(expression: "x^4/4 - x^2/2")
    static func potential(_ x: Double) -> Double { x * x * x * x / 4 - x * x / 2 }
    static func slope(_ x: Double) -> Double { x * x * x - x }

    func simulate(_ dynamics: Dynamics, dt: Double, exitTest: ExitTestKind, paths: Int, seed: UInt64 = 1)
        throws -> ExitTimeEstimate {
        let problem = try ExitProblem(landscape: Self.landscape, dynamics: dynamics, dt: dt, start: [-1],
                                      exit: .condition("x > 0"), maxSteps: 100_000_000)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: exitTest))
        let samples = simulator.run(paths: paths, seed: seed, threads: 2)
        let isSGD: Bool = if case .sgd = dynamics { true } else { false }
        return ExitTimeEstimate(samples: samples, termCount: 1, timeScale: isSGD ? 1 : dt)
    }

    @Test func quadratureReproducesTheoryValue() throws {
        let t = try MeanFirstPassage1D.meanExitTime(potential: Self.potential, epsilon: 0.1, start: -1, barrier: 0)
        // docs/THEORY.md quotes 6 significant digits
        #expect(abs(t - References.doubleWellMFPT) < 5e-5)
    }

    /// Bridge test at dt = 1e-3: the O(√dt) monitoring bias is gone; what is left is
    /// Euler–Maruyama's O(dt) weak error, budgeted at T·dt·max|V''| on [−1.5, 0] (= T·dt·5.75).
    @Test func langevinBridgeMatchesExactMFPT() throws {
        let exact = try MeanFirstPassage1D.meanExitTime(potential: Self.potential, epsilon: 0.1, start: -1, barrier: 0)
        let dt = 1e-3
        let e = try simulate(.langevin(epsilon: 0.1), dt: dt, exitTest: .bridge, paths: 10_000)
        let se = try #require(e.standardError), mean = try #require(e.mean)
        let budget = exact * dt * 5.75
        #expect(e.censored == 0 && e.exited == 10_000)
        #expect(abs(mean - exact) < Statistics.z * se + budget, "mean \(mean) ± \(se), exact \(exact)")
    }

    /// Step test at dt = 0.01: consistent with the exact expectation of the Euler–Maruyama
    /// chain itself (grid solve, Richardson error added), and visibly above the SDE's value.
    @Test func langevinStepMatchesExactChainAndIsLate() throws {
        let dt = 0.01, eps = 0.1
        let chain = try DiscreteChain1D.meanExitSteps(slope: Self.slope, stepSize: dt, noise: (2 * eps * dt).squareRoot(),
                                                      start: -1, barrier: 0, lower: -2.6, nodes: 1201)
        let e = try simulate(.langevin(epsilon: eps), dt: dt, exitTest: .step, paths: 20_000)
        let se = try #require(e.standardError), mean = try #require(e.mean)
        let reference = chain.extrapolated * dt
        #expect(abs(mean - reference) < Statistics.z * se + chain.errorEstimate * dt, "mean \(mean) ± \(se), chain \(reference)")
        // late by the discrete-monitoring bias: more than 3 SE above the continuous MFPT
        #expect(mean - References.doubleWellMFPT > 3 * se)
        // and the exact chain agrees with the boundary-shift prediction β√(2ε dt)·T'(0⁻) to 20 %
        let beta = -gsl_sf_zeta(0.5) / (2 * Double.pi).squareRoot()
        let shifted = try MeanFirstPassage1D.meanExitTime(potential: Self.potential, epsilon: eps, start: -1,
                                                          barrier: beta * (2 * eps * dt).squareRoot())
        #expect(abs((reference - References.doubleWellMFPT) / (shifted - References.doubleWellMFPT) - 1) < 0.2)
    }

    /// Discrete SGD with Gaussian noise, η = 0.01, σ² = 20, B = 1, is the Euler–Maruyama chain
    /// with h = η and ε = ησ²/(2B) = 0.1; its SDE is the Langevin diffusion at ε = 0.1, time
    /// t = kη. SGD must match its own exact chain, and exceed the SDE by the chain's
    /// finite-η bias (chain − continuous), not by zero.
    @Test func sgdDiffersFromItsSDEByTheFiniteStepBias() throws {
        let eta = 0.01, sigma = 20.0.squareRoot()
        let sgd = try simulate(.sgd(learningRate: eta, batchSize: 1, noise: .gaussian(sigma: sigma), withReplacement: true),
                               dt: eta, exitTest: .step, paths: 20_000, seed: 2)
        let sde = try simulate(.sgdSDE(learningRate: eta, batchSize: 1, noise: .gaussian(sigma: sigma), withReplacement: true),
                               dt: eta / 10, exitTest: .bridge, paths: 10_000, seed: 3)
        let chain = try DiscreteChain1D.meanExitSteps(slope: Self.slope, stepSize: eta, noise: eta * sigma,
                                                      start: -1, barrier: 0, lower: -2.6, nodes: 1201)
        let continuous = References.doubleWellMFPT / eta  // iterations
        let sgdMean = try #require(sgd.mean), sgdSE = try #require(sgd.standardError)
        let sdeIterations = try #require(sde.mean) / eta, sdeSE = try #require(sde.standardError) / eta
        #expect(abs(sgdMean - chain.extrapolated) < Statistics.z * sgdSE + chain.errorEstimate)
        // the SDE (bridge, dt = η/10) sits at the continuous value within its EM budget T·dt·5.75
        #expect(abs(sdeIterations - continuous) < Statistics.z * sdeSE + continuous * (eta / 10) * 5.75)
        // direction and size of the difference
        let predicted = chain.extrapolated - continuous
        let measured = sgdMean - sdeIterations
        let combined = (sgdSE * sgdSE + sdeSE * sdeSE).squareRoot()
        #expect(predicted > 0 && measured > 0)
        #expect(abs(measured - predicted) < Statistics.z * combined + continuous * (eta / 10) * 5.75 + chain.errorEstimate)
    }
}

/// α-stable noise with no drift: exit from (−1, 1) started at 0 has mean 1/Γ(1+α) for
/// ε = 1 (Getoor 1961). Checked at step ends, the chain exits late by about one typical
/// step dt^{1/α} in the boundary, i.e. relative α·dt^{1/α}: that is the stated budget.
@Suite struct LevyGetoorTests {
    @Test(arguments: [1.2, 1.5, 1.8])
    func meanExitMatchesGetoor(alpha: Double) throws {
        let landscape = try Landscape(expression: "0*x", variables: ["x"])
        let dt = 1e-4
        let problem = try ExitProblem(landscape: landscape, dynamics: .levy(epsilon: 1, alpha: alpha), dt: dt,
                                      start: [0], exit: .interval(lower: -1, upper: 1), maxSteps: 100_000_000)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .step))
        let samples = simulator.run(paths: 10_000, seed: 11, cell: Int(alpha * 10), threads: 2)
        let e = ExitTimeEstimate(samples: samples, termCount: 2, timeScale: dt)
        let exact = 1 / gsl_sf_gamma(1 + alpha)
        let mean = try #require(e.mean), se = try #require(e.standardError)
        let budget = exact * alpha * pow(dt, 1 / alpha)
        #expect(abs(mean - exact) < Statistics.z * se + budget, "alpha \(alpha): mean \(mean) ± \(se), exact \(exact)")
        // symmetric: both sides used about equally (binomial, z = 5)
        let lower = Double(e.sideCounts[0]), n = Double(e.exited)
        #expect(abs(lower - n / 2) < Statistics.z * (n / 4).squareRoot())
    }
}

@Suite struct EnsembleDeterminismTests {
    @Test func sameSeedSameBitsForAnyThreadCount() throws {
        let landscape = try Landscape(expression: "x^4/4 - x^2/2 + y^2")
        let problem = try ExitProblem(landscape: landscape, dynamics: .langevin(epsilon: 0.15), dt: 1e-3,
                                      start: [-1, 0], exit: .condition("x > 0 || y > 1"), maxSteps: 20_000)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .bridge))
        let one = simulator.run(paths: 1500, seed: 5, threads: 1)
        let two = simulator.run(paths: 1500, seed: 5, threads: 2)
        let four = simulator.run(paths: 1500, seed: 5, threads: 4)
        #expect(one == two && two == four)
        #expect(one.outcomes.contains(ExitSamples.censored))  // the cap is reached by some paths
    }
}

@Suite struct ExitTimeEstimateTests {
    /// Exponential exit times (mean μ) censored at C: the restricted-mean + exponential-tail
    /// estimator is unbiased for exponential data; check it within 5 SE over several seeds.
    @Test(arguments: [1, 2, 3, 4])
    func censoredExponentialMean(seed: Int) {
        let stream = RandomStream(key: StreamKey(seed: UInt64(seed), experiment: 99))
        let n = 20_000, mu = 1000.0, cap = 1500
        var samples = ExitSamples(dimension: 1, count: n)
        for i in 0..<n {
            let t = Int((-mu * log(stream.uniformPositive())).rounded(.up))
            if t >= cap { samples.steps[i] = cap; samples.outcomes[i] = ExitSamples.censored } else { samples.steps[i] = t; samples.outcomes[i] = 0 }
        }
        let e = ExitTimeEstimate(samples: samples, termCount: 1, timeScale: 1)
        #expect(e.censored > 0 && e.estimator == ExitTimeEstimate.restrictedMeanExponentialTail)
        // ceil() of an exponential is geometric with mean 1/(1 − e^{−1/μ}) ≈ μ + 1/2
        let exact = 1 / (1 - exp(-1 / mu))
        #expect(abs(e.mean! - exact) < Statistics.z * e.standardError!, "mean \(e.mean!) ± \(e.standardError!), exact \(exact)")
        #expect(e.lowerBound < exact)
    }

    @Test func uncensoredIsSampleMean() {
        var samples = ExitSamples(dimension: 1, count: 4)
        samples.steps = [10, 20, 30, 40]
        samples.outcomes = [0, 1, 0, ExitSamples.diverged]
        let e = ExitTimeEstimate(samples: samples, termCount: 2, timeScale: 0.5)
        #expect(e.mean == 10 && e.exited == 3 && e.diverged == 1 && e.sideCounts == [2, 1])
        #expect(e.estimator == ExitTimeEstimate.sampleMean)
        #expect(abs(e.standardError! - 5 / 3.0.squareRoot()) < 1e-12)  // s = 10·0.5, n = 3
    }
}
