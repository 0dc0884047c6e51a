import Foundation
import Testing
@testable import Reporting
@testable import Jobs
import Diffusion

/// Fits against any expression of parameters, one per combination of the other swept axes,
/// the reasons for fits not made, one unit for SGD and its SDE, the saddle law and the rates
/// per exit side — on synthetic cells drawn from known laws (fixed seeds) and one small run.
@Suite struct ScalingGroupsTests {
    static let etas = [0.5, 0.4, 0.3333, 0.2857, 0.25]

    /// An `sgd-sde` spec over η × B with the given `[report]` lines (the cells are synthetic).
    static func spec(report: String, etas: [Double] = etas, batches: [Int] = [1, 2]) throws -> JobSpec {
        try JobSpec.parse("""
        name = "groups"
        seed = 7
        [landscape]
        builtin = "double-well"
        [start]
        at = "left minimum"
        [exit]
        when = "x > 0"
        [report]
        \(report)
        [[experiment]]
        name = "sde"
        dynamics = "sgd-sde"
        learning_rate = [\(etas.map { "\($0)" }.joined(separator: ", "))]
        batch_size = [\(batches.map(String.init).joined(separator: ", "))]
        noise = { law = "gaussian", sigma = 1.0 }
        dt = 0.01
        paths = 400
        max_steps = 1000000
        """)
    }

    /// Monte Carlo `sgd-sde` cells over η × B with exponential exit times of mean `tau(η, B)`
    /// (continuous time), `paths` each.
    static func input(spec: JobSpec, seed: UInt64, etas: [Double] = etas, batches: [Double] = [1, 2], paths: Int = 400,
                      extra: [ReportCell] = [], tau: (Double, Double) -> Double) -> ReportInput {
        let stream = RandomStream(key: StreamKey(seed: seed, experiment: 77))
        var cells: [ReportCell] = []
        var samples: [Int: ResultsStore.CellSamples] = [:]
        var c = 0
        for eta in etas {
            for b in batches {
                var (cell, s) = ReportFixtures.monteCarloCell(experiment: "sde", e: 0, c: c, dynamics: "sgd-sde",
                                                              parameters: [("learning_rate", eta), ("batch_size", b), ("dt", 0.01)],
                                                              tau: tau(eta, b), paths: paths, stream: stream, timeScale: 1e-3)
                cell.global = c
                cells.append(cell); samples[c] = s
                c += 1
            }
        }
        for (k, var cell) in extra.enumerated() { cell.global = c + k; cells.append(cell) }
        return ReportInput(job: ReportFixtures.job, spec: spec, cells: cells, plannedCells: cells.count) { e, c in
            e == 0 ? samples[c] ?? .init() : .init()
        }
    }

    // MARK: - The abscissa

    @Test func abscissaReadsDottedNamesAliasesAndBareNames() throws {
        let a = try FitAbscissa("log(landscape.Ls / landscape.Lmin)")
        #expect(a.names == ["landscape.Ls", "landscape.Lmin"])
        #expect(a.value([exp(2.0), 1]) == 2)
        let e = try FitAbscissa("1.5e3*eta/B")
        #expect(e.names == ["eta", "B"])  // the exponent's 'e' is no name
        #expect(try e.resolve(keys: ["learning_rate", "batch_size"]).get() == ["learning_rate", "batch_size"])
        let bare = try FitAbscissa("1/h_sharp")
        #expect(try bare.resolve(keys: ["learning_rate", "landscape.h_sharp"]).get() == ["landscape.h_sharp"])
        let h = try FitAbscissa("1/h")
        guard case .failure(let ambiguous) = h.resolve(keys: ["landscape.h", "noise.h"]) else { Issue.record("'h' should be ambiguous"); return }
        #expect(ambiguous.message.contains("'landscape.h' or 'noise.h'"))
        guard case .failure(let unknown) = h.resolve(keys: ["learning_rate"]) else { Issue.record("'h' should not resolve"); return }
        #expect(unknown.message.contains("'h' is not a parameter"))
    }

    @Test func aBadAbscissaIsASpecErrorNamingTheKeyAndTheColumn() throws {
        do {
            _ = try Self.spec(report: "arrhenius_x = \"1/(landscape.h\"")
            Issue.record("an unclosed parenthesis should not parse")
        } catch let error as SpecError {
            #expect(error.message.hasPrefix("report.arrhenius_x must be an expression of parameters"))
            #expect(error.message.contains("\"1/(landscape.h\""))
            #expect(!error.message.contains("__"))
        }
        do {
            _ = try Self.spec(report: "power_law_x = \"2\"")
            Issue.record("a constant abscissa should be refused")
        } catch let error as SpecError {
            #expect(error.message.hasPrefix("report.power_law_x must name at least one parameter"))
        }
        // the column counts the text as written (a dot is one character, not the parser's two)
        do { _ = try FitAbscissa("landscape.h + * 2"); Issue.record("should not parse") } catch {
            #expect(error.column == 15)
        }
    }

    // MARK: - Groups

    /// With `arrhenius_x = "1/eta"` over η × B, B is not absorbed: one fit per B, each with its
    /// own slope B·s (E t = exp(1 + B·s/η), s = 1/4). Each fitted slope within 5 SE of B·s
    /// (two checks; z = 5 leaves a false-alarm rate below 10⁻⁵).
    @Test func oneArrheniusFitPerBatchSizeWhenTheAbscissaIsOneOverEta() throws {
        let spec = try Self.spec(report: "arrhenius_x = \"1/eta\"")
        let input = Self.input(spec: spec, seed: 21) { eta, b in exp(1 + b * 0.25 / eta) }
        let fits = try ScalingAnalysis.fits(input).filter { $0.kind == .arrhenius }
        #expect(fits.count == 2)
        for f in fits {
            let b = try #require(f.group.first { $0.key == "batch_size" }?.value)
            #expect(f.group.count == 1 && f.points.count == 5 && f.unit == "time" && f.etaScaled)
            #expect(abs(f.fit.slope - b * 0.25) < 5 * f.fit.slopeStandardError, "B = \(b): slope \(f.fit.slope) ± \(f.fit.slopeStandardError)")
        }
        let md = try ReportBuilder.build(input).markdown
        #expect(md.contains("| sde (B = 1) | log E τ = a + S·1/η (time t = η·iterations) |"))
        #expect(md.contains("| sde (B = 2) | log E τ = a + S·1/η (time t = η·iterations) |"))
        #expect(md.contains("`sde` at B = 1: slope S of log E τ against 1/η"))
        // the inferred B/η absorbs both axes: one fit
        let joint = Self.input(spec: try Self.spec(report: ""), seed: 21) { eta, b in exp(1 + b * 0.25 / eta) }
        #expect(try ScalingAnalysis.fits(joint).filter { $0.kind == .arrhenius }.map(\.axis) == ["B/eta"])
    }

    /// A landscape parameter as the abscissa, written bare: `arrhenius_x = "1/h_sharp"` over
    /// h × η fits log E t against 1/h once per η (E t = exp(1 + c/(η·h)), c = 1/2: slope c/η),
    /// each slope within 5 SE of c/η (two checks).
    @Test func aLandscapeParameterIsAnAbscissaAndTheLearningRateAGroup() throws {
        let spec = try Self.spec(report: "arrhenius_x = \"1/h_sharp\"", batches: [1])
        let stream = RandomStream(key: StreamKey(seed: 26, experiment: 79))
        var cells: [ReportCell] = []
        for (c, (h, eta)) in [2.0, 4, 8, 16].flatMap({ h in [0.25, 0.5].map { (h, $0) } }).enumerated() {
            var (cell, _) = ReportFixtures.monteCarloCell(experiment: "sde", e: 0, c: c, dynamics: "sgd-sde",
                                                          parameters: [("learning_rate", eta), ("batch_size", 1), ("landscape.h_sharp", h)],
                                                          tau: exp(1 + 0.5 / (eta * h)), paths: 400, stream: stream, timeScale: 1e-3)
            cell.global = c
            cells.append(cell)
        }
        let input = ReportInput(job: ReportFixtures.job, spec: spec, cells: cells, plannedCells: cells.count, samples: nil)
        let fits = try ScalingAnalysis.fits(input)
        #expect(fits.count == 2 && fits.allSatisfy { $0.axis == "1/h_sharp" && $0.points.count == 4 && $0.group.map(\.key) == ["learning_rate"] })
        for f in fits {
            let eta = f.group[0].value
            #expect(abs(f.fit.slope - 0.5 / eta) < 5 * f.fit.slopeStandardError, "η = \(eta): slope \(f.fit.slope) ± \(f.fit.slopeStandardError)")
        }
    }

    /// A sweep of two learning rates has no line with error bars: the report says so, per group.
    @Test func aTwoPointSweepSaysWhyItHasNoFit() throws {
        let etas = [0.5, 0.25]
        let spec = try Self.spec(report: "arrhenius_x = \"1/eta\"", etas: etas)
        let input = Self.input(spec: spec, seed: 22, etas: etas) { eta, b in exp(1 + b * 0.25 / eta) }
        let outcome = try ScalingAnalysis.analyse(input)
        #expect(outcome.fits.isEmpty)
        #expect(outcome.missing.count == 2 && outcome.missing.allSatisfy { $0.reason.hasPrefix("2 usable points of 2 cells") })
        let md = try ReportBuilder.build(input).markdown
        #expect(md.contains("- `sde` (B = 1): arrhenius in 1/η — 2 usable points of 2 cells; a line with error bars needs at least 3."))
        #expect(md.contains("- `sde` (B = 2): arrhenius in 1/η — 2 usable points of 2 cells"))
    }

    /// A name that no experiment's cells have is a line of the report, not a silent omission.
    @Test func anAbscissaNoCellCanReadIsReported() throws {
        let spec = try Self.spec(report: "arrhenius_x = \"1/h_sharp\"")
        let input = Self.input(spec: spec, seed: 23) { eta, b in exp(1 + b * 0.25 / eta) }
        let outcome = try ScalingAnalysis.analyse(input)
        #expect(outcome.fits.filter { $0.kind == .arrhenius }.isEmpty)
        #expect(outcome.missing.count == 1 && outcome.missing[0].reason.contains("'h_sharp' is not a parameter"))
    }

    // MARK: - Units

    /// Exact values N = 0.3·η⁻² iterations (discrete SGD) and t = 0.3·η⁻¹ (its SDE): in one
    /// unit, t = η·N, both power laws have exponent −1 (closed form; tolerance: rounding of an
    /// exact line through 5 points).
    @Test func powerLawsOfSGDAndItsSDEShareTheUnit() throws {
        let spec = try Self.spec(report: "arrhenius_x = \"none\"\npower_law_x = \"eta\"", batches: [1])
        var cells: [ReportCell] = []
        for (c, eta) in Self.etas.enumerated() {
            var chain = ReportFixtures.deterministicCell(experiment: "sgd-exact", e: 0, c: c, method: ChainMethod.name, dynamics: "sgd",
                                                         parameters: [("learning_rate", eta), ("batch_size", 1)], value: 0.3 / (eta * eta))
            chain.timeUnit = .iterations; chain.meanIterations = chain.mean; chain.global = c
            var grid = ReportFixtures.deterministicCell(experiment: "sde-exact", e: 1, c: c, method: BackwardKolmogorovMethod.name,
                                                        dynamics: "sgd-sde", parameters: [("learning_rate", eta), ("batch_size", 1)], value: 0.3 / eta)
            grid.global = 5 + c
            cells += [chain, grid]
        }
        let input = ReportInput(job: ReportFixtures.job, spec: spec, cells: cells, plannedCells: cells.count, samples: nil)
        let fits = try ScalingAnalysis.fits(input)
        #expect(fits.count == 2 && fits.allSatisfy { $0.kind == .powerLaw && $0.unit == "time" })
        for f in fits { #expect(abs(f.fit.slope + 1) < 1e-12, "\(f.experiment): exponent \(f.fit.slope)") }
    }

    // MARK: - Saddle law

    /// E t = 2 + b·ln(1/η) with b = 1/2 (exponential exit times, 4000 paths per cell) beside a
    /// theory experiment exactly linear in ln(1/η) with the same b: the Monte Carlo slope lies
    /// within 5 SE of 1/2, and the prediction is the theory's own slope (exact line: rounding).
    @Test func saddleLawFitAndItsPredictionFromTheory() throws {
        let etas = [0.1, 0.01, 0.001, 0.0001, 0.00001]
        let spec = try Self.spec(report: "arrhenius_x = \"none\"\nsaddle_law_x = \"1/eta\"", etas: etas, batches: [1])
        let theory = etas.enumerated().map { c, eta in
            ReportFixtures.deterministicCell(experiment: "hu-saddle", e: 1, c: c, method: TheoryMethod.name, dynamics: "sgd-sde",
                                             parameters: [("learning_rate", eta), ("batch_size", 1)], value: 1.7 + 0.5 * log(1 / eta))
        }
        let input = Self.input(spec: spec, seed: 24, etas: etas, batches: [1], paths: 4000, extra: theory) { eta, _ in 2 + 0.5 * log(1 / eta) }
        let fits = try ScalingAnalysis.fits(input).filter { $0.kind == .saddle }
        let mc = try #require(fits.first { $0.isMonteCarlo })
        #expect(abs(mc.fit.slope - 0.5) < 5 * mc.fit.slopeStandardError, "b = \(mc.fit.slope) ± \(mc.fit.slopeStandardError)")
        let predicted = try #require(mc.predicted)
        #expect(abs(predicted.value - 0.5) < 1e-12 && predicted.source.contains("hu-saddle"))
        #expect(mc.bootstrapCI95 != nil)
        let md = try ReportBuilder.build(input).markdown
        #expect(md.contains("| sde | E τ = a + b·ln 1/η (time t = η·iterations) |"))
    }

    // MARK: - Exit sides

    /// Two exit sides, the upper taken with probability q = 0.3 independently of the exit time
    /// (E t = exp(1 + s/η), s = 1/4): each side's count against the committor q of a matching
    /// grid cell has |z| < 5 (binomial, normal approximation at n = 400); the rate per side is
    /// fraction/E τ; the side-rate fits have slope −s within 5 SE (5 checks in all).
    @Test func ratesPerExitSideAgainstTheCommittor() throws {
        let spec = try Self.spec(report: "arrhenius_x = \"1/eta\"", batches: [1])
        let q = 0.3
        var grid: [ReportCell] = []
        for (c, eta) in Self.etas.enumerated() {
            var g = ReportFixtures.deterministicCell(experiment: "grid", e: 1, c: c, method: BackwardKolmogorovMethod.name, dynamics: "sgd-sde",
                                                     parameters: [("learning_rate", eta), ("batch_size", 1)], value: exp(1 + 0.25 / eta))
            g.quantities = [(key: ExitSideAnalysis.upperProbabilityKey, value: q)]
            grid.append(g)
        }
        var input = Self.input(spec: spec, seed: 25, batches: [1], extra: grid) { eta, _ in exp(1 + 0.25 / eta) }
        let sides = RandomStream(key: StreamKey(seed: 25, experiment: 78))
        let cells = input.cells.map { cell -> ReportCell in
            guard cell.isMonteCarlo else { return cell }
            var c = cell
            let upper = (0..<c.exited).filter { _ in sides.uniformPositive() < q }.count
            c.exitSides = [(label: "x < -1", count: c.exited - upper), (label: "x > 1", count: upper)]
            return c
        }
        input = ReportInput(job: input.job, spec: input.spec, cells: cells, plannedCells: cells.count) { _, _ in .init() }
        #expect(ExitSideAnalysis.upperSide(["x < -1", "x > 1"]) == 1)
        let rows = ExitSideAnalysis.rows(input)
        #expect(rows.count == 10)
        for r in rows {
            let z = try #require(r.z)
            #expect(abs(z) < 5, "\(r.label) at \(Format.parameters(r.cell.parameters)): z = \(z)")
            #expect(r.reference?.probability == (r.label == "x > 1" ? q : 1 - q))
            #expect(r.rate == Double(r.count) / Double(r.exited) / r.cell.mean!)
            #expect(r.fractionCI95[0] <= r.fraction && r.fraction <= r.fractionCI95[1])
        }
        let sideFits = try ScalingAnalysis.fits(input).filter { $0.kind == .sideRate }
        #expect(sideFits.count == 2)
        for f in sideFits {
            #expect(abs(f.fit.slope + 0.25) < 5 * f.fit.slopeStandardError, "\(f.side!): slope \(f.fit.slope) ± \(f.fit.slopeStandardError)")
        }
        let md = try ReportBuilder.build(input).markdown
        #expect(md.contains("## Escape rates per exit side"))
        #expect(md.contains("| sde | log k[x > 1] = a + S·1/η (rate per unit time t = η·iterations) |"))
    }

    // MARK: - End to end

    /// A real run of discrete SGD over η × B (double well, Gaussian noise σ = 1, 200 paths a
    /// cell) with `arrhenius_x = "1/eta"`: the report fits once per batch size, each fit labelled.
    @Test func endToEndEtaTimesBatchGivesOneFitPerBatchSize() throws {
        let spec = try JobSpec.parse("""
        name = "eta-by-b"
        seed = 3
        [landscape]
        builtin = "double-well"
        [start]
        at = "left minimum"
        [exit]
        when = "x > 0"
        [report]
        arrhenius_x = "1/eta"
        [[experiment]]
        name = "sgd"
        dynamics = "sgd"
        learning_rate = [0.5, 0.4, 0.3333]
        batch_size = [1, 2]
        noise = { law = "gaussian", sigma = 1.0 }
        paths = 200
        max_steps = 1000000
        """)
        let cells = try JobRunner(spec: spec, threads: 1).run()
        let input = ReportInput(job: ReportFixtures.job, spec: spec, cells: cells, plannedCells: cells.count, samples: nil)
        let fits = try ScalingAnalysis.fits(input)
        #expect(fits.map { $0.group.map(\.key) } == [["batch_size"], ["batch_size"]])
        #expect(fits.map { $0.group[0].value } == [1, 2] && fits.allSatisfy { $0.points.count == 3 })
        let md = try ReportBuilder.build(input).markdown
        #expect(md.contains("| sgd (B = 1) |") && md.contains("| sgd (B = 2) |"))
    }
}
