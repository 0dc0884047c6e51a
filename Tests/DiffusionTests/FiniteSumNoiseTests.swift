import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// `sgd-sde` on a finite sum, both `FiniteSumNoiseRoot` routes: the covariance route forms
/// Σ(θ) and its root, the sample-space route adds √v·(1/√n)·Σₖ (gₖ − ḡ)ζₖ (Hu et al. 2019).
/// Both are exact in law, so their checks need no discretisation budget.
@Suite struct FiniteSumNoiseTests {
    /// A linear regression with n samples in d dimensions, features and targets from seed 11.
    static func regression(samples n: Int, dimension d: Int) -> LinearRegression {
        let stream = RandomStream(key: StreamKey(seed: 11))
        let features = (0..<n).map { _ in (0..<d).map { _ in stream.normal() } }
        let targets = (0..<n).map { _ in stream.normal() }
        return LinearRegression(features: features, targets: targets)
    }

    /// The end points minus `centre`, path by path.
    static func centred(_ samples: ExitSamples, about centre: [Double]) -> [[Double]] {
        let d = centre.count
        return (0..<samples.count).map { i in (0..<d).map { j in samples.finalPoints[i * d + j] - centre[j] } }
    }

    /// Each second moment E[uᵣu_c] of the rows `u` against `expected` (d×d row-major), within
    /// 4 standard errors of the mean of uᵣu_c (the sample standard deviation / √N).
    static func expectSecondMoments(_ u: [[Double]], equal expected: [Double], label: String) {
        let d = u.first?.count ?? 0
        for r in 0..<d {
            for c in r..<d {
                let products = u.map { $0[r] * $0[c] }
                let estimate = Statistics.mean(products), se = Statistics.standardError(products)
                #expect(abs(estimate - expected[r * d + c]) <= 4 * se,
                        "\(label) Σ[\(r),\(c)]: \(estimate) ± \(se) vs v·Σ = \(expected[r * d + c])")
            }
        }
    }

    /// The rule depends on (n, d) only, as documented on `FiniteSumNoiseRoot.rule`.
    @Test func ruleByShape() {
        #expect(FiniteSumNoiseRoot.rule(sampleCount: 10_000, dimension: 1) == .covariance)
        #expect(FiniteSumNoiseRoot.rule(sampleCount: 2, dimension: 1) == .covariance)
        #expect(FiniteSumNoiseRoot.rule(sampleCount: 32, dimension: 2) == .sampleSpace)
        #expect(FiniteSumNoiseRoot.rule(sampleCount: 33, dimension: 2) == .covariance)
        #expect(FiniteSumNoiseRoot.rule(sampleCount: 128, dimension: 3) == .sampleSpace)
        #expect(FiniteSumNoiseRoot.rule(sampleCount: 129, dimension: 3) == .covariance)
        #expect(FiniteSumNoiseRoot.rule(sampleCount: 10_000, dimension: 4) == .sampleSpace)
        #expect(FiniteSumNoiseRoot.rule(sampleCount: 20, dimension: 5) == .sampleSpace)
    }

    /// One Euler–Maruyama step from a fixed θ on a linear regression (d = 5, n = 20): the end
    /// points X = θ − h ḡ + noise, centred at their exact mean θ − h ḡ, have the second
    /// moments v·Σ(θ) entry by entry, Σ computed here by hand from the residuals
    /// (gₖ = (aₖᵀθ − yₖ)aₖ) and v = η·h (B = 1). Statistic: the mean of uᵣu_c over N paths;
    /// its SE is the sample standard deviation of uᵣu_c / √N. Tolerance 4 SE per entry
    /// (15 entries × 2 routes: family-wise false-alarm rate below 2·10⁻³), seed 5.
    @Test(arguments: FiniteSumNoiseRoot.allCases)
    func stepHasTheMinibatchCovariance(route: FiniteSumNoiseRoot) throws {
        let d = 5, n = 20, eta = 0.3, h = 0.2, paths = 40_000
        let sum = Self.regression(samples: n, dimension: d)
        let theta = [0.4, -0.3, 0.2, 0.1, -0.5]
        var g = [[Double]](repeating: [Double](repeating: 0, count: d), count: n)
        var mean = [Double](repeating: 0, count: d)
        for k in 0..<n {
            var r = -sum.targets[k]
            for j in 0..<d { r += sum.features[k * d + j] * theta[j] }
            for j in 0..<d { g[k][j] = r * sum.features[k * d + j]; mean[j] += g[k][j] / Double(n) }
        }
        var sigma = [Double](repeating: 0, count: d * d)
        for k in 0..<n { for r in 0..<d { for c in 0..<d { sigma[r * d + c] += (g[k][r] - mean[r]) * (g[k][c] - mean[c]) / Double(n) } } }
        let v = eta * h
        let landscape = Landscape(finiteSum: sum, summary: "regression")
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .finiteSum, withReplacement: true),
                                      dt: h, start: theta, exit: .distanceFromStart(1e9), maxSteps: 1)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(finiteSumNoise: route))
        let samples = try simulator.run(paths: paths, seed: 5, threads: 2)
        #expect(samples.outcomes.allSatisfy { $0 == ExitSamples.censored })
        let u = Self.centred(samples, about: (0..<d).map { theta[$0] - h * mean[$0] })
        Self.expectSecondMoments(u, equal: sigma.map { v * $0 }, label: "\(route)")
    }

    /// The same on a network (`MLP`, a `BatchedFiniteSum`): its sample-space step is one
    /// weighted batch gradient Σₖ wₖgₖ with wₖ = −h/n + √(v/n)(ζₖ − ζ̄) (matrix products).
    /// A 2–2–1 tanh MLP with biases, square loss, n = 12 (d = 9), B = 3 without replacement:
    /// the end points' second moments about θ − hḡ equal v·Σ(θ) with v = η·h·(n−B)/(B(n−1)),
    /// Σ from the per-sample gradients (`addSampleGradient`), entry by entry within 4 SE
    /// (45 entries: family-wise false-alarm rate below 3·10⁻³), seed 6.
    @Test func networkStepHasTheMinibatchCovariance() throws {
        let n = 12, eta = 0.4, h = 0.1, batch = 3, paths = 40_000
        let stream = RandomStream(key: StreamKey(seed: 12))
        let inputs = (0..<(2 * n)).map { _ in stream.normal() }
        let targets = (0..<n).map { _ in stream.normal() }
        let mlp = MLP(inputs: inputs, sampleCount: n, targets: targets, hiddenWidths: [2], outputs: 1,
                      activation: .tanh, bias: true, loss: .square, sharpness: 1)
        let d = mlp.dimension
        #expect(d == 9)
        let theta = mlp.initialParameters(seed: 3).map { $0 + 0.3 }
        var g = [[Double]](repeating: [Double](repeating: 0, count: d), count: n)
        var mean = [Double](repeating: 0, count: d)
        theta.withUnsafeBufferPointer { t in
            for k in 0..<n {
                g[k].withUnsafeMutableBufferPointer { mlp.addSampleGradient(k, at: t.baseAddress!, scale: 1, into: $0.baseAddress!) }
                for j in 0..<d { mean[j] += g[k][j] / Double(n) }
            }
        }
        var sigma = [Double](repeating: 0, count: d * d)
        for k in 0..<n { for r in 0..<d { for c in 0..<d { sigma[r * d + c] += (g[k][r] - mean[r]) * (g[k][c] - mean[c]) / Double(n) } } }
        let v = eta * h * Double(n - batch) / Double(batch * (n - 1))
        let landscape = Landscape(finiteSum: mlp, summary: "network")
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgdSDE(learningRate: eta, batchSize: batch, noise: .finiteSum, withReplacement: false),
                                      dt: h, start: theta, exit: .distanceFromStart(1e9), maxSteps: 1)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(finiteSumNoise: .sampleSpace))
        let samples = try simulator.run(paths: paths, seed: 6, threads: 2)
        let u = Self.centred(samples, about: (0..<d).map { theta[$0] - h * mean[$0] })
        Self.expectSecondMoments(u, equal: sigma.map { v * $0 }, label: "network")
        // the drift: the mean end point is θ − hḡ within 4 SE per coordinate
        for j in 0..<d {
            let column = u.map { $0[j] }
            #expect(abs(Statistics.mean(column)) <= 4 * Statistics.standardError(column), "coordinate \(j)")
        }
    }

    /// Same seed, same bits for 1 and 3 threads on the sample-space route (n normals per lane,
    /// drawn lane by lane from each chunk's stream).
    @Test func sampleSpaceIsReproducibleAcrossThreads() throws {
        let landscape = Landscape(finiteSum: Self.regression(samples: 8, dimension: 2), summary: "regression")
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgdSDE(learningRate: 0.5, batchSize: 1, noise: .finiteSum, withReplacement: true),
                                      dt: 0.05, start: [0, 0], exit: .distanceFromStart(0.5), maxSteps: 100_000)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator())
        #expect(simulator.integrator.finiteSumNoise == nil)
        let one = try simulator.run(paths: 3000, seed: 9, threads: 1)
        let three = try simulator.run(paths: 3000, seed: 9, threads: 3)
        #expect(one == three)
    }

    /// End to end: mean exit steps of `sgd-sde` on finite sums by the two routes agree within
    /// 5 combined SE (both exact in law for the same Euler–Maruyama chain, so no bias budget;
    /// the two runs draw different normals, so they are independent estimates). A 2-D
    /// regression (n = 8: the rule's route is sample-space) leaving a ball about the start,
    /// and a 1-D one (n = 6: the rule's route is covariance), step test and bridge test.
    @Test(arguments: [(2, 8, ExitTestKind.step), (2, 8, .bridge), (1, 6, .step), (1, 6, .bridge)])
    func routesGiveTheSameExitTimes(dimension d: Int, samples n: Int, exitTest: ExitTestKind) throws {
        let landscape = Landscape(finiteSum: Self.regression(samples: n, dimension: d), summary: "regression")
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgdSDE(learningRate: 0.5, batchSize: 1, noise: .finiteSum, withReplacement: true),
                                      dt: 0.05, start: [Double](repeating: 0, count: d),
                                      exit: .distanceFromStart(0.5), maxSteps: 1_000_000)
        var means: [Double] = [], ses: [Double] = []
        for route in FiniteSumNoiseRoot.allCases {
            let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: exitTest, finiteSumNoise: route))
            let samples = try simulator.run(paths: 20_000, seed: 3, threads: 2)
            #expect(samples.outcomes.allSatisfy { $0 >= 0 })
            let steps = samples.steps.map(Double.init)
            means.append(Statistics.mean(steps)); ses.append(Statistics.standardError(steps))
        }
        let combined = (ses[0] * ses[0] + ses[1] * ses[1]).squareRoot()
        print("d = \(d), n = \(n), \(exitTest): covariance \(means[0]) ± \(ses[0]), sample-space \(means[1]) ± \(ses[1])")
        #expect(abs(means[0] - means[1]) <= Statistics.z * combined)
    }
}
