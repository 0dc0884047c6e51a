extension ExitSamples {
    /// Where fixed-horizon SGD paths ended, as per-path samples (stored like Monte Carlo
    /// samples): `diverged`, the index of the first exit term that holds at the end point,
    /// or `censored` (still outside the exit region: no exit time is implied).
    public init(endStates outcomes: [FixedHorizonSGD.Outcome], problem: ExitProblem) {
        let d = problem.landscape.dimension
        self.init(dimension: d, count: outcomes.count)
        for (p, outcome) in outcomes.enumerated() {
            steps[p] = outcome.steps
            for j in 0..<d { finalPoints[p * d + j] = outcome.finalPoint[j] }
            if outcome.diverged {
                self.outcomes[p] = ExitSamples.diverged
            } else if let term = problem.exitTerm(at: outcome.finalPoint) {
                self.outcomes[p] = Int32(term)
            } else {
                self.outcomes[p] = ExitSamples.censored
            }
        }
    }
}
