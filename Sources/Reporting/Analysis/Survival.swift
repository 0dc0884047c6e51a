import Foundation
import Jobs

/// The empirical survival function S(t) = P(τ > t) of one Monte Carlo cell, right-censored
/// at the step cap: paths censored at the cap count as surviving up to it (Kaplan–Meier with
/// a single common censoring time reduces to the empirical survival function before it;
/// Kaplan & Meier 1958). Diverged paths left the basin and count as exits at their step.
public struct SurvivalCurve: Sendable {
    /// Times (in the requested unit) where S drops, and S just after each, starting at (0, 1).
    public var times: [Double]
    public var survival: [Double]

    /// `scale` multiplies the stored times (e.g. 1/η for iterations, 1/E τ for scaled time);
    /// at most `maxPoints` steps are kept (every k-th order statistic, plus the last).
    public init(samples: ResultsStore.CellSamples, scale: Double, maxPoints: Int = 200) {
        var exits: [Double] = []
        exits.reserveCapacity(samples.count)
        for k in 0..<samples.count where samples.outcomes[k] != "censored" {
            exits.append(samples.times[k] * scale)
        }
        exits.sort()
        let n = Double(samples.count)
        times = [0]; survival = [1]
        guard n > 0, !exits.isEmpty else { return }
        let stride = max(1, exits.count / maxPoints)
        var i = stride - 1
        while i < exits.count {
            times.append(exits[i]); survival.append(1 - Double(i + 1) / n)
            i += stride
        }
        if times.last != exits.last {
            times.append(exits[exits.count - 1]); survival.append(1 - Double(exits.count) / n)
        }
    }
}
