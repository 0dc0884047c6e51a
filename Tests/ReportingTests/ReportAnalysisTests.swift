import Foundation
import Testing
import TestSupport
@testable import Reporting
@testable import Jobs
import Diffusion

@Suite struct ReportAnalysisTests {
    /// The Arrhenius fit on exponential exit times from a known law recovers the slope: the
    /// delta-method 95 % interval and the path-bootstrap interval each cover S = 1/4 in 90–99 %
    /// of 200 repetitions (binomial SE of the rate at 0.95: 0.015; the band is ±3 SE about it,
    /// widened upward to 0.99 for the bootstrap's known slight under-coverage at n = 400).
    @Test func arrheniusCoverageOnSyntheticData() throws {
        let repetitions = 200
        var fitCovered = 0, bootCovered = 0
        for r in 0..<repetitions {
            let input = ReportFixtures.arrhenius(seed: UInt64(100 + r))
            let fits = try ScalingAnalysis.fits(input)
            let fit = try #require(fits.first)
            #expect(fit.axis == "1/epsilon" && fit.points.count == 5 && fit.isMonteCarlo)
            if fit.fit.slopeCI95[0] <= 0.25 && 0.25 <= fit.fit.slopeCI95[1] { fitCovered += 1 }
            let b = try #require(fit.bootstrapCI95)
            if b[0] <= 0.25 && 0.25 <= b[1] { bootCovered += 1 }
        }
        let fitRate = Double(fitCovered) / Double(repetitions), bootRate = Double(bootCovered) / Double(repetitions)
        print("Arrhenius slope coverage over \(repetitions) repetitions: delta method \(fitRate), path bootstrap \(bootRate)")
        #expect(fitRate >= 0.90 && fitRate <= 0.99, "delta-method coverage \(fitRate)")
        #expect(bootRate >= 0.90 && bootRate <= 0.99, "bootstrap coverage \(bootRate)")
    }

    /// The prefactor-corrected fit `a + S·x + c/x` recovers S from data with a real 1/x term
    /// (coverage over 200 repetitions of Gaussian noise of known size).
    @Test func correctedArrheniusCoverage() throws {
        let stream = RandomStream(key: StreamKey(seed: 3, experiment: 91))
        let x = [4.0, 6, 8, 10, 12, 14], s = 0.25, c = -1.5, a = 1.0, sigma = 0.02
        var covered = 0
        for _ in 0..<200 {
            let y = x.map { a + s * $0 + c / $0 + sigma * stream.normal() }
            let fit = try MultiLinearFit(design: x.map { [1, $0, 1 / $0] }, y: y, standardErrors: x.map { _ in sigma })
            let ci = fit.ci95(1)
            if ci[0] <= s && s <= ci[1] { covered += 1 }
        }
        let rate = Double(covered) / 200
        print("prefactor-corrected slope coverage over 200 repetitions: \(rate)")
        #expect(rate >= 0.90 && rate <= 0.99, "coverage \(rate)")
    }

    /// A cell whose mean would mostly lie beyond the cap (E τ ≈ 148 at the smallest ε, cap
    /// 40: about 76 % censored) gets no mean: it is excluded from the fit with the reason,
    /// and the cell table shows P(exit by the cap) with its interval.
    @Test func withheldMeanIsExcludedAndExitProbabilityShown() throws {
        let input = ReportFixtures.arrhenius(seed: 5, cap: 40)
        let withheld = input.cells.filter { $0.estimator.hasPrefix(ExitTimeEstimate.tailNotShownExponential) }
        #expect(!withheld.isEmpty && withheld.allSatisfy { $0.mean == nil && $0.exitProbability != nil })
        let fit = try #require(try ScalingAnalysis.fits(input).first)
        #expect(fit.excluded.contains { $0.reason.contains("exit law not shown exponential past the cap") })
        let markdown = try ReportBuilder.build(input).markdown
        #expect(markdown.contains("| P(exit by cap) [95 %] |"))
    }

    /// Censoring-dominated points stay in the fit (censoring-aware estimate) and are flagged;
    /// cells with no estimate are listed as excluded with the reason.
    @Test func censoredPointsAreFlaggedNotDropped() throws {
        // E τ = e^{1 + 0.25·12} ≈ 148 at the smallest ε; a cap at 100 censors about half of it.
        let input = ReportFixtures.arrhenius(seed: 5, cap: 100)
        let fit = try #require(try ScalingAnalysis.fits(input).first)
        let flagged = fit.points.filter { $0.flag != nil }
        #expect(!flagged.isEmpty)
        #expect(flagged.allSatisfy { $0.cell.censoringDominated && $0.cell.estimator == ExitTimeEstimate.restrictedMeanExponentialTail })
        #expect(fit.points.count + fit.excluded.count == 5)
        let markdown = try ReportBuilder.build(input).markdown
        #expect(markdown.contains("censoring-dominated"))
    }

    /// Matching cells across experiments: SGD (iterations) against its SDE (time/η), with the
    /// SDE's integration key dt ignored; identical laws agree, a 20 % difference does not.
    @Test func comparisonsMatchCellsAndGiveVerdicts() throws {
        let stream = RandomStream(key: StreamKey(seed: 9, experiment: 1))
        var cells: [ReportCell] = []
        var samples: [String: ResultsStore.CellSamples] = [:]
        for (c, eta) in [0.05, 0.1, 0.2].enumerated() {
            var (a, sa) = ReportFixtures.monteCarloCell(experiment: "sgd", e: 0, c: c, dynamics: "sgd",
                                                        parameters: [("learning_rate", eta), ("batch_size", 1)],
                                                        tau: 100, paths: 4000, stream: stream, timeScale: 1)
            // sgd counts iterations: its mean is in iterations
            a.timeUnit = .iterations; a.meanIterations = a.mean
            let factor = c == 2 ? 1.2 : 1.0
            var (b, sb) = ReportFixtures.monteCarloCell(experiment: "sde", e: 1, c: c, dynamics: "sgd-sde",
                                                        parameters: [("learning_rate", eta), ("batch_size", 1), ("dt", eta / 10)],
                                                        tau: 100 * eta * factor, paths: 4000, stream: stream, timeScale: eta / 10)
            a.global = c; b.global = 3 + c
            cells += [a, b]
            samples["0-\(c)"] = sa; samples["1-\(c)"] = sb
        }
        let spec = try JobSpec.parse(ReportFixtures.langevinSpec)
        let input = ReportInput(job: ReportFixtures.job, spec: spec, cells: cells, plannedCells: 6) { e, c in samples["\(e)-\(c)"] ?? .init() }
        let comparisons = Comparison.all(input)
        #expect(comparisons.count == 3)
        #expect(comparisons.allSatisfy { $0.unit == "iterations" && $0.kind == .simulation })
        #expect(comparisons[0].agrees && comparisons[1].agrees)
        #expect(!comparisons[2].agrees && comparisons[2].verdict == "differ: sgd faster")
        // the ratio's interval is the delta method's: log r ± 1.96·SE(log r); the true ratio 1/1.2
        // must lie within 4 of those standard errors of the estimate
        let r = comparisons[2]
        let seLog = log(r.ratioCI95[1] / r.ratio) / 1.96
        #expect(r.ratioCI95[0] < r.ratio && r.ratio < r.ratioCI95[1])
        #expect(abs(log(r.ratio) - log(1 / 1.2)) < 4 * seLog, "ratio \(r.ratio), SE(log) \(seLog)")
    }

    @Test func formatting() {
        #expect(Format.value(30.7741, error: 0.2987) == "30.77 ± 0.30")
        #expect(Format.value(2854.93, error: 45.3) == "2855 ± 45")
        #expect(Format.value(1.23456e7, error: 2.1e5) == "(1.235 ± 0.021)e+07")
        #expect(Format.number(0.000123) == "1.230e-04")
        #expect(Format.number(0.25) == "0.2500")
        #expect(Format.interval([0.2412, 0.2588]) == "[0.241, 0.259]")
    }
}

/// The splitting section's per-run spread (docs/THEORY.md §6).
@Suite struct SplittingRunsTests {
    @Test func spreadAndIdealSpreadFromTheRunEstimates() throws {
        var cell = ReportFixtures.deterministicCell(experiment: "s", e: 0, c: 0, method: SplittingMethod.name,
                                                    parameters: [("epsilon", 0.02)], value: 1)
        let runs = [1.0e-6, 1.2e-6, 0.8e-6, 1.0e-6]
        cell.quantities = runs.enumerated().map { (key: "run_\($0.offset + 1)_probability", value: $0.element) }
            + [(key: "replicas", value: 1000), (key: "kill", value: 100), (key: "probability", value: 1e-6)]
        let s = try #require(SplittingRuns(cell))
        #expect(s.runs == runs.sorted())
        #expect(abs(s.mean - 1e-6) < 1e-18)
        // sample SD of {1, 1.2, 0.8, 1}·10⁻⁶ is √(0.08/3)·10⁻⁶
        #expect(abs(s.relativeSD - (0.08 / 3).squareRoot()) < 1e-12)
        let ideal = try #require(s.idealRelativeSD)
        #expect(abs(ideal - (abs(log(1e-6)) * 1.05 / 1000).squareRoot()) < 1e-12)
        // a cell without run estimates has no section row
        cell.quantities = [(key: "probability", value: 1e-6)]
        #expect(SplittingRuns(cell) == nil)
    }
}

/// Experiments with their own landscape: comparisons only pair cells of the same landscape,
/// start and exit, and the report lists each experiment's setting.
@Suite struct PerExperimentSettingReportTests {
    @Test func comparisonsStayWithinOneGeometry() throws {
        let text = SpecFixtures.doubleWell(name: "geometry") + """

        [[experiment]]
        name = "mc"
        dynamics = "langevin"
        epsilon = 0.3
        dt = 0.01
        paths = 400
        [[experiment]]
        name = "exact-same"
        dynamics = "langevin"
        method = "backward-kolmogorov"
        epsilon = 0.3
        [[experiment]]
        name = "exact-deeper"
        dynamics = "langevin"
        method = "backward-kolmogorov"
        epsilon = 0.3
        [experiment.landscape]
        builtin = "double-well"
        barrier = 0.5
        """
        let spec = try JobSpec.parse(text)
        let cells = try JobRunner(spec: spec, threads: 1).run()
        let input = ReportInput(job: ReportFixtures.job, spec: spec, cells: cells, plannedCells: 3) { _, _ in .init() }
        let comparisons = Comparison.all(input)
        #expect(comparisons.count == 1)
        #expect(comparisons.allSatisfy { $0.b.experiment == "exact-same" })
        let report = try ReportBuilder.build(input)
        #expect(report.markdown.contains("## Landscapes, starts and exits"))
        #expect(report.markdown.contains("| exact-deeper | double-well (barrier 0.5)"), "\(report.markdown.prefix(3000))")
        // a job on one landscape has no such section
        let plain = try JobSpec.parse(SpecFixtures.doubleWell(name: "plain") + "\n[[experiment]]\nname = \"e\"\ndynamics = \"langevin\"\nmethod = \"backward-kolmogorov\"\nepsilon = 0.3\n")
        #expect(ReportBuilder.settingsMarkdown(plain) == nil)
    }
}
