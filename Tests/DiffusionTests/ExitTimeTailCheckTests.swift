import Foundation
import Testing
import CGSL
import TestSupport
@testable import Diffusion

/// The check of the censored estimator's exponential tail (docs/THEORY.md §5, "Censored
/// Monte Carlo") and P(exit by the cap): synthetic exit steps from known laws, censored at
/// a common cap C, fed to the estimator exactly as a simulation would.
@Suite struct ExitTimeTailCheckTests {
    /// `n` paths: a fraction `neverExit` stays inside for good (censored at `cap`), the rest
    /// exit at ⌈Exp(mean)⌉ steps (geometric: exponential on the step lattice), censored at `cap`.
    static func samples(n: Int, neverExit: Double, mean: Double, cap: Int, stream: RandomStream) -> ExitSamples {
        var s = ExitSamples(dimension: 1, count: n)
        for i in 0..<n {
            let immortal = stream.uniformPositive() < neverExit
            let t = immortal ? cap : Int(min((-mean * log(stream.uniformPositive())).rounded(.up), Double(cap)))
            s.steps[i] = t
            s.outcomes[i] = immortal || t >= cap ? ExitSamples.censored : 0
        }
        return s
    }

    /// A defective exit law: most paths never leave (they converged for good), the rest
    /// exit fast. No mean is extrapolated; the defective-mass test names the reason; P(exit
    /// by the cap) is reported, within 5 binomial SE of the truth.
    @Test(arguments: zip([0.9, 0.3], [1, 2]))
    func defectiveLawReportsExitProbabilityAndNoMean(neverExit: Double, seed: Int) {
        let stream = RandomStream(key: StreamKey(seed: UInt64(seed), experiment: 811))
        let n = 10_000, cap = 10_000, mean = 200.0
        let e = ExitTimeEstimate(samples: Self.samples(n: n, neverExit: neverExit, mean: mean, cap: cap, stream: stream),
                                 termCount: 1, timeScale: 0.01)
        #expect(e.mean == nil && e.standardError == nil && e.ci95 == nil)
        #expect(e.tailWithheld && e.estimator.contains("defective-mass test p ") && e.estimator.contains("method = \"splitting\""),
                "\(e.estimator)")
        #expect(e.tailTestPValue! < ExitTimeEstimate.TailCheck.level)
        // P(exit by cap) = (1 − π)(1 − P(⌈Exp⌉ ≥ C)) = (1 − π)(1 − e^{−(C−1)/mean})
        let truth = (1 - neverExit) * (1 - exp(-Double(cap - 1) / mean))
        let p = try! #require(e.exitProbability), ci = try! #require(e.exitProbabilityCI95)
        #expect(abs(p - truth) < Statistics.z * (truth * (1 - truth) / Double(n)).squareRoot(), "P(exit) \(p), truth \(truth)")
        #expect(ci[0] < p && p < ci[1])
        // the restricted mean stays, as a lower bound
        #expect(e.lowerBound.isFinite && e.lowerBound <= Double(cap) * 0.01)
    }

    /// The case: an exponential law whose mass lies mostly beyond the cap (about 49
    /// exits of 1000, mean ≈ 20 caps). The law *is* exponential, so the test does not reject,
    /// but the data cannot show it: too few exits to tell, no mean.
    @Test func fewExitsMostlyBeyondTheCapGiveNoMean() {
        let stream = RandomStream(key: StreamKey(seed: 3, experiment: 812))
        let cap = 100_000, mean = Double(cap) / -log1p(-0.049)   // P(exit by cap) = 0.049
        let e = ExitTimeEstimate(samples: Self.samples(n: 1000, neverExit: 0, mean: mean, cap: cap, stream: stream),
                                 termCount: 1, timeScale: 1)
        #expect(e.exited > 20 && e.exited < 80)
        #expect(e.mean == nil && e.tailWithheld && e.estimator.contains("too few exits to tell"), "\(e.estimator)")
        #expect(e.lowerBound <= Double(cap))
        let ci = try! #require(e.exitProbabilityCI95)
        #expect(ci[0] < e.exitProbability! && e.exitProbability! < ci[1])
    }

    /// Fewer than 10 exits after the median exit: no mean, whatever the test says.
    @Test func fewerThanTenTailExitsGiveNoMean() {
        let stream = RandomStream(key: StreamKey(seed: 4, experiment: 813))
        let e = ExitTimeEstimate(samples: Self.samples(n: 40, neverExit: 0, mean: 1000, cap: 350, stream: stream),
                                 termCount: 1, timeScale: 1)
        #expect(e.exited >= 2 && e.exited < 2 * ExitTimeEstimate.TailCheck.minimumTailExits)
        #expect(e.mean == nil && e.tailWithheld && e.estimator.contains("10 needed"), "\(e.estimator)")
    }

    /// Size of the defective-mass test: on exponential (geometric) data censored at the cap
    /// it rejects at its level, 1 %. 4000 replicates: the count of rejections lies within 5
    /// binomial SE of 40 (SE = √(4000·0.01·0.99) ≈ 6.3). Here (22 % censored, ~390 tail
    /// exits) only the test can withhold the mean, so withheld = rejected.
    @Test func defectiveMassTestHasItsSize() {
        let stream = RandomStream(key: StreamKey(seed: 5, experiment: 814))
        let replicates = 4000, level = ExitTimeEstimate.TailCheck.level
        var rejected = 0, withheld = 0
        for _ in 0..<replicates {
            let e = ExitTimeEstimate(samples: Self.samples(n: 1000, neverExit: 0, mean: 1000, cap: 1500, stream: stream),
                                     termCount: 1, timeScale: 1)
            if e.tailTestPValue! < level { rejected += 1 }
            if e.tailWithheld { withheld += 1 }
        }
        let expected = Double(replicates) * level, se = (expected * (1 - level)).squareRoot()
        print("defective-mass test: \(rejected) of \(replicates) rejected at 1 % (expected \(expected) ± \(se))")
        #expect(abs(Double(rejected) - expected) < Statistics.z * se, "\(rejected) rejections")
        #expect(withheld == rejected)
    }

    /// The likelihood-ratio statistic against closed forms: an exact null fit gives Λ = 0,
    /// and a window in which every exit comes at the first step with survivors left is the
    /// limit h → 1 of H₁, Λ = 2[d log(1 − q̂) + c log q̂ − ℓ₀(ĥ)].
    @Test func statisticMatchesClosedForms() {
        // no decay inside the window (mean residual ≥ (L + 1)/2): π̂ ≤ 0, Λ = 0
        let flat = ExitTimeEstimate.TailCheck(tailExits: 10, residualSteps: 10 * 51, censored: 5, window: 100)
        #expect(flat.statistic == 0 && flat.pValue == 1)
        let d = 20.0, c = 30.0, l = 50.0
        let check = ExitTimeEstimate.TailCheck(tailExits: 20, residualSteps: 20, censored: 30, window: 50)
        let q = c / (d + c), h = d / (d + c * l)
        let expected = 2 * (d * log(1 - q) + c * log(q) - d * log(h) - c * l * log(1 - h))
        // 1e-12: a handful of logarithms of O(100) terms
        #expect(abs(check.statistic / expected - 1) < 1e-12, "Λ \(check.statistic), closed form \(expected)")
        #expect(abs(check.pValue - 0.5 * gsl_cdf_chisq_Q(expected, 1)) < 1e-12 * max(check.pValue, 1e-300))
    }

    /// The Clopper–Pearson interval's coverage, computed exactly from the binomial law (no
    /// sampling): at least 95 % for every p on a grid, n = 50 and 1000 (Clopper & Pearson 1934).
    @Test(arguments: [50, 1000])
    func exitProbabilityIntervalCoversExactly(n: Int) {
        let intervals = (0...n).map { ExitTimeEstimate.TailCheck.clopperPearson95(successes: $0, trials: n) }
        for p in stride(from: 0.005, through: 0.995, by: 0.01) {
            var coverage = 0.0
            for (k, ci) in intervals.enumerated() where ci[0] <= p && p <= ci[1] {
                coverage += gsl_ran_binomial_pdf(UInt32(k), p, UInt32(n))
            }
            // 1e-9: the binomial sum's rounding
            #expect(coverage >= 0.95 - 1e-9, "n \(n), p \(p): coverage \(coverage)")
        }
        #expect(intervals[0][0] == 0 && intervals[n][1] == 1)
    }

    /// Large counts, up to a 10⁹-path cell: the interval is finite and, by the normal limit
    /// of the Beta quantiles, within 1 % of Wald's width 2·1.96·√(p̂(1 − p̂)/n) (the
    /// skewness correction is O(1/√(n p̂ (1 − p̂))) ≤ 2 % of it at n p̂ (1 − p̂) ≥ 2500,
    /// and about half of that at p̂ = ½). Also checks the closed form at k = 49 of 1000.
    @Test(arguments: [(5_000, 10_000), (49_000, 1_000_000), (500_000_000, 1_000_000_000), (3_000_000, 1_000_000_000)])
    func exitProbabilityIntervalForLargeCounts(successes: Int, trials: Int) {
        let ci = ExitTimeEstimate.TailCheck.clopperPearson95(successes: successes, trials: trials)
        let p = Double(successes) / Double(trials)
        let wald = 2 * 1.959963984540054 * (p * (1 - p) / Double(trials)).squareRoot()
        #expect(ci[0] < p && p < ci[1] && abs((ci[1] - ci[0]) / wald - 1) < 0.01, "\(ci), Wald width \(wald)")
        // Beta quantiles for 49 of 1000 (gsl_cdf_beta_Pinv, which is exact at these counts): 1e-9 bisection tolerance
        let small = ExitTimeEstimate.TailCheck.clopperPearson95(successes: 49, trials: 1000)
        #expect(abs(small[0] - gsl_cdf_beta_Pinv(0.025, 49, 952)) < 1e-9 && abs(small[1] - gsl_cdf_beta_Pinv(0.975, 50, 951)) < 1e-9)
    }

    /// Uncensored cells report P(exit by cap) = 1 with its interval; deterministic ones none.
    @Test func exitProbabilityIsAlwaysReportedForSimulations() {
        var s = ExitSamples(dimension: 1, count: 4)
        s.steps = [10, 20, 30, 40]
        s.outcomes = [0, 0, 0, ExitSamples.diverged]
        let e = ExitTimeEstimate(samples: s, termCount: 1, timeScale: 1)
        #expect(e.exitProbability == 1 && e.exitProbabilityCI95![1] == 1 && e.tailTestPValue == nil)
        // Beta(3, 1) 2.5 % quantile: 0.025^{1/3}
        #expect(abs(e.exitProbabilityCI95![0] - pow(0.025, 1.0 / 3)) < 1e-9)
        #expect(ExitTimeEstimate(exact: 2, estimator: "x", termCount: 1).exitProbability == nil)
    }
}
