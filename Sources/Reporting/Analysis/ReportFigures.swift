import Foundation
import Jobs
import Diffusion

/// Builds the report's figures from its analyses (values in, `Figure`s out).
enum ReportFigures {
    static func axisLabel(_ axis: String) -> String {
        switch axis {
        case "1/epsilon": return "1/ε"
        case "1/eta": return "1/η"
        case "B/eta": return "B/η"
        default: return Format.parameterName(axis)
        }
    }

    static func seriesName(_ fit: ScalingFitResult) -> String {
        let g = fit.group.isEmpty ? "" : " (\(Format.parameters(fit.group)))"
        return fit.experiment + (fit.side.map { " [\($0)]" } ?? "") + g
    }

    /// `log τ` against each fit's abscissa: one figure per (law, abscissa, unit), all
    /// experiments together — Monte Carlo with 95 % error bars (hollow: censoring-dominated),
    /// deterministic references as lines, fits dashed, predicted slopes dotted (drawn
    /// through the first Monte Carlo fit's centre of mass, since only the slope is predicted).
    static func scaling(_ fits: [ScalingFitResult]) -> [Figure] {
        var keys: [String] = []
        var grouped: [String: [ScalingFitResult]] = [:]
        for f in fits {
            let k = "\(f.kind.rawValue)|\(f.axis)|\(f.unitDescription)"
            if grouped[k] == nil { keys.append(k) }
            grouped[k, default: []].append(f)
        }
        var figures: [Figure] = []
        for (n, k) in keys.enumerated() {
            let group = grouped[k]!
            let f0 = group[0]
            var series: [Figure.Series] = []
            var color = 0
            for f in group {
                let xs = f.points.map(\.x)
                let ys = f.points.map(\.mean)
                let name = seriesName(f)
                if f.isMonteCarlo {
                    let solid = f.points.filter { $0.flag == nil || !$0.cell.censoringDominated }
                    let hollow = f.points.filter { $0.cell.censoringDominated }
                    for (subset, marker, suffix) in [(solid, Figure.Marker.circle, ""), (hollow, .openCircle, " — censoring-dominated")] where !subset.isEmpty {
                        series.append(Figure.Series(name + suffix, mark: .points, x: subset.map(\.x), y: subset.map(\.mean),
                                                    yLow: subset.map { f.kind == .saddle ? $0.mean - 1.96 * $0.standardError : max($0.mean - 1.96 * $0.standardError, $0.mean * 1e-3) },
                                                    yHigh: subset.map { $0.mean + 1.96 * $0.standardError },
                                                    marker: marker, colorIndex: color))
                    }
                    let lo = xs.min()!, hi = xs.max()!
                    let grid = (0...40).map { lo + (hi - lo) * Double($0) / 40 }
                    let fitY = grid.map { f.curve($0) }
                    series.append(Figure.Series("fit: \(name), slope \(Format.number(f.fit.slope, significant: 3))",
                                                mark: .line, x: grid, y: fitY, lineStyle: .dashed, marker: .circle, colorIndex: color))
                    if let p = f.predicted {
                        let mx = xs.map { f.design($0) }.reduce(0, +) / Double(xs.count)
                        let my = ys.map { f.response($0) }.reduce(0, +) / Double(ys.count)
                        let predY = grid.map { f.inverseResponse(my + p.value * (f.design($0) - mx)) }
                        series.append(Figure.Series("predicted slope \(Format.number(p.value, significant: 3))\(group.count > 1 ? " (\(name))" : "")",
                                                    mark: .line, x: grid, y: predY, lineStyle: .dotted, marker: .circle,
                                                    colorIndex: group.count > 1 ? color : 7))
                    }
                } else {
                    let order = xs.indices.sorted { xs[$0] != xs[$1] ? xs[$0] < xs[$1] : ys[$0] < ys[$1] }
                    // a curve when the abscissa determines the value; markers when it does not (repeated x)
                    let mark: Figure.Mark = Set(xs).count == xs.count ? .line : .points
                    series.append(Figure.Series(name, mark: mark, x: order.map { xs[$0] }, y: order.map { ys[$0] },
                                                lineStyle: MethodRegistry.kind(of: f.method) == .theory ? .dotted : .solid, marker: .square, colorIndex: color))
                }
                color += 1
            }
            let unit = f0.etaScaled ? "time (η·iterations)" : f0.unit
            let logX = f0.kind == .powerLaw || f0.kind == .saddle
            let xAxis: Figure.Axis = logX ? .init(axisLabel(f0.axis), scale: .log) : .init(axisLabel(f0.axis))
            let x = axisLabel(f0.axis)
            let title: String, yAxis: Figure.Axis
            switch f0.kind {
            case .arrhenius: title = "Arrhenius plot: mean exit \(unit) against \(x)"; yAxis = .init("mean exit \(unit) (log scale)", scale: .log)
            case .powerLaw: title = "Power law: mean exit \(unit) against \(x)"; yAxis = .init("mean exit \(unit) (log scale)", scale: .log)
            case .saddle: title = "Saddle law: mean exit \(unit) against ln \(x)"; yAxis = .init("mean exit \(unit)")
            case .sideRate: title = "Escape rate per exit side against \(x)"; yAxis = .init("rate per side, 1/\(unit) (log scale)", scale: .log)
            }
            figures.append(Figure(
                name: "scaling-\(n + 1)",
                title: title,
                x: xAxis, y: yAxis, series: series,
                caption: "Points: Monte Carlo means with 95 % error bars (hollow: more than 10 % of paths censored). Dashed: weighted fits. Solid/dotted lines: exact references/theory. Dotted: the predicted slope drawn through each fit's centre of mass (only the slope is predicted)."))
        }
        // Goodness of fit: standardized residuals of the Monte Carlo fits.
        // (side-rate fits: their χ² is in the table; one series per side would crowd the figure)
        let mc = fits.filter { $0.isMonteCarlo && $0.kind != .sideRate }
        if !mc.isEmpty {
            var series: [Figure.Series] = []
            var lo = Double.infinity, hi = -Double.infinity
            for (k, f) in mc.enumerated() {
                let xs = f.points.map(\.x)
                let r = f.points.map { p -> Double in
                    (f.response(p.mean) - f.fit.intercept - f.fit.slope * f.design(p.x)) / f.responseError(p)
                }
                lo = min(lo, xs.min()!); hi = max(hi, xs.max()!)
                series.append(Figure.Series("\(seriesName(f)) (\(f.kind.rawValue) in \(axisLabel(f.axis)), χ²/dof \(Format.number(f.fit.chiSquared / Double(f.fit.degreesOfFreedom), significant: 3)))",
                                            mark: .points, x: xs, y: r, marker: [.circle, .square, .triangle][k % 3], colorIndex: k))
            }
            for (y, name) in [(2.0, "±2 (95 % of points if the line holds)"), (-2.0, "")] {
                series.append(Figure.Series(name, mark: .line, x: [lo, hi], y: [y, y], lineStyle: .dotted, colorIndex: 7))
            }
            figures.append(Figure(
                name: "residuals", title: "Goodness of fit: standardized residuals of the Monte Carlo fits",
                x: .init("abscissa of each fit (1/ε, B/η, … or the power law's x)"), y: .init("(log τ − fit) / σ"), series: series,
                caption: "Residuals in units of each point's delta-method error\(mc.contains { $0.kind == .saddle } ? " (its SE for the saddle law, fitted in E τ itself)" : ""). Scatter within ±2 and no trend: the straight line describes the points; a curved pattern is the law's finite-noise curvature (see the prefactor-corrected fit)."))
        }
        return figures
    }

    /// Survival S(t) against t/E τ on a log scale, a few cells per Monte Carlo experiment, with
    /// the exponential law e^{−t/Eτ} that metastable exits follow.
    static func survival(_ input: ReportInput) throws -> [Figure] {
        var figures: [Figure] = []
        let byExperiment = Dictionary(grouping: input.cells.filter(\.isMonteCarlo), by: \.experimentIndex)
        for e in byExperiment.keys.sorted() {
            let cells = byExperiment[e]!.sorted { $0.cellIndex < $1.cellIndex }.filter { ($0.mean ?? 0) > 0 }
            guard !cells.isEmpty else { continue }
            let pick = cells.count <= 6 ? cells : (0..<6).map { cells[$0 * (cells.count - 1) / 5] }
            var series: [Figure.Series] = []
            var tMax = 0.0
            let swept = Set(ScalingAnalysis.sweptKeys(cells)).subtracting(["dt"])
            for (k, cell) in pick.enumerated() {
                let samples = try input.samples(of: cell)
                guard samples.count > 0, let m = cell.mean else { continue }
                let curve = SurvivalCurve(samples: samples, scale: 1 / m)
                tMax = max(tMax, curve.times.last ?? 0)
                series.append(Figure.Series(Format.parameters(cell.parameters.filter { swept.contains($0.key) }), mark: .step,
                                            x: curve.times, y: curve.survival, colorIndex: k))
            }
            guard !series.isEmpty else { continue }
            let grid = (0...40).map { min(tMax, 6) * Double($0) / 40 }
            series.append(Figure.Series("exponential e^(−t/Eτ)", mark: .line, x: grid, y: grid.map { exp(-$0) },
                                        lineStyle: .dashed, colorIndex: 7))
            figures.append(Figure(
                name: "survival-\(cells[0].experiment.filter { $0.isLetter || $0.isNumber || $0 == "-" })",
                title: "Survival P(τ > t), experiment \(cells[0].experiment)",
                x: .init("t / E τ"), y: .init("P(τ > t) (log scale)", scale: .log, range: 1e-3...1), series: series,
                caption: "Empirical survival functions (censored paths survive to the cap). A straight line on this scale is the exponential law of a metastable exit; curvature at small t is the time to relax into the basin."))
        }
        return figures
    }

    /// Fraction of paths leaving by each exit side (and diverging) against the first swept
    /// parameter, for experiments with two or more sides or any divergence.
    static func exitSides(_ input: ReportInput) -> [Figure] {
        var figures: [Figure] = []
        // Monte Carlo exits, and where fixed-horizon (`convergence`) paths ended
        let byExperiment = Dictionary(grouping: input.cells.filter { $0.isMonteCarlo || ($0.method == ConvergenceMethod.name && $0.paths > 0) },
                                      by: \.experimentIndex)
        for e in byExperiment.keys.sorted() {
            let cells = byExperiment[e]!.sorted { $0.cellIndex < $1.cellIndex }
            guard let first = cells.first, first.exitSides.count >= 2 || cells.contains(where: { $0.diverged > 0 }) else { continue }
            let swept = ScalingAnalysis.sweptKeys(cells).filter { $0 != "dt" }
            guard let xKey = swept.first(where: { $0 == "learning_rate" }) ?? swept.first else { continue }
            let others = swept.filter { $0 != xKey }
            var series: [Figure.Series] = []
            var groupIDs: [String] = []
            var groups: [String: [ReportCell]] = [:]
            for c in cells {
                let id = Format.parameters(others.map { (key: $0, value: c.parameter($0) ?? .nan) })
                if groups[id] == nil { groupIDs.append(id) }
                groups[id, default: []].append(c)
            }
            var color = 0
            let labels = first.exitSides.map(\.label) + ["diverged", first.method == ConvergenceMethod.name ? "censored (still in the start region)" : "censored"]
            for id in groupIDs {
                let g = groups[id]!.sorted { ($0.parameter(xKey) ?? 0) < ($1.parameter(xKey) ?? 0) }
                for (s, label) in labels.enumerated() {
                    let counts = g.map { c -> Double in
                        let n = s < first.exitSides.count ? c.exitSides[s].count : (s == first.exitSides.count ? c.diverged : c.censored)
                        return Double(n)
                    }
                    guard counts.contains(where: { $0 > 0 }) else { continue }
                    let ps = zip(counts, g).map { $0 / Double(max($1.paths, 1)) }
                    let se = zip(ps, g).map { p, c in (p * (1 - p) / Double(max(c.paths, 1))).squareRoot() }
                    series.append(Figure.Series("\(label)\(id.isEmpty ? "" : ", " + id)", mark: .points,
                                                x: g.map { $0.parameter(xKey) ?? .nan }, y: ps,
                                                yLow: zip(ps, se).map { max($0 - 1.96 * $1, 0) },
                                                yHigh: zip(ps, se).map { min($0 + 1.96 * $1, 1) },
                                                marker: [.circle, .square, .triangle, .openCircle][s % 4], colorIndex: color))
                    color += 1
                }
            }
            // the stability thresholds as vertical lines, when one set applies to the whole experiment
            if xKey == "learning_rate" {
                let rows = StabilityAnalysis.rows(input).filter { $0.cell.experimentIndex == e }
                let sets = Set(rows.map { $0.thresholds.map { "\($0.name)=\($0.value)" }.joined(separator: ",") })
                if sets.count == 1, let r = rows.first {
                    let styles: [Figure.LineStyle] = [.dotted, .dashed, .solid]
                    for (k, t) in r.thresholds.enumerated() where t.value.isFinite && t.value > 0 {
                        series.append(Figure.Series("\(t.name) η_c = \(Format.number(t.value, significant: 3))", mark: .line,
                                                    x: [t.value, t.value], y: [0, 1], lineStyle: styles[k % 3], colorIndex: 5 + k))
                    }
                }
            }
            figures.append(Figure(
                name: "exit-sides-\(first.experiment.filter { $0.isLetter || $0.isNumber || $0 == "-" })",
                title: first.method == ConvergenceMethod.name ? "Where paths end after the fixed horizon, experiment \(first.experiment)"
                                                     : "Where paths leave, experiment \(first.experiment)",
                x: .init(Format.parameterName(xKey), scale: xKey == "learning_rate" ? .log : .linear),
                y: .init("fraction of paths", range: 0...1), series: series,
                caption: "Fraction of paths leaving by each exit side, diverging or censored, with 95 % binomial error bars."))
        }
        return figures
    }

    /// Sharpness of the minima fixed-horizon SGD reached (mean ‖H‖_F with its 95 % interval)
    /// against the alignment bound √(B/μ)/η of the same cell (Wu, Wang & Su; docs/THEORY.md §3),
    /// with the line sharpness = bound: points below it respect the bound.
    static func sharpness(_ input: ReportInput) -> [Figure] {
        let cells = input.cells.filter {
            $0.method == ConvergenceMethod.name && $0.quantity("mean_hessian_frobenius_norm") != nil && $0.quantity("hessian_frobenius_bound") != nil
        }
        guard !cells.isEmpty else { return [] }
        var series: [Figure.Series] = []
        let byExperiment = Dictionary(grouping: cells, by: \.experimentIndex)
        var lo = Double.infinity, hi = 0.0
        for (k, e) in byExperiment.keys.sorted().enumerated() {
            let g = byExperiment[e]!.sorted { $0.cellIndex < $1.cellIndex }
            let x = g.map { $0.quantity("hessian_frobenius_bound")! }
            let y = g.map { $0.quantity("mean_hessian_frobenius_norm")! }
            let se = g.map { $0.quantity("mean_hessian_frobenius_norm_standard_error") ?? 0 }
            lo = min(lo, (x + y).min()!); hi = max(hi, (x + y).max()!)
            series.append(Figure.Series(g[0].experiment, mark: .points, x: x, y: y,
                                        yLow: zip(y, se).map { max($0 - 1.96 * $1, $0 * 1e-3) }, yHigh: zip(y, se).map { $0 + 1.96 * $1 },
                                        marker: [.circle, .square, .triangle][k % 3], colorIndex: k))
        }
        guard lo.isFinite, lo > 0 else { return [] }
        series.append(Figure.Series("sharpness = bound", mark: .line, x: [lo, hi], y: [lo, hi], lineStyle: .dotted, colorIndex: 7))
        return [Figure(name: "sharpness-bound", title: "Sharpness of the minima reached against the alignment bound",
                       x: .init("bound √(B/μ)/η", scale: .log), y: .init("mean ‖H‖_F at the end", scale: .log), series: series,
                       caption: "One point per (η, B) cell with surviving paths: mean Frobenius norm of the Hessian where SGD ended (95 % interval) against the bound of the same cell at its mean alignment μ. Below the dotted line the bound holds.")]
    }

    /// Ratio of mean exit iterations of one simulation to another (discrete SGD over its SDE)
    /// or to an exact reference, against η, with 95 % intervals and the line of agreement.
    static func ratios(_ comparisons: [Comparison]) -> [Figure] {
        var keys: [String] = []
        var grouped: [String: [Comparison]] = [:]
        for c in comparisons where (c.kind == .simulation || c.kind == .model) && c.a.parameter("learning_rate") != nil {
            let k = "\(c.a.experiment) / \(c.b.experiment)"
            if grouped[k] == nil { keys.append(k) }
            grouped[k, default: []].append(c)
        }
        var figures: [Figure] = []
        var series: [Figure.Series] = []
        var color = 0
        var lo = Double.infinity, hi = 0.0
        for k in keys {
            let cs = grouped[k]!
            let others = ScalingAnalysis.sweptKeys(cs.map(\.a)).filter { $0 != "learning_rate" && $0 != "dt" }
            var ids: [String] = []
            var groups: [String: [Comparison]] = [:]
            for c in cs {
                let id = Format.parameters(others.map { (key: $0, value: c.a.parameter($0) ?? .nan) })
                if groups[id] == nil { ids.append(id) }
                groups[id, default: []].append(c)
            }
            for id in ids {
                let g = groups[id]!.sorted { $0.a.parameter("learning_rate")! < $1.a.parameter("learning_rate")! }
                let xs = g.map { $0.a.parameter("learning_rate")! }
                lo = min(lo, xs.min()!); hi = max(hi, xs.max()!)
                series.append(Figure.Series("\(k)\(id.isEmpty ? "" : ", " + id)", mark: .points, x: xs, y: g.map(\.ratio),
                                            yLow: g.map { $0.ratioCI95[0] }, yHigh: g.map { $0.ratioCI95[1] },
                                            marker: [.circle, .square, .triangle][color % 3], colorIndex: color))
                color += 1
            }
        }
        guard !series.isEmpty else { return [] }
        series.append(Figure.Series("agreement (ratio 1)", mark: .line, x: [lo, hi], y: [1, 1], lineStyle: .dotted, colorIndex: 7))
        figures.append(Figure(
            name: "ratios", title: "Mean exit iterations: simulation / reference, against η",
            x: .init("learning rate η", scale: .log), y: .init("ratio of mean exit iterations", scale: .log), series: series,
            caption: "Ratios with 95 % intervals (delta method). Below 1: the first experiment leaves faster. Where discrete SGD departs from its SDE, the diffusion approximation has broken down."))
        return figures
    }
}
