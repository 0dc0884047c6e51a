import Foundation
import Diffusion

/// One run of a job: the policy of `run` (which cells, where results go, what a resume may
/// continue) behind a small API, so that the CLI only parses arguments and prints.
///
/// Everything that can be refused is refused in `init`, before anything is written: a spec
/// that does not parse or whose cells cannot run (`JobSpec.parse` checks every cell), an
/// `--out` that already holds a run without `--resume`, a resume with another spec or
/// another `--quick` scale. Then `run` computes the selected cells that the store lacks —
/// and those it holds as failed — in global order, committing each, and rewriting
/// `summary.json` about once a second and whenever `run` returns or throws.
public final class JobExecution {
    public struct Options: Sendable {
        public var out: String?
        /// Shard K of N (1-based K): the cells whose global index i has i % N == K − 1.
        public var shard: (k: Int, n: Int)?
        public var resume = false
        public var threads = 1
        /// `--quick`: a tenth of each Monte Carlo cell's paths (at least 100).
        public var quick = false
        public var commandLine = ""
        /// Job-wide caps on cells and planned path-steps (`--allow-large`: `.none`).
        public var limits = JobLimits.standard
        public init() {}
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ d: String) { description = d }
    }

    public enum Outcome: Equatable, Sendable {
        case completed
        /// Stopped between cells by `shouldStop`; the finished cells are kept.
        case interrupted
    }

    public static let quickScale = 0.1

    public let spec: JobSpec
    public let runner: JobRunner
    public let outDirectory: URL?
    let store: ResultsStore?
    /// The lock on `outDirectory`, held for the life of this value (and so of the process).
    let lock: StoreLock?
    /// Global indices this run is responsible for, in order.
    public let selected: [Int]
    /// Finished cells by global index: stored ones and those computed by `run`.
    public private(set) var finished: [Int: Cell] = [:]
    /// Cells computed by this run, in order.
    public private(set) var fresh: [Cell] = []
    /// Stored failed cells that this run computes again.
    public private(set) var retrying = 0

    public init(specText: String, baseDirectory: URL?, options: Options) throws {
        let spec: JobSpec
        do { spec = try JobSpec.parse(specText, baseDirectory: baseDirectory, limits: options.limits) } catch { throw Failure(error.description) }
        self.spec = spec
        let scale = options.quick ? JobExecution.quickScale : 1
        runner = JobRunner(spec: spec, threads: options.threads, pathsScale: scale)
        let plan = runner.cells
        selected = plan.indices.filter { i in options.shard.map { i % $0.n == $0.k - 1 } ?? true }
        guard let out = options.out else { outDirectory = nil; store = nil; lock = nil; return }
        let url = URL(fileURLWithPath: out)
        let storePath = url.appendingPathComponent(ResultsStore.fileName).path
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        catch { throw Failure("--out \(out): cannot create that directory (\(error.localizedDescription))") }
        // one writer per store: the lock comes before anything is read or written there
        do { lock = try StoreLock.acquire(directory: url) } catch { throw Failure("--out \(out): \(error)") }
        let exists = FileManager.default.fileExists(atPath: storePath)
        if exists, !options.resume {
            throw Failure("--out \(out) already holds results (\(ResultsStore.fileName)); pass --resume to continue that run, or choose another --out")
        }
        do {
            if !exists { try Data(specText.utf8).write(to: url.appendingPathComponent("job.toml"), options: .atomic) }
        } catch { throw Failure("--out \(out): cannot write there (\(error.localizedDescription))") }
        do {
            if exists {
                let s = try ResultsStore.open(existing: storePath, forWriting: true)
                guard let job = try s.job() else { throw Failure("\(storePath) holds no job") }
                if job.pathsScale != scale {
                    throw Failure("--resume: the stored run was made \(options.quick ? "without" : "with") --quick; resume it the same way, or choose another --out")
                }
                let diff = SpecDiff.differences(old: job.spec, new: specText)
                if !diff.isEmpty {
                    throw Failure("--resume: the spec differs from the one stored in \(storePath): \(diff.joined(separator: "; "))")
                }
                let wanted = Set(selected)
                var again: [Int] = []
                for cell in try s.cells() where wanted.contains(cell.global) {
                    if cell.failed { again.append(cell.global) } else { finished[cell.global] = cell }
                }
                try s.delete(globals: again)
                retrying = again.count
                store = s
            } else {
                // created whole (schema and job row) under a temporary name, then renamed:
                // a start that fails leaves no store, never an empty one
                let job = ResultsStore.JobRow(name: spec.name, spec: specText, specHash: ResultsStore.specHash(specText), seed: spec.seed,
                                              toolVersion: ResultsStore.toolVersion, commandLine: options.commandLine,
                                              host: ProcessInfo.processInfo.hostName,
                                              startedAt: ISO8601DateFormatter().string(from: Date()),
                                              shard: options.shard.map { "\($0.k)/\($0.n)" }, pathsScale: scale,
                                              baseDirectory: baseDirectory?.standardizedFileURL.path)
                store = try ResultsStore.create(at: storePath, job: job)
            }
        } catch let error as Failure { throw error }
        catch let error as ResultsStore.StoreError { throw Failure(error.description) }
        catch { throw Failure("\(storePath): \(ResultsStore.brief(error))") }
        outDirectory = url
    }

    /// Cells already in the store when the run began (failed ones excluded: they run again).
    public var alreadyDone: Int { finished.count - fresh.count }

    /// Runs the cells still missing, calling `cellFinished` after each (on this thread) and
    /// `shouldStop` before each. Store failures throw `Failure`.
    public func run(shouldStop: () -> Bool = { false }, cellFinished: (Cell) -> Void = { _ in }) throws -> Outcome {
        // summary.json is rewritten on every way out: completed, interrupted, or a failure
        do {
            let outcome = try runCells(shouldStop: shouldStop, cellFinished: cellFinished)
            try writeSummary()
            return outcome
        } catch {
            try? writeSummary()
            throw error
        }
    }

    /// The summary is a view of the store, rewritten at most every `summaryInterval` seconds
    /// (and never taking more than a tenth of the run) while cells finish, so a 10⁵-cell
    /// sweep does not rewrite a growing file 10⁵ times; the store is the record.
    static let summaryInterval = 1.0
    private var lastSummary = ContinuousClock.now
    private var summaryCost = Duration.zero

    private func runCells(shouldStop: () -> Bool, cellFinished: (Cell) -> Void) throws -> Outcome {
        let plan = runner.cells
        for g in selected where finished[g] == nil {
            if shouldStop() { return .interrupted }
            let (e, c) = plan[g]
            let cell: Cell
            do {
                if let store {
                    cell = try store.recordCell { sink in try runner.runCell(experiment: e, cell: c, samples: sink) }
                } else {
                    cell = try runner.runCell(experiment: e, cell: c)
                }
            } catch let error as SpecError {
                throw Failure(error.description)
            } catch {
                throw Failure("cannot store cell \(g + 1): \(error)")
            }
            finished[g] = cell
            fresh.append(cell)
            cellFinished(cell)
            let since = ContinuousClock.now - lastSummary
            if since >= .seconds(Self.summaryInterval) && since >= summaryCost * 10 {
                let start = ContinuousClock.now
                try writeSummary()
                lastSummary = ContinuousClock.now
                summaryCost = lastSummary - start
            }
        }
        return .completed
    }

    /// The job object of docs/output.md over the selected finished cells (`run --format json`).
    public func summary() -> JSONValue {
        jobJSON(name: spec.name, seed: spec.seed, cells: selectedFinished)
    }

    /// The selected cells that are finished, in run order.
    public var selectedFinished: [Cell] { selected.compactMap { finished[$0] } }

    /// Failed cells among the selected ones (fresh, or stored by a run that was not resumed).
    public var failedCells: [Cell] { selectedFinished.filter(\.failed) }

    /// Rewrites DIR/summary.json atomically.
    func writeSummary() throws {
        guard let outDirectory else { return }
        let text = summary().serialized(indent: 2) + "\n"
        do { try Data(text.utf8).write(to: outDirectory.appendingPathComponent("summary.json"), options: .atomic) }
        catch { throw Failure("cannot write summary.json: \(error.localizedDescription)") }
    }

    /// The job object of docs/output.md from cell JSON values (the same bytes as `jobJSON`).
    public static func summaryJSON(name: String, seed: UInt64, cells: [JSONValue]) -> JSONValue {
        .object([("job", .string(name)), ("seed", .int(Int(truncatingIfNeeded: seed))), ("cells", .array(cells))])
    }
}
