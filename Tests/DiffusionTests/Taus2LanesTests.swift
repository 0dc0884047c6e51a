import Foundation
import Testing
import CGSL
import CKernels
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
    /// with the lane's state; the slow draws (≈ 2.8 %) are counted and must occur.
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
        // GSL's fast path rejects ≈ 2.8 % of draws (1.04 words per normal): thousands here
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

    /// The fused row kernel (`eulerRow`: normals drawn and used in one pass) gives the bits of
    /// `fillNormals` followed by x ← (x − h·g) + s·z, leaves slots ≥ count alone and ends
    /// with the same lane states; over enough rows that slow draws occur in every lane.
    @Test(arguments: [64, 61, 5])
    func eulerRowEqualsFillThenUpdate(count: Int) throws {
        try #require(InlineZiggurat.tables != nil, "inline ziggurat failed its self-check against GSL")
        let key = StreamKey(seed: 31, experiment: 1, cell: 2, chunk: 9)
        let fused = LaneStreams(key: key), separate = LaneStreams(key: key)
        let source = RandomStream(key: StreamKey(seed: 5))
        var x = (0..<64).map { _ in source.normal() }, y = x
        let g = (0..<64).map { _ in source.normal() * 3 }
        let h = 1e-3, s = 0.0447
        var z = [Double](repeating: 0, count: 64)
        for _ in 0..<2000 {
            x.withUnsafeMutableBufferPointer { xp in
                g.withUnsafeBufferPointer { gp in
                    _ = fused.eulerRow(x: xp.baseAddress!, gradient: gp.baseAddress!, step: h, scale: s, count: count)
                }
            }
            z.withUnsafeMutableBufferPointer { separate.fillNormals($0.baseAddress!, count: count) }
            for i in 0..<count { y[i] = y[i] - h * g[i] + s * z[i] }
        }
        #expect(x.map(\.bitPattern) == y.map(\.bitPattern))
        for l in 0..<8 {
            let a = fused.lanes[lane: l], b = separate.lanes[lane: l]
            #expect(a.s1 == b.s1 && a.s2 == b.s2 && a.s3 == b.s3)
        }
    }

    /// The bridge test's C first pass against the loop it replaced: new distances, products
    /// (+∞ where either end is outside) and the near lanes in order, with NaN, ±∞ and zeros.
    @Test func bridgeNearPassMatchesReference() {
        let source = RandomStream(key: StreamKey(seed: 8))
        let n = 61
        let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 1e-300]
        var g = (0..<n).map { _ in source.normal() * 0.05 }
        var dist = (0..<n).map { _ in source.normal() * 0.05 }
        for k in specials.indices { g[3 * k] = specials[k]; dist[5 * k + 1] = specials[specials.count - 1 - k] }
        let inverse = 1.7, cut = 1e-3
        var expectedDist = dist, expectedProduct = [Double](repeating: 0, count: n), expectedNear: [Int] = []
        for i in 0..<n {
            let d1 = -g[i] * inverse, d0 = expectedDist[i]
            expectedDist[i] = d1
            expectedProduct[i] = Swift.min(d0, d1) > 0 ? d0 * d1 : .infinity
            if expectedProduct[i] < cut { expectedNear.append(i) }
        }
        for isa in 0...MLP.bestLaneInstructionSet {
            var d = dist, product = [Double](repeating: 0, count: n), candidates = [Int](repeating: -1, count: n)
            let near = sgd_bridge_near(g, &d, inverse, n, cut, &product, &candidates, isa)
            // bits, except that a NaN's sign is unspecified in IEEE arithmetic (compilers may move
            // the negation across the product); a NaN distance never makes a candidate
            func bits(_ v: Double) -> UInt64 { v.isNaN ? Double.nan.bitPattern : v.bitPattern }
            #expect(d.map(bits) == expectedDist.map(bits))
            #expect(Array(candidates[0..<near]) == expectedNear)
            for i in 0..<n where expectedProduct[i] < cut { #expect(product[i].bitPattern == expectedProduct[i].bitPattern) }
        }
        #expect(!expectedNear.isEmpty)
    }

    /// The 1-D outcome kernel: term 0 where the indicator holds, diverged beyond the bound or
    /// NaN whatever else holds, running otherwise; and whether any lane finished.
    @Test func outcomeKernelMatchesDefinition() {
        let x: [Double] = [0.5, -3, .nan, 2, -2, 0, .infinity, 1.9999]
        let indicator: [Double] = [1, 0, 1, 0, 1, 0, 1, 0]
        let running = StepOutcome.running, diverged = StepOutcome.diverged
        for isa in 0...MLP.bestLaneInstructionSet {
            var outcome = [Int](repeating: 99, count: 8)
            let finished = sgd_block_outcome_1d(x, indicator, 8, 2, &outcome, running, diverged, isa)
            #expect(outcome == [0, diverged, diverged, running, 0, running, diverged, running])
            #expect(finished == 1)
            let calm = sgd_block_outcome_1d([0.1, 0.2], [0, 0], 2, 2, &outcome, running, diverged, isa)
            #expect(calm == 0 && outcome[0] == running && outcome[1] == running)
        }
    }

    /// The bridge pass with the level computed inside it (a coordinate-plane boundary) gives
    /// the bits of the program's `addConst` row followed by the plain pass.
    @Test func bridgeNearOffsetEqualsProgramRowThenPass() {
        let source = RandomStream(key: StreamKey(seed: 9))
        let n = 61, offset = -0.3, inverse = 1.0, cut = 2e-3
        let x = (0..<n).map { _ in 0.3 + source.normal() * 0.05 }
        let dist0 = (0..<n).map { _ in source.normal() * 0.05 }
        let g = x.map { $0 + offset }
        for isa in 0...KernelInstructionSet.best {
            var d1 = dist0, d2 = dist0
            var p1 = [Double](repeating: 0, count: n), p2 = p1
            var c1 = [Int](repeating: -1, count: n), c2 = c1
            let a = sgd_bridge_near(g, &d1, inverse, n, cut, &p1, &c1, isa)
            let b = sgd_bridge_near_offset(x, offset, 1, &d2, inverse, n, cut, &p2, &c2, isa)
            #expect(a == b && a > 0)
            #expect(d1.map(\.bitPattern) == d2.map(\.bitPattern))
            #expect(Array(c1[0..<a]) == Array(c2[0..<b]))
            for k in 0..<a { #expect(p1[c1[k]].bitPattern == p2[c2[k]].bitPattern) }
        }
    }

    /// The stepper's coordinate-plane bridge route (`x > 0`: the level computed in the pass)
    /// against the program route on the same plane written so that every distance has the
    /// same bits (`2*x > 0`: g = 2x, 1/‖∇g‖ = 1/2, −(2x)/2 = −x exactly): the same exits.
    @Test func coordinatePlaneBridgeRouteEqualsProgramRoute() throws {
        let landscape = try Landscape(expression: "x^4/4 - x^2/2")
        func run(_ condition: String) throws -> ExitSamples {
            let problem = try ExitProblem(landscape: landscape, dynamics: .langevin(epsilon: 0.15), dt: 1e-2, start: [-1],
                                          exit: .condition(condition), maxSteps: 100_000)
            let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .bridge))
            #expect((simulator.exitTest.coordinateLevel != nil) == (condition == "x > 0"))
            return simulator.run(paths: 300, seed: 4)
        }
        let plane = try run("x > 0"), program = try run("2*x > 0")
        #expect(plane.steps == program.steps)
        #expect(plane.steps.reduce(0, +) > 0)
    }
}

/// The 2-D Hessian-noise update kernel against the Swift loop it serves (root2 and the
/// update, operation for operation): positive-definite lanes in C, the others left for the
/// caller and listed; every instruction set, a partial group at the end.
@Suite struct Hessian2KernelTests {
    @Test(arguments: [64, 61])
    func matchesRoot2Loop(count: Int) {
        let w = 64, c = 0.7, h = 0.05, root = 0.3
        let source = RandomStream(key: StreamKey(seed: 17))
        var hess = [Double](repeating: 0, count: 4 * w)
        for i in 0..<w {
            // a mix of definite, indefinite, singular and non-finite matrices
            let a = source.normal(), d = source.normal(), b = source.normal() * 0.5
            let definite = i % 3 != 0
            hess[i] = definite ? abs(a) + abs(b) + 0.1 : a
            hess[3 * w + i] = definite ? abs(d) + abs(b) + 0.1 : d
            hess[w + i] = b; hess[2 * w + i] = b + (i % 5 == 0 ? 1e-3 : 0)
            if i == 7 { hess[0 * w + i] = 1; hess[3 * w + i] = 1; hess[w + i] = 1; hess[2 * w + i] = 1 }  // singular
            if i == 11 { hess[i] = .nan }
        }
        let z = (0..<(2 * w)).map { _ in source.normal() }, g = (0..<(2 * w)).map { _ in source.normal() }
        let x0 = (0..<(2 * w)).map { _ in source.normal() }
        // the reference: the Swift loop for every lane
        var expected = x0, expectedFactor = [Double](repeating: 0, count: 4 * w)
        expectedFactor.withUnsafeMutableBufferPointer { f in
            for i in 0..<count {
                let s = f.baseAddress! + 4 * i
                SymmetricSquareRoot.root2(c * hess[i], c * hess[w + i], c * hess[2 * w + i], c * hess[3 * w + i],
                                          into: s, spectrum: .positivePart)
                var n0 = 0.0, n1 = 0.0
                n0 += s[0] * z[i]; n0 += s[1] * z[w + i]
                n1 += s[2] * z[i]; n1 += s[3] * z[w + i]
                expected[i] = expected[i] - h * g[i] + root * n0
                expected[w + i] = expected[w + i] - h * g[w + i] + root * n1
            }
        }
        for isa in 0...KernelInstructionSet.best {
            var x = x0, factor = [Double](repeating: 0, count: 4 * w), others = [Int](repeating: -1, count: w)
            let rest = sgd_hessian2_step(hess, w, c, z, g, &x, h, root, &factor, count, &others, isa)
            let listed = Set(others[0..<rest])
            #expect(listed.count == rest && rest > 0 && rest < count)
            #expect(listed.contains(7) && listed.contains(11))
            for i in 0..<count {
                let a11 = c * hess[i], a22 = c * hess[3 * w + i], b = 0.5 * (c * hess[w + i] + c * hess[2 * w + i])
                let definite = a11 * a22 - b * b > 0 && a11 + a22 > 0
                #expect(listed.contains(i) == !definite)
                if definite {
                    #expect(x[i].bitPattern == expected[i].bitPattern && x[w + i].bitPattern == expected[w + i].bitPattern)
                    for k in 0..<4 { #expect(factor[4 * i + k].bitPattern == expectedFactor[4 * i + k].bitPattern) }
                } else {
                    #expect(x[i].bitPattern == x0[i].bitPattern && x[w + i].bitPattern == x0[w + i].bitPattern)
                }
            }
            for i in count..<w { #expect(x[i].bitPattern == x0[i].bitPattern) }
        }
    }
}
