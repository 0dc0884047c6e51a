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
    public static let toolVersion = ToolVersion.label
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
        /// The absolute folder the spec's relative paths (a data set's `csv`) were read from,
        /// so a report re-reads the same files; nil for the embedded demo and older stores.
        public var baseDirectory: String?

        public init(name: String, spec: String, specHash: String, seed: UInt64, toolVersion: String, commandLine: String,
                    host: String, startedAt: String, shard: String?, pathsScale: Double = 1, baseDirectory: String? = nil) {
            self.name = name; self.spec = spec; self.specHash = specHash; self.seed = seed; self.toolVersion = toolVersion
            self.commandLine = commandLine; self.host = host; self.startedAt = startedAt; self.shard = shard
            self.pathsScale = pathsScale; self.baseDirectory = baseDirectory
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

    /// The columns each table must have (a store lacking one is foreign or damaged), and the
    /// two that stores written before sample digests lack.
    static let requiredColumns: [(table: String, columns: [String])] = [
        ("job", ["id", "name", "spec", "spec_hash", "seed", "tool_version", "command_line", "host", "started_at", "shard", "paths_scale"]),
        ("cell", ["global_index", "experiment_index", "experiment", "cell_index", "parameters", "method", "status", "json", "wall_seconds"]),
        ("sample", ["experiment_index", "cell_index", "path", "steps", "time", "outcome", "exit_point"]),
    ]
    static let digestColumns = ["sample_count", "digest"]

    /// Whether the cell table has the digest columns (false for a store written before them,
    /// whose cells are read unverified).
    public private(set) var hasDigests = true

    /// Opens (creating if needed) the store at `path`. Used to create new stores (a run's
    /// store is created under a temporary name and renamed, see `JobExecution`); existing
    /// stores are opened with `open(existing:forWriting:)`, which checks them.
    public init(path: String) throws {
        self.path = path
        queue = try Self.makeQueue(path)
        try queue.inDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS job (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    name TEXT NOT NULL, spec TEXT NOT NULL, spec_hash TEXT NOT NULL, seed INTEGER NOT NULL,
                    tool_version TEXT NOT NULL, command_line TEXT NOT NULL, host TEXT NOT NULL,
                    started_at TEXT NOT NULL, shard TEXT, paths_scale REAL NOT NULL DEFAULT 1, base_directory TEXT);
                CREATE TABLE IF NOT EXISTS cell (
                    global_index INTEGER PRIMARY KEY,
                    experiment_index INTEGER NOT NULL, experiment TEXT NOT NULL, cell_index INTEGER NOT NULL,
                    parameters TEXT NOT NULL, method TEXT NOT NULL, status TEXT NOT NULL,
                    json TEXT NOT NULL, wall_seconds REAL NOT NULL,
                    sample_count INTEGER, digest TEXT,
                    UNIQUE (experiment_index, cell_index));
                CREATE TABLE IF NOT EXISTS sample (
                    experiment_index INTEGER NOT NULL, cell_index INTEGER NOT NULL, path INTEGER NOT NULL,
                    steps INTEGER NOT NULL, time REAL NOT NULL, outcome TEXT NOT NULL, exit_point TEXT NOT NULL,
                    PRIMARY KEY (experiment_index, cell_index, path)) WITHOUT ROWID;
                """)
            // a schema-1 store (before paths_scale) holds cells in another encoding: refuse it whole
            let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(job)").compactMap { String.fromDatabaseValue($0["name"]) }
            if !columns.contains("paths_scale") {
                throw StoreError("\(path) was written by an earlier sgd-escape (store schema 1), which this version (\(ResultsStore.toolVersion)) does not read; rerun the job into a new --out")
            }
            try Self.addDigestColumnsIfMissing(db)
        }
    }

    private init(checking path: String, forWriting: Bool) throws {
        self.path = path
        queue = try Self.makeQueue(path)
        hasDigests = try Self.check(queue, path: path)
        if forWriting {
            try queue.inDatabase { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try Self.addDigestColumnsIfMissing(db)
            }
        }
    }

    static func makeQueue(_ path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.label = "results"
        return try DatabaseQueue(path: path, configuration: config)
    }

    static func addDigestColumnsIfMissing(_ db: Database) throws {
        let have = Set(try Row.fetchAll(db, sql: "PRAGMA table_info(cell)").compactMap { String.fromDatabaseValue($0["name"]) })
        for c in digestColumns where !have.contains(c) {
            try db.execute(sql: "ALTER TABLE cell ADD COLUMN \(c) \(c == "digest" ? "TEXT" : "INTEGER")")
        }
        if !(try hasJobColumn(db, "base_directory")) { try db.execute(sql: "ALTER TABLE job ADD COLUMN base_directory TEXT") }
    }

    static func hasJobColumn(_ db: Database, _ name: String) throws -> Bool {
        try Row.fetchAll(db, sql: "PRAGMA table_info(job)").contains { String.fromDatabaseValue($0["name"]) == name }
    }

    /// Opens an existing store, failing if there is none at `path`, and checks it whole before
    /// anything is read: SQLite's `quick_check`, the schema, the job row, and every cell against
    /// its digest (recomputed from its row and its sample rows; no sample row may lack its cell).
    /// Any failure is one line naming the store and what is wrong. A store written before
    /// digests is read with a one-line warning on stderr (its cells are unverified).
    /// `forWriting` (resume) also sets WAL and adds the digest columns to such a store.
    public static func open(existing path: String, forWriting: Bool = false) throws -> ResultsStore {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw StoreError("no \(fileName) at \(path)") }
        if isDirectory.boolValue { throw StoreError("\(path) is a directory, not a results store") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue == 0 {
            throw StoreError("\(path) is empty (0 bytes), not a results store")
        }
        let store: ResultsStore
        do { store = try ResultsStore(checking: path, forWriting: forWriting) }
        catch let error as StoreError { throw error }
        catch { throw StoreError("\(path) is not a readable results store (\(Self.brief(error)))") }
        if !store.hasDigests {
            FileHandle.standardError.write(Data("warning: \(path) was written before cells carried digests of their samples; its cells are read unverified\n".utf8))
        }
        return store
    }

    /// A database error's message without GRDB's statement dump.
    static func brief(_ error: any Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "SQLite error \(e.resultCode.rawValue)" }
        if let e = error as? StoreError { return e.description }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    /// The whole-store check of `open(existing:)`; returns whether the store has digests.
    static func check(_ queue: DatabaseQueue, path: String) throws -> Bool {
        try queue.read { db in
            let quick = try String.fetchAll(db, sql: "PRAGMA quick_check")
            guard quick == ["ok"] else {
                let first = String((quick.first ?? "no answer").split(whereSeparator: \.isNewline)
                    .filter { !$0.hasPrefix("***") }.joined(separator: " ").prefix(200))
                throw StoreError("\(path) is damaged (SQLite quick_check: \(first)\(quick.count > 1 ? "; \(quick.count - 1) more problem(s)" : ""))")
            }
            var hasDigests = true
            for (table, columns) in requiredColumns {
                let have = Set(try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").compactMap { String.fromDatabaseValue($0["name"]) })
                if have.isEmpty { throw StoreError("\(path) is not an sgd-escape results store (it has no '\(table)' table)") }
                for c in columns where !have.contains(c) {
                    if table == "job", c == "paths_scale" {
                        throw StoreError("\(path) was written by an earlier sgd-escape (store schema 1), which this version (\(ResultsStore.toolVersion)) does not read; rerun the job into a new --out")
                    }
                    throw StoreError("\(path) is not an sgd-escape results store (table '\(table)' has no column '\(c)')")
                }
                if table == "cell" { hasDigests = digestColumns.allSatisfy(have.contains) }
            }
            guard try Row.fetchOne(db, sql: "SELECT id FROM job") != nil else { throw StoreError("\(path) holds no job") }
            _ = try decodeJob(db, path: path)
            try verifyCells(db, path: path, hasDigests: hasDigests)
            return hasDigests
        }
    }

    /// Recomputes every cell's digest from its row and its samples and compares it with the
    /// stored one; sample rows without a cell row are damage too.
    static func verifyCells(_ db: Database, path: String, hasDigests: Bool) throws {
        let found = try sampleDigests(db, path: path)
        var seen = Set<CellKey>()
        let cursor = try Row.fetchCursor(db, sql: "SELECT global_index, experiment_index, experiment, cell_index, parameters, method, status, json, wall_seconds\(hasDigests ? ", sample_count, digest" : "") FROM cell ORDER BY global_index")
        while let row = try cursor.next() {
            let fields = try CellFields(row: row, path: path)
            let key = CellKey(e: fields.experimentIndex, c: fields.cellIndex)
            seen.insert(key)
            guard hasDigests else { continue }
            let name = "cell \(fields.global + 1) (experiment '\(fields.experiment.prefix(80))', cell \(fields.cellIndex + 1))"
            let samples = found[key] ?? SampleDigest()
            guard let storedCount = Int.fromDatabaseValue(row[9]), let storedDigest = String.fromDatabaseValue(row[10]) else {
                throw StoreError("\(path): \(name) has no digest; the store is damaged")
            }
            if storedCount != samples.count {
                throw StoreError("\(path): \(name) is damaged: it should have \(storedCount) sample rows, the store holds \(samples.count)")
            }
            if storedDigest != fields.digest(samples) {
                throw StoreError("\(path): \(name) is damaged: its row or its samples do not match its digest")
            }
        }
        if let orphan = found.keys.filter({ !seen.contains($0) }).min(by: { ($0.e, $0.c) < ($1.e, $1.c) }) {
            throw StoreError("\(path) is damaged: \(found[orphan]?.count ?? 0) sample rows of experiment \(orphan.e + 1), cell \(orphan.c + 1) have no cell row")
        }
    }

    struct CellKey: Hashable { var e: Int; var c: Int }

    /// Count and order-independent hash (the wrapping sum of each row's FNV-1a 64) of sample rows.
    struct SampleDigest {
        var count = 0
        var sum: UInt64 = 0
        mutating func add(path: Int, steps: Int, time: Double, outcome: String, point: String) {
            var h = FNV()
            h.add(Int64(path)); h.add(Int64(steps)); h.add(time.bitPattern)
            h.add(outcome); h.add(point)
            count += 1
            sum = sum &+ h.value
        }
        mutating func merge(_ other: SampleDigest) { count += other.count; sum = sum &+ other.sum }
    }

    /// FNV-1a 64 over little-endian integers and length-prefixed UTF-8 strings.
    struct FNV {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        mutating func byte(_ b: UInt8) { value ^= UInt64(b); value = value &* 0x0000_0100_0000_01b3 }
        mutating func add(_ x: UInt64) { for k in 0..<8 { byte(UInt8(truncatingIfNeeded: x >> (8 * UInt64(k)))) } }
        mutating func add(_ x: Int64) { add(UInt64(bitPattern: x)) }
        mutating func add(_ s: String) { add(Int64(s.utf8.count)); for b in s.utf8 { byte(b) } }
        var hex: String { let h = String(value, radix: 16); return String(repeating: "0", count: 16 - h.count) + h }
    }

    /// A cell row's stored fields, read without trusting their types.
    struct CellFields {
        var global: Int, experimentIndex: Int, experiment: String, cellIndex: Int
        var parameters: String, method: String, status: String, json: String, wallSeconds: Double

        init(global: Int, experimentIndex: Int, experiment: String, cellIndex: Int, parameters: String, method: String,
             status: String, json: String, wallSeconds: Double) {
            self.global = global; self.experimentIndex = experimentIndex; self.experiment = experiment; self.cellIndex = cellIndex
            self.parameters = parameters; self.method = method; self.status = status; self.json = json; self.wallSeconds = wallSeconds
        }

        /// From a row whose first nine columns are the cell table's, in schema order.
        init(row: Row, path: String) throws {
            let g = Int.fromDatabaseValue(row[0])
            func bad(_ column: String) -> StoreError {
                StoreError("\(path) is damaged: \(g.map { "cell \($0 + 1)" } ?? "a cell row") has an unreadable \(column)")
            }
            guard let g else { throw bad("global_index") }
            guard let e = Int.fromDatabaseValue(row[1]) else { throw bad("experiment_index") }
            guard let name = String.fromDatabaseValue(row[2]) else { throw bad("experiment") }
            guard let c = Int.fromDatabaseValue(row[3]) else { throw bad("cell_index") }
            guard let parameters = String.fromDatabaseValue(row[4]) else { throw bad("parameters") }
            guard let method = String.fromDatabaseValue(row[5]) else { throw bad("method") }
            guard let status = String.fromDatabaseValue(row[6]) else { throw bad("status") }
            guard let json = String.fromDatabaseValue(row[7]) else { throw bad("json") }
            guard let wall = Double.fromDatabaseValue(row[8]) else { throw bad("wall_seconds") }
            self.init(global: g, experimentIndex: e, experiment: name, cellIndex: c, parameters: parameters, method: method,
                      status: status, json: json, wallSeconds: wall)
        }

        func digest(_ samples: SampleDigest) -> String {
            var h = FNV()
            h.add(Int64(global)); h.add(Int64(experimentIndex)); h.add(experiment); h.add(Int64(cellIndex))
            h.add(parameters); h.add(method); h.add(status); h.add(json); h.add(wallSeconds.bitPattern)
            h.add(Int64(samples.count)); h.add(samples.sum)
            return h.hex
        }
    }

    /// Digests of all sample rows, by cell, in one pass over the table.
    static func sampleDigests(_ db: Database, path: String, cell: CellKey? = nil) throws -> [CellKey: SampleDigest] {
        var out: [CellKey: SampleDigest] = [:]
        let filter = cell.map { "WHERE experiment_index = \($0.e) AND cell_index = \($0.c)" } ?? ""
        let cursor = try Row.fetchCursor(db, sql: "SELECT experiment_index, cell_index, path, steps, time, outcome, exit_point FROM sample \(filter)")
        var key = CellKey(e: -1, c: -1)
        var current = SampleDigest()
        var started = false
        while let r = try cursor.next() {
            guard let e = Int.fromDatabaseValue(r[0]), let c = Int.fromDatabaseValue(r[1]), let p = Int.fromDatabaseValue(r[2]),
                  let steps = Int.fromDatabaseValue(r[3]), let time = Double.fromDatabaseValue(r[4]),
                  let outcome = String.fromDatabaseValue(r[5]), let point = String.fromDatabaseValue(r[6]) else {
                throw StoreError("\(path) is damaged: a sample row has an unreadable value")
            }
            let k = CellKey(e: e, c: c)
            if !started || k != key {
                if started { out[key, default: SampleDigest()].merge(current) }
                key = k; current = SampleDigest(); started = true
            }
            current.add(path: p, steps: steps, time: time, outcome: outcome, point: point)
        }
        if started { out[key, default: SampleDigest()].merge(current) }
        return out
    }

    static func decodeJob(_ db: Database, path: String) throws -> JobRow? {
        let withBase = try hasJobColumn(db, "base_directory")
        guard let row = try Row.fetchOne(db, sql: "SELECT name, spec, spec_hash, seed, tool_version, command_line, host, started_at, shard, paths_scale\(withBase ? ", base_directory" : "") FROM job WHERE id = 1") else { return nil }
        guard let name = String.fromDatabaseValue(row[0]), let spec = String.fromDatabaseValue(row[1]),
              let hash = String.fromDatabaseValue(row[2]), let seed = Int64.fromDatabaseValue(row[3]),
              let version = String.fromDatabaseValue(row[4]), let commandLine = String.fromDatabaseValue(row[5]),
              let host = String.fromDatabaseValue(row[6]), let started = String.fromDatabaseValue(row[7]),
              let scale = Double.fromDatabaseValue(row[9]) else {
            throw StoreError("\(path) is damaged: its job row has an unreadable value")
        }
        let shardValue: DatabaseValue = row[8]
        let shard: String?
        if shardValue.isNull { shard = nil } else if let s = String.fromDatabaseValue(shardValue) { shard = s } else {
            throw StoreError("\(path) is damaged: its job row has an unreadable shard")
        }
        var base: String? = nil
        if withBase {
            let value: DatabaseValue = row[10]
            if !value.isNull {
                guard let b = String.fromDatabaseValue(value) else { throw StoreError("\(path) is damaged: its job row has an unreadable base_directory") }
                base = b
            }
        }
        return JobRow(name: name, spec: spec, specHash: hash, seed: UInt64(bitPattern: seed), toolVersion: version,
                      commandLine: commandLine, host: host, startedAt: started, shard: shard, pathsScale: scale, baseDirectory: base)
    }

    /// Creates a store with its job row at `path` atomically: built whole under
    /// `path.partial` (removed first if a failed start left one), closed, then renamed into
    /// place and reopened. The caller holds the folder's `StoreLock`.
    public static func create(at path: String, job: JobRow) throws -> ResultsStore {
        let temporary = path + ".partial"
        let fm = FileManager.default
        for suffix in ["", "-wal", "-shm", "-journal"] where fm.fileExists(atPath: temporary + suffix) {
            try fm.removeItem(atPath: temporary + suffix)
        }
        do {
            let s = try ResultsStore(path: temporary)
            try s.setJob(job)
            try s.close()
        } catch {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? fm.removeItem(atPath: temporary + suffix) }
            throw StoreError("cannot create \(path): \(brief(error))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(atPath: temporary)
            throw StoreError("cannot create \(path): \(reason)")
        }
        return try ResultsStore(path: path)
    }

    /// Closes the database (a store created under a temporary name is closed before its rename).
    public func close() throws { try queue.close() }

    public func setJob(_ job: JobRow) throws {
        try queue.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO job (id, name, spec, spec_hash, seed, tool_version, command_line, host, started_at, shard, paths_scale, base_directory)
                VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [job.name, job.spec, job.specHash, Int64(bitPattern: job.seed), job.toolVersion,
                                 job.commandLine, job.host, job.startedAt, job.shard, job.pathsScale, job.baseDirectory])
        }
    }

    public func job() throws -> JobRow? {
        try queue.read { db in try Self.decodeJob(db, path: path) }
    }

    /// All finished cells (done or failed), in global order, decoded from their stored
    /// encoding (`Cell.decode`) and checked against their row: nothing read is trusted unchecked.
    public func cells() throws -> [Cell] {
        let rows = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT global_index, experiment_index, experiment, cell_index, parameters, method, status, json, wall_seconds FROM cell ORDER BY global_index")
        }
        return try rows.map { row in
            let fields = try CellFields(row: row, path: path)
            let global = fields.global
            let cell: Cell
            do { cell = try Cell.decode(fields.json) } catch { throw StoreError("cell \(global + 1): unreadable (\(error))") }
            guard cell.global == global, cell.experimentIndex == fields.experimentIndex, cell.cellIndex == fields.cellIndex,
                  cell.status.rawValue == fields.status else {
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
            let writer = SampleWriter(db: db)
            let cell = try body(writer)
            try Self.insertRow(db, cell: cell, samples: writer.digest)
            return cell
        }
    }

    /// Inserts a cell's row with its digest (over the row's fields and its samples' digest).
    static func insertRow(_ db: Database, cell: Cell, samples: SampleDigest) throws {
        let parameters = JSONValue.object(cell.parameters.map { ($0.key, .double($0.value)) }).serialized()
        let fields = CellFields(global: cell.global, experimentIndex: cell.experimentIndex, experiment: cell.experiment,
                                cellIndex: cell.cellIndex, parameters: parameters, method: cell.method,
                                status: cell.status.rawValue, json: try cell.encoded(), wallSeconds: cell.wallSeconds)
        // prepared once per connection (GRDB's statement cache), like the sample INSERTs
        try db.cachedStatement(sql: """
            INSERT INTO cell (global_index, experiment_index, experiment, cell_index, parameters, method, status, json, wall_seconds, sample_count, digest)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [fields.global, fields.experimentIndex, fields.experiment, fields.cellIndex, fields.parameters,
                             fields.method, fields.status, fields.json, fields.wallSeconds, samples.count, fields.digest(samples)])
    }

    /// Removes cells and their samples (failed cells, before `--resume` runs them again), in one transaction.
    public func delete(globals: [Int]) throws {
        guard !globals.isEmpty else { return }
        try queue.write { db in
            for g in globals {
                guard let row = try Row.fetchOne(db, sql: "SELECT experiment_index, cell_index FROM cell WHERE global_index = ?", arguments: [g]) else { continue }
                guard let e = Int.fromDatabaseValue(row[0]), let c = Int.fromDatabaseValue(row[1]) else {
                    throw StoreError("\(path) is damaged: cell \(g + 1) has an unreadable experiment_index or cell_index")
                }
                try db.execute(sql: "DELETE FROM sample WHERE experiment_index = ? AND cell_index = ?", arguments: [e, c])
                try db.execute(sql: "DELETE FROM cell WHERE global_index = ?", arguments: [g])
            }
        }
    }

    /// Writes sample rows inside `recordCell`'s transaction, `sampleBatch` rows per INSERT.
    final class SampleWriter: CellSampleSink {
        let db: Database
        var tails: [Int: Statement] = [:]
        var values: [(any DatabaseValueConvertible)?] = []
        /// The digest of the rows written so far.
        var digest = SampleDigest()

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
                // full batches share one statement prepared once per connection; a shorter one
                // (a chunk's or the cell's tail) is prepared once per cell and size
                let statement: Statement
                if count == ResultsStore.sampleBatch {
                    statement = try db.cachedStatement(sql: Self.fullBatchSQL)
                } else if let s = tails[count] {
                    statement = s
                } else {
                    statement = try db.makeStatement(sql: Self.insertSQL(rows: count))
                    tails[count] = statement
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
                    let time = Double(samples.steps[p]) * timeScale
                    values.append(experiment); values.append(cell); values.append(chunk.firstPath + p)
                    values.append(samples.steps[p]); values.append(time)
                    values.append(label); values.append(point)
                    digest.add(path: chunk.firstPath + p, steps: samples.steps[p], time: time, outcome: label, point: point)
                }
                try statement.execute(arguments: StatementArguments(values))
                first += count
            }
        }

        static let fullBatchSQL = insertSQL(rows: ResultsStore.sampleBatch)
        /// `INSERT INTO sample VALUES (?, …), …` for `rows` rows.
        static func insertSQL(rows: Int) -> String {
            "INSERT INTO sample VALUES " + Array(repeating: "(?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ",")
        }

        func scanExitSteps(experiment: Int, cell: Int, _ visit: (_ step: Int, _ count: Int) -> Bool) throws {
            // GROUP BY + ORDER BY on the sorter: SQLite spills to temporary files, memory stays bounded.
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT steps, COUNT(*) FROM sample
                WHERE experiment_index = ? AND cell_index = ? AND outcome NOT IN ('censored', 'diverged')
                GROUP BY steps ORDER BY steps
                """, arguments: [experiment, cell])
            while let row = try cursor.next() {
                guard let step = Int.fromDatabaseValue(row[0]), let count = Int.fromDatabaseValue(row[1]) else {
                    throw StoreError("a stored sample of experiment \(experiment + 1), cell \(cell + 1) is unreadable")
                }
                if !visit(step, count) { return }
            }
        }
    }

    /// Runs `PRAGMA integrity_check` and returns its first line ("ok" when sound).
    public func integrityCheck() throws -> String {
        try queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// Copies the cells and samples of `other` (a store checked by `open(existing:)`) whose
    /// global indices are in `globals` (merge). Cells copied from a store written before
    /// digests get digests computed here.
    public func copy(from other: String, globals: Set<Int>) throws {
        guard !globals.isEmpty else { return }
        try queue.inDatabase { db in
            try db.execute(sql: "ATTACH DATABASE ? AS src", arguments: [other])
            defer { try? db.execute(sql: "DETACH DATABASE src") }
            let srcColumns = Set(try Row.fetchAll(db, sql: "PRAGMA src.table_info(cell)").compactMap { String.fromDatabaseValue($0["name"]) })
            let columns = (Self.requiredColumns[1].columns + (Self.digestColumns.allSatisfy(srcColumns.contains) ? Self.digestColumns : []))
                .joined(separator: ", ")
            try db.inTransaction {
                let list = globals.sorted().map(String.init).joined(separator: ",")
                try db.execute(sql: "INSERT INTO main.cell (\(columns)) SELECT \(columns) FROM src.cell WHERE global_index IN (\(list))")
                try db.execute(sql: """
                    INSERT INTO main.sample SELECT s.experiment_index, s.cell_index, s.path, s.steps, s.time, s.outcome, s.exit_point
                    FROM src.sample s JOIN src.cell c
                    ON s.experiment_index = c.experiment_index AND s.cell_index = c.cell_index
                    WHERE c.global_index IN (\(list))
                    """)
                try Self.fillMissingDigests(db, path: path)
                return .commit
            }
        }
    }

    /// Computes the digest of every cell that lacks one (cells copied from an older store).
    static func fillMissingDigests(_ db: Database, path: String) throws {
        let rows = try Row.fetchAll(db, sql: "SELECT global_index, experiment_index, experiment, cell_index, parameters, method, status, json, wall_seconds FROM main.cell WHERE digest IS NULL")
        for row in rows {
            let fields = try CellFields(row: row, path: path)
            let key = CellKey(e: fields.experimentIndex, c: fields.cellIndex)
            let samples = try sampleDigests(db, path: path, cell: key)[key] ?? SampleDigest()
            try db.execute(sql: "UPDATE main.cell SET sample_count = ?, digest = ? WHERE global_index = ?",
                           arguments: [samples.count, fields.digest(samples), fields.global])
        }
    }

    /// Iterates all samples in (experiment, cell, path) order.
    public func forEachSample(_ body: (_ experiment: String, _ experimentIndex: Int, _ cell: Int, _ path: Int,
                                        _ steps: Int, _ time: Double, _ outcome: String, _ point: String) throws -> Void) throws {
        try queue.read { db in
            let names = try Row.fetchAll(db, sql: "SELECT DISTINCT experiment_index, experiment FROM cell")
            var name: [Int: String] = [:]
            for r in names {
                if let e = Int.fromDatabaseValue(r[0]), let n = String.fromDatabaseValue(r[1]) { name[e] = n }
            }
            let cursor = try Row.fetchCursor(db, sql: "SELECT experiment_index, cell_index, path, steps, time, outcome, exit_point FROM sample ORDER BY experiment_index, cell_index, path")
            while let r = try cursor.next() {
                guard let e = Int.fromDatabaseValue(r[0]), let c = Int.fromDatabaseValue(r[1]), let p = Int.fromDatabaseValue(r[2]),
                      let steps = Int.fromDatabaseValue(r[3]), let time = Double.fromDatabaseValue(r[4]),
                      let outcome = String.fromDatabaseValue(r[5]), let point = String.fromDatabaseValue(r[6]) else {
                    throw StoreError("\(path) is damaged: a sample row has an unreadable value")
                }
                try body(name[e] ?? "", e, c, p, steps, time, outcome, point)
            }
        }
    }
}
