import Foundation

/// A fixed number of steps of any dynamics with any noise law — discrete SGD with a
/// synthetic law, its SDE, Langevin — on any landscape, by the ensemble's own stepper
/// (`EulerMaruyamaStepper`: the same step, noise and divergence test as Monte Carlo; exits
/// are ignored). `FixedHorizonSGD` is the finite-sum minibatch case; this is every other one,
/// so that the stationary moments of SGD and of its SDE come out of one method
/// (`FixedHorizonMoments`, docs/THEORY.md §5).
///
/// `θ₀ = start + s·ξ` (ξ ~ N(0, I), s = `initialScale`), then N steps. A path **diverges** at
/// the first step that leaves a coordinate beyond the problem's divergence bound or not
/// finite, and is recorded there (the lane keeps stepping, unread).
///
/// Randomness: paths in chunks of `EnsembleSimulator.defaultChunkSize` by index, chunk c on
/// the stream `(seed, experiment, cell, c)`, stepped `blockWidth` lanes at a time (the start
/// perturbations of a block drawn first): the same bits for any thread count.
public struct FixedHorizonEnsemble: Sendable {
    public let simulator: EnsembleSimulator
    /// N.
    public let steps: Int
    public let initialScale: Double

    public init(problem: ExitProblem, steps: Int, initialScale: Double = 0) throws(DynamicsError) {
        guard steps >= 1 else { throw DynamicsError("steps must be ≥ 1, got \(steps)") }
        guard initialScale >= 0, initialScale.isFinite else { throw DynamicsError("init_scale must be ≥ 0, got \(initialScale)") }
        simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .step))
        self.steps = steps
        self.initialScale = initialScale
    }

    /// Paths `0..<paths`, in path order.
    public func run(paths: Int, seed: UInt64, experiment: Int = 0, cell: Int = 0, threads: Int = 1) -> [FixedHorizonSGD.Outcome] {
        precondition(paths >= 1 && threads >= 1)
        let size = EnsembleSimulator.defaultChunkSize
        let chunks = (paths + size - 1) / size
        let results = Parallel.map(count: chunks, threads: threads) { c in
            runChunk(first: c * size, count: min(size, paths - c * size),
                     stream: RandomStream(key: StreamKey(seed: seed, experiment: experiment, cell: cell, chunk: c)))
        }
        return results.flatMap { $0 }
    }

    func runChunk(first: Int, count: Int, stream: RandomStream) -> [FixedHorizonSGD.Outcome] {
        let problem = simulator.problem
        let d = problem.landscape.dimension, w = EnsembleSimulator.blockWidth
        let stepper = simulator.integrator.kind.makeStepper(simulator: simulator, width: w)
        var out: [FixedHorizonSGD.Outcome] = []
        out.reserveCapacity(count)
        var point = [Double](repeating: 0, count: d)
        var divergedAt = [Int](repeating: 0, count: w)
        var divergedPoint = [Double](repeating: 0, count: w * d)
        var done = 0
        while done < count {
            let n = min(w, count - done)
            for i in 0..<n {
                for j in 0..<d { point[j] = problem.start[j] + (initialScale > 0 ? initialScale * stream.normal() : 0) }
                point.withUnsafeBufferPointer { stepper.load(lane: i, from: $0.baseAddress!) }
                divergedAt[i] = 0
            }
            let x = stepper.x, outcome = stepper.outcome
            var state = stream.taus2State
            for k in 1...steps {
                stepper.step(count: n, stream: stream, state: &state)
                for i in 0..<n where divergedAt[i] == 0 && outcome[i] == StepOutcome.diverged {
                    divergedAt[i] = k
                    for j in 0..<d { divergedPoint[i * d + j] = x[j * w + i] }
                }
            }
            stream.store(state)
            for i in 0..<n {
                if divergedAt[i] > 0 {
                    out.append(.init(finalPoint: Array(divergedPoint[(i * d)..<((i + 1) * d)]), steps: divergedAt[i], diverged: true))
                } else {
                    out.append(.init(finalPoint: (0..<d).map { x[$0 * w + i] }, steps: steps, diverged: false))
                }
            }
            done += n
        }
        return out
    }
}

/// Mean and variance of each coordinate over the end points of the paths that did not
/// diverge (k of them): the sample mean x̄ with SE s/√k, and the unbiased sample variance s²
/// with the SE √((m₄ − s⁴)/k) of its large-k normal law (m₄ the fourth central moment;
/// Kendall & Stuart, *The Advanced Theory of Statistics* I, §10.5; exact to O(1/k²) for any
/// law with a finite fourth moment). After enough steps the end points sample the stationary
/// law of the chain — discrete SGD's, or its SDE's — so these are its moments (docs/THEORY.md
/// §5); whether N steps suffice is the caller's to judge (compare two horizons).
public struct FixedHorizonMoments: Sendable, Equatable {
    public let count: Int
    public let mean: [Double]
    public let meanStandardError: [Double]
    public let variance: [Double]
    public let varianceStandardError: [Double]

    /// nil when fewer than 2 paths did not diverge.
    public init?(outcomes: [FixedHorizonSGD.Outcome], dimension d: Int) {
        let finished = outcomes.filter { !$0.diverged }
        let k = Double(finished.count)
        guard finished.count >= 2 else { return nil }
        count = finished.count
        var mean = [Double](), meanSE = [Double](), variance = [Double](), varianceSE = [Double]()
        for j in 0..<d {
            let m = finished.reduce(0) { $0 + $1.finalPoint[j] } / k
            var m2 = 0.0, m4 = 0.0
            for o in finished { let e = o.finalPoint[j] - m; m2 += e * e; m4 += e * e * e * e }
            let s2 = m2 / (k - 1)
            mean.append(m); meanSE.append((s2 / k).squareRoot())
            variance.append(s2); varianceSE.append((max(m4 / k - s2 * s2, 0) / k).squareRoot())
        }
        self.mean = mean; meanStandardError = meanSE; self.variance = variance; varianceStandardError = varianceSE
    }
}
