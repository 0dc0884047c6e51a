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
/// stream `(seed, experiment, cell, c)` and is simulated by one thread, `blockWidth`
/// paths in lockstep (structure-of-arrays, so the landscape's compiled program and the
/// update vectorise); a finished path's slot is refilled with the chunk's next path.
/// Finished chunks are delivered in chunk-index order (streamed, never all held at once),
/// so the same seed gives identical bits for any thread count (SciMLBase's ensemble
/// design). Nothing is allocated inside the step loop.
public struct EnsembleSimulator: Sendable {
    public static let defaultChunkSize = 1024
    public static let blockWidth = 64

    public let problem: ExitProblem
    public let integrator: EulerMaruyama
    /// The step's noise law, resolved from the dynamics.
    let increment: EulerMaruyamaStepper.Increment
    let exitTest: CompiledExitTest

    public init(problem: ExitProblem, integrator: EulerMaruyama) throws(DynamicsError) {
        self.problem = problem
        self.integrator = integrator
        self.increment = try EnsembleSimulator.resolve(problem)
        self.exitTest = CompiledExitTest(terms: problem.exitTerms, dimension: problem.landscape.dimension,
                                         start: problem.start, bridge: integrator.exitTest == .bridge)
        if integrator.exitTest == .bridge {
            if case .sgd = problem.dynamics {
                throw DynamicsError("exit_test = \"bridge\" does not apply to dynamics \"sgd\": the discrete chain is checked at its iterates; use \"step\"")
            }
            guard increment.isGaussian else {
                throw DynamicsError("exit_test = \"bridge\" needs Gaussian noise; \(problem.dynamics.name) here has \(EnsembleSimulator.noiseName(problem.dynamics)) noise; use \"step\"")
            }
        }
    }

    static func noiseName(_ dynamics: Dynamics) -> String {
        switch dynamics {
        case .levy: "alpha-stable"
        case .sgd(_, _, let n, _), .sgdSDE(_, _, let n, _):
            switch n {
            case .gaussian: "gaussian"
            case .studentT: "student-t"
            case .alphaStable: "alpha-stable"
            case .hessian: "hessian"
            case .lossProportional: "loss-proportional"
            case .finiteSum: "finite-sum"
            }
        case .langevin: "gaussian"
        }
    }

    static func resolve(_ problem: ExitProblem) throws(DynamicsError) -> EulerMaruyamaStepper.Increment {
        let dt = problem.dt
        let finiteSum = problem.landscape.finiteSum
        func positive(_ name: String, _ v: Double) throws(DynamicsError) {
            guard v > 0, v.isFinite else { throw DynamicsError("\(name) must be > 0, got \(v)") }
        }
        func alphaOK(_ a: Double) throws(DynamicsError) {
            guard a > 0, a <= 2 else { throw DynamicsError("alpha must be in (0, 2], got \(a)") }
        }
        switch problem.dynamics {
        case .langevin(let eps):
            try positive("epsilon", eps); try positive("dt", dt)
            return .additive(scale: (2 * eps * dt).squareRoot())
        case .levy(let eps, let alpha):
            try positive("epsilon", eps); try positive("dt", dt); try alphaOK(alpha)
            return .stable(alpha: alpha, scale: eps * pow(dt, 1 / alpha))
        case .sgd(let eta, let b, let noise, let replacement):
            try positive("learning_rate", eta)
            guard b >= 1 else { throw DynamicsError("batch_size must be ≥ 1, got \(b)") }
            switch noise {
            case .gaussian(let s):
                try positive("sigma", s)
                return .additive(scale: eta * s / Double(b).squareRoot())
            case .studentT(let s, let nu):
                try positive("sigma", s); try positive("nu", nu)
                return .studentMean(degreesOfFreedom: nu, scale: eta * s, batch: b)
            case .alphaStable(let s, let alpha):
                try positive("sigma", s); try alphaOK(alpha)
                return .stable(alpha: alpha, scale: eta * s * pow(Double(b), 1 / alpha - 1))
            case .hessian(let c):
                try positive("scale", c)
                return .stateDependent(loss: false, c: c, variance: eta * eta / Double(b))
            case .lossProportional(let c):
                try positive("scale", c)
                return .stateDependent(loss: true, c: c, variance: eta * eta / Double(b))
            case .finiteSum:
                guard let fs = finiteSum else {
                    throw DynamicsError("noise law \"finite-sum\" needs a finite-sum landscape; give a noise law (gaussian, student-t, alpha-stable, hessian, loss-proportional)")
                }
                if !replacement && b > fs.sampleCount {
                    throw DynamicsError("batch_size must be ≤ the number of samples (\(fs.sampleCount)) without replacement, got \(b)")
                }
                return .finiteSumMinibatch(batch: b, withReplacement: replacement)
            }
        case .sgdSDE(let eta, let b, let noise, let replacement):
            try positive("learning_rate", eta); try positive("dt", dt)
            guard b >= 1 else { throw DynamicsError("batch_size must be ≥ 1, got \(b)") }
            let perSample = eta * dt / Double(b)
            switch noise {
            case .gaussian(let s):
                try positive("sigma", s)
                return .additive(scale: (perSample * s * s).squareRoot())
            case .studentT(let s, let nu):
                try positive("sigma", s)
                guard nu > 2 else { throw DynamicsError("sgd-sde with student-t noise needs nu > 2 (finite variance), got \(nu)") }
                return .additive(scale: (perSample * s * s * nu / (nu - 2)).squareRoot())
            case .alphaStable(let s, let alpha):
                try positive("sigma", s); try alphaOK(alpha)
                let sigmaB = s * pow(Double(b), 1 / alpha - 1)
                return .stable(alpha: alpha, scale: pow(eta, (alpha - 1) / alpha) * sigmaB * pow(dt, 1 / alpha))
            case .hessian(let c):
                try positive("scale", c)
                return .stateDependent(loss: false, c: c, variance: perSample)
            case .lossProportional(let c):
                try positive("scale", c)
                return .stateDependent(loss: true, c: c, variance: perSample)
            case .finiteSum:
                guard let fs = finiteSum else {
                    throw DynamicsError("noise law \"finite-sum\" needs a finite-sum landscape; give a noise law (gaussian, student-t, alpha-stable, hessian, loss-proportional)")
                }
                let n = Double(fs.sampleCount), bb = Double(b)
                if replacement {
                    return .finiteSumCovariance(variance: eta * dt / bb)
                }
                guard b <= fs.sampleCount else {
                    throw DynamicsError("batch_size must be ≤ the number of samples (\(fs.sampleCount)) without replacement, got \(b)")
                }
                let factor = fs.sampleCount > 1 ? (n - bb) / (bb * (n - 1)) : 0
                return .finiteSumCovariance(variance: eta * dt * factor)
            }
        }
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
            let stream = RandomStream(key: StreamKey(seed: seed, experiment: experiment, cell: cell, chunk: c))
            samples.steps.withUnsafeMutableBufferPointer { steps in
                samples.outcomes.withUnsafeMutableBufferPointer { outcomes in
                    samples.finalPoints.withUnsafeMutableBufferPointer { points in
                        runner.run(firstPath: first, count: count, stream: stream,
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
