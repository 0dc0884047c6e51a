import Foundation
import Jobs

/// A finished report as values: the Markdown text, the figures it links to
/// (`figures/<name>.svg`), the data tables behind it, and the same content in sections for
/// the notebook. Everything is a function of the results store alone, so regenerating a
/// report from the same store gives byte-identical files.
public struct Report: Sendable {
    public struct Section: Sendable {
        public var heading: String
        public var text: String
        public var tables: [Table]
        public var figures: [Figure]
    }
    public var title: String
    /// The header as Markdown (job, seed, tool, command, date, machine).
    public var header: String
    public var markdown: String
    public var figures: [Figure]
    public var tables: [Table]
    public var sections: [Section]
}

/// Turns a job's results into a `Report`: header, claim and findings, scaling fits with
/// intervals and predictions, comparisons with verdicts, validation z-scores, figures, the
/// cells and the spec.
public enum ReportBuilder {
    public static func build(_ input: ReportInput) throws -> Report {
        let spec = input.spec
        let scaling = try ScalingAnalysis.analyse(input)
        let fits = scaling.fits
        let comparisons = Comparison.all(input)
        let title = spec.report.title ?? "sgd-escape report: \(input.job.name)"
        var sections: [Report.Section] = []
        var md = "# \(title)\n\n"
        if let d = spec.description { md += "\(d)\n\n" }

        // Header.
        let finished = input.cells.count
        let headerStart = md.endIndex
        md += "| | |\n|---|---|\n"
        md += "| Job | `\(input.job.name)` (spec hash `\(input.job.specHash)`) |\n"
        md += "| Seed | \(input.job.seed) |\n"
        md += "| Tool | \(input.job.toolVersion) |\n"
        md += "| Command | `\(input.job.commandLine.replacingOccurrences(of: "|", with: "\\|"))` |\n"
        md += "| Run started | \(input.job.startedAt) |\n"
        md += "| Machine | \(input.job.host) |\n"
        let failed = input.failedCells.count
        md += "| Cells | \(finished) of \(input.plannedCells) finished\(failed > 0 ? ", \(failed) failed" : "")\(finished + failed < input.plannedCells ? " — **this report is of an unfinished run**" : "") |\n\n"

        let header = String(md[headerStart...])
        // Claim and findings.
        let stabilityRows = StabilityAnalysis.rows(input)
        let findings = self.findings(fits: fits, comparisons: comparisons) + StabilityAnalysis.findings(stabilityRows)
            + tailIndexFindings(input) + divergedFindings(input, besides: stabilityRows)
        if spec.report.claim != nil || !findings.isEmpty {
            var text = ""
            if let claim = spec.report.claim { text += "**Claim.** \(claim)\n\n" }
            if !findings.isEmpty { text += "**Result.**\n\n" + findings.map { "- \($0)" }.joined(separator: "\n") + "\n\n" }
            if let discussion = spec.report.discussion { text += "**Discussion.** \(discussion)\n\n" }
            md += "## Claim and result\n\n" + text
            sections.append(.init(heading: "Claim and result", text: text, tables: [], figures: []))
        }

        // Fits.
        let fitTable = self.fitTable(fits)
        let scalingFigures = ReportFigures.scaling(fits)
        if !fits.isEmpty || !scaling.missing.isEmpty {
            let text = fitsMarkdown(fits, missing: scaling.missing)
            md += "## Scaling laws\n\n" + text + figuresMarkdown(scalingFigures)
            sections.append(.init(heading: "Scaling laws", text: text, tables: [fitTable], figures: scalingFigures))
        }

        // Comparisons.
        let comparisonTable = self.comparisonTable(comparisons)
        let ratioFigures = ReportFigures.ratios(comparisons)
        if !comparisons.isEmpty {
            let text = comparisonsMarkdown(comparisons)
            md += "## Comparisons\n\n" + text + figuresMarkdown(ratioFigures)
            sections.append(.init(heading: "Comparisons", text: text, tables: [comparisonTable], figures: ratioFigures))
        }

        // Validation.
        let validation = comparisons.filter { $0.kind == .exact }
        if !validation.isEmpty {
            let text = validationMarkdown(validation)
            md += "## Validation against exact references\n\n" + text
            sections.append(.init(heading: "Validation against exact references", text: text, tables: [], figures: []))
        }

        // Stability: divergence probability against the thresholds.
        if !stabilityRows.isEmpty {
            let text = StabilityAnalysis.markdown(stabilityRows)
            md += "## Divergence against stability thresholds\n\n" + text
            sections.append(.init(heading: "Divergence against stability thresholds", text: text,
                                  tables: [StabilityAnalysis.table(stabilityRows)], figures: []))
        }

        // Survival and exit sides.
        let survival = try ReportFigures.survival(input)
        let sides = ReportFigures.exitSides(input) + ReportFigures.sharpness(input)
        if !survival.isEmpty || !sides.isEmpty {
            let text = "Survival functions on a log scale against t/E τ, and where paths leave.\n\n"
            md += "## Exit-time distributions and exit sides\n\n" + text + figuresMarkdown(survival + sides)
            sections.append(.init(heading: "Exit-time distributions and exit sides", text: text, tables: [], figures: survival + sides))
        }

        // Landscapes, starts and exits, when the job has more than one (experiments' own tables,
        // or landscape parameters swept).
        if let text = settingsMarkdown(spec) {
            md += "## Landscapes, starts and exits\n\n" + text
            sections.append(.init(heading: "Landscapes, starts and exits", text: text, tables: [], figures: []))
        }

        // Exit sides: fractions, rates per side, committor.
        let sideRows = ExitSideAnalysis.rows(input)
        if !sideRows.isEmpty {
            let text = ExitSideAnalysis.markdown(sideRows)
            md += "## Escape rates per exit side\n\n" + text
            sections.append(.init(heading: "Escape rates per exit side", text: text, tables: [ExitSideAnalysis.table(sideRows)], figures: []))
        }

        // Cells.
        let cellTable = self.cellTable(input)
        let cellsText = cellsMarkdown(input)
        md += "## Cells\n\n" + cellsText
        sections.append(.init(heading: "Cells", text: cellsText, tables: [cellTable], figures: []))

        // Cells whose method failed: outcomes, listed, in no fit or comparison.
        if !input.failedCells.isEmpty {
            let one = input.failedCells.count == 1
            var text = "\(input.failedCells.count) cell\(one ? "" : "s") failed numerically and \(one ? "enters" : "enter") no analysis; `run --resume` computes \(one ? "it" : "them") again.\n\n"
            text += "| Cell | Experiment | Parameters | Reason |\n|---|---|---|---|\n"
            for f in input.failedCells {
                text += "| \(f.global + 1) | \(f.experiment) | \(Format.parameters(f.parameters)) | \(f.reason.replacingOccurrences(of: "|", with: "\\|")) |\n"
            }
            md += "## Failed cells\n\n" + text + "\n"
            sections.append(.init(heading: "Failed cells", text: text, tables: [], figures: []))
        }

        // Theory quantities (thresholds, barriers) of deterministic cells; splitting's pieces
        // (its per-run estimates are in the data files and the JSON, not in this table).
        let quantityCells = input.cells.filter { !$0.quantities.isEmpty }
        if !quantityCells.isEmpty {
            var text = "| Experiment | Cell parameters | Quantity | Value |\n|---|---|---|---|\n"
            for c in quantityCells {
                for q in c.quantities where !(q.key.hasPrefix("run_") && q.key.hasSuffix("_probability")) {
                    text += "| \(c.experiment) | \(Format.parameters(c.parameters)) | \(q.key) | \(Format.number(q.value, significant: 5)) |\n"
                }
            }
            text += "\n"
            md += "## Derived quantities\n\n" + text
            sections.append(.init(heading: "Derived quantities", text: text, tables: [], figures: []))
        }

        // Splitting: the spread of each cell's independent runs (its error bar's basis).
        let splitting = input.cells.compactMap(SplittingRuns.init)
        if !splitting.isEmpty {
            var text = "Each splitting cell's R independent runs: p̂ per run (its error bar is their spread), beside the relative spread an ideal reaction coordinate (the committor) would give, √(|log p̄|·(1 + k/2N)/N) — a ratio well above 1 flags a poor coordinate (docs/THEORY.md §6).\n\n"
            text += "| Experiment | Cell parameters | Runs | Mean p̂ | Min | Median | Max | Relative SD per run | Ideal | Ratio |\n|---|---|---|---|---|---|---|---|---|---|\n"
            for s in splitting {
                let median = s.runs[s.runs.count / 2]
                let ideal = s.idealRelativeSD.map { Format.number($0, significant: 3) } ?? "—"
                let ratio = s.idealRelativeSD.map { Format.number(s.relativeSD / $0, significant: 3) } ?? "—"
                text += "| \(s.cell.experiment) | \(Format.parameters(s.cell.parameters)) | \(s.runs.count) | \(Format.number(s.mean, significant: 4)) | \(Format.number(s.runs[0], significant: 3)) | \(Format.number(median, significant: 3)) | \(Format.number(s.runs[s.runs.count - 1], significant: 3)) | \(Format.number(s.relativeSD, significant: 3)) | \(ideal) | \(ratio) |\n"
            }
            text += "\n"
            md += "## Splitting runs\n\n" + text
            sections.append(.init(heading: "Splitting runs", text: text, tables: [], figures: []))
        }

        let methods = methodsMarkdown()
        md += "## Methods\n\n" + methods
        md += "## Job spec\n\n```toml\n\(spec.text.hasSuffix("\n") ? spec.text : spec.text + "\n")```\n"
        sections.append(.init(heading: "Methods", text: methods, tables: [], figures: []))

        let figures = scalingFigures + ratioFigures + survival + sides
        return Report(title: title, header: header, markdown: md, figures: figures,
                      tables: [cellTable, fitTable, comparisonTable, StabilityAnalysis.table(stabilityRows), ExitSideAnalysis.table(sideRows)].filter { !$0.rows.isEmpty },
                      sections: sections)
    }

    // MARK: - Findings

    /// One row per experiment: its landscape (and swept landscape parameters), start and exit
    /// region; nil when every experiment runs on the job's one landscape, start and exit.
    static func settingsMarkdown(_ spec: JobSpec) -> String? {
        let first = spec.experiments[0].settings[0]
        let uniform = spec.experiments.allSatisfy { e in e.settings.count == 1 && e.settings[0].sameGeometry(as: first) }
        // a trained start is shown even for one setting: what the training reached
        guard !uniform || first.startNote != nil else { return nil }
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var text = "| Experiment | Landscape | Swept landscape parameters | Start | Exit |\n|---|---|---|---|---|\n"
        for e in spec.experiments {
            let s = e.settings[0]
            let swept = e.parameters.filter { $0.key.hasPrefix("landscape.") || $0.key.hasPrefix("exit.") }
                .map { "\($0.key) = \($0.values.map { Format.number($0) }.joined(separator: ", "))" }.joined(separator: "; ")
            let norm = s.start.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let start = s.startNote.map { "\($0); ‖θ₀‖ = \(Format.number(norm, significant: 4))" }
                ?? (s.start.count > 6 ? "\(s.start.count) coordinates, ‖θ₀‖ = \(Format.number(norm, significant: 4))"
                    : "(" + s.start.map { Format.number($0, significant: 6) }.joined(separator: ", ") + ")")
            text += "| \(e.name) | \(cell(s.landscape.summary)) | \(swept.isEmpty ? "—" : swept) | \(e.settings.count > 1 ? "first landscape: " : "")\(start) | \(cell(s.exit.description)) |\n"
        }
        return text + "\n"
    }

    static func findings(fits: [ScalingFitResult], comparisons: [Comparison]) -> [String] {
        var out: [String] = []
        // side-rate fits stay in the table and figure: one per exit side would crowd the result
        for f in fits where f.isMonteCarlo && f.kind != .sideRate {
            let g = f.group.isEmpty ? "" : " at \(Format.parameters(f.group))"
            let x = ReportFigures.axisLabel(f.axis)
            let law: String
            switch f.kind {
            case .arrhenius: law = "slope S of log E τ against \(x)"
            case .powerLaw: law = "exponent p of E τ ∝ \(x)^p"
            case .saddle: law = "slope b of E τ = a + b·ln \(x)"
            case .sideRate: continue
            }
            var s = "`\(f.experiment)`\(g): \(law) = \(Format.value(f.fit.slope, error: f.fit.slopeStandardError)), 95 % CI \(Format.interval(f.fit.slopeCI95, significant: 4))"
            if let b = f.bootstrapCI95 { s += " (path bootstrap \(Format.interval(b, significant: 4)))" }
            if let p = f.predicted {
                let inside = f.predictionInsideCI == true
                s += "; predicted \(Format.number(p.value, significant: 4)) (\(p.source)) — **\(inside ? "inside" : "outside") the interval**"
                if let r = f.ratioToPrediction {
                    s += ", ratio \(Format.number(r.value, significant: 3)) \(Format.interval(r.ci95))"
                }
                if !inside, let c = f.corrected {
                    let ci = c.ci95(1)
                    let inC = p.value >= ci[0] && p.value <= ci[1]
                    s += ". With the first-order prefactor correction (log τ = a + S·x + c/x) S = \(Format.value(c.coefficients[1], error: c.standardErrors[1])), \(Format.interval(ci, significant: 4)) — prediction \(inC ? "inside" : "outside")"
                }
            }
            if f.fit.goodnessOfFit < 0.01 { s += ". The line does not describe the points within their errors (χ² p = \(Format.number(f.fit.goodnessOfFit, significant: 2)); interval inflated by the Birge ratio)" }
            out.append(s + ".")
        }
        // Simulation vs simulation (discrete SGD vs SDE): where they agree.
        var pairs: [String] = []
        var byPair: [String: [Comparison]] = [:]
        for c in comparisons where c.kind == .simulation || c.kind == .model {
            let k = "`\(c.a.experiment)` vs `\(c.b.experiment)`"
            if byPair[k] == nil { pairs.append(k) }
            byPair[k, default: []].append(c)
        }
        for k in pairs {
            let cs = byPair[k]!
            let agree = cs.filter(\.agrees).count
            let worst = cs.max { abs(log($0.ratio)) < abs(log($1.ratio)) }!
            out.append("\(k): \(agree) of \(cs.count) cells agree within error (|z| < 3); largest departure at \(Format.parameters(worst.key)): ratio \(Format.number(worst.ratio, significant: 3)) \(Format.interval(worst.ratioCI95)).")
        }
        var theoryPairs: [String] = []
        var byTheory: [String: [Comparison]] = [:]
        for c in comparisons where c.kind == .theory {
            let k = "`\(c.a.experiment)` vs theory `\(c.b.experiment)`"
            if byTheory[k] == nil { theoryPairs.append(k) }
            byTheory[k, default: []].append(c)
        }
        for k in theoryPairs {
            let cs = byTheory[k]!
            let agree = cs.filter(\.agrees).count
            let ratios = cs.map(\.ratio)
            out.append("\(k): \(agree) of \(cs.count) cells agree within the simulation's error (|z| < 3); simulation/theory ratios \(Format.number(ratios.min()!, significant: 3))–\(Format.number(ratios.max()!, significant: 3)) (the formula is asymptotic and carries no error of its own).")
        }
        let exact = comparisons.filter { $0.kind == .exact }
        if !exact.isEmpty {
            let agree = exact.filter(\.agrees).count
            let maxZ = exact.map { abs($0.z) }.max()!
            out.append("Simulations against exact references: \(agree) of \(exact.count) agree (|z| < 3), largest |z| = \(Format.number(maxZ, significant: 3)).")
        }
        return out
    }

    /// Tail-index cells: α̂ with its standard error, and the z-score against the α drawn
    /// when the noise law names one (synthetic SαS samples).
    static func tailIndexFindings(_ input: ReportInput) -> [String] {
        input.cells.compactMap { c in
            guard let a = c.quantity("tail_index"), let se = c.quantity("tail_index_standard_error") else { return nil }
            var s = "`\(c.experiment)` (\(Format.parameters(c.parameters.filter { $0.key != "learning_rate" }))): tail index α̂ = \(Format.value(a, error: se))"
            if let alpha = c.parameter("noise.alpha") ?? c.parameter("alpha"), se > 0 {
                s += " against the α = \(Format.compact(alpha)) drawn (z = \(Format.number((a - alpha) / se, significant: 2)))"
            }
            return s + "."
        }
    }

    // MARK: - Markdown sections

    static func fitsMarkdown(_ fits: [ScalingFitResult], missing: [MissingFit] = []) -> String {
        var t = ""
        if fits.contains(where: \.etaScaled) {
            t += "Fits of SGD and its SDE are made in t = η·E[iterations], the SDE's time, for both dynamics: Hu et al.'s N ≈ η⁻¹exp(B·s/η) then has no η-dependent prefactor and exponents in η are comparable (in iterations they are smaller by 1).\n\n"
        }
        if fits.contains(where: { $0.kind == .saddle }) {
            t += "The saddle law E τ = a + b·ln x is linear in E τ itself (Hu et al. 2019, docs/THEORY.md §2): Monte Carlo points weighted by their SE; its predicted b is the slope of a theory experiment of the same dynamics fitted the same way.\n\n"
        }
        guard !fits.isEmpty else { return t + missingMarkdown(missing) }
        t += "| Experiment | Law | Points | Slope ± SE | 95 % CI | Bootstrap 95 % CI | Intercept a | χ²/dof (p) | Predicted slope | Ratio to prediction |\n"
        t += "|---|---|---|---|---|---|---|---|---|---|\n"
        for f in fits {
            let law = "\(f.law) (\(f.unitDescription))"
            let g = f.group.isEmpty ? "" : " (\(Format.parameters(f.group)))"
            let flagged = f.points.filter { $0.flag != nil }.count
            let points = "\(f.points.count)\(flagged > 0 ? " (\(flagged) flagged)" : "")\(f.excluded.isEmpty ? "" : ", \(f.excluded.count) excluded")"
            let chi = "\(Format.number(f.fit.chiSquared / Double(f.fit.degreesOfFreedom), significant: 3)) (\(Format.number(f.fit.goodnessOfFit, significant: 2)))"
            let pred = f.predicted.map { Format.number($0.value, significant: 4) } ?? "—"
            let ratio = f.ratioToPrediction.map { "\(Format.number($0.value, significant: 3)) \(Format.interval($0.ci95))" } ?? "—"
            t += "| \(f.experiment)\(g) | \(law) | \(points) | \(Format.value(f.fit.slope, error: f.fit.slopeStandardError)) | \(Format.interval(f.fit.slopeCI95, significant: 4)) | \(Format.interval(f.bootstrapCI95, significant: 4)) | \(Format.value(f.fit.intercept, error: f.fit.interceptStandardError)) | \(f.isMonteCarlo ? chi : "— (unweighted)") | \(pred) | \(ratio) |\n"
        }
        t += "\n"
        let corrected = fits.filter { $0.corrected != nil }
        if !corrected.isEmpty {
            t += "With the first-order prefactor correction, `log E τ = a + S·x + c/x` (Kramers' τ = τ_K(1 + c₁ε + …); weighted GSL `gsl_multifit_wlinear`):\n\n"
            t += "| Experiment | S ± SE | 95 % CI | c ± SE | χ²/dof (p) |\n|---|---|---|---|---|\n"
            for f in corrected {
                let c = f.corrected!
                let g = f.group.isEmpty ? "" : " (\(Format.parameters(f.group)))"
                t += "| \(f.experiment)\(g) | \(Format.value(c.coefficients[1], error: c.standardErrors[1])) | \(Format.interval(c.ci95(1), significant: 4)) | \(Format.value(c.coefficients[2], error: c.standardErrors[2])) | \(f.isMonteCarlo ? "\(Format.number(c.chiSquared / Double(c.degreesOfFreedom), significant: 3)) (\(Format.number(c.goodnessOfFit, significant: 2)))" : "— (unweighted)") |\n"
            }
            t += "\n"
        }
        let steep = fits.filter(\.isSteepness)
        if !steep.isEmpty {
            t += "**Steepness.** The slope of log(mean exit iterations) of discrete SGD against B/η is its steepness; the prediction is the quasi-potential of the minimum-action path under the per-sample noise covariance Σ₁ (Hu et al. 2019; Ibayashi & Imaizumi). "
            t += "The fit uses η·E[iterations], which removes the η⁻¹ prefactor of N ≈ η⁻¹exp(B·s/η) when η varies along the sweep (at fixed η the slope is the same). The prediction is asymptotic (B/η → ∞); at finite B/η the prefactor's own dependence on the noise level bends the line.\n\n"
            for f in steep {
                let g = f.group.isEmpty ? "" : " (\(Format.parameters(f.group)))"
                if let r = f.ratioToPrediction {
                    t += "- `\(f.experiment)`\(g): steepness \(Format.value(f.fit.slope, error: f.fit.slopeStandardError)) against predicted \(Format.number(f.predicted!.value, significant: 4)); ratio \(Format.number(r.value, significant: 3)), 95 % CI \(Format.interval(r.ci95)).\n"
                } else {
                    t += "- `\(f.experiment)`\(g): steepness \(Format.value(f.fit.slope, error: f.fit.slopeStandardError)); no predicted steepness (add a `minimum-action` experiment).\n"
                }
            }
            t += "\n"
        }
        let flagged = fits.flatMap { f in f.points.compactMap { p in p.flag.map { (f, p, $0) } } }
        let excluded = fits.flatMap { f in f.excluded.map { (f, $0) } }
        if !flagged.isEmpty || !excluded.isEmpty {
            t += "Flagged and excluded points:\n\n"
            for (f, p, flag) in flagged { t += "- `\(f.experiment)` at \(Format.parameters(p.cell.parameters)): \(flag) (kept in the fit).\n" }
            for (f, e) in excluded { t += "- `\(f.experiment)`\(f.side.map { ", side \($0)," } ?? "") at \(Format.parameters(e.cell.parameters)): excluded — \(e.reason).\n" }
            t += "\n"
        }
        return t + missingMarkdown(missing)
    }

    /// The fits that could not be made, one line each with the reason.
    static func missingMarkdown(_ missing: [MissingFit]) -> String {
        guard !missing.isEmpty else { return "" }
        var t = "Fits not made:\n\n"
        for m in missing {
            let who = m.experiment.isEmpty ? "" : "`\(m.experiment)`"
            let g = m.group.isEmpty ? "" : " (\(Format.parameters(m.group)))"
            let side = m.side.map { ", exit side \($0)" } ?? ""
            t += "- \(who)\(g)\(who.isEmpty && g.isEmpty ? "" : ": ")\(m.kind.rawValue) in \(ReportFigures.axisLabel(m.axis))\(side) — \(m.reason).\n"
        }
        return t + "\n"
    }

    static func comparisonsMarkdown(_ comparisons: [Comparison]) -> String {
        var t = "Each Monte Carlo cell against the matching cell of every other experiment (same parameters). Ratio = first / second with a 95 % interval; verdict \"agree\" when |z| < 3.\n\n"
        t += "| First | Second | Parameters | First mean | Second mean | Unit | Ratio [95 % CI] | z | Verdict |\n|---|---|---|---|---|---|---|---|---|\n"
        for c in comparisons {
            let second = c.kind == .simulation ? Format.value(c.bMean, error: c.bSE)
                : c.kind == .exact || c.kind == .model ? Format.value(c.bMean, error: c.bSE > 0 ? c.bSE : nil) + " (exact)"
                : Format.number(c.bMean) + " (theory)"
            t += "| \(c.a.experiment) | \(c.b.experiment) | \(Format.parameters(c.key)) | \(Format.value(c.aMean, error: c.aSE)) | \(second) | \(c.unit) | \(Format.number(c.ratio, significant: 3)) \(Format.interval(c.ratioCI95)) | \(Format.number(c.z, significant: 3)) | \(c.verdict) |\n"
        }
        return t + "\n"
    }

    static func validationMarkdown(_ v: [Comparison]) -> String {
        let z = v.map(\.z)
        let within2 = z.filter { abs($0) < 1.96 }.count
        let within3 = z.filter { abs($0) < 3 }.count
        let meanZ = z.reduce(0, +) / Double(z.count)
        let rms = (z.map { $0 * $0 }.reduce(0, +) / Double(z.count)).squareRoot()
        var t = "z = (simulation − exact)/SE for every cell with an exact reference (discrete chain for SGD, Fokker–Planck grid for continuous dynamics). If the simulation is unbiased, z is standard normal: about 95 % of |z| below 1.96 and an RMS near 1. A step-exit test or a finite step size biases z positive.\n\n"
        t += "| Comparisons | \\|z\\| < 1.96 | \\|z\\| < 3 | mean z | RMS z |\n|---|---|---|---|---|\n"
        t += "| \(z.count) | \(within2) (\(Format.percent(Double(within2) / Double(z.count)))) | \(within3) | \(Format.number(meanZ, significant: 3)) | \(Format.number(rms, significant: 3)) |\n\n"
        return t
    }

    /// Cells where every path diverged: a finding of their own, so the result section says so —
    /// except those of a stability sweep (`stability`), whose section is about divergence.
    static func divergedFindings(_ input: ReportInput, besides stability: [StabilityRow] = []) -> [String] {
        let covered = Set(stability.map { "\($0.cell.experimentIndex)/\($0.cell.cellIndex)" })
        let cells = input.cells.filter { $0.allDiverged && !covered.contains("\($0.experimentIndex)/\($0.cellIndex)") }
        guard !cells.isEmpty else { return [] }
        let shown = cells.prefix(5).map { "\($0.experiment) (\(Format.parameters($0.parameters)))" }.joined(separator: "; ")
        return ["**Every path diverged** in \(cells.count) of \(input.cells.count) cells (no exit time): \(shown)\(cells.count > 5 ? "; …" : "")."]
    }

    static func cellsMarkdown(_ input: ReportInput) -> String {
        // P(exit by the cap) with its exact 95 % interval, in its own column when some Monte Carlo cell was censored
        let showExit = input.cells.contains { $0.isMonteCarlo && $0.censored > 0 && $0.exitProbability != nil }
        var t = "| Experiment | Method | Parameters | Paths (exited / censored / diverged) |" + (showExit ? " P(exit by cap) [95 %] |" : "")
            + " Mean exit time | Unit | Mean exit iterations | Estimator |\n|---|---|---|---|" + (showExit ? "---|" : "") + "---|---|---|---|\n"
        for c in input.cells {
            var paths = c.paths > 0 ? "\(c.paths) (\(c.exited) / \(c.censored) / \(c.diverged))" : "—"
            if showExit {
                paths += " | " + (c.isMonteCarlo ? c.exitProbability.map { "\(Format.number($0, significant: 3)) \(Format.interval(c.exitProbabilityCI95))" } ?? "—" : "—")
            }
            let mean = c.allDiverged ? "all diverged"
                : c.mean.map { Format.value($0, error: c.isMonteCarlo ? c.standardError : (c.methodError.flatMap { $0 > 0 ? $0 : nil })) }
                ?? c.lowerBound.map { "≥ \(Format.number($0, significant: 4))" } ?? "—"
            let iter = c.meanIterations.map { Format.value($0, error: c.isMonteCarlo ? c.iterationsStandardError : nil) } ?? "—"
            let estimator = c.estimator.count > 90 ? String(c.estimator.prefix(87)) + "…" : c.estimator
            t += "| \(c.experiment) | \(c.method) | \(Format.parameters(c.parameters)) | \(paths) | \(mean) | \(c.timeUnit.rawValue) | \(iter) | \(estimator) |\n"
        }
        return t + "\n"
    }

    static func figuresMarkdown(_ figures: [Figure]) -> String {
        figures.map { "![\($0.title)](figures/\($0.name).svg)\n\n*\($0.caption)*\n\n" }.joined()
    }

    static func methodsMarkdown() -> String {
        """
        - **Mean exit times.** Monte Carlo cells report the sample mean and its standard error; with censoring (paths that did not exit before the step cap) the Kaplan–Meier restricted mean plus an exponential tail fitted beyond the median (MLE), with a delta-method error — withheld (no mean; the restricted mean as a lower bound) when the tail fails its check: a likelihood-ratio test against an exponential with a defective mass (paths that never leave, p < 1 %), fewer than 10 exits beyond the median, or more than half of the mean beyond the cap. P(exit by the cap) is given with its exact (Clopper–Pearson) 95 % interval. Exact cells report a Richardson-extrapolated grid solve with its error estimate; theory cells report an asymptotic formula without error.
        - **Fits.** Weighted least squares on log E τ (GSL `gsl_fit_wlinear`), weights from the delta method σ = SE/τ (first order; bias O((SE/τ)²)); 95 % intervals with z = 1.96, inflated by the Birge ratio χ²/dof when it exceeds 1. Beside each Monte Carlo fit, a percentile bootstrap over paths (\(PathBootstrap.replicates) replicates, each cell's paths resampled and its estimator recomputed).
        - **Comparisons.** Ratios with delta-method intervals; z-scores against the combined standard error; "agree" when |z| < 3.
        - **Determinism.** The report is a function of the results store: regenerating it gives byte-identical files.

        """
    }

    // MARK: - Data tables (CSV and notebook)

    static func cellTable(_ input: ReportInput) -> Table {
        var keys: [String] = []
        for c in input.cells { for p in c.parameters where !keys.contains(p.key) { keys.append(p.key) } }
        var sides: [String] = [], quantities: [String] = []
        for c in input.cells {
            for side in c.exitSides where !sides.contains(side.label) { sides.append(side.label) }
            for q in c.quantities where !quantities.contains(q.key) { quantities.append(q.key) }
        }
        let columns = ["experiment", "dynamics", "method"] + keys + ["paths", "exited", "censored", "diverged", "mean_exit_time",
                       "standard_error", "time_unit", "mean_exit_iterations", "iterations_standard_error", "method_error", "estimator",
                       "exit_probability", "exit_probability_ci95_low", "exit_probability_ci95_high"]
            + sides.map { "exit: \($0)" } + quantities
        let rows: [[Table.Cell]] = input.cells.map { c in
            var r: [Table.Cell] = [.text(c.experiment), .text(c.dynamics.rawValue), .text(c.method)]
            r += keys.map { k in c.parameter(k).map { .number($0) } ?? .missing }
            r += [.integer(c.paths), .integer(c.exited), .integer(c.censored), .integer(c.diverged),
                  c.mean.map { .number($0) } ?? .missing, c.standardError.map { .number($0) } ?? .missing, .text(c.timeUnit.rawValue),
                  c.meanIterations.map { .number($0) } ?? .missing, c.iterationsStandardError.map { .number($0) } ?? .missing,
                  c.methodError.map { .number($0) } ?? .missing, .text(c.estimator),
                  c.exitProbability.map { .number($0) } ?? .missing, c.exitProbabilityCI95.map { .number($0[0]) } ?? .missing,
                  c.exitProbabilityCI95.map { .number($0[1]) } ?? .missing]
            r += sides.map { label in c.exitSides.first { $0.label == label }.map { .integer($0.count) } ?? .missing }
            r += quantities.map { k in c.quantity(k).map { .number($0) } ?? .missing }
            return r
        }
        return Table(name: "cells", columns: columns, rows: rows)
    }

    static func fitTable(_ fits: [ScalingFitResult]) -> Table {
        let columns = ["experiment", "law", "axis", "unit", "group", "points", "slope", "slope_se", "slope_ci_low", "slope_ci_high",
                       "bootstrap_ci_low", "bootstrap_ci_high", "intercept", "intercept_se", "chi_squared", "dof", "p_value",
                       "predicted_slope", "predicted_source"]
        let rows: [[Table.Cell]] = fits.map { f in
            [.text(f.experiment), .text(f.side.map { "\(f.kind.rawValue) [\($0)]" } ?? f.kind.rawValue), .text(f.axis), .text(f.unitDescription),
             .text(Format.parameters(f.group)),
             .integer(f.points.count), .number(f.fit.slope), .number(f.fit.slopeStandardError), .number(f.fit.slopeCI95[0]),
             .number(f.fit.slopeCI95[1]), f.bootstrapCI95.map { .number($0[0]) } ?? .missing,
             f.bootstrapCI95.map { .number($0[1]) } ?? .missing, .number(f.fit.intercept), .number(f.fit.interceptStandardError),
             .number(f.fit.chiSquared), .integer(f.fit.degreesOfFreedom), .number(f.fit.goodnessOfFit),
             f.predicted.map { .number($0.value) } ?? .missing, f.predicted.map { .text($0.source) } ?? .missing]
        }
        return Table(name: "fits", columns: columns, rows: rows)
    }

    static func comparisonTable(_ comparisons: [Comparison]) -> Table {
        let columns = ["first", "second", "kind", "parameters", "unit", "first_mean", "first_se", "second_mean", "second_se",
                       "ratio", "ratio_ci_low", "ratio_ci_high", "z", "verdict"]
        let rows: [[Table.Cell]] = comparisons.map { c in
            [.text(c.a.experiment), .text(c.b.experiment), .text(c.kind.rawValue), .text(Format.parameters(c.key)), .text(c.unit),
             .number(c.aMean), .number(c.aSE), .number(c.bMean), .number(c.bSE), .number(c.ratio), .number(c.ratioCI95[0]),
             .number(c.ratioCI95[1]), .number(c.z), .text(c.verdict)]
        }
        return Table(name: "comparisons", columns: columns, rows: rows)
    }
}
