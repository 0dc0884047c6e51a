import Foundation
import Testing
import TestSupport
@testable import Diffusion
import CKernels
import CGSL

/// The lanes kernel (`MLP.addLaneGradients`, Sources/CKernels/mlp_lanes.c), the block tests
/// beside it (Sources/CKernels/block_tests.c) and the stepper's use of both, against the
/// per-sample backpropagation of `MLP` and plain loops.
@Suite struct MLPLanesTests {
    /// A 4–6–5–3 network on n = 30 fixed samples.
    static func network(loss: MLP.Loss, activation: MLP.Activation, bias: Bool, samples n: Int = 30) -> MLP {
        var rng = SplitMix64(seed: 5)
        let p = 4, outputs = 3
        let x = (0..<(n * p)).map { _ in rng.uniform(-1.5, 1.5) }
        let y = loss == .square ? (0..<(n * outputs)).map { _ in rng.uniform(-1, 1) } : (0..<n).map { Double($0 % outputs) }
        return MLP(inputs: x, sampleCount: n, targets: y, hiddenWidths: [6, 5], outputs: outputs,
                   activation: activation, bias: bias, loss: loss, sharpness: 1.7)
    }

    static let cases: [(MLP.Loss, MLP.Activation, Bool)] = [
        (.crossEntropy, .relu, true), (.crossEntropy, .tanh, false), (.square, .tanh, true), (.square, .linear, false),
        (.square, .relu, true),
    ]

    /// 21 of 24 lanes (a partial group of 8), each at its own point with its own 19 samples
    /// (more than one chunk of 16, and a remainder of 3 past the 4-sample register blocks) and
    /// weights: every lane's gradient equals Σ_r w_r ∇ℓ by `addSampleGradient` to 1e-12
    /// relative (rounding only: the two sum in different orders), lanes 21–23 are not written
    /// although their parameters are NaN, and every instruction set gives the same bits.
    /// Also the `indices: nil` form (samples first + r, shared by the lanes).
    @Test(arguments: 0..<5)
    func laneGradientsMatchSampleGradients(_ c: Int) {
        let (loss, activation, bias) = Self.cases[c]
        let mlp = Self.network(loss: loss, activation: activation, bias: bias)
        let d = mlp.dimension, stride = 24, count = 21, batch = 19, n = mlp.sampleCount
        var rng = SplitMix64(seed: UInt64(11 + c))
        let base = mlp.initialParameters(seed: 2)
        var theta = [Double](repeating: .nan, count: d * stride)
        for i in 0..<count { for j in 0..<d { theta[j * stride + i] = base[j] + rng.uniform(-0.4, 0.4) } }
        let indices = (0..<(batch * stride)).map { _ in Int(rng.next() % UInt64(n)) }
        let weights = (0..<(batch * stride)).map { _ in rng.uniform(-1, 2) }
        let sentinel = 42.0, scale = 0.37
        for form in 0..<2 {  // 0: per-lane indices; 1: indices nil, first = 7
            var results: [[Double]] = []
            for isa in 0...MLP.bestLaneInstructionSet {
                var g = [Double](repeating: sentinel, count: d * stride)
                for i in 0..<count { for j in 0..<d { g[j * stride + i] = 0 } }
                theta.withUnsafeBufferPointer { t in
                    indices.withUnsafeBufferPointer { ix in
                        weights.withUnsafeBufferPointer { w in
                            g.withUnsafeMutableBufferPointer {
                                mlp.addLaneGradients(indices: form == 0 ? ix.baseAddress : nil, first: 7, weights: w.baseAddress,
                                                     batch: batch, count: count, stride: stride, theta: t.baseAddress!,
                                                     scale: scale, into: $0.baseAddress!, instructionSet: isa)
                            }
                        }
                    }
                }
                results.append(g)
            }
            for r in results.dropFirst() { #expect(r.map(\.bitPattern) == results[0].map(\.bitPattern), "form \(form)") }
            let g = results[0]
            var worst = 0.0
            for i in 0..<count {
                let point = (0..<d).map { theta[$0 * stride + i] }
                var reference = [Double](repeating: 0, count: d)
                point.withUnsafeBufferPointer { t in
                    reference.withUnsafeMutableBufferPointer { out in
                        for r in 0..<batch {
                            let sample = form == 0 ? indices[r * stride + i] : 7 + r
                            mlp.addSampleGradient(sample, at: t.baseAddress!, scale: scale * weights[r * stride + i], into: out.baseAddress!)
                        }
                    }
                }
                let norm = reference.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let error = (0..<d).reduce(0.0) { $0 + pow(g[$1 * stride + i] - reference[$1], 2) }.squareRoot()
                worst = max(worst, error / norm)
            }
            #expect(worst <= 1e-12, "form \(form): relative error \(worst)")
            for i in count..<stride { for j in 0..<d { #expect(g[j * stride + i] == sentinel) } }
        }
    }

    /// `sgd_block_squared_distance` is the stated partial-sum order exactly (eight sums over
    /// j mod 8, added pairwise) for strides 24 (lanes in vectors), 5 and 1 (one lane at a
    /// time, rows contiguous at stride 1), and the same bits on every instruction set;
    /// `sgd_block_mark_diverged` marks exactly the lanes with a NaN, ±∞ or |x| > bound.
    @Test func blockTestsMatchPlainLoops() {
        var rng = SplitMix64(seed: 3)
        for (stride, count, rows) in [(24, 21, 37), (5, 3, 37), (1, 1, 101), (8, 8, 3)] {
            var x = (0..<(rows * stride)).map { _ in rng.uniform(-2, 2) }
            let center = (0..<rows).map { _ in rng.uniform(-1, 1) }
            var expected = [Double](repeating: 0, count: count)
            for i in 0..<count {
                var s = [Double](repeating: 0, count: 8)
                for j in 0..<rows { let e = x[j * stride + i] - center[j]; s[j % 8] += e * e }
                expected[i] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
            }
            for isa in 0...MLP.bestLaneInstructionSet {
                var out = [Double](repeating: 0, count: count)
                sgd_block_squared_distance(x, stride, rows, count, center, &out, isa)
                #expect(out.map(\.bitPattern) == expected.map(\.bitPattern), "stride \(stride) isa \(isa)")
            }
            // divergence: lane 0 NaN (last row), lane 1 +∞, lane 2 just over the bound, others fine
            let bound = 1.5
            for j in 0..<rows { for i in 0..<count { x[j * stride + i] = max(-1.5, min(1.5, x[j * stride + i])) } }
            let marks: [(Int, Double)] = [(0, .nan), (1, .infinity), (2, -1.5000000000000002)]
            for (lane, value) in marks where lane < count { x[(rows - 1) * stride + lane] = value }
            for isa in 0...MLP.bestLaneInstructionSet {
                var outcome = [Int](repeating: 7, count: count)
                sgd_block_mark_diverged(x, stride, rows, count, bound, &outcome, -9, isa)
                for i in 0..<count { #expect(outcome[i] == (i < min(3, count) ? -9 : 7), "stride \(stride) lane \(i) isa \(isa)") }
            }
        }
    }

    /// The stepper's lanes route equals stepping the same lanes one at a time through the
    /// per-chain route (a one-lane block: BLAS or plain loops), from the same stream: the
    /// same draws in the same order (two steps of every lane, lane by lane: the streams end in
    /// the same state) and the same end points to rounding (1e-12 relative). sgd with and
    /// without replacement (exiting at `loss_above`: the same outcomes and loss row), and
    /// sgd-sde by the sample-space route, with n = 30 samples (one call, in place) and n = 300
    /// (two chunks of the lanes kernel summed, then added).
    @Test(arguments: 0..<4)
    func laneStepEqualsLaneByLaneStep(_ c: Int) throws {
        let mlp = Self.network(loss: .crossEntropy, activation: .tanh, bias: true, samples: c == 3 ? 300 : 30)
        let d = mlp.dimension, lanes = 21
        let landscape = Landscape(finiteSum: mlp, summary: "network")
        let dynamics: Dynamics = c >= 2 ? .sgdSDE(learningRate: 0.3, batchSize: 4, noise: .finiteSum, withReplacement: false)
                                        : .sgd(learningRate: 0.3, batchSize: 5, noise: .finiteSum, withReplacement: c == 0)
        let start = mlp.initialParameters(seed: 4)
        // sgd without replacement exits at `loss_above` the start's loss (the lanes loss
        // kernel then fills the loss row); the others at a distance out of reach
        let level = start.withUnsafeBufferPointer { mlp.loss(at: $0.baseAddress!) }
        let problem = try ExitProblem(landscape: landscape, dynamics: dynamics, dt: 0.1, start: start,
                                      exit: c == 1 ? .lossAbove(level) : .distanceFromStart(1e9), maxSteps: 10)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(finiteSumNoise: .sampleSpace))
        let block = EulerMaruyamaStepper(simulator: simulator, width: 64)
        let single = EulerMaruyamaStepper(simulator: simulator, width: 1)
        var rng = SplitMix64(seed: 8)
        let points = (0..<lanes).map { _ in start.map { $0 + rng.uniform(-0.3, 0.3) } }
        for (i, p) in points.enumerated() { p.withUnsafeBufferPointer { block.load(lane: i, from: $0.baseAddress!) } }
        let a = RandomStream(key: StreamKey(seed: 31)), b = RandomStream(key: StreamKey(seed: 31))
        for _ in 0..<2 { block.step(count: lanes, stream: a) }
        var worst = 0.0
        var ends: [[Double]] = []
        var outcomes = Set<Int>()
        for p in points {
            p.withUnsafeBufferPointer { single.load(lane: 0, from: $0.baseAddress!) }
            single.step(count: 1, stream: b)
            ends.append((0..<d).map { single.x[$0] })
        }
        // the second step of each lane, in lane order, from the same stream
        for i in 0..<lanes {
            ends[i].withUnsafeBufferPointer { single.load(lane: 0, from: $0.baseAddress!) }
            single.step(count: 1, stream: b)
            for j in 0..<(c == 1 ? d + 1 : d) {  // with the loss row
                let u = block.x[j * 64 + i], v = single.x[j]
                worst = max(worst, abs(u - v) / max(1, abs(v)))
            }
            #expect(block.outcome[i] == single.outcome[0], "lane \(i)")
            if c == 1 { outcomes.insert(block.outcome[i]) }
        }
        #expect(worst <= 1e-12, "worst difference \(worst)")
        if c == 1 { #expect(outcomes.count == 2, "some lanes above the level, some below: \(outcomes)") }
        let (u, v) = (a.taus2State, b.taus2State)
        #expect(u.s1 == v.s1 && u.s2 == v.s2 && u.s3 == v.s3)
    }

    /// A network landscape's block gradient (what langevin and sgld step with) equals the
    /// mean of the sample gradients, `FiniteSum.gradient(at:into:)`, to 1e-12 relative: by the
    /// lanes kernel (stride 24, 21 lanes) and chain by chain by matrix products (stride 5).
    @Test func landscapeBlockGradientIsTheFullGradient() {
        let mlp = Self.network(loss: .square, activation: .tanh, bias: true)
        let landscape = Landscape(finiteSum: mlp, summary: "network")
        let d = mlp.dimension
        var rng = SplitMix64(seed: 19)
        let base = mlp.initialParameters(seed: 6)
        for (stride, count) in [(24, 21), (5, 3)] {
            var x = [Double](repeating: 0, count: d * stride)
            for i in 0..<count { for j in 0..<d { x[j * stride + i] = base[j] + rng.uniform(-0.4, 0.4) } }
            var out = [Double](repeating: .nan, count: d * stride)
            var scratch = [Double](repeating: 0, count: 4 * d)
            var workspace = [Double](repeating: 0, count: max(1, landscape.registerCount * stride))
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { o in
                    workspace.withUnsafeMutableBufferPointer { w in
                        scratch.withUnsafeMutableBufferPointer { s in
                            landscape.gradient(count: count, stride: stride, inputs: xp.baseAddress!, outputs: o.baseAddress!,
                                               workspace: w.baseAddress!, scratch: s.baseAddress!)
                        }
                    }
                }
            }
            for i in 0..<count {
                let reference = landscape.gradient(at: (0..<d).map { x[$0 * stride + i] })
                let norm = reference.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let error = (0..<d).reduce(0.0) { $0 + pow(out[$1 * stride + i] - reference[$1], 2) }.squareRoot()
                #expect(error <= 1e-12 * norm, "stride \(stride) lane \(i): \(error) of \(norm)")
            }
        }
    }

    /// The lanes loss (what `loss_above` exits read on a network) equals `FiniteSum.loss(at:)`
    /// lane by lane to 1e-12 relative, 21 of 24 lanes, lanes 21–23 not written.
    @Test(arguments: 0..<5)
    func laneLossesAreTheLoss(_ c: Int) {
        let (loss, activation, bias) = Self.cases[c]
        let mlp = Self.network(loss: loss, activation: activation, bias: bias)
        let d = mlp.dimension, stride = 24, count = 21
        var rng = SplitMix64(seed: UInt64(40 + c))
        let base = mlp.initialParameters(seed: 3)
        var theta = [Double](repeating: .nan, count: d * stride)
        for i in 0..<count { for j in 0..<d { theta[j * stride + i] = base[j] + rng.uniform(-0.4, 0.4) } }
        var out = [Double](repeating: 42, count: stride)
        theta.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { mlp.laneLosses(count: count, stride: stride, theta: t.baseAddress!, into: $0.baseAddress!) }
        }
        for i in 0..<count {
            let reference = (0..<d).map { theta[$0 * stride + i] }.withUnsafeBufferPointer { mlp.loss(at: $0.baseAddress!) }
            #expect(abs(out[i] - reference) <= 1e-12 * abs(reference), "lane \(i): \(out[i]) against \(reference)")
        }
        for i in count..<stride { #expect(out[i] == 42) }
    }

    /// `Taus2State.uniformInt(below:)` (the minibatch draws of the lanes route) returns what
    /// `gsl_rng_uniform_int` returns on a taus2 in the same state, word for word, over 10⁵
    /// draws for each n, including n = 3 (rejections rare) and n near 2³¹ (rejections common).
    @Test func inlineUniformIntIsGSLs() {
        for n in [1, 3, 178, 1000, 65_537, 2_147_483_649] as [UInt32] {
            let a = RandomStream(key: StreamKey(seed: UInt64(n))), b = RandomStream(key: StreamKey(seed: UInt64(n)))
            var state = a.taus2State
            var same = true
            for _ in 0..<100_000 where same {
                same = state.uniformInt(below: n) == Int(gsl_rng_uniform_int(b.pointer, UInt(n)))
            }
            let end = b.taus2State
            #expect(same && state.s1 == end.s1 && state.s2 == end.s2 && state.s3 == end.s3, "n = \(n)")
        }
    }
}
