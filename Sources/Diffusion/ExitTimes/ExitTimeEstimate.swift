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
///
/// Diverged paths (NaN or beyond the divergence bound) are counted and excluded.
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

    public static let sampleMean = "sample mean"
    public static let restrictedMeanExponentialTail = "kaplan-meier restricted mean + exponential tail (MLE)"
    public static let noEstimate = "none: too few exits; lower_bound is the restricted mean"

    /// A deterministic value (grid solve, quadrature, theory): no sampling error; the
    /// method's own accuracy is stated by the caller.
    public init(exact value: Double, estimator: String, termCount: Int) {
        paths = 0; exited = 0; censored = 0; diverged = 0
        mean = value; standardError = 0; ci95 = [value, value]; lowerBound = value
        self.estimator = estimator
        sideCounts = Array(repeating: 0, count: termCount)
    }

    /// Estimates from `samples`, converting steps to time by `timeScale` (dt, or 1 for iterations).
    public init(samples: ExitSamples, termCount: Int, timeScale: Double) {
        var counts = [Int](repeating: 0, count: termCount)
        var exitTimes: [Double] = []
        var censoredCount = 0, divergedCount = 0
        var censorTime = 0.0
        for (k, outcome) in samples.outcomes.enumerated() {
            let t = Double(samples.steps[k]) * timeScale
            switch outcome {
            case ExitSamples.censored: censoredCount += 1; censorTime = max(censorTime, t)
            case ExitSamples.diverged: divergedCount += 1
            default: counts[Int(outcome)] += 1; exitTimes.append(t)
            }
        }
        paths = samples.count
        exited = exitTimes.count
        censored = censoredCount
        diverged = divergedCount
        sideCounts = counts
        let n = Double(exited + censored)
        guard n > 0 else {
            mean = nil; standardError = nil; ci95 = nil; lowerBound = .nan
            estimator = ExitTimeEstimate.noEstimate
            return
        }
        let restricted = (exitTimes.reduce(0, +) + Double(censored) * censorTime) / n
        lowerBound = restricted
        if censored == 0 {
            let m = restricted
            var ss = 0.0
            for t in exitTimes { ss += (t - m) * (t - m) }
            let se = exitTimes.count > 1 ? (ss / Double(exitTimes.count - 1) / n).squareRoot() : .nan
            mean = m; standardError = se; ci95 = [m - 1.96 * se, m + 1.96 * se]
            estimator = ExitTimeEstimate.sampleMean
            return
        }
        guard exited >= 2 else {
            mean = nil; standardError = nil; ci95 = nil
            estimator = ExitTimeEstimate.noEstimate
            return
        }
        let sorted = exitTimes.sorted()
        let t0 = sorted[(sorted.count - 1) / 2]
        var m1 = 0.0, atRisk = 0.0, tailExits = 0.0, exposure = 0.0
        var sumSquares = 0.0
        func visit(_ t: Double, exited: Bool) {
            let clipped = min(t, t0)
            m1 += clipped; sumSquares += clipped * clipped
            if t > t0 {
                atRisk += 1
                exposure += t - t0
                if exited { tailExits += 1 }
            }
        }
        for t in exitTimes { visit(t, exited: true) }
        for _ in 0..<censored { visit(censorTime, exited: false) }
        guard tailExits > 0, exposure > 0 else {
            mean = nil; standardError = nil; ci95 = nil
            estimator = ExitTimeEstimate.noEstimate
            return
        }
        m1 /= n
        let varM1 = max(sumSquares / n - m1 * m1, 0) / n
        let s = atRisk / n
        let lambda = tailExits / exposure
        let m = m1 + s / lambda
        let varS = s * (1 - s) / n
        let covM1S = s * (t0 - m1) / n
        let varLambda = lambda * lambda / tailExits
        let variance = varM1 + varS / (lambda * lambda) + 2 * covM1S / lambda
            + s * s * varLambda / pow(lambda, 4)
        let se = variance.squareRoot()
        mean = m; standardError = se; ci95 = [m - 1.96 * se, m + 1.96 * se]
        estimator = ExitTimeEstimate.restrictedMeanExponentialTail
    }
}
