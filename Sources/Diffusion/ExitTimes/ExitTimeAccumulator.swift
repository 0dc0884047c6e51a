import Foundation

/// Streaming summary of an ensemble's outcomes: everything `ExitTimeEstimate` needs,
/// gathered chunk by chunk so that no per-path array outlives its chunk.
///
/// Counts and the sums Σs, Σs² of exited paths' step counts s are exact integers
/// (`Int128`), so they do not depend on the order chunks arrive in: the estimate is the
/// same bits for any thread count or shard split. The one statistic that is not a sum, the
/// median exit step t₀ of the censored estimator, comes from an exact histogram of exit
/// steps (step → count, O(distinct exit steps) memory, never more than one entry per
/// path). With `histogramLimit` the histogram is dropped once it holds more distinct steps
/// than that, and the estimate then asks its caller for the exit steps in ascending order
/// (the results store reads them back from its `sample` table) — memory stays bounded for
/// any number of paths.
public struct ExitTimeAccumulator: Sendable {
    /// Distinct exit steps kept in memory when the samples can be read back elsewhere.
    public static let boundedHistogramLimit = 1 << 16

    public let termCount: Int
    public private(set) var paths = 0
    public private(set) var exited = 0
    public private(set) var censored = 0
    public private(set) var diverged = 0
    /// Exits per exit term, in term order.
    public private(set) var sideCounts: [Int]
    /// Steps simulated over all paths (exited, censored and diverged): the work done.
    public private(set) var pathSteps = 0
    /// The largest step count of a censored path (in a simulation: the cap max_steps).
    public private(set) var censorStep = 0
    /// Σ s and Σ s² over exited paths, exact.
    public private(set) var exitStepSum: Int128 = 0
    public private(set) var exitStepSquares: Int128 = 0
    /// Exit step → number of exited paths with that step; nil once dropped (see type doc).
    public private(set) var histogram: [Int: Int]? = [:]
    public let histogramLimit: Int?

    public init(termCount: Int, histogramLimit: Int? = nil) {
        self.termCount = termCount
        self.histogramLimit = histogramLimit
        sideCounts = Array(repeating: 0, count: termCount)
    }

    /// Adds the paths of one chunk (or of a whole ensemble).
    public mutating func add(_ samples: ExitSamples) {
        for k in 0..<samples.count {
            let s = samples.steps[k]
            pathSteps += s
            switch samples.outcomes[k] {
            case ExitSamples.censored:
                censored += 1
                censorStep = max(censorStep, s)
            case ExitSamples.diverged:
                diverged += 1
            case let side:
                sideCounts[Int(side)] += 1
                exited += 1
                let wide = Int128(s)
                exitStepSum += wide
                exitStepSquares += wide * wide
                histogram?[s, default: 0] += 1
            }
        }
        paths += samples.count
        if let limit = histogramLimit, let h = histogram, h.count > limit { histogram = nil }
    }

    /// Visits the in-memory histogram in ascending step order until `visit` returns false.
    func scanHistogram(_ visit: (_ step: Int, _ count: Int) -> Bool) {
        guard let histogram else { preconditionFailure("the exit-step histogram was dropped (histogramLimit); pass exitSteps:") }
        for step in histogram.keys.sorted() where !visit(step, histogram[step]!) { return }
    }
}
