internal import CGSL

extension ExitTimeEstimate {
    /// The mean first-exit time of adaptive multilevel splitting (`AdaptiveMultilevelSplitting`,
    /// docs/THEORY.md §6): steps converted by `timeScale`; `paths` counts the replicas of all
    /// runs, `exited` those that ended in the exit region (per side in `sideCounts`), and the
    /// 95 % interval is mean ± t·SE with t Student's 97.5 % quantile at R − 1 degrees of
    /// freedom: the SE rests on the spread of only R runs (t = 2.09 for R = 20).
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
            GSL.prepare()
            let t = gsl_cdf_tdist_Pinv(0.975, Double(max(e.runs.count - 1, 1)))
            ci95 = [(m - t * se) * timeScale, (m + t * se) * timeScale]
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
