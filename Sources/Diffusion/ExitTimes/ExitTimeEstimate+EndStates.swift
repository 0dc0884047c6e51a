extension ExitTimeEstimate {
    /// A Monte Carlo cell that estimates no exit time (fixed-horizon SGD, noise draws for the
    /// tail index): it only counts how its paths ended — in an exit term (`exited`, per term
    /// in `sideCounts`), inside the region after all their steps (`censored`) or `diverged` —
    /// and names what it computed in `estimator`. No mean, SE or CI; `lowerBound` NaN.
    public init(endStates samples: ExitSamples, termCount: Int, estimator: String) {
        var counts = [Int](repeating: 0, count: termCount)
        var censoredCount = 0, divergedCount = 0
        for outcome in samples.outcomes {
            switch outcome {
            case ExitSamples.censored: censoredCount += 1
            case ExitSamples.diverged: divergedCount += 1
            default: counts[Int(outcome)] += 1
            }
        }
        paths = samples.count
        exited = counts.reduce(0, +)
        censored = censoredCount
        diverged = divergedCount
        sideCounts = counts
        mean = nil
        standardError = nil
        ci95 = nil
        lowerBound = .nan
        self.estimator = estimator
        exitProbability = nil
        exitProbabilityCI95 = nil
        tailTestPValue = nil
    }
}
