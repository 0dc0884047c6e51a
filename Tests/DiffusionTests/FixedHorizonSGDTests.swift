import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// Fixed-horizon SGD runs: determinism, divergence against the exact almost-sure threshold
/// of Patel's quadratic sums (docs/THEORY.md §3), which minimum of the sharp-flat sum SGD ends in,
/// and the end-point geometry summary.
@Suite struct FixedHorizonSGDTests {
    static let a = [0.5, 1.0, 2.0, 4.0, 8.0]
    static let sums = QuadraticSums(matrices: a.map { [$0] }, minimizer: [0])

    @Test func sameSeedSameBitsForAnyThreadCount() throws {
        let run = try FixedHorizonSGD(finiteSum: Self.sums, learningRate: 0.9, batchSize: 2, withReplacement: false,
                                      steps: 300, initialScale: 0.1)
        let one = run.run(paths: 12, from: [1], seed: 9, experiment: 1, cell: 2, threads: 1)
        let three = run.run(paths: 12, from: [1], seed: 9, experiment: 1, cell: 2, threads: 3)
        #expect(one == three)
        #expect(Array(one.prefix(5)) == run.run(paths: 5, from: [1], seed: 9, experiment: 1, cell: 2, threads: 2))
        #expect(Set(one.map(\.finalPoint)).count > 1)  // paths differ (own streams)
        #expect(one != run.run(paths: 12, from: [1], seed: 10, experiment: 1, cell: 2, threads: 1))
        #expect(FixedHorizonSummary(outcomes: one, run: run, threads: 1) == FixedHorizonSummary(outcomes: one, run: run, threads: 4))
    }

    /// 1-D quadratic sums, B = 1 with replacement: log|e_k| is a random walk with i.i.d. steps
    /// log|1 − ηa_I| (I uniform), drift Λ(η). Below the almost-sure threshold η_as (Λ < 0)
    /// Lundberg's inequality bounds P(ever beyond the bound) by e^{−θu}, θ > 0 the root of
    /// E|1−ηa|^θ = 1, u = log(bound/|e₀|); above it (Λ > 0) Hoeffding bounds P(log|e_N| ≤ u)
    /// by exp(−2(NΛ−u)²/(N·w²)), w the range of the steps. Both bounds are checked to be
    /// < 1e-6 for the whole ensemble, so the counts must be exactly 0 and all. η_as = 1.075
    /// exceeds GD's 2/ā = 0.645: at 0.7·η_as GD diverges, SGD does not (Patel, seeds 000/003).
    @Test func divergenceAgainstTheAlmostSureThreshold() throws {
        let thresholds = try StabilityThresholds(finiteSum: Self.sums, minimum: [0], batchSize: 1)
        let etaAS = try #require(thresholds.almostSure).withReplacement
        #expect(etaAS > thresholds.gd)
        let paths = 200, steps = 2000, bound = 1e100
        let u = log(bound)
        func logSteps(_ eta: Double) -> [Double] { Self.a.map { log(abs(1 - eta * $0)) } }

        let stable = 0.7 * etaAS
        // θ: E|1−ηa|^θ − 1 is convex in θ, 0 at θ = 0 with slope Λ < 0, positive for large θ
        func moment(_ t: Double) -> Double { Self.a.reduce(0) { $0 + pow(abs(1 - stable * $1), t) } / 5 - 1 }
        var lo = 1e-6, hi = 1.0
        while moment(hi) < 0 { hi *= 2 }
        for _ in 0..<200 { let mid = 0.5 * (lo + hi); if moment(mid) < 0 { lo = mid } else { hi = mid } }
        #expect(Double(paths) * exp(-lo * u) < 1e-5)
        let below = try FixedHorizonSGD(finiteSum: Self.sums, learningRate: stable, batchSize: 1, withReplacement: true,
                                        steps: steps, divergenceBound: bound)
        let calm = below.run(paths: paths, from: [1], seed: 5, threads: 2)
        #expect(calm.allSatisfy { !$0.diverged && $0.steps == steps })

        let unstable = 1.3 * etaAS
        let x = logSteps(unstable)
        let lambda = x.reduce(0, +) / 5, width = x.max()! - x.min()!
        #expect(lambda > 0)
        let excess = Double(steps) * lambda - u
        #expect(Double(paths) * exp(-2 * excess * excess / (Double(steps) * width * width)) < 1e-6)
        let above = try FixedHorizonSGD(finiteSum: Self.sums, learningRate: unstable, batchSize: 1, withReplacement: true,
                                        steps: steps, divergenceBound: bound)
        let wild = above.run(paths: paths, from: [1], seed: 5, threads: 2)
        #expect(wild.allSatisfy { $0.diverged && $0.steps < steps })
        let summary = FixedHorizonSummary(outcomes: wild, run: above)
        #expect(summary.divergedFraction == 1 && summary.divergedFractionStandardError == 0 && summary.finalLoss.mean == nil)
    }

    /// The sharp-flat sum: GD (B = n without replacement) at η = 0.15 < 2/h̄ˢ = 0.2 contracts
    /// to the sharp minimum by |1 − 0.15·10| = ½ per step (exact: after 200 steps the error is
    /// ~1e-62 below rounding); at η = 0.3 GD is linearly unstable there but stays in the sharp
    /// basin (a period-2 orbit: nonlinear saturation), while SGD with B = 1 — whose linearised
    /// error is a random walk with drift Λ = E log|1 − 0.3hˢ| > 0 (computed) — leaves every
    /// neighbourhood of the sharp minimum: no path ends within 0.01 of it.
    @Test func sharpFlatSumWhereSGDEnds() throws {
        let sum = try SharpFlatSum(sharpCurvatures: [1, 4, 10, 15, 20], flatCurvatures: [0.25, 0.5, 1, 1.5, 1.75])
        let barrier = sum.barrier
        let gd = try FixedHorizonSGD(finiteSum: sum, learningRate: 0.15, batchSize: 5, withReplacement: false, steps: 200)
        let gdEnd = gd.run(from: [-0.99], stream: RandomStream(key: StreamKey(seed: 1)))
        #expect(!gdEnd.diverged && abs(gdEnd.finalPoint[0] + 1) < 1e-14)
        let gdLarge = try FixedHorizonSGD(finiteSum: sum, learningRate: 0.3, batchSize: 5, withReplacement: false, steps: 3000)
        let cycle = gdLarge.run(from: [-0.99], stream: RandomStream(key: StreamKey(seed: 1)))
        #expect(!cycle.diverged && cycle.finalPoint[0] < barrier && abs(cycle.finalPoint[0] + 1) > 0.01)

        let lambda = sum.sharpCurvatures.reduce(0) { $0 + log(abs(1 - 0.3 * $1)) } / 5
        #expect(lambda > 0.3)
        let sgd = try FixedHorizonSGD(finiteSum: sum, learningRate: 0.3, batchSize: 1, withReplacement: true, steps: 3000)
        let ends = sgd.run(paths: 100, from: [-0.999], seed: 2, threads: 2)
        let nearSharp = ends.filter { !$0.diverged && abs($0.finalPoint[0] + 1) < 0.01 }.count
        let flat = ends.filter { !$0.diverged && abs($0.finalPoint[0] - 1) < 1e-6 }.count
        let diverged = ends.filter(\.diverged).count
        print("sharp-flat sum, SGD η = 0.3, B = 1: \(flat) at the flat minimum, \(diverged) diverged, \(nearSharp) near the sharp one (of 100)")
        #expect(nearSharp == 0)
    }

    /// Random features: H = (1/n)Σφᵢφᵢᵀ is the same at every θ, so every end point has the same
    /// ‖H‖_F (SE 0) and λ_max; under-parameterised (m < n) the minimum has L > 0, so μ is defined
    /// at every end point and the bound is 1/(η√(μ̄/B)).
    @Test func randomFeatureEndPointGeometry() throws {
        let model = TwoLayerNetwork.synthetic(samples: 40, inputDimension: 4, width: 10, activation: .relu,
                                              trainsFirstLayer: false, labelNoise: 0.3, dataSeed: 3)
        let reference = model.localGeometry(at: Array(repeating: 0, count: 10))
        let run = try FixedHorizonSGD(finiteSum: model, learningRate: 0.05, batchSize: 4, withReplacement: true, steps: 4000)
        let outcomes = run.run(paths: 16, from: Array(repeating: 0, count: 10), seed: 3, threads: 2)
        let summary = FixedHorizonSummary(outcomes: outcomes, run: run, threads: 2)
        #expect(summary.diverged == 0)
        // the mean of 16 equal values (and GSL's eigenvalues of the same matrix) to rounding
        let norm = reference.hessianFrobeniusNorm, top = try #require(reference.hessianTopEigenvalue)
        #expect(abs(try #require(summary.hessianFrobeniusNorm.mean) - norm) < 1e-14 * norm)
        #expect(try #require(summary.hessianFrobeniusNorm.standardError) < 1e-14 * norm)
        #expect(abs(try #require(summary.hessianTopEigenvalue.mean) - top) < 1e-13 * top)
        let mu = try #require(summary.alignment.mean)
        #expect(summary.alignment.count == 16)
        #expect(abs(try #require(summary.hessianBound) - (4 / mu).squareRoot() / 0.05) < 1e-12 * (4 / mu).squareRoot() / 0.05)
        // the least-squares minimum bounds every end point's loss from below
        let optimum = try #require(model.minimumNormSolution())
        let best = optimum.withUnsafeBufferPointer { model.loss(at: $0.baseAddress!) }
        print("random features: L* = \(best), mean final loss \(summary.finalLoss.mean!) ± \(summary.finalLoss.standardError!), ‖H‖_F = \(reference.hessianFrobeniusNorm), μ̄ = \(mu) ± \(summary.alignment.standardError!), bound \(summary.hessianBound!)")
        #expect(summary.finalLoss.mean! >= best)  // L* is the global minimum
    }
}
