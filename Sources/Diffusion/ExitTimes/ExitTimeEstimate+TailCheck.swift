import Foundation
internal import CGSL

extension ExitTimeEstimate {
    /// The exact (Clopper–Pearson 1934) 95 % interval of a binomial proportion k/n, as
    /// `exitProbabilityCI95` uses it (`TailCheck.clopperPearson95`).
    public static func clopperPearson95(successes k: Int, trials n: Int) -> [Double] {
        TailCheck.clopperPearson95(successes: k, trials: n)
    }

    /// Whether the data support the exponential tail that the censored estimator
    /// extrapolates past the cap C (docs/THEORY.md §5, "Censored Monte Carlo").
    ///
    /// On the tail window, step counts past t₀ = s₀ (the median exit step), every path at
    /// risk at s₀ has a residual x = s − s₀ in steps: d of them exit at x ∈ {1, …, L} and
    /// c are censored at L = C − s₀. Two models, both on the step lattice:
    ///
    /// - H₀, exponential (geometric per step: the exponential law seen at integer steps),
    ///   hazard h: `ℓ₀ = d log h + (X − d + cL) log(1 − h)`, `ĥ = d/(X + cL)`, X = Σx.
    /// - H₁, exponential with a defective mass π ≥ 0 (paths that never leave, e.g. ones
    ///   that converged for good): S(x) = π + (1 − π)(1 − h)^x. With a single censoring
    ///   time it factorises into P(survive L) = q = π + (1 − π)(1 − h)^L (binomial: q̂ = c/(d + c))
    ///   and the exits' law given exit, geometric truncated to {1, …, L}, whose MLE solves
    ///   E[x | x ≤ L] = 1/h − L r^L/(1 − r^L) = X/d, r = 1 − h. If that gives π̂ ≤ 0 the
    ///   constrained maximum is on H₀ (the log-likelihood is concave in (q, log r) on a
    ///   convex set), so the statistic is 0.
    ///
    /// `Λ = 2(ℓ₁ − ℓ₀)` tests π = 0, a point on the boundary of the parameter space, so its
    /// null law is ½χ²₀ + ½χ²₁ (Self & Liang, JASA 82, 605, 1987; the same test of "immunes"
    /// in Maller & Zhou, *Survival Analysis with Long-Term Survivors*, Wiley 1996, §4
    /// *(recalled)*): p = ½ P(χ²₁ > Λ) for Λ > 0, else 1. The tail is rejected at
    /// p < `level` (1 %).
    ///
    /// The test sees a defective mass only through the decay inside the window, so it
    /// says nothing when the window shows too little of the law ("too few exits to tell";
    /// Maller & Zhou's "sufficient follow-up"). Two rules, both on what the estimate
    /// would rest on:
    /// - at least `minimumTailExits` (10) exits after t₀: below that λ̂ has a relative
    ///   error above 1/√10 ≈ 30 % and Λ no power;
    /// - at most `maximumExtrapolatedShare` (½) of the mean from beyond the cap, i.e. the
    ///   mean at most twice the restricted mean E[min(τ, C)] actually observed. Beyond
    ///   C = Ŝ(C)/λ̂ is pure model; when it is most of the number, the delta-method SE
    ///   (conditional on that model) understates the real uncertainty — the issue's
    ///   "mean 31× the cap from 49 exits". For an exponential law from 0 the rule reads
    ///   "at most half of the paths censored".
    /// (Less than one e-fold of Kaplan–Meier decay across [t₀, C) was considered and not
    /// chosen: it withholds well-resolved cells, e.g. 10⁵ paths with 30 % censored, where
    /// the test above has ample power.)
    struct TailCheck {
        static let level = 0.01
        static let minimumTailExits = 10
        static let maximumExtrapolatedShare = 0.5

        let tailExits: Int
        /// Λ, the likelihood-ratio statistic (0 when π̂ ≤ 0).
        let statistic: Double
        let pValue: Double
        /// π̂ as a fraction of the paths at risk at t₀ (0 when not positive).
        let defectiveMass: Double

        /// `tailExits` d exits after s₀ with residual steps summing to `residualSteps` X,
        /// `censored` c paths censored `window` L = C − s₀ steps after s₀; d ≥ 1.
        init(tailExits d: Int128, residualSteps x: Int128, censored c: Int128, window l: Int128) {
            precondition(d >= 1 && x >= d, "tail sums out of range: d \(d), X \(x)")
            tailExits = Int(d)
            let dd = Double(d), cc = Double(c), length = Double(l), sum = Double(x)
            let mean = sum / dd
            // no survivors, or no decay in the window: π̂ ≤ 0; and no test where paths were not
            // all censored at one cap after every exit (L < 1 or an exit past L)
            guard c > 0, l >= 1, x <= d * l, mean < (length + 1) / 2 else {
                statistic = 0; pValue = 1; defectiveMass = 0
                return
            }
            let exposure = Double(x + c * l)
            let h0 = dd / exposure
            let null = dd * log(h0) + (exposure - dd) * log1p(-h0)
            // H₁'s rate λ = −log(1 − h) from the truncated mean, decreasing in λ from
            // (L + 1)/2 to 1; bisection in log λ (X/d > 1 here unless every exit is at x = 1).
            var survivesWindow = 0.0, truncated = 0.0                 // r^L and the truncated-geometric log-likelihood
            if x > d {
                func truncatedMean(_ lambda: Double) -> Double { 1 / -expm1(-lambda) - length / expm1(lambda * length) }
                var lo = log(1e-9 / length), hi = log(60.0)
                for _ in 0..<100 {
                    let mid = (lo + hi) / 2
                    if truncatedMean(exp(mid)) > mean { lo = mid } else { hi = mid }
                }
                let lambda = exp((lo + hi) / 2)
                survivesWindow = exp(-lambda * length)
                truncated = dd * log(-expm1(-lambda)) - lambda * (sum - dd) - dd * log(-expm1(-lambda * length))
            }
            let q = cc / (dd + cc)
            let pi = (q - survivesWindow) / (1 - survivesWindow)
            guard pi > 0 else {
                statistic = 0; pValue = 1; defectiveMass = 0
                return
            }
            let alternative = dd * log1p(-q) + cc * log(q) + truncated
            statistic = max(2 * (alternative - null), 0)
            pValue = statistic > 0 ? 0.5 * erfc((statistic / 2).squareRoot()) : 1
            defectiveMass = pi
        }

        /// Why the tail must not be extrapolated, or nil when it may; `extrapolatedShare` is
        /// the part of the model's mean that lies beyond the cap, 1 − restricted mean/mean.
        func failure(extrapolatedShare: Double) -> String? {
            if pValue < Self.level {
                return "defective-mass test p " + (pValue < 1e-16 ? "< 1e-16" : "= " + String(format: "%.2g", pValue))
            }
            if tailExits < Self.minimumTailExits {
                return "too few exits to tell: \(tailExits) after the median exit, \(Self.minimumTailExits) needed"
            }
            if !(extrapolatedShare <= Self.maximumExtrapolatedShare) {
                return "too few exits to tell: \(String(format: "%.0f", 100 * extrapolatedShare)) % of the mean would lie beyond the cap"
            }
            return nil
        }

        /// Exact (Clopper–Pearson 1934) 95 % interval for a binomial proportion: the
        /// 2.5 % quantile of Beta(k, n − k + 1) and the 97.5 % quantile of Beta(k + 1, n − k),
        /// each by bisection on GSL's Beta CDF (`gsl_cdf_beta_Pinv` returns NaN or does not
        /// return for some counts ≥ 10⁴, measured with GSL 2.7). Where the CDF itself gives
        /// NaN (both counts ≳ 10⁷), Wilson's score interval, which agrees with it there to
        /// well under 1 % of the width.
        static func clopperPearson95(successes k: Int, trials n: Int) -> [Double] {
            precondition(n > 0 && k >= 0 && k <= n)
            GSL.prepare()
            let kk = Double(k), nn = Double(n)
            // x with CDF_Beta(a, b)(x) = target (the CDF increases in x), or nil on NaN
            func quantile(_ target: Double, _ a: Double, _ b: Double) -> Double? {
                var lo = 0.0, hi = 1.0
                for _ in 0..<200 where hi - lo > 1e-17 * max(lo, 1e-300) {
                    let mid = (lo + hi) / 2
                    let f = gsl_cdf_beta_P(mid, a, b)
                    guard f.isFinite else { return nil }
                    if f < target { lo = mid } else { hi = mid }
                }
                return (lo + hi) / 2
            }
            let lower = k == 0 ? 0 : quantile(0.025, kk, nn - kk + 1)
            let upper = k == n ? 1 : quantile(0.975, kk + 1, nn - kk)
            if let lower, let upper, lower <= upper { return [lower, upper] }
            let z = 1.959963984540054, p = kk / nn
            let centre = (p + z * z / (2 * nn)) / (1 + z * z / nn)
            let half = z / (1 + z * z / nn) * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot()
            return [max(centre - half, 0), min(centre + half, 1)]
        }

        static func format(_ x: Double) -> String { String(format: "%.3g", x) }
    }
}
