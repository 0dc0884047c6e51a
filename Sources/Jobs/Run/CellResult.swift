import Foundation
import Diffusion

/// The outcome of one cell: an ensemble's exit-time estimate with its parameters.
public struct CellResult: Sendable {
    public let experiment: String
    public let experimentIndex: Int
    public let cellIndex: Int
    public let dynamics: String
    public let method: String
    public let exitTest: ExitTestKind
    /// Swept and fixed parameters shown to the user (paths and max_steps are separate).
    public let parameters: [(key: String, value: Double)]
    public let paths: Int
    public let maxSteps: Int
    public let estimate: ExitTimeEstimate
    /// The deterministic method's own error estimate (e.g. a grid's Richardson error), in the time unit.
    public let methodError: Double?
    /// Further named results of a deterministic method (e.g. the quasi-potential barrier).
    public let quantities: [(String, Double)]
    /// "time" (continuous dynamics) or "iterations" (sgd).
    public let timeUnit: String
    /// Mean exit time in iterations (sgd: the mean itself; sgd-sde: t/η), nil otherwise.
    public let meanExitIterations: Double?
    public let iterationsStandardError: Double?
    public let exitLabels: [String]
    public let wallSeconds: Double
    /// Steps simulated over all paths of a Monte Carlo cell (0 otherwise): the work done.
    /// The per-path samples themselves are streamed to a `CellSampleSink`, never kept here.
    public let pathSteps: Int
    /// Time per step (1 for sgd, whose unit is iterations; dt otherwise).
    public var timeScale: Double = 1
    /// Why the cell's method failed numerically (nil: the cell is done). A failed cell is
    /// stored with status `failed` and retried by `run --resume`.
    public var failure: String? = nil

    /// The cell as in DESIGN.md's JSON contract; `wall_seconds` omitted when `timings` is false.
    public func json(timings: Bool = true) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("experiment", .string(experiment)),
            ("dynamics", .string(dynamics)),
            ("method", .string(method)),
            ("integrator", .string("euler-maruyama")),
            ("exit_test", .string(exitTest.rawValue)),
            ("parameters", .object(parameters.map { ($0.key, .double($0.value)) })),
            ("paths", .int(paths)),
            ("max_steps", .int(maxSteps)),
            ("exited", .int(estimate.exited)),
            ("censored", .int(estimate.censored)),
            ("diverged", .int(estimate.diverged)),
            ("mean_exit_time", .number(estimate.mean)),
            ("standard_error", .number(estimate.standardError)),
            ("ci95", estimate.ci95.map { .array($0.map { .double($0) }) } ?? .null),
            ("lower_bound", .number(estimate.lowerBound)),
            ("estimator", .string(estimate.estimator)),
            ("method_error", .number(methodError)),
            ("quantities", .object(quantities.map { ($0.0, .double($0.1)) })),
            ("time_unit", .string(timeUnit)),
            ("mean_exit_iterations", .number(meanExitIterations)),
            ("exit_sides", .object(zip(exitLabels, estimate.sideCounts).map { ($0.0, .int($0.1)) })),
        ]
        if let failure { pairs += [("status", .string("failed")), ("failure", .string(failure))] }
        if timings { pairs.append(("wall_seconds", .double((wallSeconds * 1000).rounded() / 1000))) }
        return .object(pairs)
    }
}

/// The whole run's JSON (`run --format json`, `summary.json`).
public func jobJSON(name: String, seed: UInt64, cells: [CellResult], timings: Bool = true) -> JSONValue {
    .object([
        ("job", .string(name)),
        ("seed", .int(Int(truncatingIfNeeded: seed))),
        ("cells", .array(cells.map { $0.json(timings: timings) })),
    ])
}
