import Foundation
import Synchronization

/// Discrete minibatch SGD on a finite sum run for a fixed number of iterations — "where does
/// SGD end up, and does it blow up?" rather than "when does it leave?" (docs/THEORY.md §3 and §5.4:
/// divergence probability against the linear-stability thresholds; the sharpness of the
/// minima SGD converges to against Wu, Wang & Su's bound):
///
/// `θ₀ = start + s·ξ` (ξ ~ N(0, I), s = `initialScale`), then
/// `θ_{k+1} = θ_k − η ∇L_{B_k}(θ_k)`, k < N, with real minibatches (`MinibatchSampler`:
/// the ensemble engine's draws). A path **diverges** at the first iterate with a coordinate
/// beyond `divergenceBound` in absolute value or not finite; it stops there. Otherwise it
/// runs all N steps.
///
/// Not stepped by `EulerMaruyamaStepper`: one stream per path makes each path a one-lane
/// block, whose per-step costs of the block machinery (exit and divergence selects, stream
/// syncs around GSL draws, opening the finite sum's existential) are not amortised — the
/// same bits, but 4–8 % slower on the fixed-horizon reports; blocks of many paths would
/// share a stream and change the results.
///
/// Randomness: path p draws from the stream `(seed, experiment, cell, chunk: p)` — one
/// stream per path (ξ first, then the minibatch indices) — so a path's result does not depend
/// on the number of paths or threads. Reductions run in path order: same seed ⇒ same bits.
public struct FixedHorizonSGD: Sendable {
    public let finiteSum: any FiniteSum
    public let learningRate: Double
    public let batchSize: Int
    public let withReplacement: Bool
    /// N.
    public let steps: Int
    public let divergenceBound: Double
    public let initialScale: Double

    public init(finiteSum: any FiniteSum, learningRate: Double, batchSize: Int, withReplacement: Bool,
                steps: Int, divergenceBound: Double = 1e10, initialScale: Double = 0) throws(DynamicsError) {
        guard learningRate > 0, learningRate.isFinite else { throw DynamicsError("learning_rate must be > 0, got \(learningRate)") }
        guard batchSize >= 1 else { throw DynamicsError("batch_size must be ≥ 1, got \(batchSize)") }
        if !withReplacement && batchSize > finiteSum.sampleCount {
            throw DynamicsError("batch_size must be ≤ the number of samples (\(finiteSum.sampleCount)) without replacement, got \(batchSize)")
        }
        guard steps >= 1 else { throw DynamicsError("steps must be ≥ 1, got \(steps)") }
        guard divergenceBound > 0 else { throw DynamicsError("divergence_bound must be > 0, got \(divergenceBound)") }
        guard initialScale >= 0, initialScale.isFinite else { throw DynamicsError("init_scale must be ≥ 0, got \(initialScale)") }
        self.finiteSum = finiteSum
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.withReplacement = withReplacement
        self.steps = steps
        self.divergenceBound = divergenceBound
        self.initialScale = initialScale
    }

    public struct Outcome: Sendable, Equatable {
        /// θ_N, or the first iterate out of bounds for a diverged path.
        public let finalPoint: [Double]
        /// Iterations taken (N unless diverged).
        public let steps: Int
        public let diverged: Bool
    }

    /// One path from `start` with the draws of `stream`.
    public func run(from start: [Double], stream: RandomStream) -> Outcome {
        let d = finiteSum.dimension
        precondition(start.count == d, "start has \(start.count) coordinates, the finite sum \(d)")
        var theta = start
        if initialScale > 0 { for j in 0..<d { theta[j] += initialScale * stream.normal() } }
        var sampler = MinibatchSampler(sampleCount: finiteSum.sampleCount, batchSize: batchSize,
                                       withReplacement: withReplacement)
        var g = [Double](repeating: 0, count: d)
        let eta = learningRate, bound = divergenceBound, sum = finiteSum
        var taken = 0
        var diverged = false
        theta.withUnsafeMutableBufferPointer { tb in
            let t = tb.baseAddress!
            g.withUnsafeMutableBufferPointer { gb in
                let grad = gb.baseAddress!
                for j in 0..<d where !(abs(t[j]) <= bound) { diverged = true }
                while !diverged && taken < steps {
                    sampler.gradient(of: sum, at: t, into: grad, stream: stream)
                    var inside = true
                    for j in 0..<d {
                        t[j] -= eta * grad[j]
                        inside = inside && abs(t[j]) <= bound  // false for NaN
                    }
                    taken += 1
                    diverged = !inside
                }
            }
        }
        return Outcome(finalPoint: theta, steps: taken, diverged: diverged)
    }

    /// Paths `0..<paths` from `start`, path p on the stream `(seed, experiment, cell, p)`.
    public func run(paths: Int, from start: [Double], seed: UInt64, experiment: Int = 0, cell: Int = 0,
                    threads: Int = 1) -> [Outcome] {
        precondition(paths >= 1 && threads >= 1)
        return Parallel.map(count: paths, threads: threads) { p in
            run(from: start, stream: RandomStream(key: StreamKey(seed: seed, experiment: experiment, cell: cell, chunk: p)))
        }
    }

}

/// Per-cell statistics of fixed-horizon SGD paths (docs/THEORY.md §3): the divergence fraction
/// with its binomial standard error `√(p(1−p)/N)`, and over the paths that did not diverge
/// the means (± standard errors `s/√k`) of the final loss, `‖H‖_F`, `λ_max(H)` and the
/// alignment μ (over the paths where μ is defined), with the Wu–Wang–Su bound
/// `1/(η√(c_B μ̄))` (= `√(B/μ̄)/η` with replacement) at the mean alignment μ̄.
public struct FixedHorizonSummary: Sendable, Equatable {
    /// Mean and standard error of a per-path quantity over `count` paths; nil mean when count = 0.
    public struct Mean: Sendable, Equatable {
        public let mean: Double?
        public let standardError: Double?
        public let count: Int

        public init(_ values: [Double]) {
            count = values.count
            guard !values.isEmpty else { mean = nil; standardError = nil; return }
            let m = values.reduce(0, +) / Double(values.count)
            mean = m
            if values.count > 1 {
                let v = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)
                standardError = (v / Double(values.count)).squareRoot()
            } else {
                standardError = nil
            }
        }
    }

    public let paths: Int
    public let diverged: Int
    public var divergedFraction: Double { Double(diverged) / Double(paths) }
    public var divergedFractionStandardError: Double {
        let p = divergedFraction
        return (p * (1 - p) / Double(paths)).squareRoot()
    }
    public let finalLoss: Mean
    public let hessianFrobeniusNorm: Mean
    public let hessianTopEigenvalue: Mean
    public let alignment: Mean
    /// `1/(η√(c_B μ̄))`; nil when no path has μ.
    public let hessianBound: Double?

    /// Geometry of each finished path's final point, computed on `threads` threads.
    public init(outcomes: [FixedHorizonSGD.Outcome], run: FixedHorizonSGD, threads: Int = 1) {
        let finished = outcomes.filter { !$0.diverged }
        let sum = run.finiteSum
        let geometry = Parallel.map(count: finished.count, threads: max(threads, 1)) { k in
            sum.localGeometry(at: finished[k].finalPoint)
        }
        paths = outcomes.count
        diverged = outcomes.count - finished.count
        finalLoss = Mean(geometry.map(\.loss))
        hessianFrobeniusNorm = Mean(geometry.map(\.hessianFrobeniusNorm))
        hessianTopEigenvalue = Mean(geometry.compactMap(\.hessianTopEigenvalue))
        alignment = Mean(geometry.compactMap(\.alignment))
        if let mu = alignment.mean, mu > 0 {
            let c = MinibatchCurvature.samplingFactor(batchSize: run.batchSize, sampleCount: sum.sampleCount,
                                                      withReplacement: run.withReplacement)
            hessianBound = c == 0 ? .infinity : 1 / (run.learningRate * (c * mu).squareRoot())
        } else {
            hessianBound = nil
        }
    }
}
