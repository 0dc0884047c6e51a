extension ExitTimeEstimate {
    /// The mean first-exit time of adaptive multilevel splitting (`AdaptiveMultilevelSplitting`,
    /// docs/THEORY.md §6): steps converted by `timeScale`; `paths` counts the replicas of all
    /// runs, `exited` those that ended in the exit region (per side in `sideCounts`), and the
    /// 95 % interval is mean ± 1.96·SE (normal approximation over R runs and the loops).
    /// No mean when every run went extinct (p̄ = 0).
    public init(splitting e: AdaptiveMultilevelSplitting.Estimate, replicas: Int, timeScale: Double, estimator: String) {
        paths = replicas * e.runs.count
        exited = e.runs.reduce(0) { $0 + $1.sideCounts.reduce(0, +) }
        censored = 0
        diverged = e.runs.reduce(0) { $0 + $1.diverged }
        sideCounts = e.runs.reduce(into: Array(repeating: 0, count: e.runs.first?.sideCounts.count ?? 0)) { sums, run in
            for (t, c) in run.sideCounts.enumerated() { sums[t] += c }
        }
        if let m = e.meanSteps, let se = e.standardErrorSteps, m.isFinite {
            mean = m * timeScale
            standardError = se * timeScale
            ci95 = [(m - 1.96 * se) * timeScale, (m + 1.96 * se) * timeScale]
            self.estimator = estimator
        } else {
            mean = nil; standardError = nil; ci95 = nil
            self.estimator = "none: every splitting run went extinct (p̂ = 0); " + estimator
        }
        lowerBound = .nan
        // no cap: P(exit by the cap) and the tail check are Monte Carlo's
        exitProbability = nil; exitProbabilityCI95 = nil; tailTestPValue = nil
    }
}
