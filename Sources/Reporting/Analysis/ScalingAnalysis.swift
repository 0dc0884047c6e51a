import Foundation
import Jobs
import Diffusion

/// One point of a scaling fit: a cell's mean exit time at abscissa `x`.
public struct ScalingPoint: Sendable {
    public var cell: ReportCell
    public var x: Double
    /// Mean exit time in the fit's unit, and its standard error (Monte Carlo SE, or the
    /// deterministic method's own error estimate).
    public var mean: Double
    public var standardError: Double
    /// Why the point deserves a second look (censoring-dominated, divergence), or nil.
    public var flag: String?
}

/// A fitted scaling law for one experiment (and one value of any swept parameter that the
/// abscissa does not absorb), with everything the report sets beside it.
public struct ScalingFitResult: Sendable {
    public enum Kind: String, Sendable { case arrhenius, powerLaw = "power law" }
    public var kind: Kind
    public var experiment: String
    public var experimentIndex: Int
    public var dynamics: String
    public var method: String
    /// "1/epsilon", "1/eta", "B/eta", or for a power law the parameter key.
    public var axis: String
    /// "iterations" or "time".
    public var unit: String
    /// Swept parameters held fixed within this fit (not absorbed by the abscissa).
    public var group: [(key: String, value: Double)]
    public var points: [ScalingPoint]
    public var excluded: [(cell: ReportCell, reason: String)]
    public var fit: LinearFit
    /// Percentile bootstrap interval of the slope over paths (Monte Carlo experiments).
    public var bootstrapCI95: [Double]?
    /// `log τ = a + S·x + c/x` (Arrhenius with its first-order prefactor correction), ≥ 4 points.
    public var corrected: MultiLinearFit?
    public var predicted: (value: Double, source: String)?
    public var weighting: String

    public var isMonteCarlo: Bool { MethodRegistry.kind(of: method) == .simulation }
    /// The steepness comparison (discrete SGD, x = B/η): fitted slope / predicted steepness.
    public var isSteepness: Bool { kind == .arrhenius && axis == "B/eta" && dynamics == DynamicsKind.sgd.rawValue && isMonteCarlo }
    public var ratioToPrediction: (value: Double, ci95: [Double])? {
        guard let p = predicted?.value, p != 0 else { return nil }
        let ci = fit.slopeCI95.map { $0 / p }
        return (fit.slope / p, ci.sorted())
    }
    /// Does the prediction lie inside the slope's 95 % interval (the wider of the fit's and the bootstrap's)?
    public var predictionInsideCI: Bool? {
        guard let p = predicted?.value else { return nil }
        var lo = fit.slopeCI95[0], hi = fit.slopeCI95[1]
        if let b = bootstrapCI95 { lo = min(lo, b[0]); hi = max(hi, b[1]) }
        return p >= lo && p <= hi
    }
}

/// Scaling-law fits of a job's mean exit times (docs/THEORY.md §5, item 2):
///
/// - **Arrhenius** `log E τ = a + S·x`, `x ∈ {1/ε, 1/η, B/η}` — chosen by `[report]
///   arrhenius_x` or inferred from the swept axis (ε swept → 1/ε; η or B swept → B/η, or 1/η
///   when the dynamics has no batch size). When the abscissa involves η, discrete SGD and
///   `sgd-sde` are fitted in η·E[iterations] = E[t]: Hu et al.'s N ≈ η⁻¹exp(B·s/η) then has
///   no η-dependent prefactor, and at fixed η the slope equals that of log E[iterations].
/// - **Power law** `log E τ = a + p·log x` for `[report] power_law_x` (or ε for Lévy dynamics).
///
/// Monte Carlo points are weighted by the delta-method error σ_{log τ} = SE/τ (first-order;
/// bias O((SE/τ)²)), with a path bootstrap interval beside the fit's; deterministic points
/// (grid, chain, theory) are fitted unweighted, so their interval reflects only lack of fit.
/// Censoring-dominated points (> 10 % censored) stay in the fit with the censoring-aware
/// estimate and are flagged; cells without an estimate are listed as excluded, never dropped
/// silently.
public enum ScalingAnalysis {
    /// Parameters that an abscissa absorbs (so they do not split fits into groups).
    static func absorbed(_ axis: String) -> Set<String> {
        switch axis {
        case "1/epsilon": return ["epsilon", "dt"]
        case "1/eta", "B/eta": return ["learning_rate", "batch_size", "dt"]
        default: return [axis, "dt"]
        }
    }

    static func sweptKeys(_ cells: [ReportCell]) -> [String] {
        guard let first = cells.first else { return [] }
        return first.parameters.map(\.key).filter { key in
            Set(cells.compactMap { $0.parameter(key) }).count > 1
        }
    }

    static func inferredAxis(_ cells: [ReportCell], options: ReportOptions) -> String? {
        let swept = Set(sweptKeys(cells))
        // heavy-tailed noise escapes by jumps (a power law in ε, docs/THEORY.md §4): no Arrhenius
        // law unless asked for
        let heavyTailed = cells.first?.dynamics == .levy || cells.first?.parameter("noise.alpha") != nil
        if heavyTailed && options.arrheniusX == nil { return nil }
        if options.arrheniusX == "none" { return nil }
        if let chosen = options.arrheniusX {
            let needs: Set<String> = chosen == "1/epsilon" ? ["epsilon"] : ["learning_rate", "batch_size"]
            return swept.isDisjoint(with: needs) ? nil : chosen
        }
        if swept.contains("epsilon") { return "1/epsilon" }
        if swept.contains("learning_rate") || swept.contains("batch_size") {
            return cells.first?.parameter("batch_size") != nil || cells.first?.dynamics == .sgd ? "B/eta" : "1/eta"
        }
        return nil
    }

    static func abscissa(_ axis: String, _ cell: ReportCell) -> Double? {
        switch axis {
        case "1/epsilon": return cell.parameter("epsilon").map { 1 / $0 }
        case "1/eta": return cell.parameter("learning_rate").map { 1 / $0 }
        case "B/eta": return cell.parameter("learning_rate").map { (cell.parameter("batch_size") ?? 1) / $0 }
        default: return cell.parameter(axis)
        }
    }

    /// The value and error a fit uses for `cell` in `unit`.
    static func value(_ cell: ReportCell, unit: String) -> (mean: Double, se: Double)? {
        var mean = unit == "iterations" ? cell.meanIterations : cell.mean
        var se = unit == "iterations" ? cell.iterationsStandardError : cell.standardError
        if unit == "time", cell.timeUnit == .iterations, let eta = cell.parameter("learning_rate") {
            mean = mean.map { $0 * eta }; se = se.map { $0 * eta }
        }
        guard let mean, mean.isFinite, mean > 0 else { return nil }
        if cell.isMonteCarlo {
            guard let se, se > 0, se.isFinite else { return nil }
            return (mean, se)
        }
        let methodError = (cell.methodError ?? 0) * unitScale(cell, unit: unit)
        return (mean, abs(methodError))
    }

    /// The factor taking a cell's stored times (its `timeUnit`) into `unit`.
    static func unitScale(_ cell: ReportCell, unit: String) -> Double {
        let eta = cell.parameter("learning_rate") ?? 1
        if unit == "time" && cell.timeUnit == .iterations { return eta }
        if unit == "iterations" && cell.timeUnit == .time { return 1 / eta }
        return 1
    }

    /// All fits of the job: for each experiment with a finite mean per cell.
    public static func fits(_ input: ReportInput) throws -> [ScalingFitResult] {
        var out: [ScalingFitResult] = []
        let byExperiment = Dictionary(grouping: input.cells, by: \.experimentIndex)
        for e in byExperiment.keys.sorted() {
            let cells = byExperiment[e]!.sorted { $0.cellIndex < $1.cellIndex }
            guard let first = cells.first, first.method != MinimumActionMethod.name,
                  !(first.methodKind == .theory && first.mean == nil) else { continue }
            // a start at a saddle has no barrier to cross: no Arrhenius law (Hu et al. 2019's
            // saddle escape is logarithmic in 1/η instead)
            if !startsAtSaddle(input, first), let axis = inferredAxis(cells, options: input.spec.report) {
                out += try fitGroups(input, cells: cells, axis: axis, kind: .arrhenius)
            }
            if let key = input.spec.report.powerLawX ?? (first.dynamics == .levy ? "epsilon" : nil),
               sweptKeys(cells).contains(key) {
                out += try fitGroups(input, cells: cells, axis: key, kind: .powerLaw)
            }
        }
        return out
    }

    /// Whether `cell` starts at a saddle of its landscape (a labelled critical point of kind saddle).
    static func startsAtSaddle(_ input: ReportInput, _ cell: ReportCell) -> Bool {
        guard let setting = input.setting(of: cell) else { return false }
        return setting.landscape.criticalPoints.contains { $0.kind == .saddle && $0.point == setting.start }
    }

    static func fitGroups(_ input: ReportInput, cells: [ReportCell], axis: String, kind: ScalingFitResult.Kind) throws -> [ScalingFitResult] {
        let first = cells[0]
        // Abscissae in η are fitted in η·E[iterations] = E[t]: Hu et al.'s N ≈ η⁻¹exp(B·s/η)
        // then has no η-dependent prefactor, and at fixed η the slope is that of log E[iterations].
        let unit = kind == .arrhenius && axis != "1/epsilon" && first.parameter("learning_rate") != nil ? "time" : first.timeUnit.rawValue
        let groupKeys = sweptKeys(cells).filter { !absorbed(axis).contains($0) }
        var groups: [String: [ReportCell]] = [:]
        var order: [(id: String, values: [(key: String, value: Double)])] = []
        for cell in cells {
            let g = groupKeys.map { (key: $0, value: cell.parameter($0) ?? .nan) }
            let id = g.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            if groups[id] == nil { order.append((id, g)) }
            groups[id, default: []].append(cell)
        }
        var out: [ScalingFitResult] = []
        for (id, g) in order {
            var points: [ScalingPoint] = []
            var excluded: [(cell: ReportCell, reason: String)] = []
            for cell in groups[id]! {
                guard let x = abscissa(axis, cell), x.isFinite, kind == .arrhenius || x > 0 else {
                    excluded.append((cell, "no abscissa \(axis)")); continue
                }
                guard let v = value(cell, unit: unit) else {
                    let bound = cell.lowerBound.map { "; restricted mean (a lower bound) \(Format.number($0))" } ?? ""
                    let tail = cell.estimator.hasPrefix(ExitTimeEstimate.tailNotShownExponential) ? "; exit law not shown exponential past the cap" : ""
                    excluded.append((cell, "no estimate of the mean (\(cell.exited) of \(cell.paths) paths exited\(bound)\(tail))"))
                    continue
                }
                var flag: String? = nil
                if cell.censoringDominated {
                    flag = "censoring-dominated: \(Format.percent(cell.censoredFraction)) censored; mean from the Kaplan–Meier restricted mean + exponential tail"
                } else if cell.diverged > 0 {
                    flag = "\(cell.diverged) of \(cell.paths) paths diverged"
                }
                points.append(ScalingPoint(cell: cell, x: x, mean: v.mean, standardError: v.se, flag: flag))
            }
            guard points.count >= 3, Set(points.map(\.x)).count >= 2 else { continue }
            let xs = points.map { kind == .powerLaw ? log($0.x) : $0.x }
            let ys = points.map { log($0.mean) }
            let mc = first.isMonteCarlo
            let sigmas = mc ? points.map { $0.standardError / $0.mean } : Array(repeating: 1.0, count: points.count)
            let fit: LinearFit
            do { fit = try LinearFit(x: xs, y: ys, standardErrors: sigmas, errorsKnown: mc) } catch { continue }
            var corrected: MultiLinearFit? = nil
            if kind == .arrhenius, points.count >= 4, xs.allSatisfy({ $0 > 0 }) {
                corrected = try? MultiLinearFit(design: xs.map { [1, $0, 1 / $0] }, y: ys, standardErrors: sigmas, errorsKnown: mc)
            }
            var bootstrap: [Double]? = nil
            if mc {
                let samples = try points.map { p -> ResultsStore.CellSamples? in try input.samples(of: p.cell) }
                let boot = PathBootstrap(samples: samples, seed: input.spec.seed)
                if boot.hasPaths {
                    let scale = points.map { unitScale($0.cell, unit: unit) }
                    let slopes = boot.replicate(fixed: points.map(\.mean), unitScale: scale) { means in
                        try? LinearFit(x: xs, y: means.map { log($0) }, standardErrors: sigmas).slope
                    }
                    bootstrap = PathBootstrap.percentileInterval(slopes)
                }
            }
            out.append(ScalingFitResult(
                kind: kind, experiment: first.experiment, experimentIndex: first.experimentIndex, dynamics: first.dynamics.rawValue,
                method: first.method, axis: axis, unit: unit, group: g, points: points, excluded: excluded, fit: fit,
                bootstrapCI95: bootstrap, corrected: corrected,
                predicted: kind == .arrhenius ? predictedSlope(input, for: groups[id]![0], axis: axis)
                    : predictedPower(input, cells: groups[id]!),
                weighting: mc ? "weighted by the delta-method error SE/τ" : "unweighted (deterministic values; the interval reflects lack of fit only)"))
        }
        return out
    }

    /// The barrier the Arrhenius slope should recover: `[report] predicted_slope`, or the
    /// quasi-potential of a `minimum-action` experiment of the same job (V̄ for Langevin in
    /// 1/ε; the steepness s for sgd / sgd-sde in B/η, Hu et al. 2019) computed on the same
    /// landscape, start and exit region as `cell` (an experiment's own, or the job's).
    static func predictedSlope(_ input: ReportInput, for fitted: ReportCell, axis: String) -> (value: Double, source: String)? {
        let dynamics = fitted.dynamics.rawValue
        if let s = input.spec.report.predictedSlope {
            return (s, input.spec.report.predictedSlopeSource ?? "[report] predicted_slope")
        }
        let family: Set<String> = Set((axis == "1/epsilon" ? [DynamicsKind.langevin] : [.sgd, .sgdSDE]).map(\.rawValue))
        guard family.contains(dynamics) else { return nil }
        guard axis != "1/eta" else { return nil }
        let geometry = input.setting(of: fitted)
        for cell in input.cells where cell.method == MinimumActionMethod.name && family.contains(cell.dynamics.rawValue) {
            if let geometry, let other = input.setting(of: cell), !geometry.sameGeometry(as: other) { continue }
            if let b = cell.quantity("quasi_potential_barrier") {
                return (b, axis == "1/epsilon" ? "quasi-potential barrier V̄ (minimum action, experiment '\(cell.experiment)')"
                                               : "steepness s (minimum action under Σ₁, experiment '\(cell.experiment)')")
            }
        }
        return nil
    }

    static func predictedPower(_ input: ReportInput, cells: [ReportCell]) -> (value: Double, source: String)? {
        if let p = input.spec.report.predictedPower { return (p, "[report] predicted_power") }
        if cells.first?.dynamics == .levy, let alpha = cells.first?.parameter("alpha"),
           cells.allSatisfy({ $0.parameter("alpha") == alpha }) {
            return (-alpha, "Imkeller–Pavlyukevich: E τ ∝ ε^(−α) (docs/THEORY.md §4)")
        }
        return nil
    }
}
