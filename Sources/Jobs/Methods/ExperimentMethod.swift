import Foundation
import Diffusion

/// What a method's cells are, as the report treats them.
public enum MethodKind: String, Sendable, Codable, CaseIterable {
    /// Monte Carlo exit times with a standard error (per-path samples in the store).
    case simulation
    /// A deterministic solve exact for the dynamics (up to its stated grid error).
    case exact
    /// A closed-form or asymptotic prediction.
    case theory
    /// Monte Carlo draws that estimate no exit time (end states, noise statistics).
    case sampling
}

/// One way of computing a cell: Monte Carlo, an exact solve, a theory… Each method is one
/// type in its own file under `Methods/`, listed once in `MethodRegistry`. It declares its
/// spec keys and how they are validated, its kind, and runs a cell. Adding a method means
/// adding its file and its registry line; nothing else switches over method names.
public protocol ExperimentMethod: Sendable {
    /// The name in job specs (`method = "…"`) and results: spelled here and nowhere else.
    static var name: String { get }
    static var kind: MethodKind { get }
    /// One line for `check` and the reference docs.
    static var summary: String { get }
    /// The experiment keys of its own that the method reads (docs/reference.md lists them).
    static var keys: [String] { get }
    /// The dynamics it runs (nil: every dynamics).
    static var dynamics: [DynamicsKind]? { get }
    /// Whether the dynamics' time-step keys (`dt`, `dt_fraction`) apply.
    static var usesTimeStep: Bool { get }
    /// Why the simulation keys the method does not read (`paths`, `max_steps`,
    /// `exit_test`, the time step) do not apply to it.
    static var simulationKeysNotApplicable: String { get }
    /// Whether its exit times serve as references in the report's comparisons.
    static var isComparisonReference: Bool { get }

    /// Reads the method's own keys (before the dynamics: the allowed keys depend on them).
    init(reading r: inout TableReader, landscape: Landscape) throws(SpecError)
    /// Checks the method against the parsed dynamics and noise law, and adds its own sweep
    /// axes (after the common ones, so that a cell's parameters keep their order).
    mutating func finish(_ r: inout TableReader, _ experiment: inout ExperimentDraft) throws(SpecError)
    /// Dynamics parameters this experiment's method does without (a cell then has none of
    /// them, and its dynamics read NaN); default none.
    var optionalDynamicsParameters: [String] { get }
    /// Whole-spec validation: what would make this cell fail that the spec alone decides,
    /// found before any cell runs. Cheap (no solve, no simulation).
    func check(_ cell: MethodCell) throws(SpecError)
    /// What `check` shows for a cell with these axis values: the paths it simulates and a bound
    /// on its path-steps (nil: none the spec can state).
    func plan(_ values: [(key: String, value: Double)]) -> (paths: Int, maxPathSteps: Double?)
    /// Runs the cell. A thrown error that is not the sink's is a numerical failure: the
    /// cell is recorded as failed and the job goes on.
    func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput
}

extension ExperimentMethod {
    public static var dynamics: [DynamicsKind]? { nil }
    public static var usesTimeStep: Bool { false }
    public static var isComparisonReference: Bool { kind == .simulation || kind == .exact || kind == .theory }
    public mutating func finish(_ r: inout TableReader, _ experiment: inout ExperimentDraft) throws(SpecError) {}
    public func check(_ cell: MethodCell) throws(SpecError) {}
    public var optionalDynamicsParameters: [String] { [] }
    /// `paths` per cell; for simulations at most paths × max_steps path-steps (every path censored).
    public func plan(_ values: [(key: String, value: Double)]) -> (paths: Int, maxPathSteps: Double?) {
        let sampled = Self.kind == .simulation || Self.kind == .sampling
        let p = values.first { $0.key == "paths" }?.value ?? 0
        let steps = values.first { $0.key == "max_steps" }?.value ?? 0
        return (sampled ? Int(p) : 0, Self.kind == .simulation ? p * steps : nil)
    }
    /// The name quoted for messages.
    static var quoted: String { "\"\(name)\"" }
}

/// An experiment while it is being parsed: what the methods' `finish` may read and extend.
public struct ExperimentDraft {
    public let index: Int
    public let name: String
    public let dynamics: DynamicsKind
    public let noiseLaw: NoiseLawKind?
    public let landscape: Landscape
    /// Sweep axes and single values so far, in key order.
    public internal(set) var parameters: [(key: String, values: [Double])]

    /// Adds an axis after checking every value (`check` returns the requirement a value fails).
    mutating func axis(_ key: String, _ values: [Double]?, _ r: TableReader, line: Int? = nil,
                       _ check: (Double) -> String?) throws(SpecError) {
        guard let values else { return }
        for v in values {
            if let requirement = check(v) {
                throw r.error(key, "must be \(requirement), got \(TableReader.format(v))", line: line)
            }
        }
        parameters.append((key, values))
    }

    static let positive: @Sendable (Double) -> String? = { $0 > 0 && $0.isFinite ? nil : "> 0" }
}

/// Everything a method needs to check or run one cell.
public struct MethodCell {
    public let spec: JobSpec
    public let experiment: ExperimentSpec
    public let experimentIndex: Int
    public let cellIndex: Int
    public let problem: ExitProblem
    /// The cell's values of every axis (paths and max_steps included), in key order.
    public let values: [(key: String, value: Double)]
    /// Paths after `run --quick` scaling.
    public let paths: Int
    public let threads: Int
    public let histogramLimit: Int
    /// `run --quick`'s factor on ensemble sizes (1 otherwise): methods with ensembles of
    /// their own (splitting's runs and loops) scale them by it.
    public var scale: Double = 1

    public func value(_ key: String) -> Double? { values.first { $0.key == key }?.value }
    /// Steps of the discrete chain count as iterations (time unit 1); continuous time otherwise.
    public var timeScale: Double { problem.dynamics.kind.countsIterations || !problem.dt.isFinite ? 1 : problem.dt }

    /// A spec error at `key` of this experiment, naming the cell and the key's line.
    public func error(_ key: String, _ message: String) -> SpecError {
        experiment.error(key, message, cell: cellIndex)
    }
}

/// What a method computed for a cell (the runner adds the cell's identity and timings).
public struct MethodOutput {
    public var estimate: ExitTimeEstimate
    /// The deterministic method's own error estimate, in the time unit.
    public var methodError: Double? = nil
    public var quantities: [(String, Double)] = []
    /// Steps simulated over all paths (Monte Carlo).
    public var pathSteps = 0
    /// The cell's step cap when the method sets its own (fixed-horizon runs).
    public var maxSteps: Int? = nil

    public init(estimate: ExitTimeEstimate, methodError: Double? = nil, quantities: [(String, Double)] = [],
                pathSteps: Int = 0, maxSteps: Int? = nil) {
        self.estimate = estimate; self.methodError = methodError; self.quantities = quantities
        self.pathSteps = pathSteps; self.maxSteps = maxSteps
    }
}

/// A numerical failure of one cell (not a spec error): recorded as the cell's outcome.
public struct CellFailure: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public init(_ error: any Error) { self.reason = "\(error)" }
    public var description: String { reason }

    /// A grid solve's mean exit time must be positive and finite with an error below it:
    /// once the mean nears 1/(machine ε) ≈ 10¹⁶ steps, I − W is singular to working precision
    /// and the solve returns noise (even negative values). Such a cell fails, naming splitting.
    static func requireResolved(_ value: Double, error: Double, what: String) throws(CellFailure) {
        guard value > 0, value.isFinite, error.isFinite, error < 0.5 * value else {
            throw CellFailure("\(what) is not resolved (mean \(value), Richardson error \(error)): at mean exit times near 10¹⁶ steps the backward equation is singular in double precision; use method = \"splitting\" there")
        }
    }
}
