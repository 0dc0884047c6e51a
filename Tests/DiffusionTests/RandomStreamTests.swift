import Foundation
import Testing
import CGSL
import TestSupport
@testable import Diffusion

@Suite struct RandomStreamTests {
    static let n = 200_000

    func draws(_ key: StreamKey, _ f: (RandomStream) -> Double) -> [Double] {
        let stream = RandomStream(key: key)
        return (0..<RandomStreamTests.n).map { _ in f(stream) }
    }

    @Test(arguments: [1, 2, 3])
    func normalMomentsAndKS(seed: Int) {
        let xs = draws(StreamKey(seed: UInt64(seed)), { $0.normal() })
        // mean 0 with SE 1/√n; variance 1 with SE √(2/n) (μ₄ − σ⁴ = 2)
        #expect(abs(Statistics.mean(xs)) < Statistics.z / Double(xs.count).squareRoot())
        #expect(abs(Statistics.variance(xs) - 1) < Statistics.z * (2.0 / Double(xs.count)).squareRoot())
        #expect(Statistics.kolmogorovSmirnov(xs, cdf: { gsl_cdf_ugaussian_P($0) }) < Statistics.kolmogorov999)
    }

    @Test func normalFillMatchesScalarDraws() {
        let a = RandomStream(key: StreamKey(seed: 9))
        let b = RandomStream(key: StreamKey(seed: 9))
        var buffer = [Double](repeating: 0, count: 1000)
        buffer.withUnsafeMutableBufferPointer { a.fillNormals($0.baseAddress!, count: 1000) }
        #expect(buffer == (0..<1000).map { _ in b.normal() })
    }

    @Test(arguments: [3.0, 5.0, 30.0])
    func studentTKS(nu: Double) {
        let xs = draws(StreamKey(seed: 4, experiment: Int(nu)), { $0.studentT(degreesOfFreedom: nu) })
        #expect(Statistics.kolmogorovSmirnov(xs, cdf: { gsl_cdf_tdist_P($0, nu) }) < Statistics.kolmogorov999)
    }

    @Test func symmetricStableSpecialCases() {
        // α = 1 is Cauchy with scale c; α = 2 is Gaussian with variance 2c².
        let cauchy = draws(StreamKey(seed: 5), { $0.symmetricStable(alpha: 1, scale: 1.5) })
        #expect(Statistics.kolmogorovSmirnov(cauchy, cdf: { gsl_cdf_cauchy_P($0, 1.5) }) < Statistics.kolmogorov999)
        let gauss = draws(StreamKey(seed: 6), { $0.symmetricStable(alpha: 2, scale: 1) })
        #expect(Statistics.kolmogorovSmirnov(gauss, cdf: { gsl_cdf_gaussian_P($0, 2.0.squareRoot()) }) < Statistics.kolmogorov999)
    }

    /// Empirical characteristic function against E e^{itX} = exp(−|ct|^α (1 − iβ sign t tan(πα/2)));
    /// the real and imaginary parts are means of bounded variables: z-score with their sample SE.
    @Test(arguments: [(1.2, 0.0), (1.5, 0.0), (1.8, 0.0), (1.5, 0.5), (1.3, -0.8)])
    func stableCharacteristicFunction(alpha: Double, beta: Double) {
        let stream = RandomStream(key: StreamKey(seed: 7, experiment: Int(alpha * 10), cell: Int(beta * 10 + 10)))
        let xs = (0..<RandomStreamTests.n).map { _ in
            beta == 0 ? stream.symmetricStable(alpha: alpha) : stream.skewedStable(alpha: alpha, beta: beta)
        }
        let checks = [0.3, 1.0, 2.5]
        for t in checks {
            let modulus = exp(-pow(abs(t), alpha))
            let phase = pow(abs(t), alpha) * beta * (t > 0 ? 1 : -1) * tan(Double.pi * alpha / 2)
            let re = xs.map { cos(t * $0) }, im = xs.map { sin(t * $0) }
            // Bonferroni: 6 checks per case at z = 5 keeps the family-wise level small
            #expect(abs(Statistics.mean(re) - modulus * cos(phase)) < Statistics.z * Statistics.standardError(re))
            #expect(abs(Statistics.mean(im) - modulus * sin(phase)) < Statistics.z * Statistics.standardError(im))
        }
    }

    @Test func indicesAreUniform() {
        let stream = RandomStream(key: StreamKey(seed: 8))
        let bins = 7
        var counts = [Int](repeating: 0, count: bins)
        for _ in 0..<RandomStreamTests.n { counts[stream.index(below: bins)] += 1 }
        let p = 1.0 / Double(bins), n = Double(RandomStreamTests.n)
        for c in counts {
            #expect(abs(Double(c) - n * p) < Statistics.z * (n * p * (1 - p)).squareRoot())
        }
    }

    @Test func streamsAreReproducibleAndDistinct() {
        let a = RandomStream(key: StreamKey(seed: 1, experiment: 2, cell: 3, chunk: 4))
        let b = RandomStream(key: StreamKey(seed: 1, experiment: 2, cell: 3, chunk: 4))
        let c = RandomStream(key: StreamKey(seed: 1, experiment: 2, cell: 3, chunk: 5))
        let xa = (0..<100).map { _ in a.uniform() }
        #expect(xa == (0..<100).map { _ in b.uniform() })
        #expect(xa != (0..<100).map { _ in c.uniform() })
    }

    /// 2·10⁵ keys differing in one component at a time: all stream states distinct
    /// (a collision among them would have probability ≈ 10⁻¹⁶ for the 85 free state bits).
    @Test func digestsDoNotCollide() {
        var seen = Set<UInt64>()
        for seed in 0..<50 { for experiment in 0..<20 { for cell in 0..<20 { for chunk in 0..<10 {
            let (a, b) = StreamKey(seed: UInt64(seed), experiment: experiment, cell: cell, chunk: chunk).digest
            seen.insert(a ^ (b &* 0x9E37_79B9_7F4A_7C15))
        } } } }
        #expect(seen.count == 50 * 20 * 20 * 10)
    }
}

/// The inlined ziggurat must give GSL's own bits: its tables are read out of GSL and its
/// slow path is GSL's. Checked on 10⁶ draws of two streams, and the stream must continue
/// identically afterwards (state written back).
@Suite struct InlineZigguratTests {
    @Test(arguments: [1, 77])
    func inlineNormalsAreGSLBits(seed: Int) {
        #expect(RandomStream.inlineNormalsAvailable)
        let a = RandomStream(key: StreamKey(seed: UInt64(seed), chunk: 3))
        let b = RandomStream(key: StreamKey(seed: UInt64(seed), chunk: 3))
        let n = 1_000_000
        var x = [Double](repeating: 0, count: n), y = x
        x.withUnsafeMutableBufferPointer { a.fillNormalsInline($0.baseAddress!, count: n) }
        y.withUnsafeMutableBufferPointer { b.fillNormals($0.baseAddress!, count: n) }
        #expect(x.map(\.bitPattern) == y.map(\.bitPattern))
        #expect(a.uniform() == b.uniform())
    }

    @Test func inlineTaus2MatchesGSL() {
        let a = RandomStream(key: StreamKey(seed: 3))
        var state = a.taus2State
        let b = RandomStream(key: StreamKey(seed: 3))
        for _ in 0..<100_000 {
            #expect(Double(state.next()) / 4_294_967_296.0 == b.uniform())
        }
    }
}
