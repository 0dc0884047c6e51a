import Foundation
import Diffusion

/// A validated job: a landscape, start and exit region (the job's, or an experiment's own),
/// and experiments whose numeric parameters — the landscape's included — may be sweep axes
/// (their product gives the cells). Built from TOML or JSON; every error names the key path,
/// the value, what is required and the line.
public struct JobSpec: Sendable {
    public let name: String
    public let seed: UInt64
    public let experiments: [ExperimentSpec]
    /// The spec text as given.
    public let text: String
    public let description: String?
    /// The `[report]` table (empty when absent).
    public let report: ReportOptions

    public static let builtins = ["double-well", "sharp-flat", "quadratic", "saddle", "styblinski-tang",
                                  "quadratic-sums", "wu-ma-e", "linear-regression", "sharp-flat-sum",
                                  "random-features", "two-layer", "mlp"]
    /// Keys of built-ins whose value is a vector (one number per dimension or per sample; read
    /// with `TableReader.vector` below), so an array there is the value itself, not a sweep axis.
    static let builtinVectorKeys: [String: Set<String>] = [
        "quadratic": ["curvature"],
        "quadratic-sums": ["curvatures", "matrices", "minimizer"],
        "linear-regression": ["true_parameters"],
        "sharp-flat-sum": ["sharp_curvatures", "flat_curvatures"],
        "mlp": ["hidden"],
    ]
    /// The built-ins that are finite sums (per-sample gradients: real minibatches).
    static let finiteSumBuiltins = ["quadratic-sums", "wu-ma-e", "linear-regression", "sharp-flat-sum", "random-features", "two-layer", "mlp"]
    /// The tables an experiment may give for itself, replacing the job's.
    static let settingTables = ["landscape", "start", "exit"]

    /// Parses TOML, or JSON when the text starts with `{`, and with `checkCells` runs every
    /// method's check on every cell (`checkCells()`), so a spec that parses can run.
    /// Job-wide caps (`limits`) are checked before any cell is built: the cell count from the
    /// axis sizes while the experiments are read, the planned path-steps before `checkCells`.
    public static func parse(_ text: String, baseDirectory: URL? = nil, checkCells: Bool = true,
                             limits: JobLimits = .standard) throws(SpecError) -> JobSpec {
        let root: SpecTable
        do {
            let trimmed = text.drop { $0.isWhitespace }
            root = trimmed.first == "{" ? try JSONSpecParser.parse(text) : try TOMLParser.parse(text)
        } catch {
            throw SpecError("syntax error at \(error)")
        }
        let spec = try JobSpec(root: root, text: text, baseDirectory: baseDirectory, limits: limits)
        if limits.maxPathSteps.isFinite {
            let steps = JobPlan(spec: spec).experiments.reduce(0.0) { $0 + ($1.maxPathSteps ?? 0) }
            if steps > limits.maxPathSteps {
                throw SpecError("the job plans up to \(String(format: "%.3g", steps)) path-steps (paths × max_steps over its cells); at most \(String(format: "%.3g", limits.maxPathSteps)) without --allow-large")
            }
        }
        if checkCells { try spec.checkCells() }
        return spec
    }

    /// Why `name` cannot be a job name, or nil. A job name is a label that also names a
    /// folder (`Reports/NAME`, `NAME-slurm`), so it must stay one plain path component: no
    /// `/` or `\\`, no control characters, not `.` or `..`, not starting with `-` or `~`, at
    /// most 100 characters. The one rule for every folder derived from it.
    public static func nameViolation(_ name: String) -> String? {
        let rule = "must be a plain label usable as a folder name (no / or \\, no control characters, not . or .., not starting with - or ~, 1 to 100 characters)"
        if name.isEmpty || name.count > 100 || name == "." || name == ".." || name.hasPrefix("-") || name.hasPrefix("~")
            || name.unicodeScalars.contains(where: { $0 == "/" || $0 == "\\" || $0.properties.generalCategory == .control
                || $0.properties.generalCategory == .lineSeparator || $0.properties.generalCategory == .paragraphSeparator }) {
            let shown = name.unicodeScalars.map { $0.properties.generalCategory == .control ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
            return "\(rule), got \"\(shown.shortened())\""
        }
        return nil
    }

    /// `Reports/NAME`, or nil when `name` breaks the name rule (`nameViolation`).
    public static func defaultReportFolder(_ name: String) -> String? {
        nameViolation(name) == nil ? "Reports/\(name)" : nil
    }

    /// `NAME-slurm` with `SlurmScript.safeFileName` (letters, digits, `-`, `_`, `.` kept), and
    /// with the name rule applied first: never `.`/`..`, never a separator.
    public static func defaultSlurmFolder(_ name: String) -> String {
        nameViolation(name) == nil ? "\(SlurmScript.safeFileName(name))-slurm" : "job-slurm"
    }

    init(root: SpecTable, text: String, baseDirectory: URL?, limits: JobLimits = .standard) throws(SpecError) {
        var r = TableReader(root, path: "")
        self.text = text
        let name = try r.string("name", required: true)!
        if let why = JobSpec.nameViolation(name) { throw r.error("name", why) }
        self.name = name
        let seed = try r.integer("seed") ?? 1
        guard seed >= 0 else { throw r.error("seed", "must be ≥ 0, got \(seed)") }
        self.seed = UInt64(seed)
        description = try r.string("description")
        if var t = try r.table("report") { report = try ReportOptions(&t) } else { report = ReportOptions() }

        // the job's landscape, start and exit: required unless every experiment gives its own
        var jobTables: [String: SpecTable] = [:]
        for key in JobSpec.settingTables { if let t = try r.table(key) { jobTables[key] = t.table } }

        guard let experimentNode = r.node("experiment") else {
            throw SpecError("experiment is required: add at least one [[experiment]] table")
        }
        guard case .array(let items) = experimentNode.value else {
            throw SpecError("experiment must be an array of tables ([[experiment]]), got \(experimentNode.value.typeName)\(r.location(experimentNode.line))")
        }
        guard !items.isEmpty else { throw SpecError("experiment must have at least one entry\(r.location(experimentNode.line))") }
        var experiments: [ExperimentSpec] = []
        var jobSettings: [ExperimentSetting]? = nil
        var totalCells = 0
        for (k, item) in items.enumerated() {
            guard case .table(let t) = item.value else {
                throw SpecError("experiment[\(k + 1)] must be a table, got \(item.value.typeName)\(r.location(item.line))")
            }
            var own: [String: SpecTable] = [:]
            var tables: [String: SpecTable] = [:]
            var paths: [String: String] = [:]
            for key in JobSpec.settingTables {
                if let node = t[key] {
                    guard case .table(let table) = node.value else {
                        throw SpecError("experiment[\(k + 1)].\(key) must be a table ([experiment.\(key)]), got \(node.value.typeName)\(r.location(node.line))")
                    }
                    own[key] = table
                }
                guard let table = own[key] ?? jobTables[key] else {
                    throw SpecError("\(key) is required: give a [\(key)] table, or [experiment.\(key)] in every experiment (experiment[\(k + 1)] has none)\(r.location(t.line ?? item.line))")
                }
                tables[key] = table
                paths[key] = own[key] != nil ? "experiment[\(k + 1)].\(key)" : key
            }
            let template = try SettingTemplate(landscape: tables["landscape"]!, start: tables["start"]!, exit: tables["exit"]!,
                                               paths: (paths["landscape"]!, paths["start"]!, paths["exit"]!))
            let settings: [ExperimentSetting]
            if own.isEmpty, let shared = jobSettings {
                settings = shared
            } else {
                settings = try template.settings(baseDirectory: baseDirectory)
                if own.isEmpty { jobSettings = settings }
            }
            let spec = try ExperimentSpec(t, index: k, settings: settings, landscapeAxes: template.parameters)
            totalCells += spec.cellCount
            if totalCells > limits.maxCells {
                throw SpecError("the job has more than \(limits.maxCells) cells (\(totalCells) in experiments 1 to \(k + 1)); at most \(limits.maxCells) without --allow-large\(r.location(t.line ?? item.line))")
            }
            if experiments.contains(where: { $0.name == spec.name }) {
                throw SpecError("experiment[\(k + 1)].name \"\(spec.name)\" is used by an earlier experiment; names must be unique\(r.location(t["name"]?.line))")
            }
            experiments.append(spec)
        }
        self.experiments = experiments
        try r.rejectUnknown(allowed: ["name", "seed", "description", "landscape", "start", "exit", "experiment", "report"])
    }

    /// The start point on `landscape`: `point = […]` (one number: that value in every
    /// coordinate) or `at = "<critical point label>"`.
    /// The start point and, for a trained start (`train = { … }`), what the training reached.
    static func start(_ s: inout TableReader, landscape: Landscape) throws(SpecError) -> (point: [Double], note: String?) {
        if s.has("train") { return try trainedStart(&s, landscape: landscape) }
        let at = try s.string("at")
        var given = try s.vector("point")
        if let at {
            guard given == nil else { throw s.error("at", "cannot be combined with start.point; give one") }
            guard let critical = landscape.criticalPoints.first(where: { $0.label == at }) else {
                let labels = landscape.criticalPoints.map { "\"\($0.label)\"" }
                throw s.error("at", labels.isEmpty
                    ? "needs a landscape with known critical points (a built-in); give start.point instead"
                    : "must name a critical point of the landscape (\(labels.joined(separator: ", "))), got \"\(at.shortened())\"")
            }
            given = critical.point
        }
        guard var point = given else { throw s.error("point", "is required (an array of \(landscape.dimension) numbers, or one number for all), or at = \"<critical point>\"") }
        if at == nil, point.count == 1, landscape.dimension > 1, let node = s.table["point"], TableReader.number(node.value) != nil {
            point = Array(repeating: point[0], count: landscape.dimension)  // a number: that value in every coordinate
        }
        guard point.count == landscape.dimension else {
            throw s.error("point", "must have \(landscape.dimension) coordinates (the landscape's dimension), got \(point.count)")
        }
        guard point.allSatisfy(\.isFinite) else { throw s.error("point", "must be finite, got \(point)") }
        try s.rejectUnknown(allowed: ["point", "at", "train"])
        return (point, nil)
    }

    static func landscape(_ l: inout TableReader, baseDirectory: URL?) throws(SpecError) -> Landscape {
        let potential = try l.string("potential")
        let builtin = try l.string("builtin")
        switch (potential, builtin) {
        case (nil, nil):
            throw SpecError("landscape needs either potential = \"<expression>\" or builtin = \"<name>\"\(l.location(l.table.line))")
        case (.some, .some):
            throw l.error("builtin", "cannot be combined with landscape.potential; give one of them")
        case (let text?, nil):
            var variables: [String]? = nil
            if let node = l.node("variables") {
                guard case .array(let items) = node.value else { throw l.error("variables", "must be an array of names", line: node.line) }
                var names: [String] = []
                for item in items {
                    guard case .string(let s) = item.value, !s.isEmpty else { throw l.error("variables", "must contain only names (strings)", line: node.line) }
                    names.append(s)
                }
                variables = names
            }
            var constants: [String: Double] = [:]
            if let c = try l.table("constants") {
                // one value each here: SettingTemplate expands arrays into one landscape per value
                for (key, node) in c.table.entries {
                    guard let x = TableReader.number(node.value), x.isFinite else { throw c.error(key, "must be a finite number, got \(node.value.typeName)") }
                    constants[key] = x
                }
                if let clash = variables?.first(where: { constants[$0] != nil }) {
                    throw c.error(clash, "is also a variable (landscape.variables); a name is one or the other")
                }
            }
            try l.rejectUnknown(allowed: ["potential", "variables", "constants"])
            do {
                return try Landscape(expression: text, variables: variables, constants: constants)
            } catch {
                throw l.error("potential", "\"\(text.shortened())\": \(error)")
            }
        case (nil, let name?):
            return try builtinLandscape(name, &l, baseDirectory: baseDirectory)
        }
    }

    static func positive(_ l: inout TableReader, _ key: String, default value: Double? = nil) throws(SpecError) -> Double {
        guard let x = try l.double(key) ?? value else { throw l.error(key, "is required (a number > 0)") }
        guard x > 0, x.isFinite else { throw l.error(key, "must be > 0, got \(x)") }
        return x
    }

    static func builtinLandscape(_ name: String, _ l: inout TableReader, baseDirectory: URL?) throws(SpecError) -> Landscape {
        do {
            switch name {
            case "double-well":
                let barrier = try positive(&l, "barrier", default: 0.25)
                try l.rejectUnknown(allowed: ["builtin", "barrier"])
                return try Landscape.doubleWell(barrier: barrier)
            case "sharp-flat":
                let hs = try positive(&l, "h_sharp", default: 8)
                let hf = try positive(&l, "h_flat", default: 1)
                let bs = try positive(&l, "barrier_sharp", default: 0.25)
                let bf = try positive(&l, "barrier_flat", default: 0.25)
                let kappa = try l.double("barrier_curvature")
                try l.rejectUnknown(allowed: ["builtin", "h_sharp", "h_flat", "barrier_sharp", "barrier_flat", "barrier_curvature"])
                return try Landscape.sharpFlat(hSharp: hs, hFlat: hf, barrierSharp: bs, barrierFlat: bf, barrierCurvature: kappa)
            case "quadratic":
                guard let c = try l.vector("curvature") else { throw l.error("curvature", "is required (a number or an array, one per dimension)") }
                let dim = try l.integer("dimension")
                let curvatures: [Double]
                if let dim {
                    guard dim >= 1, dim <= 64 else { throw l.error("dimension", "must be in 1...64, got \(dim)") }
                    guard c.count == 1 || c.count == dim else { throw l.error("curvature", "must have 1 or \(dim) entries, got \(c.count)") }
                    curvatures = c.count == 1 ? Array(repeating: c[0], count: dim) : c
                } else { curvatures = c }
                try l.rejectUnknown(allowed: ["builtin", "curvature", "dimension"])
                return try Landscape.quadratic(curvatures: curvatures)
            case "saddle":
                let lambda = try positive(&l, "lambda", default: 1)
                let mu = try positive(&l, "mu", default: 1)
                try l.rejectUnknown(allowed: ["builtin", "lambda", "mu"])
                return try Landscape.saddle(lambda: lambda, mu: mu)
            case "styblinski-tang":
                let d = try l.integer("dimension") ?? 2
                let k = try positive(&l, "k", default: 1)
                let scale = try l.string("scale", allowed: ["value", "argument"]) ?? "value"
                try l.rejectUnknown(allowed: ["builtin", "dimension", "k", "scale"])
                return try Landscape.styblinskiTang(dimension: d, sharpness: k, scaleArgument: scale == "argument")
            case "quadratic-sums":
                return try quadraticSums(&l)
            case "wu-ma-e":
                try l.rejectUnknown(allowed: ["builtin"])
                return Landscape(finiteSum: WuMaEToy(), criticalPoints: [
                    CriticalPoint(point: [0], value: 0, kind: .minimum, label: "uniform minimum"),
                    CriticalPoint(point: [1], value: 0, kind: .minimum, label: "non-uniform minimum"),
                ], summary: "wu-ma-e toy: f = (min{x², 0.1(x−1)²} + min{x², 1.9(x−1)²})/2")
            case "linear-regression":
                return try linearRegression(&l, baseDirectory: baseDirectory)
            case "sharp-flat-sum":
                return try sharpFlatSum(&l)
            case "random-features", "two-layer":
                return try twoLayerNetwork(&l, trainsFirstLayer: name == "two-layer")
            case "mlp":
                return try mlp(&l, baseDirectory: baseDirectory)
            default:
                throw l.error("builtin", "must be one of \(builtins.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(name.shortened())\"")
            }
        } catch let error as SpecError {
            throw error
        } catch {
            // Built-ins name the offending key first ("barrier_curvature must be …"): point at it.
            let message = "\(error)"
            if let key = l.table.entries.map(\.0).first(where: { message.hasPrefix("\($0) ") }) {
                let at = TableReader(l.table, path: l.path, context: "builtin \"\(name)\"").location(l.table[key]?.line)
                throw SpecError("\(l.keyPath(key))\(message.dropFirst(key.count))\(at)")
            }
            throw SpecError("landscape (\(name)): \(error)\(l.location(l.table.line))")
        }
    }

    static func quadraticSums(_ l: inout TableReader) throws(SpecError) -> Landscape {
        var matrices: [[Double]] = []
        var dimension = 1
        if let curvatures = try l.vector("curvatures") {
            guard !curvatures.isEmpty else { throw l.error("curvatures", "must not be empty") }
            matrices = curvatures.map { [$0] }
        } else if let node = l.node("matrices") {
            guard case .array(let items) = node.value, !items.isEmpty else {
                throw l.error("matrices", "must be a non-empty array of square matrices (arrays of rows)", line: node.line)
            }
            for (k, item) in items.enumerated() {
                guard case .array(let rows) = item.value, !rows.isEmpty else {
                    throw l.error("matrices", "entry \(k + 1) must be a square matrix (an array of rows)", line: item.line ?? node.line)
                }
                var flat: [Double] = []
                for row in rows {
                    guard case .array(let cells) = row.value, cells.count == rows.count else {
                        throw l.error("matrices", "entry \(k + 1) must be square (\(rows.count) rows of \(rows.count))", line: row.line ?? node.line)
                    }
                    for c in cells {
                        guard let x = TableReader.number(c.value) else { throw l.error("matrices", "entry \(k + 1) must contain only numbers", line: c.line ?? node.line) }
                        flat.append(x)
                    }
                }
                if k == 0 { dimension = rows.count }
                guard rows.count == dimension else { throw l.error("matrices", "entry \(k + 1) is \(rows.count)×\(rows.count), the first is \(dimension)×\(dimension)", line: item.line ?? node.line) }
                for r in 0..<dimension { for c in 0..<dimension where flat[r * dimension + c] != flat[c * dimension + r] {
                    throw l.error("matrices", "entry \(k + 1) must be symmetric", line: item.line ?? node.line)
                } }
                matrices.append(flat)
            }
        } else {
            throw SpecError("landscape.quadratic-sums needs curvatures = [a₁, …] (1-D) or matrices = [[[…]]]\(l.location(l.table.line))")
        }
        let minimizer = try l.vector("minimizer") ?? Array(repeating: 0, count: dimension)
        guard minimizer.count == dimension else { throw l.error("minimizer", "must have \(dimension) entries, got \(minimizer.count)") }
        try l.rejectUnknown(allowed: ["builtin", "curvatures", "matrices", "minimizer"])
        let sums = QuadraticSums(matrices: matrices, minimizer: minimizer)
        return Landscape(finiteSum: sums, criticalPoints: [
            CriticalPoint(point: minimizer, value: 0, kind: .minimum, label: "minimizer"),
        ], summary: "quadratic sums (n = \(matrices.count), d = \(dimension))")
    }

    static func linearRegression(_ l: inout TableReader, baseDirectory: URL?) throws(SpecError) -> Landscape {
        if let path = try l.string("csv") {
            try l.rejectUnknown(allowed: ["builtin", "csv"])
            let url = URL(fileURLWithPath: path, relativeTo: baseDirectory)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw l.error("csv", "cannot read file \"\(url.path)\"")
            }
            var rows: [[Double]] = []
            var targets: [Double] = []
            for (k, line) in text.split(whereSeparator: \.isNewline).enumerated() {
                let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let numbers = fields.compactMap(Double.init)
                if numbers.count != fields.count {
                    if k == 0 { continue }  // header
                    throw l.error("csv", "\(url.lastPathComponent) line \(k + 1): every field must be a number")
                }
                guard numbers.count >= 2 else { throw l.error("csv", "\(url.lastPathComponent) line \(k + 1): need at least one feature and a target") }
                if let first = rows.first, first.count != numbers.count - 1 {
                    throw l.error("csv", "\(url.lastPathComponent) line \(k + 1): \(numbers.count) fields, earlier rows have \(first.count + 1)")
                }
                rows.append(Array(numbers.dropLast()))
                targets.append(numbers.last!)
            }
            guard !rows.isEmpty else { throw l.error("csv", "\(url.lastPathComponent) has no data rows") }
            let model = LinearRegression(features: rows, targets: targets)
            return Landscape(finiteSum: model, criticalPoints: try linearRegressionMinimum(model, &l),
                             summary: "linear regression on \(url.lastPathComponent) (n = \(rows.count), d = \(rows[0].count))")
        }
        let n = try l.integer("samples") ?? 100
        guard n >= 1, n <= 1_000_000 else { throw l.error("samples", "must be in 1...1000000, got \(n)") }
        let d = try l.integer("dimension") ?? 2
        guard d >= 1, d <= 64 else { throw l.error("dimension", "must be in 1...64, got \(d)") }
        let noise = try l.double("noise") ?? 0.1
        guard noise >= 0, noise.isFinite else { throw l.error("noise", "must be ≥ 0, got \(noise)") }
        let dataSeed = try l.integer("data_seed") ?? 1
        guard dataSeed >= 0 else { throw l.error("data_seed", "must be ≥ 0, got \(dataSeed)") }
        guard n * d <= 10_000_000 else { throw l.error("samples", "times dimension must be ≤ 10000000 (a synthetic design held in memory), got \(n)×\(d)") }
        let truth = try l.vector("true_parameters")
        if let truth, truth.count != d { throw l.error("true_parameters", "must have \(d) entries, got \(truth.count)") }
        try l.rejectUnknown(allowed: ["builtin", "csv", "samples", "dimension", "noise", "data_seed", "true_parameters"])
        let model = LinearRegression.synthetic(samples: n, dimension: d, trueParameters: truth, noise: noise, seed: UInt64(dataSeed))
        return Landscape(finiteSum: model, criticalPoints: try linearRegressionMinimum(model, &l),
                         summary: "linear regression, synthetic (n = \(n), d = \(d), noise \(noise), data_seed \(dataSeed))")
    }

    /// The least-squares minimizer as the critical point "least-squares minimizer" (none for a
    /// rank-deficient design).
    static func linearRegressionMinimum(_ model: LinearRegression, _ l: inout TableReader) throws(SpecError) -> [CriticalPoint] {
        do { return try model.criticalPoints() }
        catch { throw SpecError("landscape (linear-regression): \(error)\(l.location(l.table.line))") }
    }

    /// `sharp-flat-sum`: `SharpFlatSum` (one curvature pair per sample).
    static func sharpFlatSum(_ l: inout TableReader) throws(SpecError) -> Landscape {
        let sharp = try l.vector("sharp_curvatures") ?? [1, 4, 10, 15, 20]
        let flat = try l.vector("flat_curvatures") ?? [0.25, 0.5, 1, 1.5, 1.75]
        guard !sharp.isEmpty, sharp.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw l.error("sharp_curvatures", "must be a non-empty array of numbers > 0, got \(sharp)") }
        guard !flat.isEmpty, flat.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw l.error("flat_curvatures", "must be a non-empty array of numbers > 0, got \(flat)") }
        guard flat.count == sharp.count else { throw l.error("flat_curvatures", "must have one entry per sample, like sharp_curvatures (\(sharp.count)), got \(flat.count)") }
        let s = try l.double("sharp_minimum") ?? -1
        let t = try l.double("flat_minimum") ?? 1
        guard s.isFinite else { throw l.error("sharp_minimum", "must be finite, got \(s)") }
        guard t.isFinite, t != s else { throw l.error("flat_minimum", "must be finite and differ from sharp_minimum (\(s)), got \(t)") }
        try l.rejectUnknown(allowed: ["builtin", "sharp_curvatures", "flat_curvatures", "sharp_minimum", "flat_minimum"])
        let sum: SharpFlatSum
        do { sum = try SharpFlatSum(sharpCurvatures: sharp, flatCurvatures: flat, sharpMinimum: s, flatMinimum: t) }
        catch { throw SpecError("landscape (sharp-flat-sum): \(error)\(l.location(l.table.line))") }
        return Landscape(finiteSum: sum, criticalPoints: sum.criticalPoints,
                         summary: "sharp-flat sum (n = \(sharp.count)): sharp minimum at \(s) (mean curvature \(sum.meanSharpCurvature)), flat minimum at \(t) (mean curvature \(sum.meanFlatCurvature))")
    }

    /// `random-features` (output weights trained) and `two-layer` (both layers): `TwoLayerNetwork`
    /// on synthetic data.
    static func twoLayerNetwork(_ l: inout TableReader, trainsFirstLayer: Bool) throws(SpecError) -> Landscape {
        let name = trainsFirstLayer ? "two-layer" : "random-features"
        let n = try l.integer("samples") ?? 64
        guard n >= 1, n <= 100_000 else { throw l.error("samples", "must be in 1...100000, got \(n)") }
        let p = try l.integer("input_dimension") ?? 8
        guard p >= 1, p <= 1024 else { throw l.error("input_dimension", "must be in 1...1024, got \(p)") }
        let m = try l.integer("width") ?? 32
        guard m >= 1, m <= 1024 else { throw l.error("width", "must be in 1...1024, got \(m)") }
        let d = trainsFirstLayer ? m * (p + 1) : m
        guard d <= 1024 else { throw l.error("width", "gives \(d) parameters (width × (input_dimension + 1)); at most 1024 (exact d×d Hessians)") }
        guard n * max(p, m) <= 10_000_000 else { throw l.error("samples", "times max(input_dimension, width) must be ≤ 10000000 (held in memory), got \(n)×\(max(p, m))") }
        let activationName = try l.string("activation", allowed: TwoLayerNetwork.Activation.allCases.map(\.rawValue)) ?? "relu"
        let noise = try l.double("label_noise") ?? 0
        guard noise >= 0, noise.isFinite else { throw l.error("label_noise", "must be ≥ 0, got \(noise)") }
        let dataSeed = try l.integer("data_seed") ?? 1
        guard dataSeed >= 0 else { throw l.error("data_seed", "must be ≥ 0, got \(dataSeed)") }
        try l.rejectUnknown(allowed: ["builtin", "samples", "input_dimension", "width", "activation", "label_noise", "data_seed"])
        let model = TwoLayerNetwork.synthetic(samples: n, inputDimension: p, width: m,
                                              activation: TwoLayerNetwork.Activation(rawValue: activationName)!,
                                              trainsFirstLayer: trainsFirstLayer, labelNoise: noise, dataSeed: UInt64(dataSeed))
        var points: [CriticalPoint] = []
        let small = min(n, m), large = max(n, m)
        if !trainsFirstLayer, Double(small) * Double(small) * Double(large) <= 1e9, let a = model.minimumNormSolution() {
            let value = a.withUnsafeBufferPointer { model.loss(at: $0.baseAddress!) }
            points.append(CriticalPoint(point: a, value: value, kind: .minimum, label: "minimum-norm minimizer"))
        }
        return Landscape(finiteSum: model, criticalPoints: points,
                         summary: "\(name) (\(activationName)): n = \(n), input dimension \(p), width \(m), \(d) parameters, label noise \(noise), data_seed \(dataSeed)")
    }

    static func exitRegion(_ e: inout TableReader, dimension: Int) throws(SpecError) -> ExitRegion {
        var found: [(String, ExitRegion)] = []
        if let when = try e.string("when") { found.append(("when", .condition(when))) }
        if let interval = try e.vector("interval") {
            guard interval.count == 2 else { throw e.error("interval", "must be [lower, upper], got \(interval.count) numbers") }
            guard interval[0] < interval[1] else { throw e.error("interval", "must have lower < upper, got \(interval)") }
            found.append(("interval", .interval(lower: interval[0], upper: interval[1])))
        }
        if var ball = try e.table("ball") {
            guard let center = try ball.vector("center") else { throw ball.error("center", "is required (an array of \(dimension) numbers)") }
            guard let radius = try ball.double("radius") else { throw ball.error("radius", "is required (a number > 0)") }
            guard radius > 0, radius.isFinite else { throw ball.error("radius", "must be > 0, got \(radius)") }
            guard center.count == dimension else { throw ball.error("center", "must have \(dimension) coordinates, got \(center.count)") }
            try ball.rejectUnknown(allowed: ["center", "radius"])
            found.append(("ball", .ball(center: center, radius: radius)))
        }
        if var box = try e.table("box") {
            guard let lower = try box.vector("lower") else { throw box.error("lower", "is required (an array of \(dimension) numbers)") }
            guard let upper = try box.vector("upper") else { throw box.error("upper", "is required (an array of \(dimension) numbers)") }
            guard lower.count == dimension else { throw box.error("lower", "must have \(dimension) entries, got \(lower.count)") }
            guard upper.count == dimension else { throw box.error("upper", "must have \(dimension) entries, got \(upper.count)") }
            for j in 0..<dimension where !(lower[j] < upper[j]) {
                throw box.error("upper", "must exceed lower in every coordinate, got lower \(lower[j]) ≥ upper \(upper[j]) in coordinate \(j + 1)")
            }
            try box.rejectUnknown(allowed: ["lower", "upper"])
            found.append(("box", .box(lower: lower, upper: upper)))
        }
        if let basin = try e.bool("basin") {
            guard basin else { throw e.error("basin", "must be true when given") }
            found.append(("basin", .basin))
        }
        if let c = try e.double("loss_above") {
            guard c.isFinite else { throw e.error("loss_above", "must be a finite number (the loss level c of L > c), got \(c)") }
            found.append(("loss_above", .lossAbove(c)))
        }
        if let r = try e.double("distance_from_start") {
            guard r > 0, r.isFinite else { throw e.error("distance_from_start", "must be > 0 (the radius r of ‖θ − θ₀‖ ≥ r), got \(r)") }
            found.append(("distance_from_start", .distanceFromStart(r)))
        }
        try e.rejectUnknown(allowed: ["when", "interval", "ball", "box", "basin", "loss_above", "distance_from_start"])
        guard found.count == 1 else {
            if found.isEmpty {
                throw SpecError("exit needs one of when = \"<condition>\", interval = [lo, hi], ball = {…}, box = {…}, basin = true, loss_above = c or distance_from_start = r\(e.location(e.table.line))")
            }
            throw SpecError("exit has \(found.map(\.0).joined(separator: " and ")); give exactly one\(e.location(e.table.line))")
        }
        return found[0].1
    }
}
