import Foundation

/// Mean first-exit time of an ensemble with its standard error, stating its estimator.
///
/// - Nothing censored: the sample mean, unbiased; SE = s/√n; 95 % CI mean ± 1.96·SE
///   (normal approximation, accurate for the n ≥ 10³ used here).
/// - Some censored at C = max_steps: Kaplan–Meier restricted mean up to t₀ plus an
///   exponential tail beyond t₀ fitted by maximum likelihood on [t₀, C):
///   `m = (1/n) Σ min(τᵢ, t₀) + Ŝ(t₀)/λ̂`, `λ̂ = d/E` (d exits in [t₀, C), E total
///   time at risk there), t₀ the median observed exit time. With a single censoring time
///   Kaplan–Meier reduces to the empirical survival function. Unbiased when exits are
///   exponential beyond t₀ — the metastable (Kramers) regime; otherwise biased by the
///   tail's departure from exponential. SE by the delta method: Var(m₁) + Var(Ŝ)/λ² +
///   2Cov(m₁, Ŝ)/λ + Ŝ²Var(λ̂)/λ⁴ with Var(λ̂) = λ²/d.
/// - All censored, or no exit after t₀: no mean; `lowerBound` = the restricted mean.
/// - The exponential tail is checked before it is extrapolated past C
///   (`ExitTimeEstimate+TailCheck.swift`, docs/THEORY.md §5): a likelihood-ratio test
///   against an exponential with a defective mass (paths that never leave), at least 10
///   exits after t₀, and at most half of the mean from beyond the cap. When the check
///   fails: no mean (estimator `tailNotShownExponential…`, saying why); `lowerBound` = the
///   restricted mean.
/// - Whenever paths were simulated: P(exit by the cap) = exited/(exited + censored) with
///   its Clopper–Pearson 95 % interval.
///
/// Diverged paths (NaN or beyond the divergence bound) are counted and excluded.
///
/// Computed from an `ExitTimeAccumulator`, i.e. from chunks streamed one at a time.
/// Censoring happens only at the common cap C = max_steps, so Kaplan–Meier is the
/// empirical survival function and every quantity above is a sum over paths — here exact
/// integer sums of step counts; only t₀ needs the exit steps in order (see
/// `init(_:timeScale:exitSteps:)`).
public struct ExitTimeEstimate: Sendable, Equatable {
    public let paths: Int
    public let exited: Int
    public let censored: Int
    public let diverged: Int
    public let mean: Double?
    public let standardError: Double?
    public let ci95: [Double]?
    /// The restricted mean E[min(τ, C)] — a lower bound on the mean when paths are censored.
    public let lowerBound: Double
    public let estimator: String
    /// Exits per exit term, in term order.
    public let sideCounts: [Int]
    /// P(exit by the cap) = exited/(exited + censored), diverged paths excluded; nil for
    /// deterministic values and end-state counts, and when no path counts.
    public let exitProbability: Double?
    /// Its exact (Clopper–Pearson) 95 % interval.
    public let exitProbabilityCI95: [Double]?
    /// p-value of the defective-mass likelihood-ratio test of the exponential tail on
    /// [t₀, C) (`TailCheck`); nil where the tail was not fitted.
    public let tailTestPValue: Double?

    public static let sampleMean = "sample mean"
    public static let restrictedMeanExponentialTail = "kaplan-meier restricted mean + exponential tail (MLE)"
    public static let noEstimate = "none: too few exits; lower_bound is the restricted mean"
    /// The start of the estimator text of a censored cell whose exponential tail failed its
    /// check (`TailCheck`); the rest says why, gives P(exit by the cap) and names `splitting`.
    public static let tailNotShownExponential = "none: exit law not shown exponential past the cap"

    /// True when the mean was withheld because the tail failed its check.
    public var tailWithheld: Bool { estimator.hasPrefix(Self.tailNotShownExponential) }

    /// A deterministic value (grid solve, quadrature, theory): no sampling error; the
    /// method's own accuracy is stated by the caller.
    public init(exact value: Double, estimator: String, termCount: Int) {
        paths = 0; exited = 0; censored = 0; diverged = 0
        mean = value; standardError = 0; ci95 = [value, value]; lowerBound = value
        self.estimator = estimator
        sideCounts = Array(repeating: 0, count: termCount)
        exitProbability = nil; exitProbabilityCI95 = nil; tailTestPValue = nil
    }

    /// Estimates from `samples`, converting steps to time by `timeScale` (dt, or 1 for iterations).
    public init(samples: ExitSamples, termCount: Int, timeScale: Double) {
        var accumulator = ExitTimeAccumulator(termCount: termCount)
        accumulator.add(samples)
        self.init(accumulator, timeScale: timeScale)
    }

    /// Estimates from streamed sums whose exit-step histogram is in memory (no `histogramLimit`,
    /// or not exceeded), converting steps to time by `timeScale`.
    public init(_ accumulator: ExitTimeAccumulator, timeScale: Double) {
        self.init(accumulator, timeScale: timeScale, exitSteps: accumulator.scanHistogram)
    }

    /// Estimates from streamed sums. `exitSteps` must visit the exited paths' step counts in
    /// ascending order as (step, number of paths) until `visit` returns false; it is called
    /// only when some paths are censored (the median exit step t₀ is needed) and the
    /// accumulator's own histogram was dropped.
    ///
    /// Summation order: every sum over paths is an exact integer sum of step counts (Σs,
    /// Σs², Σmin(s, s₀), …), converted to `Double` and scaled by `timeScale` once at the
    /// end, so the result is independent of path order, thread count and shard split. It
    /// equals the textbook formulas above up to that one rounding per sum (the sample
    /// variance is Σ(s − q)² − r²/n with q, r Σs's integer quotient and remainder by n:
    /// no cancellation).
    public init<E: Error>(_ accumulator: ExitTimeAccumulator, timeScale: Double,
                          exitSteps: (_ visit: (_ step: Int, _ count: Int) -> Bool) throws(E) -> Void) throws(E) {
        let a = accumulator
        paths = a.paths
        exited = a.exited
        censored = a.censored
        diverged = a.diverged
        sideCounts = a.sideCounts
        let n = Double(exited + censored)
        guard n > 0 else {
            mean = nil; standardError = nil; ci95 = nil; lowerBound = .nan
            estimator = ExitTimeEstimate.noEstimate
            exitProbability = nil; exitProbabilityCI95 = nil; tailTestPValue = nil
            return
        }
        let exitInterval = TailCheck.clopperPearson95(successes: exited, trials: exited + censored)
        exitProbability = Double(exited) / n
        exitProbabilityCI95 = exitInterval
        let c = Int128(censored), cap = Int128(a.censorStep)
        lowerBound = Double(a.exitStepSum + c * cap) * timeScale / n
        if censored == 0 {
            let m = lowerBound
            let count = Int128(exited)
            let q = a.exitStepSum / count, r = a.exitStepSum % count
            let squares = Double(a.exitStepSquares - q * (a.exitStepSum + r)) - Double(r * r) / Double(count)
            let ss = max(squares, 0) * timeScale * timeScale
            let se = exited > 1 ? (ss / Double(exited - 1) / n).squareRoot() : .nan
            mean = m; standardError = se; ci95 = [m - 1.96 * se, m + 1.96 * se]
            estimator = ExitTimeEstimate.sampleMean
            tailTestPValue = nil
            return
        }
        guard exited >= 2 else {
            mean = nil; standardError = nil; ci95 = nil
            estimator = ExitTimeEstimate.noEstimate
            tailTestPValue = nil
            return
        }
        // t₀ = the lower median exit step s₀ (rank ⌊(exited − 1)/2⌋ from 0), with the count
        // and sums of the exits at or below it.
        let rank = (exited - 1) / 2
        var below = 0, s0 = 0
        var sumBelow: Int128 = 0, squaresBelow: Int128 = 0
        let visit = { (step: Int, count: Int) -> Bool in
            below += count
            let wide = Int128(step)
            sumBelow += Int128(count) * wide
            squaresBelow += Int128(count) * wide * wide
            if below > rank { s0 = step; return false }
            return true
        }
        if a.histogram != nil { a.scanHistogram(visit) } else { try exitSteps(visit) }
        precondition(below > rank, "exitSteps visited \(below) exits, the accumulator counted \(exited)")
        let t0 = Int128(s0)
        let above = Int128(exited - below)                       // exits with s > s₀
        let clippedCap = min(cap, t0)
        let censoredAtRisk = cap > t0 ? c : 0
        let m1Steps = sumBelow + t0 * above + c * clippedCap     // Σ min(s, s₀)
        let squareSteps = squaresBelow + t0 * t0 * above + c * clippedCap * clippedCap
        let atRisk = Double(above + censoredAtRisk)
        let exposure = Double(a.exitStepSum - sumBelow - t0 * above + censoredAtRisk * (cap - t0)) * timeScale
        let tailExits = Double(above)
        guard tailExits > 0, exposure > 0 else {
            mean = nil; standardError = nil; ci95 = nil
            estimator = ExitTimeEstimate.noEstimate
            tailTestPValue = nil
            return
        }
        // the tail check, on exact step counts: d exits after s₀ with residual steps X, c
        // paths censored L = C − s₀ steps after s₀
        let check = TailCheck(tailExits: above, residualSteps: a.exitStepSum - sumBelow - t0 * above,
                              censored: censoredAtRisk, window: cap - t0)
        tailTestPValue = check.pValue
        let m1 = Double(m1Steps) * timeScale / n
        let sumSquares = Double(squareSteps) * timeScale * timeScale
        let varM1 = max(sumSquares / n - m1 * m1, 0) / n
        let s = atRisk / n
        let lambda = tailExits / exposure
        let m = m1 + s / lambda
        let varS = s * (1 - s) / n
        let covM1S = s * (Double(s0) * timeScale - m1) / n
        let varLambda = lambda * lambda / tailExits
        let variance = varM1 + varS / (lambda * lambda) + 2 * covM1S / lambda
            + s * s * varLambda / pow(lambda, 4)
        let se = variance.squareRoot()
        if let reason = check.failure(extrapolatedShare: 1 - lowerBound / m) {
            mean = nil; standardError = nil; ci95 = nil
            estimator = ExitTimeEstimate.tailNotShownExponential + " (\(reason)); P(exit by cap) = "
                + "\(TailCheck.format(exitProbability!)) [\(TailCheck.format(exitInterval[0])), \(TailCheck.format(exitInterval[1]))]; "
                + "lower_bound is the restricted mean; use method = \"splitting\" for rare exits"
            return
        }
        mean = m; standardError = se; ci95 = [m - 1.96 * se, m + 1.96 * se]
        estimator = ExitTimeEstimate.restrictedMeanExponentialTail
    }
}
