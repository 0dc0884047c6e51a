import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// The block-sum tail-index estimator (docs/THEORY.md §4) on exact SαS samples (GSL
/// `gsl_ran_levy`) and the minibatch gradient noise it is applied to.
@Suite struct TailIndexTests {
    /// Hand-computable: samples (1, 1, 1, 1) with m = 2 give block sums (2, 2), so
    /// 1/α̂ = (log 2 − 0)/log 2 = 1 (every Zᵢ equal: SE 0); (2, 2, 3, 5) give
    /// Z = (log 4 − log 2, log 8 − ½log 15), 1/α̂ = mean(Z)/log 2.
    @Test func handComputedBlocks() throws {
        let ones = try #require(TailIndex.estimate([1, 1, 1, 1], blockSize: 2))
        #expect(ones.inverseAlpha == 1 && ones.alpha == 1 && ones.inverseAlphaStandardError == 0)
        #expect(ones.blocks == 2 && ones.blockSize == 2)
        let e = try #require(TailIndex.estimate([2, 2, 3, 5, 7], blockSize: 2))  // the trailing 7 is unused
        let z = [log(4.0) - log(2.0), log(8.0) - 0.5 * log(15.0)]
        #expect(abs(e.inverseAlpha - (z[0] + z[1]) / 2 / log(2.0)) < 1e-15)
        #expect(abs(e.inverseAlphaStandardError - abs(z[0] - z[1]) / 2 / log(2.0)) < 1e-14)  // sd/√2 of two values; rounding of Σz² − n·mean²
        #expect(TailIndex.estimate([1, -1, 1, 1], blockSize: 2) == nil)  // a block sums to 0
        #expect(TailIndex.estimate([1, 1, 1], blockSize: 2) == nil)  // one block only
        #expect(TailIndex.defaultBlockSize(sampleCount: 10_000) == 100)
    }

    /// R independent replicates of K = 10⁴ standard SαS samples (m = n = 100), each from its
    /// own stream (seed 61, experiment = α's index, chunk = replicate). 1/α̂ is unbiased for
    /// 1/α (Y =ᵈ m^{1/α}X exactly), so its replicate mean must lie within 4 of its standard
    /// errors sd/√R of 1/α; α̂'s mean within 4 SE plus the Jensen bias α³·Var(1/α̂) (second-order
    /// delta method, a named budget). The estimator's own SE must match the replicate spread
    /// within 5 standard errors of a standard deviation (relative 1/√(2(R−1))).
    @Test(arguments: [(0, 1.2), (1, 1.5), (2, 1.8), (3, 2.0)])
    func recoversAlphaOfStableSamples(_ index: Int, _ alpha: Double) throws {
        let replicates = 200, k = 10_000
        var inverses: [Double] = [], alphas: [Double] = [], reported: [Double] = []
        for r in 0..<replicates {
            let stream = RandomStream(key: StreamKey(seed: 61, experiment: index, chunk: r))
            let samples = (0..<k).map { _ in stream.symmetricStable(alpha: alpha) }
            let e = try #require(TailIndex.estimate(samples))
            #expect(e.blockSize == 100 && e.blocks == 100)
            inverses.append(e.inverseAlpha); alphas.append(e.alpha); reported.append(e.inverseAlphaStandardError)
        }
        let meanInverse = Statistics.mean(inverses), seInverse = Statistics.standardError(inverses)
        let meanAlpha = Statistics.mean(alphas), seAlpha = Statistics.standardError(alphas)
        let jensen = pow(alpha, 3) * Statistics.variance(inverses)
        print("tail index α = \(alpha): mean α̂ = \(meanAlpha) ± \(seAlpha) (replicate sd \(Statistics.variance(alphas).squareRoot())), mean 1/α̂ = \(meanInverse) ± \(seInverse), Jensen bias budget \(jensen)")
        #expect(abs(meanInverse - 1 / alpha) < 4 * seInverse, "1/α̂ \(meanInverse) ± \(seInverse) vs \(1 / alpha)")
        #expect(abs(meanAlpha - alpha) < 4 * seAlpha + jensen, "α̂ \(meanAlpha) ± \(seAlpha) vs \(alpha)")
        let spread = Statistics.variance(inverses).squareRoot(), claimed = Statistics.mean(reported)
        #expect(abs(spread / claimed - 1) < 5 / (2.0 * Double(replicates - 1)).squareRoot(),
                "replicate sd \(spread) vs mean reported SE \(claimed)")
    }

    /// Two coordinates with different α: per-coordinate pooling recovers each (5 of the
    /// estimator's own SEs; the SE is validated above); pooled, one compromise value between them.
    @Test func perCoordinatePooling() throws {
        let stream = RandomStream(key: StreamKey(seed: 62))
        let k = 40_000
        var vectors: [Double] = []
        for _ in 0..<k { vectors.append(stream.symmetricStable(alpha: 1.2)); vectors.append(stream.symmetricStable(alpha: 1.8)) }
        let (mean, each) = try #require(TailIndex.estimate(vectors: vectors, dimension: 2, pooling: .perCoordinate))
        #expect(each.count == 2)
        for (e, alpha) in zip(each, [1.2, 1.8]) {
            #expect(abs(e.inverseAlpha - 1 / alpha) < Statistics.z * e.inverseAlphaStandardError, "\(e) vs \(alpha)")
        }
        #expect(abs(mean.alpha - (each[0].alpha + each[1].alpha) / 2) < 1e-15)
        let (pooled, none) = try #require(TailIndex.estimate(vectors: vectors, dimension: 2, pooling: .flattened))
        #expect(none.isEmpty && pooled.blockSize == 282)
        #expect(pooled.alpha > 1.2 && pooled.alpha < 1.8)
    }

    /// `minibatchGradientNoise` has mean 0 and covariance c_B·Σ(θ) (docs/THEORY.md §0), per
    /// coordinate within 5 SE (the variance's SE from the sample fourth moment), for both
    /// samplings, on a two-layer network (non-trivial Σ).
    @Test func minibatchNoiseMoments() throws {
        let model = TwoLayerNetwork.synthetic(samples: 12, inputDimension: 2, width: 3, activation: .tanh,
                                              trainsFirstLayer: true, labelNoise: 0.3, dataSeed: 5)
        let d = model.dimension
        let point = (0..<d).map { 0.1 * Double($0 % 5) - 0.2 }
        var mean = [Double](repeating: 0, count: d), sigma = [Double](repeating: 0, count: d * d), scratch = mean
        point.withUnsafeBufferPointer { model.gradientCovariance(at: $0.baseAddress!, mean: &mean, covariance: &sigma, scratch: &scratch) }
        let count = 40_000, b = 3
        for replacement in [true, false] {
            let stream = RandomStream(key: StreamKey(seed: 63, experiment: replacement ? 1 : 0))
            let noise = model.minibatchGradientNoise(at: point, batchSize: b, withReplacement: replacement, count: count, stream: stream)
            #expect(noise.count == count * d)
            let c = MinibatchCurvature.samplingFactor(batchSize: b, sampleCount: 12, withReplacement: replacement)
            // a Bonferroni-free 5σ per coordinate: 2·d·2 checks at 6e-7 each
            for j in 0..<d {
                let xs = (0..<count).map { noise[$0 * d + j] }
                let m = Statistics.mean(xs), v = Statistics.variance(xs)
                #expect(abs(m) <= Statistics.z * (v / Double(count)).squareRoot() + 1e-15, "coordinate \(j) mean \(m)")
                let fourth = xs.reduce(0) { $0 + pow($1 - m, 4) } / Double(count)
                let se = ((fourth - v * v) / Double(count)).squareRoot()
                #expect(abs(v - c * sigma[j * d + j]) <= Statistics.z * se + 1e-15, "coordinate \(j) variance \(v) vs \(c * sigma[j * d + j])")
            }
        }
    }

    /// The α-stable noise law's minibatch noise is SαS with α unchanged (stability): its tail
    /// index is recovered within 5 of the estimator's SEs; gaussian noise gives α = 2.
    @Test func noiseLawDraws() throws {
        let stream = RandomStream(key: StreamKey(seed: 64))
        let stable = try #require(NoiseLaw.alphaStable(sigma: 0.5, alpha: 1.4).minibatchNoise(dimension: 2, batchSize: 4, count: 20_000, stream: stream))
        let e = try #require(TailIndex.estimate(stable))
        #expect(abs(e.inverseAlpha - 1 / 1.4) < Statistics.z * e.inverseAlphaStandardError)
        let gaussian = try #require(NoiseLaw.gaussian(sigma: 2).minibatchNoise(dimension: 1, batchSize: 1, count: 40_000, stream: stream))
        let g = try #require(TailIndex.estimate(gaussian))
        #expect(abs(g.inverseAlpha - 0.5) < Statistics.z * g.inverseAlphaStandardError)
        #expect(NoiseLaw.hessian(scale: 1).minibatchNoise(dimension: 1, batchSize: 1, count: 10, stream: stream) == nil)
    }
}
