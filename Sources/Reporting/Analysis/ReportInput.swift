import Foundation
import Jobs
import Diffusion

/// One finished cell as the report sees it: the `Cell` the run stored.
public typealias ReportCell = Cell

extension Cell {
    public var isMonteCarlo: Bool { methodKind == .simulation }
    public var isDeterministic: Bool { !isMonteCarlo }

    /// Standard error of the mean in iterations: the sgd mean's own, or t/η's for continuous
    /// dynamics with a learning rate (the SE scales with the same constant).
    public var iterationsStandardError: Double? {
        if timeUnit == .iterations { return standardError }
        guard let eta = parameter("learning_rate"), let se = standardError else { return nil }
        return se / eta
    }

    /// The fraction of paths (exited + censored + diverged) that were censored.
    public var censoredFraction: Double { paths > 0 ? Double(censored) / Double(paths) : 0 }
    public var divergedFraction: Double { paths > 0 ? Double(diverged) / Double(paths) : 0 }

    /// A Monte Carlo cell whose mean rests on censoring: more than 10 % of its paths did not
    /// exit before the cap, so the mean leans on the exponential-tail model (or is only a bound).
    public var censoringDominated: Bool { isMonteCarlo && censoredFraction > 0.1 }

    /// The cell with non-finite parameters and quantities left out: JSON prints them null,
    /// and a report takes nothing from them.
    var finiteEntries: Cell {
        var c = self
        c.parameters = parameters.filter(\.value.isFinite)
        c.quantities = quantities.filter(\.value.isFinite)
        return c
    }
}

/// A cell whose method failed: what the report says of it.
public struct FailedCell: Sendable {
    public var global: Int
    public var experiment: String
    public var parameters: [(key: String, value: Double)]
    public var reason: String

    init(_ cell: Cell) {
        global = cell.global
        experiment = cell.experiment
        parameters = cell.parameters
        reason = cell.failure ?? ""
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

    /// The landscape, start and exit region `cell` ran on (nil when the stored spec has no such cell).
    public func setting(of cell: ReportCell) -> ExperimentSetting? {
        guard spec.experiments.indices.contains(cell.experimentIndex) else { return nil }
        let experiment = spec.experiments[cell.experimentIndex]
        guard cell.cellIndex >= 0, cell.cellIndex < experiment.cellCount else { return nil }
        return experiment.setting(ofCell: cell.cellIndex)
    }

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
        // relative paths (a data set's csv) as the run read them
        let base = job.baseDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) }
        do { spec = try JobSpec.parse(job.spec, baseDirectory: base, checkCells: false, limits: .none) } catch { throw ReportError("the spec does not parse: \(error)") }
        let stored = try store.cells()
        cells = stored.filter { !$0.failed }.map(\.finiteEntries)
        failedCells = stored.filter(\.failed).map(FailedCell.init)
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
