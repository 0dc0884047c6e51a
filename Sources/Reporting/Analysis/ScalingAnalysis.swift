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
    public enum Kind: String, Sendable {
        /// `log E τ = a + S·x`.
        case arrhenius
        /// `log E τ = a + p·log x`.
        case powerLaw = "power law"
        /// `E τ = a + b·ln x` (escape from a saddle, Hu et al. 2019; docs/THEORY.md §2).
        case saddle = "saddle law"
        /// `log k_side = a + S·x`, the escape rate through one exit side (docs/THEORY.md §5).
        case sideRate = "side rate"

        /// The fit's regressor: log x for power and saddle laws, x otherwise.
        public func design(_ x: Double) -> Double { self == .powerLaw || self == .saddle ? log(x) : x }
        /// The fit's response: the mean itself for the saddle law, its logarithm otherwise.
        public func response(_ y: Double) -> Double { self == .saddle ? y : log(y) }
        public func inverseResponse(_ r: Double) -> Double { self == .saddle ? r : exp(r) }
        /// A point's error on the response scale: SE, or the delta-method SE/τ on the log scale.
        public func responseError(mean: Double, standardError: Double) -> Double { self == .saddle ? standardError : standardError / mean }
    }
    public var kind: Kind
    public var experiment: String
    public var experimentIndex: Int
    public var dynamics: String
    public var method: String
    /// The abscissa as written, whitespace removed ("1/epsilon", "B/eta", "1/landscape.h_sharp", …).
    public var axis: String
    /// "iterations" or "time" (η·iterations for SGD and its SDE, docs/THEORY.md §5).
    public var unit: String
    /// Whether the unit is η·iterations = t (the cells have a learning rate).
    public var etaScaled: Bool
    /// Swept parameters held fixed within this fit (not absorbed by the abscissa).
    public var group: [(key: String, value: Double)]
    /// The exit side (its term's label) of a side-rate fit.
    public var side: String?
    /// For side-rate fits `mean` is the rate k_side and `standardError` its delta-method error.
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

    public func design(_ x: Double) -> Double { kind.design(x) }
    public func response(_ y: Double) -> Double { kind.response(y) }
    public func inverseResponse(_ r: Double) -> Double { kind.inverseResponse(r) }
    public func responseError(_ p: ScalingPoint) -> Double { kind.responseError(mean: p.mean, standardError: p.standardError) }
    /// The fitted law at abscissa x, on the points' scale.
    public func curve(_ x: Double) -> Double { inverseResponse(fit.intercept + fit.slope * design(x)) }

    /// The law as the report writes it.
    public var law: String {
        let x = ReportFigures.axisLabel(axis)
        switch kind {
        case .arrhenius: return "log E τ = a + S·\(x)"
        case .powerLaw: return "log E τ = a + p·log \(x)"
        case .saddle: return "E τ = a + b·ln \(x)"
        case .sideRate: return "log k[\(side ?? "")] = a + S·\(x)"
        }
    }
    /// The unit as the report writes it.
    public var unitDescription: String {
        let u = unit == "time" && etaScaled ? "time t = η·iterations" : unit
        return kind == .sideRate ? "rate per unit \(u)" : u
    }
}

/// A fit the report would make but cannot, and why (shown, never dropped silently).
public struct MissingFit: Sendable {
    public var kind: ScalingFitResult.Kind
    public var experiment: String
    public var axis: String
    public var group: [(key: String, value: Double)]
    public var side: String?
    public var reason: String
}

/// Scaling-law fits of a job's mean exit times (docs/THEORY.md §5, item 2):
///
/// - **Arrhenius** `log E τ = a + S·x` with x given by `[report] arrhenius_x`, any expression
///   of the cells' parameters (`FitAbscissa`), or inferred from the swept axis (ε swept → 1/ε;
///   η or B swept → B/η, or 1/η when the dynamics has no batch size).
/// - **Power law** `log E τ = a + p·log x` for `[report] power_law_x` (or ε for Lévy dynamics).
/// - **Saddle law** `E τ = a + b·ln x` for `[report] saddle_law_x` (Hu et al. 2019: from a
///   saddle E t ≈ (1/(2λ))·ln(1/η) + const, docs/THEORY.md §2), compared with the slope of a
///   theory experiment of the same dynamics fitted the same way.
/// - **Per exit side** `log k_side = a + S·x` beside each Monte Carlo Arrhenius fit of an
///   experiment whose exit region has two or more terms (`ExitSideAnalysis`).
///
/// One fit per combination of the swept parameters that the abscissa does not read
/// (`group`); a group with fewer than three usable points, fewer than two distinct abscissae
/// or a failed fit is listed in `missing` with the reason.
///
/// Unit: wherever the cells have a learning rate (discrete SGD and its SDE) every fit is made
/// in t = η·E[iterations], the SDE's time: Hu et al.'s N ≈ η⁻¹exp(B·s/η) then has no
/// η-dependent prefactor, SGD and its SDE share one unit (their power-law exponents in η are
/// comparable), and at fixed η slopes equal those of log E[iterations].
///
/// Monte Carlo points are weighted by the delta-method error σ_{log τ} = SE/τ (first-order;
/// bias O((SE/τ)²)) — by SE itself for the saddle law, which is linear in E τ — with a path
/// bootstrap interval beside the fit's; deterministic points (grid, chain, theory) are fitted
/// unweighted, so their interval reflects only lack of fit. Censoring-dominated points (> 10 %
/// censored) stay in the fit with the censoring-aware estimate and are flagged; cells without
/// an estimate are listed as excluded, never dropped silently.
public enum ScalingAnalysis {
    /// Fits made and fits that could not be made.
    public struct Outcome: Sendable {
        public var fits: [ScalingFitResult] = []
        public var missing: [MissingFit] = []
    }

    /// An abscissa resolved against one experiment's cells.
    struct Axis {
        var abscissa: FitAbscissa
        /// The parameter key of each name.
        var keys: [String]
        var text: String { abscissa.canonical }
        /// Parameters the abscissa absorbs (they do not split fits into groups); the step dt is
        /// never a group (a discretisation setting).
        var absorbed: Set<String> { Set(keys).union(["dt"]) }

        func value(_ cell: ReportCell) -> Double? {
            var values: [Double] = []
            for k in keys {
                // B is 1 where an SGD cell records no batch size
                guard let v = cell.parameter(k) ?? (k == "batch_size" && cell.parameter("learning_rate") != nil ? 1 : nil) else { return nil }
                values.append(v)
            }
            return abscissa.value(values)
        }
    }

    /// The swept parameters that vary among `cells`: a parameter derived from the swept ones
    /// (SGLD's matched temperature, which follows η and B) varies too but is not an axis, so it
    /// neither splits fits into groups nor counts as swept.
    static func sweptKeys(_ cells: [ReportCell]) -> [String] {
        guard let first = cells.first else { return [] }
        // within one experiment its own axes are known; across experiments every varying key counts
        let oneExperiment = cells.allSatisfy { $0.experimentIndex == first.experimentIndex }
        let axes = Set(first.sweptAxes)
        return first.parameters.map(\.key).filter { key in
            (!oneExperiment || axes.isEmpty || axes.contains(key)) && Set(cells.compactMap { $0.parameter(key) }).count > 1
        }
    }

    /// `abscissa` resolved against `cells`' parameters (nil: not resolvable, with the reason).
    static func resolve(_ abscissa: FitAbscissa, _ cells: [ReportCell]) -> Result<Axis, FitAbscissa.ResolutionError> {
        var keys = Set(cells.flatMap { $0.parameters.map(\.key) })
        if keys.contains("learning_rate") { keys.insert("batch_size") }
        return abscissa.resolve(keys: keys).map { Axis(abscissa: abscissa, keys: $0) }
    }

    static func inferredAbscissae(_ cells: [ReportCell], options: ReportOptions) -> [FitAbscissa] {
        if options.arrheniusOff { return [] }
        if !options.arrheniusX.isEmpty { return options.arrheniusX }
        return inferredAbscissa(cells).map { [$0] } ?? []
    }

    static func inferredAbscissa(_ cells: [ReportCell]) -> FitAbscissa? {
        // heavy-tailed noise escapes by jumps (a power law in ε, docs/THEORY.md §4): no Arrhenius
        // law unless asked for
        let heavyTailed = cells.first?.dynamics == .levy || cells.first?.parameter("noise.alpha") != nil
        if heavyTailed { return nil }
        let swept = Set(sweptKeys(cells))
        if swept.contains("epsilon") { return try? FitAbscissa("1/epsilon") }
        if swept.contains("learning_rate") || swept.contains("batch_size") {
            return try? FitAbscissa(cells.first?.parameter("batch_size") != nil || cells.first?.dynamics == .sgd ? "B/eta" : "1/eta")
        }
        return nil
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

    /// The unit of every fit of `cell`'s experiment: time (η·iterations where there is a learning rate).
    static func unit(_ cell: ReportCell) -> String {
        cell.timeUnit == .iterations && cell.parameter("learning_rate") == nil ? TimeUnit.iterations.rawValue : TimeUnit.time.rawValue
    }

    /// All fits of the job: for each experiment with a finite mean per cell.
    public static func fits(_ input: ReportInput) throws -> [ScalingFitResult] { try analyse(input).fits }

    /// All fits of the job, and the fits that could not be made with the reason.
    public static func analyse(_ input: ReportInput) throws -> Outcome {
        var out = Outcome()
        let options = input.spec.report
        let byExperiment = Dictionary(grouping: input.cells, by: \.experimentIndex)
        var unresolved: [(kind: ScalingFitResult.Kind, abscissa: FitAbscissa, error: FitAbscissa.ResolutionError)] = []
        var resolvedSomewhere: Set<String> = []
        let anySaddleStart = byExperiment.values.contains { $0.first.map { startsAtSaddle(input, $0) } ?? false }
        for e in byExperiment.keys.sorted() {
            let cells = byExperiment[e]!.sorted { $0.cellIndex < $1.cellIndex }
            // methods that estimate no exit time (minimum action: a barrier; fixed-horizon and
            // tail-index sampling; stability theory) have nothing to fit
            guard let first = cells.first, first.method != MinimumActionMethod.name, first.methodKind != .sampling,
                  !(first.methodKind == .theory && first.mean == nil) else { continue }
            let swept = Set(sweptKeys(cells))
            var laws: [(ScalingFitResult.Kind, FitAbscissa)] = []
            // a start at a saddle has no barrier to cross: no Arrhenius law (Hu et al. 2019's
            // saddle escape is logarithmic in 1/η instead: saddle_law_x)
            if !startsAtSaddle(input, first) {
                for a in inferredAbscissae(cells, options: options) { laws.append((.arrhenius, a)) }
            }
            if let a = options.powerLawX ?? (first.dynamics == .levy ? try? FitAbscissa("epsilon") : nil) { laws.append((.powerLaw, a)) }
            // the saddle law is for saddle starts: when some experiments start at a known saddle, only those
            if let a = options.saddleLawX, !anySaddleStart || startsAtSaddle(input, first) { laws.append((.saddle, a)) }
            for (kind, abscissa) in laws {
                let axis: Axis
                switch resolve(abscissa, cells) {
                case .success(let a): axis = a
                case .failure(let error): unresolved.append((kind, abscissa, error)); continue
                }
                resolvedSomewhere.insert("\(kind.rawValue)|\(abscissa.text)")
                // nothing to fit where the abscissa's parameters are not swept
                guard !swept.isDisjoint(with: axis.keys) else { continue }
                let made = try fitGroups(input, cells: cells, axis: axis, kind: kind)
                out.fits += made.fits; out.missing += made.missing
                if kind == .arrhenius && first.isMonteCarlo && first.exitSides.count >= 2 {
                    for side in first.exitSides.indices {
                        let s = try fitGroups(input, cells: cells, axis: axis, kind: .sideRate, side: side)
                        out.fits += s.fits; out.missing += s.missing
                    }
                }
            }
        }
        // an abscissa that no experiment could read: say so once (an ambiguous name: per law)
        var said: Set<String> = []
        for u in unresolved where !resolvedSomewhere.contains("\(u.kind.rawValue)|\(u.abscissa.text)") {
            guard said.insert("\(u.kind.rawValue)|\(u.error.message)").inserted else { continue }
            out.missing.append(MissingFit(kind: u.kind, experiment: "", axis: u.abscissa.canonical, group: [], side: nil,
                                          reason: "no experiment's cells have its parameters: \(u.error.message)"))
        }
        attachTheoryPredictions(input, &out.fits)
        return out
    }

    /// Whether `cell` starts at a saddle of its landscape (a labelled critical point of kind saddle).
    static func startsAtSaddle(_ input: ReportInput, _ cell: ReportCell) -> Bool {
        guard let setting = input.setting(of: cell) else { return false }
        return setting.landscape.criticalPoints.contains { $0.kind == .saddle && $0.point == setting.start }
    }

    /// The fitted quantity of `cell` (E τ, or the rate through exit side `side`), or why there is none.
    static func pointValue(_ cell: ReportCell, unit: String, side: Int?) -> Result<(mean: Double, se: Double), ExclusionReason> {
        guard let v = value(cell, unit: unit) else {
            let bound = cell.lowerBound.map { "; restricted mean (a lower bound) \(Format.number($0))" } ?? ""
            let tail = cell.estimator.hasPrefix(ExitTimeEstimate.tailNotShownExponential) ? "; exit law not shown exponential past the cap" : ""
            return .failure(.init(text: "no estimate of the mean (\(cell.exited) of \(cell.paths) paths exited\(bound)\(tail))"))
        }
        guard let side else { return .success(v) }
        guard side < cell.exitSides.count, cell.exited > 0 else { return .failure(.init(text: "no exit sides recorded")) }
        let n = cell.exitSides[side].count
        guard n > 0 else { return .failure(.init(text: "no path left through \(cell.exitSides[side].label) (of \(cell.exited) exits)")) }
        let rate = ExitSideAnalysis.rate(count: n, exited: cell.exited, mean: v.mean, standardError: v.se)
        return .success((rate.rate, rate.standardError))
    }

    struct ExclusionReason: Error { var text: String }

    static func fitGroups(_ input: ReportInput, cells: [ReportCell], axis: Axis, kind: ScalingFitResult.Kind,
                          side: Int? = nil) throws -> Outcome {
        let first = cells[0]
        let unit = self.unit(first)
        let etaScaled = unit == TimeUnit.time.rawValue && first.parameter("learning_rate") != nil
        let sideLabel = side.map { first.exitSides[$0].label }
        let groupKeys = sweptKeys(cells).filter { !axis.absorbed.contains($0) }
        var groups: [String: [ReportCell]] = [:]
        var order: [(id: String, values: [(key: String, value: Double)])] = []
        for cell in cells {
            let g = groupKeys.map { (key: $0, value: cell.parameter($0) ?? .nan) }
            let id = g.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            if groups[id] == nil { order.append((id, g)) }
            groups[id, default: []].append(cell)
        }
        let positiveX = kind == .powerLaw || kind == .saddle
        var out = Outcome()
        for (id, g) in order {
            var points: [ScalingPoint] = []
            var excluded: [(cell: ReportCell, reason: String)] = []
            for cell in groups[id]! {
                guard let x = axis.value(cell), x.isFinite, !positiveX || x > 0 else {
                    excluded.append((cell, positiveX ? "no positive abscissa \(axis.text)" : "no abscissa \(axis.text)")); continue
                }
                let v: (mean: Double, se: Double)
                switch pointValue(cell, unit: unit, side: side) {
                case .success(let value): v = value
                case .failure(let reason): excluded.append((cell, reason.text)); continue
                }
                var flag: String? = nil
                if cell.censoringDominated {
                    flag = "censoring-dominated: \(Format.percent(cell.censoredFraction)) censored; mean from the Kaplan–Meier restricted mean + exponential tail"
                } else if cell.diverged > 0 {
                    flag = "\(cell.diverged) of \(cell.paths) paths diverged"
                }
                points.append(ScalingPoint(cell: cell, x: x, mean: v.mean, standardError: v.se, flag: flag))
            }
            let missing = { (reason: String) in
                MissingFit(kind: kind, experiment: first.experiment, axis: axis.text, group: g, side: sideLabel, reason: reason)
            }
            guard points.count >= 3 else {
                let cellsIn = groups[id]!.count
                var reason = "\(points.count) usable point\(points.count == 1 ? "" : "s") of \(cellsIn) cell\(cellsIn == 1 ? "" : "s"); a line with error bars needs at least 3"
                if !excluded.isEmpty { reason += " (" + excluded.map { "\(Format.parameters($0.cell.parameters)): \($0.reason)" }.joined(separator: "; ") + ")" }
                out.missing.append(missing(reason))
                continue
            }
            guard Set(points.map(\.x)).count >= 2 else {
                out.missing.append(missing("all \(points.count) points share one abscissa \(ReportFigures.axisLabel(axis.text)) = \(Format.compact(points[0].x))"))
                continue
            }
            let xs = points.map { kind.design($0.x) }
            let ys = points.map { kind.response($0.mean) }
            let mc = first.isMonteCarlo
            let sigmas = mc ? points.map { kind.responseError(mean: $0.mean, standardError: $0.standardError) } : Array(repeating: 1.0, count: points.count)
            let fit: LinearFit
            do { fit = try LinearFit(x: xs, y: ys, standardErrors: sigmas, errorsKnown: mc) } catch {
                out.missing.append(missing("the fit failed: \(error)")); continue
            }
            var result = ScalingFitResult(
                kind: kind, experiment: first.experiment, experimentIndex: first.experimentIndex, dynamics: first.dynamics.rawValue,
                method: first.method, axis: axis.text, unit: unit, etaScaled: etaScaled, group: g, side: sideLabel, points: points,
                excluded: excluded, fit: fit, bootstrapCI95: nil, corrected: nil, predicted: nil,
                weighting: mc ? (kind == .saddle ? "weighted by the Monte Carlo error SE" : "weighted by the delta-method error SE/τ")
                    : "unweighted (deterministic values; the interval reflects lack of fit only)")
            if kind == .arrhenius, points.count >= 4, xs.allSatisfy({ $0 > 0 }) {
                result.corrected = try? MultiLinearFit(design: xs.map { [1, $0, 1 / $0] }, y: ys, standardErrors: sigmas, errorsKnown: mc)
            }
            if mc && kind != .sideRate {
                let samples = try points.map { p -> ResultsStore.CellSamples? in try input.samples(of: p.cell) }
                let boot = PathBootstrap(samples: samples, seed: input.spec.seed)
                if boot.hasPaths {
                    let scale = points.map { unitScale($0.cell, unit: unit) }
                    let slopes = boot.replicate(fixed: points.map(\.mean), unitScale: scale) { means in
                        try? LinearFit(x: xs, y: means.map { kind.response($0) }, standardErrors: sigmas).slope
                    }
                    result.bootstrapCI95 = PathBootstrap.percentileInterval(slopes)
                }
            }
            switch kind {
            case .arrhenius: result.predicted = predictedSlope(input, for: groups[id]![0], axis: axis.text)
            case .powerLaw: result.predicted = predictedPower(input, cells: groups[id]!)
            case .saddle, .sideRate: break
            }
            out.fits.append(result)
        }
        return out
    }

    /// Predictions from the job's own theory, for fits that have none: the slope of a theory
    /// experiment of the same dynamics (or, failing that, of discrete SGD's family: sgd and
    /// sgd-sde) fitted the same way — same law, abscissa, unit and group, and the same
    /// landscape, start and exit. For the saddle law the hu-saddle formula
    /// (1/(2λ))·[ln(2λr²/D) + γ_E] with D = ησ²/(2B) is exactly linear in ln(1/η) with slope
    /// 1/(2λ), so that fit recovers it; for an Arrhenius fit against a geometric abscissa
    /// (1/h, ΔV) the theory's own fitted slope over the same points is the prediction.
    static func attachTheoryPredictions(_ input: ReportInput, _ fits: inout [ScalingFitResult]) {
        let theory = fits.filter { ($0.kind == .saddle || $0.kind == .arrhenius) && MethodRegistry.kind(of: $0.method) == .theory }
        let family: Set<String> = [DynamicsKind.sgd.rawValue, DynamicsKind.sgdSDE.rawValue]
        // the classical abscissae (1/ε, 1/η, B/η) take their prediction from minimum action or
        // `[report] predicted_slope` only
        let classical: Set<String> = ["1/epsilon", "1/eta", "B/eta"]
        for i in fits.indices where (fits[i].kind == .saddle || (fits[i].kind == .arrhenius && !classical.contains(fits[i].axis)))
            && fits[i].predicted == nil && MethodRegistry.kind(of: fits[i].method) != .theory {
            let f = fits[i]
            let geometry = f.points.first.flatMap { input.setting(of: $0.cell) }
            let sameGroup = theory.filter { t in
                guard t.kind == f.kind, t.axis == f.axis, t.unit == f.unit, t.group.count == f.group.count,
                      zip(t.group, f.group).allSatisfy({ $0.key == $1.key && $0.value == $1.value }) else { return false }
                // the same geometry (with a swept landscape, the first points share the first value)
                if let geometry, let g = t.points.first.flatMap({ input.setting(of: $0.cell) }) { return geometry.sameGeometry(as: g) }
                return true
            }
            let match = sameGroup.first { $0.dynamics == f.dynamics }
                ?? sameGroup.first { family.contains($0.dynamics) && family.contains(f.dynamics) }
            if let t = match {
                fits[i].predicted = (t.fit.slope, "slope of theory '\(t.experiment)' fitted the same way")
            }
        }
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
        // the quasi-potential is the slope only against 1/ε (Langevin) or B/η (SGD)
        guard axis == "1/epsilon" || axis == "B/eta" else { return nil }
        let family: Set<String> = Set((axis == "1/epsilon" ? [DynamicsKind.langevin] : [.sgd, .sgdSDE]).map(\.rawValue))
        guard family.contains(dynamics) else { return nil }
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
