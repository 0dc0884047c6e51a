import Foundation
import Synchronization
internal import CGSL

/// Dynamics, noise law or integrator settings that cannot be combined.
public struct DynamicsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Runs first-exit ensembles: `paths` independent paths of `problem` under `integrator`.
///
/// Paths are split into fixed chunks of `chunkSize` by index; chunk c draws from the
/// stream `(seed, experiment, cell, c)` — and, for additive Gaussian noise, its normals from
/// the eight SIMD lane streams `(seed, experiment, cell, c, lane 1…8)` (`LaneStreams`) —
/// and is simulated by one thread, `blockWidth`
/// paths in lockstep (structure-of-arrays, so the landscape's compiled program and the
/// update vectorise); a finished path's slot is refilled with the chunk's next path.
/// Finished chunks are delivered in chunk-index order (streamed, never all held at once),
/// so the same seed gives identical bits for any thread count (SciMLBase's ensemble
/// design). Nothing is allocated inside the step loop.
public struct EnsembleSimulator: Sendable {
    public static let defaultChunkSize = 1024
    public static let blockWidth = 64

    /// Lanes per block of an exit ensemble in dimension d: `blockWidth` up to d = 1024, fewer
    /// beyond, so that a block's state (lanes × d doubles, coordinate-major) stays about
    /// 0.5 MB and a lane's coordinates are not 64 cache lines apart; one lane from d = 65,536
    /// on (a network's parameters: each chain contiguous). A function of d alone, so results
    /// stay the same for any thread count.
    public static func blockWidth(dimension d: Int) -> Int { d <= 1024 ? blockWidth : max(1, 65_536 / d) }

    public let problem: ExitProblem
    public let integrator: Integrator
    /// The step's noise law, resolved from the dynamics.
    let increment: EulerMaruyamaStepper.Increment
    /// Whether each step adds Gaussian noise of one fixed variance (what the exact discrete
    /// chain's kernel needs).
    public var hasGaussianIncrements: Bool {
        if case .gaussian = increment { return true }
        return false
    }
    let exitTest: CompiledExitTest
    /// Whether chunks may run through the problem's compiled step kernel (`CompiledStepKernel`;
    /// the same bits either way). Off only to compare the two routes (tests).
    var compiledSteps = true

    /// The compiled step kernel's plan for this problem, nil where none applies.
    var compiledStepPlan: CompiledStepKernel.Plan? {
        guard compiledSteps, integrator.kind == .eulerMaruyama else { return nil }
        return CompiledStepKernel.Plan(landscape: problem.landscape, increment: increment, exitTest: exitTest,
                                       bridge: integrator.exitTest == .bridge,
                                       width: EnsembleSimulator.blockWidth(dimension: problem.landscape.dimension))
    }

    /// Builds this problem's compiled step kernel now, waiting for it, so the next run uses it
    /// from its first chunk (otherwise it is built in the background while the first chunks
    /// run on the block kernels). True where a kernel applies and was built. Benchmarks call
    /// it before timing; nothing else needs to.
    @discardableResult
    public func prepareCompiledSteps() -> Bool {
        guard let plan = compiledStepPlan else { return false }
        return CompiledStepKernel.kernel(for: plan, wait: true) != nil
    }

    public init(problem: ExitProblem, integrator: Integrator) throws(DynamicsError) {
        self.problem = problem
        self.integrator = integrator
        self.increment = try EnsembleSimulator.resolve(problem)
        if integrator.exitTest == .bridge, problem.lossVariable != nil {
            throw DynamicsError("exit_test = \"bridge\" needs the exit boundary's gradient, which loss_above on a finite sum does not compile; use \"step\"")
        }
        self.exitTest = CompiledExitTest(terms: problem.exitTerms, dimension: problem.landscape.dimension,
                                         start: problem.start, bridge: integrator.exitTest == .bridge)
        if integrator.exitTest == .bridge {
            if NoiseModel.isDiscreteChain(problem.dynamics) {
                throw DynamicsError("exit_test = \"bridge\" does not apply to dynamics \"\(problem.dynamics.name)\": the discrete chain is checked at its iterates; use \"step\"")
            }
            guard integrator.kind.supportsBridge else {
                throw DynamicsError("exit_test = \"bridge\" is not available with integrator \"\(integrator.kind.rawValue)\"; use \"step\"")
            }
            guard increment.isGaussian else {
                throw DynamicsError("exit_test = \"bridge\" needs Gaussian noise; \(problem.dynamics.name) here has \(problem.dynamics.noiseLawKind.rawValue) noise; use \"step\"")
            }
        }
    }

    static func resolve(_ problem: ExitProblem) throws(DynamicsError) -> EulerMaruyamaStepper.Increment {
        let noise = try NoiseModel(dynamics: problem.dynamics, landscape: problem.landscape)
        if !noise.isDiscrete {
            guard problem.dt > 0, problem.dt.isFinite else { throw DynamicsError("dt must be > 0, got \(problem.dt)") }
        }
        return noise.stepNoise(stepSize: problem.dt)
    }

    /// Simulates paths `0..<paths` with streams `(seed, experiment, cell, chunk)` and hands
    /// each finished chunk to `receive`, on the calling thread, in chunk-index order — the
    /// same chunks in the same order for any `threads`. Workers run at most a few chunks
    /// ahead of `receive` (a window of 4 per worker), so memory is O(threads · chunkSize)
    /// however many paths there are. An error thrown by `receive` stops the workers after
    /// their current chunk and is rethrown.
    public func run<E: Error>(paths: Int, seed: UInt64, experiment: Int = 0, cell: Int = 0, threads: Int = 1,
                              chunkSize: Int = EnsembleSimulator.defaultChunkSize,
                              receive: (ExitChunk) throws(E) -> Void) throws(E) {
        precondition(paths > 0 && threads > 0 && chunkSize > 0)
        let chunks = (paths + chunkSize - 1) / chunkSize
        let workers = min(threads, chunks)
        let simulate = { @Sendable (c: Int, runner: ChunkRunner) -> ExitChunk in
            let first = c * chunkSize
            let count = min(chunkSize, paths - first)
            var samples = ExitSamples(dimension: self.problem.landscape.dimension, count: count)
            samples.steps.withUnsafeMutableBufferPointer { steps in
                samples.outcomes.withUnsafeMutableBufferPointer { outcomes in
                    samples.finalPoints.withUnsafeMutableBufferPointer { points in
                        runner.run(firstPath: first, count: count,
                                   key: StreamKey(seed: seed, experiment: experiment, cell: cell, chunk: c),
                                   sink: SampleSink(firstPath: first, steps: steps.baseAddress!,
                                                    outcomes: outcomes.baseAddress!, points: points.baseAddress!))
                    }
                }
            }
            return ExitChunk(index: c, firstPath: first, samples: samples)
        }
        if workers == 1 {
            let runner = ChunkRunner(simulator: self)
            for c in 0..<chunks { try receive(simulate(c, runner)) }
            return
        }
        let pipeline = ChunkPipeline(chunks: chunks, window: 4 * workers, workers: workers)
        for _ in 0..<workers {
            Thread {
                let runner = ChunkRunner(simulator: self)
                while let c = pipeline.claim() { pipeline.deliver(simulate(c, runner)) }
                pipeline.workerFinished()
            }.start()
        }
        defer { pipeline.cancelAndJoin() }
        for c in 0..<chunks { try receive(pipeline.take(c)) }
    }

    /// Simulates paths `0..<paths` and returns all their samples (tests, small ensembles;
    /// a job streams chunks through `run(paths:…receive:)` instead).
    public func run(paths: Int, seed: UInt64, experiment: Int = 0, cell: Int = 0, threads: Int = 1,
                    chunkSize: Int = EnsembleSimulator.defaultChunkSize) -> ExitSamples {
        let d = problem.landscape.dimension
        var samples = ExitSamples(dimension: d, count: paths)
        run(paths: paths, seed: seed, experiment: experiment, cell: cell, threads: threads, chunkSize: chunkSize) { chunk in
            let first = chunk.firstPath, part = chunk.samples
            samples.steps.replaceSubrange(first..<first + part.count, with: part.steps)
            samples.outcomes.replaceSubrange(first..<first + part.count, with: part.outcomes)
            samples.finalPoints.replaceSubrange(first * d..<(first + part.count) * d, with: part.finalPoints)
        }
        return samples
    }
}

/// One finished chunk: paths `firstPath..<firstPath + samples.count`, chunk `index`.
public struct ExitChunk: Sendable {
    public let index: Int
    public let firstPath: Int
    public let samples: ExitSamples

    public init(index: Int, firstPath: Int, samples: ExitSamples) {
        self.index = index; self.firstPath = firstPath; self.samples = samples
    }
}

/// Hands chunk indices to worker threads and their results back in index order; workers
/// wait while they are `window` chunks ahead of the consumer.
final class ChunkPipeline: @unchecked Sendable {
    private let condition = NSCondition()
    private let chunks: Int, window: Int
    private var nextClaim = 0, nextTake = 0, liveWorkers: Int
    private var cancelled = false
    private var ready: [Int: ExitChunk] = [:]

    init(chunks: Int, window: Int, workers: Int) {
        self.chunks = chunks; self.window = window; liveWorkers = workers
    }

    /// The next chunk to simulate, or nil when there is none left (or the run was cancelled).
    func claim() -> Int? {
        condition.lock(); defer { condition.unlock() }
        while !cancelled && nextClaim < chunks && nextClaim >= nextTake + window { condition.wait() }
        guard !cancelled && nextClaim < chunks else { return nil }
        nextClaim += 1
        return nextClaim - 1
    }

    func deliver(_ chunk: ExitChunk) {
        condition.lock(); defer { condition.unlock() }
        if !cancelled { ready[chunk.index] = chunk }
        condition.broadcast()
    }

    /// Waits for chunk `c` (taken in order 0, 1, 2, …).
    func take(_ c: Int) -> ExitChunk {
        condition.lock(); defer { condition.unlock() }
        while ready[c] == nil { condition.wait() }
        nextTake = c + 1
        condition.broadcast()
        return ready.removeValue(forKey: c)!
    }

    func workerFinished() {
        condition.lock(); defer { condition.unlock() }
        liveWorkers -= 1
        condition.broadcast()
    }

    /// Stops handing out chunks and waits until every worker has returned.
    func cancelAndJoin() {
        condition.lock(); defer { condition.unlock() }
        cancelled = true
        ready.removeAll()
        condition.broadcast()
        while liveWorkers > 0 { condition.wait() }
    }
}

/// One chunk's per-path destinations, indexed by path − `firstPath`.
struct SampleSink: @unchecked Sendable {
    let firstPath: Int
    let steps: UnsafeMutablePointer<Int>
    let outcomes: UnsafeMutablePointer<Int32>
    let points: UnsafeMutablePointer<Double>
}
