import Foundation
import GRDB
import Diffusion

/// A job's results in SQLite (`DIR/results.sqlite`, WAL journal): one `job` row, one
/// `cell` row per finished cell and, for Monte Carlo cells, one `sample` row per path.
/// Each finished cell is committed in one transaction (its cell row and all its samples,
/// streamed in while the cell runs: `recordCell`), so a killed run leaves only whole cells
/// behind and `--resume` recomputes the rest.
public final class ResultsStore {
    public static let fileName = "results.sqlite"
    public static let toolVersion = "sgd-escape 0.6 (store schema 2)"
    /// Rows per multi-row INSERT of samples.
    static let sampleBatch = 500

    public struct StoreError: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// The `job` row.
    public struct JobRow: Sendable {
        public var name: String
        public var spec: String
        public var specHash: String
        public var seed: UInt64
        public var toolVersion: String
        public var commandLine: String
        public var host: String
        public var startedAt: String
        public var shard: String?
        /// The factor on every cell's paths (`run --quick`: 0.1); a resume must use the same.
        public var pathsScale: Double

        public init(name: String, spec: String, specHash: String, seed: UInt64, toolVersion: String, commandLine: String,
                    host: String, startedAt: String, shard: String?, pathsScale: Double = 1) {
            self.name = name; self.spec = spec; self.specHash = specHash; self.seed = seed; self.toolVersion = toolVersion
            self.commandLine = commandLine; self.host = host; self.startedAt = startedAt; self.shard = shard
            self.pathsScale = pathsScale
        }
    }

    public static let done = Cell.Status.done.rawValue
    public static let failed = Cell.Status.failed.rawValue

    let queue: DatabaseQueue
    public let path: String

    /// FNV-1a 64-bit of the spec text's UTF-8 bytes, as 16 hex digits (stable across
    /// platforms and runs; used to tell whether shard stores belong to the same job).
    public static func specHash(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h ^= UInt64(b); h = h &* 0x0000_0100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Opens (creating if needed) the store at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.label = "results"
        queue = try DatabaseQueue(path: path, configuration: config)
        try queue.inDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS job (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    name TEXT NOT NULL, spec TEXT NOT NULL, spec_hash TEXT NOT NULL, seed INTEGER NOT NULL,
                    tool_version TEXT NOT NULL, command_line TEXT NOT NULL, host TEXT NOT NULL,
                    started_at TEXT NOT NULL, shard TEXT, paths_scale REAL NOT NULL DEFAULT 1);
                CREATE TABLE IF NOT EXISTS cell (
                    global_index INTEGER PRIMARY KEY,
                    experiment_index INTEGER NOT NULL, experiment TEXT NOT NULL, cell_index INTEGER NOT NULL,
                    parameters TEXT NOT NULL, method TEXT NOT NULL, status TEXT NOT NULL,
                    json TEXT NOT NULL, wall_seconds REAL NOT NULL,
                    UNIQUE (experiment_index, cell_index));
                CREATE TABLE IF NOT EXISTS sample (
                    experiment_index INTEGER NOT NULL, cell_index INTEGER NOT NULL, path INTEGER NOT NULL,
                    steps INTEGER NOT NULL, time REAL NOT NULL, outcome TEXT NOT NULL, exit_point TEXT NOT NULL,
                    PRIMARY KEY (experiment_index, cell_index, path)) WITHOUT ROWID;
                """)
            // a schema-1 store (before paths_scale) holds cells in another encoding: refuse it whole
            let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(job)").map { $0["name"] as String }
            if !columns.contains("paths_scale") {
                throw StoreError("\(path) was written by an earlier sgd-escape (store schema 1), which this version (\(ResultsStore.toolVersion)) does not read; rerun the job into a new --out")
            }
        }
    }

    /// Opens an existing store, failing if there is none at `path`.
    public static func open(existing path: String) throws -> ResultsStore {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError("no \(fileName) at \(path)") }
        let store = try ResultsStore(path: path)
        guard try store.job() != nil else { throw StoreError("\(path) holds no job") }
        return store
    }

    public func setJob(_ job: JobRow) throws {
        try queue.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO job (id, name, spec, spec_hash, seed, tool_version, command_line, host, started_at, shard, paths_scale)
                VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [job.name, job.spec, job.specHash, Int64(bitPattern: job.seed), job.toolVersion,
                                 job.commandLine, job.host, job.startedAt, job.shard, job.pathsScale])
        }
    }

    public func job() throws -> JobRow? {
        try queue.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = 1") else { return nil }
            let seed: Int64 = row["seed"]
            return JobRow(name: row["name"], spec: row["spec"], specHash: row["spec_hash"], seed: UInt64(bitPattern: seed),
                          toolVersion: row["tool_version"], commandLine: row["command_line"], host: row["host"],
                          startedAt: row["started_at"], shard: row["shard"], pathsScale: row["paths_scale"])
        }
    }

    /// All finished cells (done or failed), in global order, decoded from their stored
    /// encoding (`Cell.decode`) and checked against their row: nothing read is trusted unchecked.
    public func cells() throws -> [Cell] {
        let rows = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT global_index, experiment_index, cell_index, status, json FROM cell ORDER BY global_index")
        }
        return try rows.map { row in
            let global: Int = row["global_index"]
            let cell: Cell
            do { cell = try Cell.decode(row["json"]) } catch { throw StoreError("cell \(global + 1): unreadable (\(error))") }
            guard cell.global == global, cell.experimentIndex == row["experiment_index"], cell.cellIndex == row["cell_index"],
                  cell.status.rawValue == row["status"] as String else {
                throw StoreError("cell \(global + 1): its row and its stored value disagree")
            }
            return cell
        }
    }

    public func count(_ table: String) throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    /// Runs `body` — one cell, streaming its samples chunk by chunk into the sink it is
    /// given — inside a single transaction that also inserts the cell's row: the cell's
    /// samples and row commit together or not at all (a killed run leaves whole cells only).
    /// Sample rows are inserted in batches as chunks arrive, so memory does not grow with
    /// the cell's paths (SQLite spills the open transaction to the WAL file).
    public func recordCell(_ body: (any CellSampleSink) throws -> Cell) throws -> Cell {
        try queue.write { db in
            let cell = try body(SampleWriter(db: db))
            try Self.insertRow(db, cell: cell)
            return cell
        }
    }

    static func insertRow(_ db: Database, cell: Cell) throws {
        let parameters = JSONValue.object(cell.parameters.map { ($0.key, .double($0.value)) }).serialized()
        try db.execute(sql: """
            INSERT INTO cell (global_index, experiment_index, experiment, cell_index, parameters, method, status, json, wall_seconds)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [cell.global, cell.experimentIndex, cell.experiment, cell.cellIndex, parameters, cell.method,
                             cell.status.rawValue, try cell.encoded(), cell.wallSeconds])
    }

    /// Removes cells and their samples (failed cells, before `--resume` runs them again), in one transaction.
    public func delete(globals: [Int]) throws {
        guard !globals.isEmpty else { return }
        try queue.write { db in
            for g in globals {
                guard let row = try Row.fetchOne(db, sql: "SELECT experiment_index, cell_index FROM cell WHERE global_index = ?", arguments: [g]) else { continue }
                let e: Int = row[0], c: Int = row[1]
                try db.execute(sql: "DELETE FROM sample WHERE experiment_index = ? AND cell_index = ?", arguments: [e, c])
                try db.execute(sql: "DELETE FROM cell WHERE global_index = ?", arguments: [g])
            }
        }
    }

    /// Writes sample rows inside `recordCell`'s transaction, `sampleBatch` rows per INSERT.
    final class SampleWriter: CellSampleSink {
        let db: Database
        var statements: [Int: Statement] = [:]
        var values: [(any DatabaseValueConvertible)?] = []

        init(db: Database) {
            self.db = db
            values.reserveCapacity(7 * ResultsStore.sampleBatch)
        }

        func write(_ chunk: ExitChunk, experiment: Int, cell: Int, timeScale: Double, labels: [String]) throws {
            let samples = chunk.samples
            let d = samples.dimension
            let n = samples.count
            var first = 0
            while first < n {
                let count = min(ResultsStore.sampleBatch, n - first)
                let statement: Statement
                if let s = statements[count] { statement = s } else {
                    let row = "(?, ?, ?, ?, ?, ?, ?)"
                    statement = try db.makeStatement(sql: "INSERT INTO sample VALUES " + Array(repeating: row, count: count).joined(separator: ","))
                    statements[count] = statement
                }
                values.removeAll(keepingCapacity: true)
                for p in first..<first + count {
                    let outcome = samples.outcomes[p]
                    let label: String
                    switch outcome {
                    case ExitSamples.censored: label = "censored"
                    case ExitSamples.diverged: label = "diverged"
                    default: label = Int(outcome) < labels.count ? labels[Int(outcome)] : "exit \(outcome)"
                    }
                    var point = "["
                    for k in 0..<d {
                        if k > 0 { point += "," }
                        point += JSONValue.double(samples.finalPoints[p * d + k]).serialized()
                    }
                    point += "]"
                    values.append(experiment); values.append(cell); values.append(chunk.firstPath + p)
                    values.append(samples.steps[p]); values.append(Double(samples.steps[p]) * timeScale)
                    values.append(label); values.append(point)
                }
                try statement.execute(arguments: StatementArguments(values))
                first += count
            }
        }

        func scanExitSteps(experiment: Int, cell: Int, _ visit: (_ step: Int, _ count: Int) -> Bool) throws {
            // GROUP BY + ORDER BY on the sorter: SQLite spills to temporary files, memory stays bounded.
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT steps, COUNT(*) FROM sample
                WHERE experiment_index = ? AND cell_index = ? AND outcome NOT IN ('censored', 'diverged')
                GROUP BY steps ORDER BY steps
                """, arguments: [experiment, cell])
            while let row = try cursor.next() {
                let step: Int = row[0], count: Int = row[1]
                if !visit(step, count) { return }
            }
        }
    }

    /// Runs `PRAGMA integrity_check` and returns its first line ("ok" when sound).
    public func integrityCheck() throws -> String {
        try queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// Copies the cells and samples of `other` whose global indices are in `globals` (merge).
    public func copy(from other: String, globals: Set<Int>) throws {
        guard !globals.isEmpty else { return }
        try queue.inDatabase { db in
            try db.execute(sql: "ATTACH DATABASE ? AS src", arguments: [other])
            defer { try? db.execute(sql: "DETACH DATABASE src") }
            try db.inTransaction {
                let list = globals.sorted().map(String.init).joined(separator: ",")
                try db.execute(sql: "INSERT INTO main.cell SELECT * FROM src.cell WHERE global_index IN (\(list))")
                try db.execute(sql: """
                    INSERT INTO main.sample SELECT s.* FROM src.sample s JOIN src.cell c
                    ON s.experiment_index = c.experiment_index AND s.cell_index = c.cell_index
                    WHERE c.global_index IN (\(list))
                    """)
                return .commit
            }
        }
    }

    /// Iterates all samples in (experiment, cell, path) order.
    public func forEachSample(_ body: (_ experiment: String, _ experimentIndex: Int, _ cell: Int, _ path: Int,
                                        _ steps: Int, _ time: Double, _ outcome: String, _ point: String) throws -> Void) throws {
        try queue.read { db in
            let names = try Row.fetchAll(db, sql: "SELECT DISTINCT experiment_index, experiment FROM cell")
            var name: [Int: String] = [:]
            for r in names { name[r["experiment_index"]] = r["experiment"] }
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM sample ORDER BY experiment_index, cell_index, path")
            while let r = try cursor.next() {
                let e: Int = r["experiment_index"]
                try body(name[e] ?? "", e, r["cell_index"], r["path"], r["steps"], r["time"], r["outcome"], r["exit_point"])
            }
        }
    }
}
