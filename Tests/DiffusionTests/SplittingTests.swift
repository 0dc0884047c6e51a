import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// Adaptive multilevel splitting (docs/THEORY.md §6) against references exact for the same
/// scheme: the Euler chain's grid solve (step test), the diffusion's quadrature and 2-D grid
/// (bridge test), the chain's committor (unbiasedness of p̂), brute-force Monte Carlo (finite
/// sums). Seeds are fixed; the acceptance band is the issue's 3 SE (of the splitting estimate,
/// plus the reference's own error estimate where it has one).
@Suite struct SplittingTests {
    static let landscape = try! Landscape(expression: "x^4/4 - x^2/2")
    static func potential(_ x: Double) -> Double { x * x * x * x / 4 - x * x / 2 }
    static func slope(_ x: Double) -> Double { x * x * x - x }

    static func problem(_ dynamics: Dynamics, dt: Double = 1e-3, landscape: Landscape = SplittingTests.landscape,
                        start: [Double] = [-1], exit: ExitRegion = .condition("x > 0")) throws -> ExitProblem {
        try ExitProblem(landscape: landscape, dynamics: dynamics, dt: dt, start: start, exit: exit, maxSteps: 100_000_000)
    }

    static func splitting(_ problem: ExitProblem, exitTest: ExitTestKind, runs: Int = 20, loops: Int = 20_000,
                          seed: UInt64 = 1, threads: Int = 2) throws -> AdaptiveMultilevelSplitting.Estimate {
        let settings = try SplittingSettings(defaultsFor: problem, runs: runs, loops: loops)
        let ams = try AdaptiveMultilevelSplitting(problem: problem, integrator: Integrator(exitTest: exitTest), settings: settings)
        return try ams.estimate(seed: seed, threads: threads)
    }

    /// Step test: the same Euler–Maruyama chain as Monte Carlo, so the exact chain's mean (banded
    /// grid solve, Richardson error added) is the reference, at ΔV/ε = 5, 10, 12.5.
    @Test(arguments: [0.05, 0.025, 0.02])
    func stepTestMatchesTheExactEulerChain(epsilon: Double) throws {
        let problem = try Self.problem(.langevin(epsilon: epsilon))
        let chain = try ChainReference(problem: problem)
        let e = try Self.splitting(problem, exitTest: .step)
        let mean = try #require(e.meanSteps), se = try #require(e.standardErrorSteps)
        #expect(abs(mean - chain.steps) < 3 * se + chain.stepsError, "ε = \(epsilon): splitting \(mean) ± \(se) steps, chain \(chain.steps) ± \(chain.stepsError)")
        // expected ≈ √(|log p|/(N·R)) ≤ √(13/20 000) ≈ 2.5 % from p alone: 5 % flags a broken error bar
        #expect(se / mean < 0.05, "relative SE \(se / mean)")
        #expect(e.runs.allSatisfy { !$0.extinct && $0.sideCounts == [$0.sideCounts[0]] })
    }

    /// Bridge test: the diffusion's exact mean first-passage time (quadrature), with Euler–
    /// Maruyama's O(dt) weak error budgeted at T·dt·max|V''| on [−1.5, 0] as in the Monte
    /// Carlo test (DoubleWellExitTests). ε = 0.01 (ΔV/ε = 25, T ≈ 1.6·10¹¹) is far beyond
    /// brute force; its relative SE must be ≤ 5 %.
    @Test(arguments: [0.05, 0.02, 0.01])
    func bridgeTestMatchesTheExactMeanFirstPassageTime(epsilon: Double) throws {
        let dt = 1e-3
        let exact = try MeanFirstPassage1D.meanExitTime(potential: Self.potential, epsilon: epsilon, start: -1, barrier: 0)
        let problem = try Self.problem(.langevin(epsilon: epsilon), dt: dt)
        let e = try Self.splitting(problem, exitTest: .bridge)
        let mean = try #require(e.meanSteps) * dt, se = try #require(e.standardErrorSteps) * dt
        #expect(abs(mean - exact) < 3 * se + exact * dt * 5.75, "ε = \(epsilon): splitting \(mean) ± \(se), exact \(exact)")
        #expect(se / mean < 0.05, "relative SE \(se / mean)")
    }

    /// Discrete SGD with Gaussian gradient noise is the Gaussian chain with h = η and
    /// s = ησ/√B; at η = 0.01, σ² = 5, B = 1 (ε = ησ²/2B = 0.025) the exact chain is the reference.
    @Test func discreteSGDMatchesItsExactChain() throws {
        let dynamics = Dynamics.sgd(learningRate: 0.01, batchSize: 1, noise: .gaussian(sigma: 5.0.squareRoot()), withReplacement: true)
        let problem = try Self.problem(dynamics)
        let chain = try ChainReference(problem: problem)
        let e = try Self.splitting(problem, exitTest: .step)
        let mean = try #require(e.meanSteps), se = try #require(e.standardErrorSteps)
        #expect(abs(mean - chain.steps) < 3 * se + chain.stepsError, "splitting \(mean) ± \(se) iterations, chain \(chain.steps)")
    }

    /// Real minibatches: SGD on a 1-D least-squares finite sum leaving |θ − θ*| < r, against
    /// brute-force Monte Carlo of the same chain (feasible here: mean ≈ 900 iterations). The
    /// affine maps θ ↦ (1 − ηxᵢ²)θ + ηxᵢyᵢ confine the chain to a bounded attractor, so r is
    /// taken inside it (at r = 0.5 no path ever leaves).
    @Test func finiteSumSGDMatchesBruteForceMonteCarlo() throws {
        let features: [[Double]] = [[0.6], [0.9], [1.0], [1.1], [1.4], [0.8], [1.2], [1.0]]
        let targets: [Double] = [0.9, 0.4, 1.3, 0.7, 1.6, 1.1, 0.8, 1.5]
        let sxy = zip(features, targets).reduce(0) { $0 + $1.0[0] * $1.1 }
        let sxx = features.reduce(0) { $0 + $1[0] * $1[0] }
        let minimizer = sxy / sxx
        let landscape = Landscape(finiteSum: LinearRegression(features: features, targets: targets), summary: "test regression")
        let dynamics = Dynamics.sgd(learningRate: 0.2, batchSize: 1, noise: .finiteSum, withReplacement: true)
        let problem = try Self.problem(dynamics, landscape: landscape, start: [minimizer],
                                       exit: .ball(center: [minimizer], radius: 0.34))
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .step))
        let brute = ExitTimeEstimate(samples: simulator.run(paths: 20_000, seed: 5, threads: 2), termCount: 1, timeScale: 1)
        let e = try Self.splitting(problem, exitTest: .step, loops: 5_000)
        let mean = try #require(e.meanSteps), se = try #require(e.standardErrorSteps)
        let bruteMean = try #require(brute.mean), bruteSE = try #require(brute.standardError)
        print("finite-sum SGD: splitting \(mean) ± \(se), Monte Carlo \(bruteMean) ± \(bruteSE) iterations")
        #expect(brute.censored == 0 && bruteMean > 300, "brute force \(bruteMean) ± \(bruteSE), splitting \(mean) ± \(se): the exit must be rare-ish yet reachable")
        #expect(abs(mean - bruteMean) < 3 * (se * se + bruteSE * bruteSE).squareRoot(),
                "splitting \(mean) ± \(se), Monte Carlo \(bruteMean) ± \(bruteSE)")
    }

    /// A non-separable 2-D landscape, V = x⁴/4 − x²/2 + (y − x/2)² (minima (±1, ±½), saddle at 0,
    /// ΔV = ¼), exit x > 0, bridge test: the exact mean exit time of the diffusion from the 2-D
    /// backward-Kolmogorov grid (Richardson error estimate added) plus Euler–Maruyama's O(dt)
    /// budget T·dt·max‖∇²V‖ as in 1-D (max over x ∈ [−1.5, 0] of ‖[[3x² − ½, −1], [−1, 2]]‖ =
    /// 6.5, taken as 8), with ξ = x and with the grid's committor as the replicas' level function.
    @Test func twoDimensionalNonSeparableMatchesTheGrid() throws {
        let landscape = try Landscape(expression: "x^4/4 - x^2/2 + (y - x/2)^2", variables: ["x", "y"])
        let dt = 1e-3
        let problem = try Self.problem(.langevin(epsilon: 0.04), dt: dt, landscape: landscape, start: [-1, -0.5])
        let grid = try BackwardKolmogorovReference(problem: problem, form: .ito,
                                                   domain: Grid2D.Box(x0: -2.4, x1: 0.6, y0: -2.6, y1: 1.6), nodes: 257)
        let box = Grid2D.Box(x0: -2.4, x1: 0.6, y0: -2.6, y1: 1.6)
        // levels from ξ = x (the default), then from the grid's committor (same A and Σ)
        var settings = try SplittingSettings(defaultsFor: problem, loops: 10_000)
        let xi = CompiledProgram(outputs: [settings.reactionCoordinate], dimension: 2), zA = settings.startLevel
        let committor = try BackwardKolmogorovReference.committor(problem: problem, domain: box,
                                                                  a: { x, y in xi.evaluate(at: [x, y])[0] <= zA })
        for levels in [nil, committor] {
            settings.levelGrid = levels
            let ams = try AdaptiveMultilevelSplitting(problem: problem, integrator: Integrator(exitTest: .bridge), settings: settings)
            let e = try ams.estimate(seed: 1, threads: 2)
            let mean = try #require(e.meanSteps) * dt, se = try #require(e.standardErrorSteps) * dt
            #expect(abs(mean - grid.time) < 3 * se + grid.timeError + grid.time * dt * 8,
                    "\(levels == nil ? "ξ = x" : "committor") levels: splitting \(mean) ± \(se), grid \(grid.time) ± \(grid.timeError)")
        }
    }

    /// Unbiasedness (Bréhier et al. 2016, Thm 4.1): with only N = 10 replicas and k = 1, the
    /// mean of p̂ over 4000 independent runs from x = −0.9 matches the Euler chain's exact
    /// committor P(x > 0 before x ≤ −1), within 3 SE of the run mean (plus the grid error).
    /// A biased variant — the runs' geometric mean — sits visibly below it.
    @Test func probabilityEstimateIsUnbiasedForTinyEnsembles() throws {
        let epsilon = 0.1, dt = 0.01
        let problem = try Self.problem(.langevin(epsilon: epsilon), dt: dt)
        let settings = try SplittingSettings(defaultsFor: problem, replicas: 10, kill: 1, runs: 1, loops: 10,
                                             startLevel: -1, sigmaLevel: -0.9)
        let ams = try AdaptiveMultilevelSplitting(problem: problem, integrator: Integrator(exitTest: .step), settings: settings)
        let runs = try ams.runs(count: 4000, entryPoints: [-0.9], entrySides: [-1], seed: 9, threads: 2)
        let p = runs.map(\.probability)
        let s = (2 * epsilon * dt).squareRoot()
        let exact = try DiscreteChain1D.upperExitProbability(slope: Self.slope, stepSize: dt, noise: s, start: -0.9,
                                                            lower: -1, upper: 0, nodes: 2001)
        let mean = Statistics.mean(p), se = Statistics.standardError(p)
        #expect(abs(mean - exact.extrapolated) < 3 * se + exact.errorEstimate, "mean p̂ \(mean) ± \(se), exact \(exact.extrapolated)")
        #expect(se / mean < 0.03)
        let positive = p.filter { $0 > 0 }
        let geometric = exp(positive.map(log).reduce(0, +) / Double(positive.count))
        #expect(geometric < exact.extrapolated - 3 * se, "the geometric mean \(geometric) is biased low")
    }

    /// Same seed, same bits for any thread count; the loops and runs are the same streams.
    @Test func threadCountDoesNotChangeTheBits() throws {
        let problem = try Self.problem(.langevin(epsilon: 0.05))
        let one = try Self.splitting(problem, exitTest: .bridge, runs: 4, loops: 2000, threads: 1)
        let two = try Self.splitting(problem, exitTest: .bridge, runs: 4, loops: 2000, threads: 2)
        #expect(one.runs == two.runs && one.loops == two.loops)
        #expect(one.meanSteps == two.meanSteps && one.standardErrorSteps == two.standardErrorSteps)
    }

    /// Where exits are not rare, the loops' direct successes estimate p without splitting:
    /// the two agree (binomial SE of the direct estimate and the runs' SE).
    @Test func directLoopSuccessesAgreeWithSplitting() throws {
        let problem = try Self.problem(.langevin(epsilon: 0.1), dt: 0.01)
        let e = try Self.splitting(problem, exitTest: .step, runs: 20, loops: 50_000)
        let direct = Double(e.loops.reactiveSteps.count) / Double(e.loops.started)
        let directSE = (direct * (1 - direct) / Double(e.loops.started)).squareRoot()
        #expect(e.loops.reactiveSteps.count > 100)
        #expect(abs(direct - e.probability) < 3 * (directSE * directSE + e.probabilityStandardError * e.probabilityStandardError).squareRoot(),
                "direct \(direct) ± \(directSE), splitting \(e.probability) ± \(e.probabilityStandardError)")
    }

    @Test func clearErrors() throws {
        let problem = try Self.problem(.langevin(epsilon: 0.05))
        var settings = try SplittingSettings(defaultsFor: problem)
        settings.sigmaLevel = settings.startLevel
        #expect(throws: DynamicsError.self) { try AdaptiveMultilevelSplitting(problem: problem, integrator: Integrator(), settings: settings) }
        let compound = try Self.problem(.langevin(epsilon: 0.05), exit: .condition("x > 0 && x < 2"))
        #expect(throws: DynamicsError.self) { try SplittingSettings(defaultsFor: compound) }
    }
}
