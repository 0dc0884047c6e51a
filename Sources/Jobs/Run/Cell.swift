import Foundation
import Diffusion

/// The time unit of a cell's exit times.
public enum TimeUnit: String, Sendable, Codable {
    /// Continuous time (langevin, levy, sgd-sde's t = kη).
    case time
    /// SGD iterations (discrete `sgd`).
    case iterations
}

/// One cell's result: what the runner computes, the store keeps (encoded with Codable) and
/// Reporting reads — one value, typed, from the method to the report. `json(timings:)`
/// renders it in the JSON contract of docs/output.md (`run --format json`, summary.json).
///
/// Scalars that have no finite value are nil (they print as null). Parameters and
/// quantities keep the order in which the spec and the method gave them.
public struct Cell: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case done
        /// The method failed numerically; `failure` says why. `run --resume` computes it again.
        case failed
    }

    /// Position in run order (`JobRunner.cells`).
    public var global: Int
    public var experiment: String
    public var experimentIndex: Int
    public var cellIndex: Int
    public var dynamics: DynamicsKind
    /// The SGD dynamics' noise law (nil for langevin and levy).
    public var noiseLaw: NoiseLawKind?
    public var method: String
    public var methodKind: MethodKind
    public var exitTest: ExitTestKind
    public var integrator: IntegratorKind
    /// Swept and fixed parameters shown to the user (paths, max_steps and steps are separate).
    public var parameters: [(key: String, value: Double)]
    /// The keys of the experiment's sweep axes (more than one value), in spec order.
    public var sweptAxes: [String]
    /// Paths simulated (simulation and sampling methods; 0 otherwise).
    public var paths: Int
    public var maxSteps: Int
    public var exited: Int
    public var censored: Int
    public var diverged: Int
    /// Mean exit time in `timeUnit`, nil where there is no estimate.
    public var mean: Double?
    public var standardError: Double?
    public var ci95: [Double]?
    public var lowerBound: Double?
    public var estimator: String
    /// P(exit by the cap) = exited/(exited + censored) of a Monte Carlo cell with its exact
    /// 95 % interval (`ExitTimeEstimate.exitProbability`); nil for other methods.
    public var exitProbability: Double?
    public var exitProbabilityCI95: [Double]?
    /// A deterministic method's own error estimate (a grid's Richardson error), in `timeUnit`.
    public var methodError: Double?
    /// Further named results (escape rate, barrier, thresholds, tail index…).
    public var quantities: [(key: String, value: Double)]
    public var timeUnit: TimeUnit
    /// Mean exit time in iterations (sgd: the mean itself; sgd-sde: t/η), nil otherwise.
    public var meanIterations: Double?
    /// Exit terms by label with the number of paths that left through each, in term order.
    public var exitSides: [(label: String, count: Int)]
    public var wallSeconds: Double
    /// Steps simulated over all paths of a Monte Carlo cell (0 otherwise): the work done.
    public var pathSteps: Int
    /// Time per step (1 for sgd, whose unit is iterations; dt otherwise).
    public var timeScale: Double
    public var status: Status
    public var failure: String?

    public init(global: Int, experiment: String, experimentIndex: Int, cellIndex: Int, dynamics: DynamicsKind, noiseLaw: NoiseLawKind?, method: String, methodKind: MethodKind, exitTest: ExitTestKind, integrator: IntegratorKind, parameters: [(key: String, value: Double)], sweptAxes: [String], paths: Int, maxSteps: Int, exited: Int, censored: Int, diverged: Int, mean: Double?, standardError: Double?, ci95: [Double]?, lowerBound: Double?, estimator: String, exitProbability: Double? = nil, exitProbabilityCI95: [Double]? = nil, methodError: Double?, quantities: [(key: String, value: Double)], timeUnit: TimeUnit, meanIterations: Double?, exitSides: [(label: String, count: Int)], wallSeconds: Double, pathSteps: Int, timeScale: Double, status: Status, failure: String?) {
        self.global = global
        self.experiment = experiment
        self.experimentIndex = experimentIndex
        self.cellIndex = cellIndex
        self.dynamics = dynamics
        self.noiseLaw = noiseLaw
        self.method = method
        self.methodKind = methodKind
        self.exitTest = exitTest
        self.integrator = integrator
        self.parameters = parameters
        self.sweptAxes = sweptAxes
        self.paths = paths
        self.maxSteps = maxSteps
        self.exited = exited
        self.censored = censored
        self.diverged = diverged
        self.mean = mean
        self.standardError = standardError
        self.ci95 = ci95
        self.lowerBound = lowerBound
        self.estimator = estimator
        self.exitProbability = exitProbability
        self.exitProbabilityCI95 = exitProbabilityCI95
        self.methodError = methodError
        self.quantities = quantities
        self.timeUnit = timeUnit
        self.meanIterations = meanIterations
        self.exitSides = exitSides
        self.wallSeconds = wallSeconds
        self.pathSteps = pathSteps
        self.timeScale = timeScale
        self.status = status
        self.failure = failure
    }

    public var failed: Bool { status == .failed }

    /// Every path of a sampled cell diverged (overflowed or went non-finite): no exit time at
    /// all. Flagged in the text table, the JSON (`all_diverged: true`) and the report.
    public var allDiverged: Bool { !failed && paths > 0 && diverged == paths }

    /// The cell as in the JSON contract; `wall_seconds` omitted when `timings` is false.
    public func json(timings: Bool = true) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("experiment", .string(experiment)),
            ("dynamics", .string(dynamics.rawValue)),
            ("method", .string(method)),
            ("integrator", .string(integrator.rawValue)),
            ("exit_test", .string(exitTest.rawValue)),
            ("parameters", .object(parameters.map { ($0.key, JSONValue.shortest($0.value)) })),
            ("paths", .int(paths)),
            ("max_steps", .int(maxSteps)),
            ("exited", .int(exited)),
            ("censored", .int(censored)),
            ("diverged", .int(diverged)),
            ("mean_exit_time", .number(mean)),
            ("standard_error", .number(standardError)),
            ("ci95", ci95.map { .array($0.map { .double($0) }) } ?? .null),
            ("lower_bound", .number(lowerBound)),
            ("estimator", .string(estimator)),
            ("exit_probability", .number(exitProbability)),
            ("exit_probability_ci95", exitProbabilityCI95.map { .array($0.map { .double($0) }) } ?? .null),
            ("method_error", .number(methodError)),
            ("quantities", .object(quantities.map { ($0.key, .double($0.value)) })),
            ("time_unit", .string(timeUnit.rawValue)),
            ("mean_exit_iterations", .number(meanIterations)),
            ("exit_sides", .object(exitSides.map { ($0.label, .int($0.count)) })),
        ]
        if allDiverged, let k = pairs.firstIndex(where: { $0.0 == "diverged" }) {
            pairs.insert(("all_diverged", .bool(true)), at: k + 1)
        }
        if let failure { pairs += [("status", .string(Status.failed.rawValue)), ("failure", .string(failure))] }
        if timings { pairs.append(("wall_seconds", .double((wallSeconds * 1000).rounded() / 1000))) }
        return .object(pairs)
    }

    public func parameter(_ key: String) -> Double? { parameters.first { $0.key == key }?.value }
    public func quantity(_ key: String) -> Double? { quantities.first { $0.key == key }?.value }

    /// The same cell without its timing (what two runs of the same seed must agree on).
    public var withoutTimings: Cell {
        var c = self
        c.wallSeconds = 0
        return c
    }

    public static func == (a: Cell, b: Cell) -> Bool {
        guard let x = try? Cell.encoder.encode(a), let y = try? Cell.encoder.encode(b) else { return false }
        return x == y
    }

    /// Foundation's JSON with sorted keys (the same cell, the same bytes) and non-finite
    /// numbers (a quantity may be ±∞) spelled out, since JSON has none.
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// Encodes the cell as the store keeps it.
    public func encoded() throws -> String { String(decoding: try Cell.encoder.encode(self), as: UTF8.self) }

    /// Decodes a stored cell; anything missing or mistyped is an error, never a default.
    public static func decode(_ text: String) throws -> Cell { try decoder.decode(Cell.self, from: Data(text.utf8)) }
}

extension Cell {
    // MARK: Codable (the store's encoding; ordered pairs as arrays)

    struct Pair: Codable { let key: String; let value: Double }
    struct Side: Codable { let label: String; let count: Int }

    enum CodingKeys: String, CodingKey {
        case global, experiment, experimentIndex = "experiment_index", cellIndex = "cell_index", dynamics
        case noiseLaw = "noise_law", method, methodKind = "method_kind", exitTest = "exit_test", integrator, parameters
        case sweptAxes = "swept_axes", paths, maxSteps = "max_steps", exited, censored, diverged
        case mean = "mean_exit_time", standardError = "standard_error", ci95, lowerBound = "lower_bound", estimator
        case exitProbability = "exit_probability", exitProbabilityCI95 = "exit_probability_ci95"
        case methodError = "method_error", quantities, timeUnit = "time_unit", meanIterations = "mean_exit_iterations"
        case exitSides = "exit_sides", wallSeconds = "wall_seconds", pathSteps = "path_steps", timeScale = "time_scale"
        case status, failure
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        global = try c.decode(Int.self, forKey: .global)
        experiment = try c.decode(String.self, forKey: .experiment)
        experimentIndex = try c.decode(Int.self, forKey: .experimentIndex)
        cellIndex = try c.decode(Int.self, forKey: .cellIndex)
        dynamics = try c.decode(DynamicsKind.self, forKey: .dynamics)
        noiseLaw = try c.decodeIfPresent(NoiseLawKind.self, forKey: .noiseLaw)
        method = try c.decode(String.self, forKey: .method)
        methodKind = try c.decode(MethodKind.self, forKey: .methodKind)
        exitTest = try c.decode(ExitTestKind.self, forKey: .exitTest)
        integrator = try c.decode(IntegratorKind.self, forKey: .integrator)
        parameters = try c.decode([Pair].self, forKey: .parameters).map { (key: $0.key, value: $0.value) }
        sweptAxes = try c.decode([String].self, forKey: .sweptAxes)
        paths = try c.decode(Int.self, forKey: .paths)
        maxSteps = try c.decode(Int.self, forKey: .maxSteps)
        exited = try c.decode(Int.self, forKey: .exited)
        censored = try c.decode(Int.self, forKey: .censored)
        diverged = try c.decode(Int.self, forKey: .diverged)
        mean = try c.decodeIfPresent(Double.self, forKey: .mean)
        standardError = try c.decodeIfPresent(Double.self, forKey: .standardError)
        ci95 = try c.decodeIfPresent([Double].self, forKey: .ci95)
        lowerBound = try c.decodeIfPresent(Double.self, forKey: .lowerBound)
        estimator = try c.decode(String.self, forKey: .estimator)
        exitProbability = try c.decodeIfPresent(Double.self, forKey: .exitProbability)
        exitProbabilityCI95 = try c.decodeIfPresent([Double].self, forKey: .exitProbabilityCI95)
        methodError = try c.decodeIfPresent(Double.self, forKey: .methodError)
        quantities = try c.decode([Pair].self, forKey: .quantities).map { (key: $0.key, value: $0.value) }
        timeUnit = try c.decode(TimeUnit.self, forKey: .timeUnit)
        meanIterations = try c.decodeIfPresent(Double.self, forKey: .meanIterations)
        exitSides = try c.decode([Side].self, forKey: .exitSides).map { (label: $0.label, count: $0.count) }
        wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
        pathSteps = try c.decode(Int.self, forKey: .pathSteps)
        timeScale = try c.decode(Double.self, forKey: .timeScale)
        status = try c.decode(Status.self, forKey: .status)
        failure = try c.decodeIfPresent(String.self, forKey: .failure)
        guard (status == .failed) == (failure != nil) else {
            throw DecodingError.dataCorruptedError(forKey: .failure, in: c, debugDescription: "a failed cell needs its reason, a done cell has none")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(global, forKey: .global)
        try c.encode(experiment, forKey: .experiment)
        try c.encode(experimentIndex, forKey: .experimentIndex)
        try c.encode(cellIndex, forKey: .cellIndex)
        try c.encode(dynamics, forKey: .dynamics)
        try c.encodeIfPresent(noiseLaw, forKey: .noiseLaw)
        try c.encode(method, forKey: .method)
        try c.encode(methodKind, forKey: .methodKind)
        try c.encode(exitTest, forKey: .exitTest)
        try c.encode(integrator, forKey: .integrator)
        try c.encode(parameters.map { Pair(key: $0.key, value: $0.value) }, forKey: .parameters)
        try c.encode(sweptAxes, forKey: .sweptAxes)
        try c.encode(paths, forKey: .paths)
        try c.encode(maxSteps, forKey: .maxSteps)
        try c.encode(exited, forKey: .exited)
        try c.encode(censored, forKey: .censored)
        try c.encode(diverged, forKey: .diverged)
        try c.encodeIfPresent(mean, forKey: .mean)
        try c.encodeIfPresent(standardError, forKey: .standardError)
        try c.encodeIfPresent(ci95, forKey: .ci95)
        try c.encodeIfPresent(lowerBound, forKey: .lowerBound)
        try c.encode(estimator, forKey: .estimator)
        try c.encodeIfPresent(exitProbability, forKey: .exitProbability)
        try c.encodeIfPresent(exitProbabilityCI95, forKey: .exitProbabilityCI95)
        try c.encodeIfPresent(methodError, forKey: .methodError)
        try c.encode(quantities.map { Pair(key: $0.key, value: $0.value) }, forKey: .quantities)
        try c.encode(timeUnit, forKey: .timeUnit)
        try c.encodeIfPresent(meanIterations, forKey: .meanIterations)
        try c.encode(exitSides.map { Side(label: $0.label, count: $0.count) }, forKey: .exitSides)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try c.encode(pathSteps, forKey: .pathSteps)
        try c.encode(timeScale, forKey: .timeScale)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(failure, forKey: .failure)
    }
}

/// The whole run's JSON (`run --format json`, `summary.json`).
public func jobJSON(name: String, seed: UInt64, cells: [Cell], timings: Bool = true) -> JSONValue {
    JobExecution.summaryJSON(name: name, seed: seed, cells: cells.map { $0.json(timings: timings) })
}
