import Foundation
import Testing
import CGSL
import TestSupport
@testable import Diffusion

/// The SIMD lane streams (`LaneStreams`, `Taus2Lanes`) against GSL itself: every lane must be
/// GSL's taus2 with the same state, and its normals `gsl_ran_gaussian_ziggurat` on it, bit for
/// bit, slow-path draws (wedges, tail) included.
@Suite struct Taus2LanesTests {
    /// A GSL taus2 holding `state`.
    func gslTaus2(_ state: Taus2State) -> UnsafeMutablePointer<gsl_rng> {
        let r = gsl_rng_alloc(sgd_gsl_rng_taus2())!
        sgd_taus2_set_state(r, UInt(state.s1), UInt(state.s2), UInt(state.s3))
        return r
    }

    @Test(arguments: [1, 2])
    func lanesAreGSLTaus2Words(seed: Int) {
        let key = StreamKey(seed: UInt64(seed), experiment: 3, cell: 4, chunk: 5)
        var lanes = LaneStreams.lanes(key: key)
        let references = (0..<8).map { l in gslTaus2(lanes[lane: l]) }
        defer { references.forEach { gsl_rng_free($0) } }
        for _ in 0..<10_000 {
            let word = lanes.next()
            for l in 0..<8 { #expect(UInt(word[l]) == gsl_rng_get(references[l])) }
        }
    }

    /// Lane l starts where `RandomStream` starts the key with lane l + 1, and lane 0 of a
    /// key is the chunk's own scalar stream (its digest unchanged by the lane field).
    @Test func laneSeedingMatchesRandomStream() {
        let key = StreamKey(seed: 11, experiment: 1, cell: 2, chunk: 3)
        let lanes = LaneStreams.lanes(key: key)
        var seen = Set<UInt32>()
        for l in 0..<8 {
            var k = key
            k.lane = UInt64(l + 1)
            let s = RandomStream(key: k).taus2State
            #expect(lanes[lane: l].s1 == s.s1 && lanes[lane: l].s2 == s.s2 && lanes[lane: l].s3 == s.s3)
            seen.insert(s.s1)
        }
        #expect(seen.count == 8)
        let scalar = RandomStream(key: key).taus2State
        #expect(!seen.contains(scalar.s1))
        // the scalar key's digest: four words absorbed, as before lanes existed
        var four = key
        four.lane = 0
        #expect(four.digest == key.digest)
    }

    /// ≥ 10⁵ normals per lane through the lane-wise fast path equal GSL's ziggurat on a taus2
    /// with the lane's state; the slow draws (≈ 1 %) are counted and must occur.
    @Test(arguments: [7, 8])
    func laneNormalsEqualGSLZiggurat(seed: Int) throws {
        try #require(InlineZiggurat.tables != nil, "inline ziggurat failed its self-check against GSL")
        let key = StreamKey(seed: UInt64(seed), experiment: 2)
        let streams = LaneStreams(key: key)
        let references = (0..<8).map { l in gslTaus2(streams.lanes[lane: l]) }
        defer { references.forEach { gsl_rng_free($0) } }
        let perLane = 120_000, row = 64
        var buffer = [Double](repeating: 0, count: row)
        var mismatches = 0, slow = 0, draws = 0
        for _ in 0..<(perLane * 8 / row) {
            buffer.withUnsafeMutableBufferPointer { streams.fillNormals($0.baseAddress!, count: row) }
            for i in 0..<row {
                let r = references[i % 8]
                var s1: UInt = 0, s2: UInt = 0, s3: UInt = 0
                sgd_taus2_get_state(r, &s1, &s2, &s3)
                var oneWord = Taus2State(s1: UInt32(s1), s2: UInt32(s2), s3: UInt32(s3))
                _ = oneWord.next()
                let x = gsl_ran_gaussian_ziggurat(r, 1.0)
                let after = RandomStream.taus2State(of: r)
                if after.s1 != oneWord.s1 || after.s2 != oneWord.s2 || after.s3 != oneWord.s3 { slow += 1 }
                if x.bitPattern != buffer[i].bitPattern { mismatches += 1 }
                draws += 1
            }
        }
        #expect(draws >= 8 * 100_000)
        #expect(mismatches == 0)
        // the fast path rejects ≈ 1.2 % of draws at 128 steps: thousands here
        #expect(slow > 1000)
        // and the lanes end where GSL ends
        for l in 0..<8 {
            let g = RandomStream.taus2State(of: references[l]), s = streams.lanes[lane: l]
            #expect(g.s1 == s.s1 && g.s2 == s.s2 && g.s3 == s.s3)
        }
    }

    /// A row of n slots takes ⌈n/8⌉ words per lane; slot i is lane i mod 8's draw.
    @Test func partialGroupsUseOneDrawPerLane() {
        let key = StreamKey(seed: 3)
        let a = LaneStreams(key: key), b = LaneStreams(key: key)
        var x = [Double](repeating: 0, count: 24), y = [Double](repeating: 0, count: 24)
        x.withUnsafeMutableBufferPointer { p in
            a.fillNormals(p.baseAddress!, count: 13)       // 16 written
            a.fillNormals(p.baseAddress! + 16, count: 8)
        }
        y.withUnsafeMutableBufferPointer { b.fillNormals($0.baseAddress!, count: 24) }
        #expect(x == y)
    }

    /// Moments of the lane normals (z = 5 SEs; variance SE √(2/n)).
    @Test func laneNormalMoments() {
        let n = 400_000
        var xs = [Double](repeating: 0, count: n)
        xs.withUnsafeMutableBufferPointer { RandomStream.fillLaneNormals(key: StreamKey(seed: 12), $0.baseAddress!, count: n) }
        #expect(abs(Statistics.mean(xs)) < Statistics.z / Double(n).squareRoot())
        #expect(abs(Statistics.variance(xs) - 1) < Statistics.z * (2.0 / Double(n)).squareRoot())
        #expect(Statistics.kolmogorovSmirnov(xs, cdf: { gsl_cdf_ugaussian_P($0) }) < Statistics.kolmogorov999)
    }

    /// The stepper's wiring: with lane streams, one step of n lanes of pure noise
    /// (V = 0·x, so x ← 0 − h·0 + s·ξ = s·ξ exactly) takes slot i's normal from lane i mod 8,
    /// ⌈n/8⌉ words per lane per row: the bits of `fillNormals` on the same key.
    @Test(arguments: [13, 64])
    func stepperDrawsSlotsFromLanes(active: Int) throws {
        let landscape = try Landscape(expression: "0*x")
        let problem = try ExitProblem(landscape: landscape, dynamics: .langevin(epsilon: 0.1), dt: 1e-3,
                                      start: [0], exit: .condition("x > 100"), maxSteps: 1000)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator())
        let stepper = EulerMaruyamaStepper(simulator: simulator, width: 64)
        guard case .gaussian(let scale) = stepper.increment else { Issue.record("not additive"); return }
        for i in 0..<active { stepper.loadStart(lane: i, start: [0]) }
        let key = StreamKey(seed: 21, chunk: 3)
        let stream = RandomStream(key: key)
        var state = stream.taus2State
        stepper.step(count: active, stream: stream, state: &state, lanes: LaneStreams(key: key))
        var z = [Double](repeating: 0, count: 64)
        z.withUnsafeMutableBufferPointer { LaneStreams(key: key).fillNormals($0.baseAddress!, count: active) }
        for i in 0..<active { #expect(stepper.x[i].bitPattern == (scale * z[i]).bitPattern) }
        // the scalar stream is untouched by the normals (the step test draws nothing)
        let fresh = RandomStream(key: key).taus2State
        #expect(state.s1 == fresh.s1 && state.s2 == fresh.s2 && state.s3 == fresh.s3)
    }
}
