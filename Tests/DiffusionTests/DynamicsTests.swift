import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// One step of each dynamics from a fixed point: the increment's mean and variance must be
/// the ones docs/THEORY.md §0 prescribes (exact for one step, so only Monte Carlo error enters).
@Suite struct OneStepLawTests {
    static let n = 40_000

    /// Runs `n` paths for exactly one step (the exit region is never reached) and returns the end points.
    func oneStep(_ landscape: Landscape, _ dynamics: Dynamics, dt: Double = 0, from start: [Double]) throws -> [Double] {
        let far = landscape.dimension == 1 ? "x > 1e9" : "x > 1e9 || y > 1e9"
        let problem = try ExitProblem(landscape: landscape, dynamics: dynamics, dt: dt, start: start,
                                      exit: .condition(far), maxSteps: 1)
        let samples = try EnsembleSimulator(problem: problem, integrator: Integrator()).run(paths: Self.n, seed: 21, threads: 2)
        #expect(samples.outcomes.allSatisfy { $0 == ExitSamples.censored })
        return stride(from: 0, to: samples.finalPoints.count, by: landscape.dimension).map { samples.finalPoints[$0] }
    }

    /// Mean within 5 SE of `mean`; variance within 5 SE of `variance` (SE of s² ≈ s²√(2/n) for
    /// Gaussian increments, with the sample kurtosis used when `kurtosisAware`).
    func expectMoments(_ xs: [Double], mean: Double, variance: Double) {
        let m = Statistics.mean(xs), v = Statistics.variance(xs)
        #expect(abs(m - mean) < Statistics.z * (v / Double(xs.count)).squareRoot(), "mean \(m) vs \(mean)")
        let fourth = xs.reduce(0) { $0 + pow($1 - m, 4) } / Double(xs.count)
        let seVariance = ((fourth - v * v) / Double(xs.count)).squareRoot()
        #expect(abs(v - variance) < Statistics.z * seVariance, "variance \(v) vs \(variance)")
    }

    @Test func finiteSumMinibatchCovariance() throws {
        // ℓᵢ = ½ aᵢ x²: ∇ℓᵢ(x) = aᵢx, Σ(x) = Var(a)·x²
        let a = [0.5, 1.0, 2.0, 4.0, 8.0]
        let landscape = Landscape(finiteSum: QuadraticSums(matrices: a.map { [$0] }, minimizer: [0]), summary: "test")
        let x = 1.0, eta = 0.05, b = 2
        let meanA = a.reduce(0, +) / 5
        let varA = a.reduce(0) { $0 + ($1 - meanA) * ($1 - meanA) } / 5
        for replacement in [true, false] {
            let xs = try oneStep(landscape, .sgd(learningRate: eta, batchSize: b, noise: .finiteSum, withReplacement: replacement), from: [x])
            let factor = replacement ? 1 / Double(b) : Double(5 - b) / (Double(b) * 4)
            expectMoments(xs, mean: x - eta * meanA * x, variance: eta * eta * varA * x * x * factor)
        }
        // full batch without replacement is gradient descent: no spread at all
        let gd = try oneStep(landscape, .sgd(learningRate: eta, batchSize: 5, noise: .finiteSum, withReplacement: false), from: [x])
        #expect(Set(gd.map { ($0 * 1e12).rounded() }).count == 1)
    }

    @Test func finiteSumSDEUsesTheTrueCovariance() throws {
        let a = [0.5, 1.0, 2.0, 4.0, 8.0]
        let landscape = Landscape(finiteSum: QuadraticSums(matrices: a.map { [$0] }, minimizer: [0]), summary: "test")
        let eta = 0.05, dt = 0.01, x = 1.0
        let meanA = a.reduce(0, +) / 5
        let varA = a.reduce(0) { $0 + ($1 - meanA) * ($1 - meanA) } / 5
        let xs = try oneStep(landscape, .sgdSDE(learningRate: eta, batchSize: 1, noise: .finiteSum, withReplacement: true), dt: dt, from: [x])
        expectMoments(xs, mean: x - dt * meanA * x, variance: eta * dt * varA * x * x)
    }

    @Test func gaussianHessianStudentNoise() throws {
        let landscape = try Landscape(expression: "3*x^2/2")  // V'' = 3, V'(1) = 3
        let eta = 0.1, b = 4
        let g = try oneStep(landscape, .sgd(learningRate: eta, batchSize: b, noise: .gaussian(sigma: 2), withReplacement: true), from: [1])
        expectMoments(g, mean: 1 - eta * 3, variance: eta * eta * 4 / Double(b))
        let h = try oneStep(landscape, .sgd(learningRate: eta, batchSize: b, noise: .hessian(scale: 0.5), withReplacement: true), from: [1])
        expectMoments(h, mean: 1 - eta * 3, variance: eta * eta * 0.5 * 3 / Double(b))
        let t = try oneStep(landscape, .sgd(learningRate: eta, batchSize: b, noise: .studentT(sigma: 1, degreesOfFreedom: 6), withReplacement: true), from: [1])
        expectMoments(t, mean: 1 - eta * 3, variance: eta * eta * 6.0 / 4.0 / Double(b))
        // loss-proportional: Σ₁ = 2c·L·H with L(1) = 3/2, H = 3
        let l = try oneStep(landscape, .sgdSDE(learningRate: eta, batchSize: 1, noise: .lossProportional(scale: 1), withReplacement: true), dt: 0.01, from: [1])
        expectMoments(l, mean: 1 - 0.01 * 3, variance: eta * 0.01 * 2 * 1.5 * 3)
    }

    /// The new laws' one-step variance: |H| at a barrier top (V'' = −1 at 0 on x⁴/4 − x²/2, where
    /// H⁺ = 0), 2c·L·h* with a fixed Hessian scale, and a covariance expression; discrete SGD
    /// (η²Σ₁/B) and its SDE (η·dt·Σ₁/B).
    @Test func absoluteHessianHessianScaleAndCovarianceNoise() throws {
        let well = try Landscape(expression: "x^4/4 - x^2/2")
        let eta = 0.1, b = 2, dt = 0.01
        let top = try oneStep(well, .sgd(learningRate: eta, batchSize: b, noise: .hessian(scale: 0.5, curvature: .absolute), withReplacement: true), from: [0])
        expectMoments(top, mean: 0, variance: eta * eta * 0.5 * 1 / Double(b))
        let shifted = try Landscape(expression: "1 + x^4/4 - x^2/2")  // L(0.5) = 1 + 1/64 − 1/8, V'(0.5) = −0.375
        let l = 1 + 1.0 / 64 - 0.125
        let mori = try oneStep(shifted, .sgdSDE(learningRate: eta, batchSize: b, noise: .lossProportional(scale: 2, hessianScale: 3), withReplacement: true), dt: dt, from: [0.5])
        expectMoments(mori, mean: 0.5 + dt * 0.375, variance: eta * dt * 2 * 2 * l * 3 / Double(b))
        let matrix = try CovarianceMatrix(rows: [["1 + x^2"]], variables: ["x"])
        let cov = try oneStep(well, .sgd(learningRate: eta, batchSize: b, noise: .covariance(matrix), withReplacement: true), from: [0.5])
        expectMoments(cov, mean: 0.5 + eta * 0.375, variance: eta * eta * 1.25 / Double(b))
        // 2-D: Σ₁ = [[1 + y², x·y], [x·y, 1 + x²]] at (1, 0.5) = [[1.25, 0.5], [0.5, 2]]
        let plane = try Landscape(expression: "(x^2 + y^2)/2", variables: ["x", "y"])
        let m2 = try CovarianceMatrix(rows: [["1 + y^2", "x*y"], ["x*y", "1 + x^2"]], variables: ["x", "y"])
        let problem = try ExitProblem(landscape: plane, dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .covariance(m2), withReplacement: true),
                                      dt: dt, start: [1, 0.5], exit: .condition("x > 1e9"), maxSteps: 1)
        let s = try EnsembleSimulator(problem: problem, integrator: Integrator()).run(paths: Self.n, seed: 5, threads: 2)
        let xs = stride(from: 0, to: s.finalPoints.count, by: 2).map { s.finalPoints[$0] }
        let ys = stride(from: 1, to: s.finalPoints.count, by: 2).map { s.finalPoints[$0] }
        expectMoments(xs, mean: 1 - dt, variance: eta * dt * 1.25)
        expectMoments(ys, mean: 0.5 - dt * 0.5, variance: eta * dt * 2)
        // the covariance of x and y: η·dt·0.5, within 5 SE (SE of a sample covariance ≈ √((σ_x²σ_y² + c²)/n))
        let mx = Statistics.mean(xs), my = Statistics.mean(ys)
        let c = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / Double(Self.n)
        let se = ((eta * dt * 1.25 * eta * dt * 2 + c * c) / Double(Self.n)).squareRoot()
        #expect(abs(c - eta * dt * 0.5) < Statistics.z * se, "covariance \(c)")
    }

    @Test func hessianNoiseIn2DUsesTheMatrixSquareRoot() throws {
        let landscape = try Landscape(expression: "x^2 + x*y + y^2")  // H = [[2,1],[1,2]]
        let eta = 0.1
        let problem = try ExitProblem(landscape: landscape, dynamics: .sgd(learningRate: eta, batchSize: 1, noise: .hessian(scale: 1), withReplacement: true),
                                      dt: 0, start: [0, 0], exit: .condition("x > 1e9"), maxSteps: 1)
        let s = try EnsembleSimulator(problem: problem, integrator: Integrator()).run(paths: Self.n, seed: 4, threads: 2)
        let xs = stride(from: 0, to: s.finalPoints.count, by: 2).map { s.finalPoints[$0] }
        let ys = stride(from: 1, to: s.finalPoints.count, by: 2).map { s.finalPoints[$0] }
        expectMoments(xs, mean: 0, variance: eta * eta * 2)
        expectMoments(ys, mean: 0, variance: eta * eta * 2)
        let products = zip(xs, ys).map { $0 * $1 }  // covariance η²·1
        #expect(abs(Statistics.mean(products) - eta * eta) < Statistics.z * Statistics.standardError(products))
    }

    /// The mean of B i.i.d. SαS(σ) is SαS(σB^{1/α−1}): check the characteristic function of one
    /// SGD step's noise, E cos(t·ΔX) = exp(−|t ησB^{1/α−1}|^α).
    @Test func alphaStableMinibatchScaling() throws {
        let landscape = try Landscape(expression: "0*x", variables: ["x"])
        let eta = 0.1, sigma = 1.0, alpha = 1.5, b = 8
        let xs = try oneStep(landscape, .sgd(learningRate: eta, batchSize: b, noise: .alphaStable(sigma: sigma, alpha: alpha), withReplacement: true), from: [0])
        let scale = eta * sigma * pow(Double(b), 1 / alpha - 1)
        for t in [2.0, 10.0] {
            let c = xs.map { cos(t * $0) }
            #expect(abs(Statistics.mean(c) - exp(-pow(t * scale, alpha))) < Statistics.z * Statistics.standardError(c))
        }
    }
}

@Suite struct BuiltinLandscapeTests {
    @Test func sharpFlatCriticalPointsAreExact() throws {
        let l = try Landscape.sharpFlat(hSharp: 8, hFlat: 1, barrierSharp: 0.3, barrierFlat: 0.2, barrierCurvature: 0.5)
        let (sharp, top, flat) = (l.criticalPoints[0], l.criticalPoints[1], l.criticalPoints[2])
        // closed-form construction: tolerances are a few ulps of the O(1) quantities involved
        for p in [sharp, top, flat] { #expect(abs(l.gradient(at: p.point)[0]) < 1e-14) }
        #expect(abs(l.value(at: sharp.point) + 0.3) < 1e-14 && abs(l.value(at: flat.point) + 0.2) < 1e-14)
        #expect(abs(l.hessian(at: sharp.point)[0] - 8) < 1e-12 && abs(l.hessian(at: flat.point)[0] - 1) < 1e-12)
        #expect(abs(l.hessian(at: [-1e-9])[0] + 0.5) < 1e-6 && abs(l.hessian(at: [1e-9])[0] + 0.5) < 1e-6)
        #expect(sharp.point[0] < 0 && flat.point[0] > 0 && top.point == [0])
        #expect(throws: LandscapeError.self) { try Landscape.sharpFlat(hSharp: 1, hFlat: 1, barrierSharp: 1, barrierFlat: 1, barrierCurvature: 2) }
    }

    @Test func styblinskiTangCriticalPoints() throws {
        for scaleArgument in [false, true] {
            let l = try Landscape.styblinskiTang(dimension: 2, sharpness: 3, scaleArgument: scaleArgument)
            #expect(l.criticalPoints.count == 9)
            for p in l.criticalPoints {
                #expect(l.gradient(at: p.point).allSatisfy { abs($0) < 1e-10 })
                #expect(abs(l.value(at: p.point) - p.value) < 1e-10 * max(1, abs(p.value)))
            }
            let global = l.criticalPoints.first { $0.label == "global minimum" }!
            #expect(global.point.allSatisfy { abs($0 - (scaleArgument ? -2.903534 / 3 : -2.903534)) < 1e-6 })
        }
    }

    @Test func doubleWellMatchesTheoryPotential() throws {
        let l = try Landscape.doubleWell()
        for x in [-1.7, -0.3, 0.2, 1.1] { #expect(abs(l.value(at: [x]) - (pow(x, 4) / 4 - x * x / 2)) < 1e-14) }
    }

    @Test func basinOfTheLeftWellEndsAtTheBarrier() throws {
        let l = try Landscape.doubleWell()
        let terms = try ExitRegion.basin.terms(on: l, start: [-1.3])
        #expect(terms.count == 1)
        #expect(terms[0].expression.evaluate(at: [1e-9]) == 1 && terms[0].expression.evaluate(at: [-1e-9]) == 0)
    }

    @Test func wuMaEGradientDescentStaysButSGDLeaves() throws {
        // SGD with η = 0.7, B = 1 leaves the minimum at 1; GD (the full batch) does not (docs/THEORY.md §3)
        let l = Landscape(finiteSum: WuMaEToy(), summary: "wu-ma-e")
        func run(_ batch: Int) throws -> ExitTimeEstimate {
            let p = try ExitProblem(landscape: l, dynamics: .sgd(learningRate: 0.7, batchSize: batch, noise: .finiteSum, withReplacement: false),
                                    dt: 0, start: [1.01], exit: .interval(lower: 0.5, upper: 1.5), maxSteps: 10_000)
            let s = try EnsembleSimulator(problem: p, integrator: Integrator()).run(paths: 500, seed: 1, threads: 2)
            return ExitTimeEstimate(samples: s, termCount: 2, timeScale: 1)
        }
        #expect(try run(1).exited == 500)
        #expect(try run(2).censored == 500)
    }
}

@Suite struct BridgeDecisionTests {
    /// The bounded shortcut must give exactly `u < exp(e)` for every u and e.
    @Test func boundedComparisonEqualsExp() {
        let stream = RandomStream(key: StreamKey(seed: 31))
        for _ in 0..<1_000_000 {
            let e = -40 * stream.uniform() * stream.uniform()
            let u = stream.uniform() < 0.5 ? stream.uniformPositive() : exp(e) * (1 + (stream.uniform() - 0.5) * 1e-12)
            #expect(EulerMaruyamaStepper.below(u, expOf: e) == (u < exp(e)))
        }
    }
}
