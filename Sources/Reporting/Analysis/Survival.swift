import Foundation
import Diffusion
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
    /// at most about 2·`maxPoints` steps are kept (every k-th order statistic in the bulk,
    /// every one of the last `maxPoints`).
    public init(samples: ResultsStore.CellSamples, scale: Double, maxPoints: Int = 200) {
        var exits: [Double] = []
        exits.reserveCapacity(samples.count)
        for k in 0..<samples.count where samples.outcomes[k] != ExitSamples.censored {
            exits.append(samples.times[k] * scale)
        }
        exits.sort()
        let n = Double(samples.count)
        times = [0]; survival = [1]
        guard n > 0, !exits.isEmpty else { return }
        // every k-th exit in the bulk, every exit in the tail (the last maxPoints), so the
        // tail below S = maxPoints/n is drawn exactly rather than as a thinned staircase
        let tailStart = max(0, exits.count - maxPoints)
        let stride = max(1, tailStart / maxPoints)
        var i = stride - 1
        while i < tailStart {
            times.append(exits[i]); survival.append(1 - Double(i + 1) / n)
            i += stride
        }
        for j in tailStart..<exits.count {
            times.append(exits[j]); survival.append(1 - Double(j + 1) / n)
        }
    }
}
