import Foundation
import Jobs
import Diffusion

/// One finished cell as the report sees it: the cell JSON of DESIGN.md read back from the
/// results store, with the values the analyses need pulled out.
public struct ReportCell: Sendable {
    public var global: Int
    public var experiment: String
    public var experimentIndex: Int
    public var cellIndex: Int
    public var dynamics: String
    public var method: String
    public var exitTest: String
    public var parameters: [(key: String, value: Double)]
    public var paths: Int
    public var exited: Int
    public var censored: Int
    public var diverged: Int
    /// Mean exit time in the cell's own unit (`timeUnit`), nil when there is no estimate.
    public var mean: Double?
    public var standardError: Double?
    public var lowerBound: Double?
    public var estimator: String
    public var methodError: Double?
    public var quantities: [(key: String, value: Double)]
    public var timeUnit: String
    public var meanIterations: Double?
    public var exitSides: [(label: String, count: Int)]
    public var wallSeconds: Double?

    /// The method's kind (nil for a method this version does not know).
    public var kind: MethodKind? { MethodRegistry.kind(of: method) }
    public var dynamicsKind: DynamicsKind? { DynamicsKind(rawValue: dynamics) }
    public var isMonteCarlo: Bool { kind == .simulation }
    public var isDeterministic: Bool { !isMonteCarlo }

    public func parameter(_ key: String) -> Double? { parameters.first { $0.key == key }?.value }
    public func quantity(_ key: String) -> Double? { quantities.first { $0.key == key }?.value }

    /// Standard error of the mean in iterations: the sgd mean's own, or t/η's for continuous
    /// dynamics with a learning rate (the SE scales with the same constant).
    public var iterationsStandardError: Double? {
        if timeUnit == "iterations" { return standardError }
        guard let eta = parameter("learning_rate"), let se = standardError else { return nil }
        return se / eta
    }

    /// The fraction of paths (exited + censored + diverged) that were censored.
    public var censoredFraction: Double { paths > 0 ? Double(censored) / Double(paths) : 0 }
    public var divergedFraction: Double { paths > 0 ? Double(diverged) / Double(paths) : 0 }

    /// A Monte Carlo cell whose mean rests on censoring: more than 10 % of its paths did not
    /// exit before the cap, so the mean leans on the exponential-tail model (or is only a bound).
    public var censoringDominated: Bool { isMonteCarlo && censoredFraction > 0.1 }

    init(stored: ResultsStore.StoredCell) throws {
        let j = stored.json
        func string(_ k: String) -> String { if case .string(let s)? = j[k] { return s }; return "" }
        func number(_ k: String) -> Double? {
            switch j[k] {
            case .double(let x)?: return x
            case .int(let i)?: return Double(i)
            default: return nil
            }
        }
        func pairs(_ k: String) -> [(String, JSONValue)] { if case .object(let p)? = j[k] { return p }; return [] }
        func double(_ v: JSONValue) -> Double? {
            switch v { case .double(let x): return x; case .int(let i): return Double(i); default: return nil }
        }
        global = stored.global
        experimentIndex = stored.experimentIndex
        cellIndex = stored.cellIndex
        experiment = string("experiment")
        dynamics = string("dynamics")
        method = string("method")
        exitTest = string("exit_test")
        parameters = pairs("parameters").compactMap { p in double(p.1).map { (key: p.0, value: $0) } }
        paths = Int(number("paths") ?? 0)
        exited = Int(number("exited") ?? 0)
        censored = Int(number("censored") ?? 0)
        diverged = Int(number("diverged") ?? 0)
        mean = number("mean_exit_time")
        standardError = number("standard_error")
        lowerBound = number("lower_bound")
        estimator = string("estimator")
        methodError = number("method_error")
        quantities = pairs("quantities").compactMap { p in double(p.1).map { (key: p.0, value: $0) } }
        timeUnit = string("time_unit")
        meanIterations = number("mean_exit_iterations")
        exitSides = pairs("exit_sides").map { (label: $0.0, count: Int(double($0.1) ?? 0)) }
        wallSeconds = number("wall_seconds")
    }
}

/// A cell whose method failed: what the report says of it.
public struct FailedCell: Sendable {
    public var global: Int
    public var experiment: String
    public var parameters: [(key: String, value: Double)]
    public var reason: String

    init(stored: ResultsStore.StoredCell) throws {
        let cell = try ReportCell(stored: stored)
        global = stored.global
        experiment = cell.experiment
        parameters = cell.parameters
        if case .string(let s)? = stored.json["failure"] { reason = s } else { reason = "no reason stored" }
    }
}

/// Everything a report is made of: the job row, its spec and its finished cells, plus
/// access to per-path samples (for bootstrap intervals and survival curves).
public struct ReportInput {
    public let job: ResultsStore.JobRow
    public let spec: JobSpec
    public let cells: [ReportCell]
    /// Cells whose method failed numerically: listed in the report, used in no analysis.
    public var failedCells: [FailedCell] = []
    /// Cells planned by the spec (a report of an unfinished run says how many are missing).
    public let plannedCells: Int
    let store: ResultsStore?
    let sampleSource: ((Int, Int) throws -> ResultsStore.CellSamples)?

    /// Reads `DIR/results.sqlite`. `specText`, when given, replaces the stored spec's
    /// `[report]` table and `description` (to revise a report's text without rerunning);
    /// any other difference from the stored spec is an error.
    public init(directory: String, specText: String? = nil) throws {
        let path = (directory as NSString).appendingPathComponent(ResultsStore.fileName)
        let store = try ResultsStore.open(existing: path)
        guard var job = try store.job() else { throw ReportError("\(path) holds no job") }
        if let specText {
            let other = SpecDiff.differences(old: job.spec, new: specText).filter { $0 != "'report'" && $0 != "'description'" }
            guard other.isEmpty else {
                throw ReportError("--spec differs from the spec of the stored run in more than [report] and description: \(other.joined(separator: "; ")); rerun the job instead")
            }
            job.spec = specText
        }
        self.job = job
        do { spec = try JobSpec.parse(job.spec, checkCells: false) } catch { throw ReportError("the spec does not parse: \(error)") }
        let stored = try store.cells()
        cells = try stored.filter { !$0.failed }.map(ReportCell.init(stored:))
        failedCells = try stored.filter(\.failed).map(FailedCell.init(stored:))
        plannedCells = spec.experiments.reduce(0) { $0 + $1.cellCount }
        self.store = store
        sampleSource = { try store.samples(experimentIndex: $0, cellIndex: $1) }
    }

    /// For tests: cells and samples given directly.
    public init(job: ResultsStore.JobRow, spec: JobSpec, cells: [ReportCell], plannedCells: Int,
                samples: ((Int, Int) throws -> ResultsStore.CellSamples)?) {
        self.job = job; self.spec = spec; self.cells = cells; self.plannedCells = plannedCells
        self.store = nil; self.sampleSource = samples
    }

    public func samples(of cell: ReportCell) throws -> ResultsStore.CellSamples {
        guard cell.isMonteCarlo, let sampleSource else { return .init() }
        return try sampleSource(cell.experimentIndex, cell.cellIndex)
    }
}

public struct ReportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
