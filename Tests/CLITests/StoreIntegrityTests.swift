import Foundation
import GRDB
import Testing
import TestSupport

/// Damaged stores and concurrent writers (issue 13, items 1–2). A damaged store must make
/// every reading command (`report`, `export --cells`, `export --samples`, `run --resume`,
/// `merge`) exit 2 with one line naming what is wrong and write nothing; where a damage is
/// invisible (a flipped bit in unused space) the command must produce exactly the pristine
/// output. Two `run`s on one DIR: one runs, the other exits 2 at once, naming the holder.
@Suite(.serialized) struct StoreIntegrityTests {
    /// A finished run of `storeJob` (six cells, 1450 samples) in `dir/good`, plus the job file.
    static func goodStore() throws -> (dir: URL, job: String, store: URL) {
        let (dir, job) = try StoreTests.jobFile()
        let out = dir.appendingPathComponent("good")
        let r = try CLI.run(["run", job, "--out", out.path, "--quiet", "--threads", "2"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        return (dir, job, out)
    }

    /// A copy of `store`'s results.sqlite as one file (no WAL) in a fresh folder `name` under `dir`.
    static func copy(_ store: URL, to dir: URL, name: String) throws -> URL {
        let folder = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let target = folder.appendingPathComponent("results.sqlite").path
        let db = try DatabaseQueue(path: store.appendingPathComponent("results.sqlite").path)
        try db.writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [target]) }
        try db.close()
        return folder
    }

    /// Runs each reading command on `folder`; returns (command, result, output written?) per command.
    /// Output files go to `scratch/<label>-…`.
    static func commands(on folder: URL, job: String, scratch: URL, label: String) throws -> [(String, CLIResult, URL)] {
        let report = scratch.appendingPathComponent("\(label)-report")
        let cells = scratch.appendingPathComponent("\(label)-cells.csv")
        let samples = scratch.appendingPathComponent("\(label)-samples.csv")
        let merged = scratch.appendingPathComponent("\(label)-merged")
        return [
            ("report", try CLI.run(["report", folder.path, "--out", report.path, "--quiet"]), report.appendingPathComponent("report.md")),
            ("export --cells", try CLI.run(["export", folder.path, "--cells", cells.path]), cells),
            ("export --samples", try CLI.run(["export", folder.path, "--samples", samples.path]), samples),
            ("merge", try CLI.run(["merge", folder.path, "--out", merged.path]), merged.appendingPathComponent("summary.json")),
            ("run --resume", try CLI.run(["run", job, "--out", folder.path, "--resume", "--quiet", "--threads", "2"]), folder.appendingPathComponent("summary.json")),
        ]
    }

    /// True when `r` is a refusal: exit 2, exactly one stderr line, starting "error:".
    static func refused(_ r: CLIResult) -> Bool {
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        return r.status == 2 && lines.count == 1 && lines[0].hasPrefix("error: ") && r.stdout.isEmpty
    }

    static func contents(_ url: URL) -> String? {
        (try? Data(contentsOf: url)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The pristine outputs of every command, to compare with outputs from damaged copies.
    static func pristine(store: URL, job: String, dir: URL) throws -> [String: String] {
        let folder = try copy(store, to: dir, name: "pristine")
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("summary.json"))
        var out: [String: String] = [:]
        for (name, r, file) in try commands(on: folder, job: job, scratch: dir, label: "pristine") {
            #expect(r.status == 0, "\(name) on the pristine copy: \(r.stderr)")
            out[name] = name == "run --resume" || name == "merge" ? contents(file).map(withoutWallSeconds) : contents(file)
        }
        return out
    }

    /// Every command on a damaged copy either refuses (exit 2, one line, nothing written) or,
    /// when the damage touched nothing it reads, gives the pristine output. Returns the number
    /// of commands that refused.
    @discardableResult
    static func check(_ folder: URL, job: String, dir: URL, label: String, pristine: [String: String],
                      mustRefuse: Bool, expecting phrase: String? = nil) throws -> Int {
        var refusals = 0
        let summary = folder.appendingPathComponent("summary.json")
        try? FileManager.default.removeItem(at: summary)
        for (name, r, file) in try commands(on: folder, job: job, scratch: dir, label: label) {
            if refused(r) {
                refusals += 1
                #expect(!FileManager.default.fileExists(atPath: file.path), "\(label): \(name) refused but wrote \(file.path)")
                if let phrase { #expect(r.stderr.contains(phrase), "\(label): \(name): \(r.stderr)") }
                #expect(!r.stderr.contains("SQLite error"), "\(label): \(name): raw SQLite message: \(r.stderr)")
            } else {
                #expect(!mustRefuse, "\(label): \(name) did not refuse: status \(r.status), stderr \(r.stderr.prefix(600))")
                #expect(r.status == 0, "\(label): \(name) neither refused cleanly nor succeeded: status \(r.status), stderr \(r.stderr.prefix(600))")
                let got = name == "run --resume" || name == "merge" ? contents(file).map(withoutWallSeconds) : contents(file)
                #expect(got == pristine[name], "\(label): \(name) succeeded with output that differs from the pristine store's")
            }
        }
        return refusals
    }

    static func mutate(_ folder: URL, _ sql: String) throws {
        let db = try DatabaseQueue(path: folder.appendingPathComponent("results.sqlite").path)
        try db.write { try $0.execute(sql: sql) }
        try db.close()
    }

    /// Damage SQLite cannot see (a changed value in a valid record — what a flipped bit in a
    /// record's payload amounts to) and damage it can (rows deleted out of step, a truncated
    /// file, foreign files): all refused by every command, with a message naming the problem.
    @Test func damagedStoresAreRefusedByEveryCommand() throws {
        let (dir, job, store) = try Self.goodStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pristine = try Self.pristine(store: store, job: job, dir: dir)
        let cases: [(String, String, String)] = [
            ("sample-steps", "UPDATE sample SET steps = steps + 1 WHERE experiment_index = 0 AND cell_index = 1 AND path = 17", "cell 2 (experiment 'langevin', cell 2) is damaged"),
            // the first uncensored path of the cell, whatever the simulated bits make it
            ("sample-outcome", "UPDATE sample SET outcome = 'censored' WHERE experiment_index = 2 AND cell_index = 0 AND path = (SELECT MIN(path) FROM sample WHERE experiment_index = 2 AND cell_index = 0 AND outcome != 'censored')", "cell 6 (experiment 'sgd', cell 1) is damaged"),
            ("sample-deleted", "DELETE FROM sample WHERE experiment_index = 0 AND cell_index = 3 AND path = 299", "should have 300 sample rows, the store holds 299"),
            ("cell-json", "UPDATE cell SET json = replace(json, '\"mean_exit_time\":', '\"mean_exit_time\":1') WHERE global_index = 0", "cell 1 (experiment 'langevin', cell 1) is damaged"),
            ("cell-deleted", "DELETE FROM cell WHERE global_index = 5", "have no cell row"),
            ("digest-null", "UPDATE cell SET digest = NULL WHERE global_index = 4", "cell 5 (experiment 'exact', cell 1) has no digest"),
            ("steps-null", "PRAGMA ignore_check_constraints = 1; UPDATE sample SET steps = 'x' WHERE experiment_index = 0 AND cell_index = 0 AND path = 0", "a sample row has an unreadable value"),
        ]
        for (label, sql, phrase) in cases {
            let folder = try Self.copy(store, to: dir, name: label)
            try Self.mutate(folder, sql)
            try Self.check(folder, job: job, dir: dir, label: label, pristine: pristine, mustRefuse: true, expecting: phrase)
        }
        // A truncated file, a foreign SQLite database, a file that is not SQLite, an empty file.
        let size = try Data(contentsOf: try Self.copy(store, to: dir, name: "size").appendingPathComponent("results.sqlite")).count
        let files: [(String, (URL) throws -> Void, String)] = [
            ("truncated", { url in
                let h = try FileHandle(forWritingTo: url); try h.truncate(atOffset: UInt64(size / 2)); try h.close()
            }, "results.sqlite"),
            ("foreign", { url in
                try FileManager.default.removeItem(at: url)
                let db = try DatabaseQueue(path: url.path)
                try db.write { try $0.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes VALUES (1, 'hello')") }
                try db.close()
            }, "is not an sgd-escape results store (it has no 'job' table)"),
            ("not-sqlite", { url in try Data(String(repeating: "not a database\n", count: 400).utf8).write(to: url) },
             "is not a readable results store"),
            ("empty", { url in try Data().write(to: url) }, "is empty (0 bytes)"),
        ]
        for (label, damage, phrase) in files {
            let folder = try Self.copy(store, to: dir, name: label)
            try damage(folder.appendingPathComponent("results.sqlite"))
            try Self.check(folder, job: job, dir: dir, label: label, pristine: pristine, mustRefuse: true, expecting: phrase)
        }
        // the foreign file was not turned into a store (no tables created in it)
        let foreign = try DatabaseQueue(path: dir.appendingPathComponent("foreign/results.sqlite").path)
        #expect(try foreign.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") } == ["notes"])
        try foreign.close()
    }

    /// Twenty flipped bits (fixed seeds) in each of six copies of a store: every command either
    /// refuses in one line or reproduces the pristine output exactly; none crashes.
    @Test func flippedBitsNeverGiveChangedOutput() throws {
        let (dir, job, store) = try Self.goodStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pristine = try Self.pristine(store: store, job: job, dir: dir)
        var refusedCopies = 0
        for copyIndex in 0..<6 {
            let folder = try Self.copy(store, to: dir, name: "flip\(copyIndex)")
            let url = folder.appendingPathComponent("results.sqlite")
            var bytes = [UInt8](try Data(contentsOf: url))
            var rng = BitFlipRNG(seed: 1000 + UInt64(copyIndex))
            // past the 100-byte file header, so that SQLite still opens the file and the
            // damage lies in the pages (header damage is the "not-sqlite" case above)
            for _ in 0..<20 {
                let bit = 800 + Int(rng.next() % UInt64((bytes.count - 100) * 8))
                bytes[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            }
            try Data(bytes).write(to: url)
            let n = try Self.check(folder, job: job, dir: dir, label: "flip\(copyIndex)", pristine: pristine, mustRefuse: false)
            if n > 0 { refusedCopies += 1 }
        }
        // twenty flips over a file that is mostly sample records: every copy is damaged somewhere read
        #expect(refusedCopies == 6)
    }

    /// A store written before digests (no sample_count/digest columns) is still read, with a
    /// one-line warning, and gives the same report; resuming it adds the columns.
    @Test func storeWithoutDigestsIsReadUnverified() throws {
        let (dir, job, store) = try Self.goodStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pristine = try Self.pristine(store: store, job: job, dir: dir)
        let folder = try Self.copy(store, to: dir, name: "old")
        try Self.mutate(folder, "ALTER TABLE cell DROP COLUMN digest; ALTER TABLE cell DROP COLUMN sample_count")
        let report = dir.appendingPathComponent("old-report")
        let r = try CLI.run(["report", folder.path, "--out", report.path, "--quiet"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("warning:") && r.stderr.contains("unverified"), "stderr: \(r.stderr)")
        #expect(Self.contents(report.appendingPathComponent("report.md")) == pristine["report"])
        let merged = dir.appendingPathComponent("old-merged")
        let m = try CLI.run(["merge", folder.path, "--out", merged.path])
        #expect(m.status == 0, "stderr: \(m.stderr)")
        // the merged store carries digests again and passes the checks without a warning
        let e = try CLI.run(["export", merged.path, "--samples", dir.appendingPathComponent("m.csv").path])
        #expect(e.status == 0 && !e.stderr.contains("warning"), "stderr: \(e.stderr)")
        #expect(Self.contents(dir.appendingPathComponent("m.csv")) == pristine["export --samples"])
        let resume = try CLI.run(["run", job, "--out", folder.path, "--resume", "--quiet"])
        #expect(resume.status == 0, "stderr: \(resume.stderr)")
        let db = try DatabaseQueue(path: folder.appendingPathComponent("results.sqlite").path)
        let columns = try db.read { try Row.fetchAll($0, sql: "PRAGMA table_info(cell)").map { $0["name"] as String } }
        #expect(columns.contains("digest") && columns.contains("sample_count"))
        try db.close()
    }

    /// A held lock refuses a run at once, naming the holder, and leaves no store behind.
    @Test func heldLockRefusesASecondRun() throws {
        let (dir, job) = try StoreTests.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lockPath = out.appendingPathComponent(".lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        #expect(fd >= 0)
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let holder = "pid 4242 on testhost, started 2026-01-01T00:00:00Z\n"
        _ = holder.withCString { write(fd, $0, strlen($0)) }
        let start = Date()
        let r = try CLI.run(["run", job, "--out", out.path, "--quiet"])
        let seconds = Date().timeIntervalSince(start)
        #expect(Self.refused(r), "status \(r.status), stderr \(r.stderr)")
        #expect(r.stderr.contains("pid 4242 on testhost"), "stderr: \(r.stderr)")
        #expect(seconds < 5, "the refused run took \(seconds) s")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("results.sqlite").path))
        // merge into a locked folder is refused the same way
        let m = try CLI.run(["merge", out.path, "--out", out.path])
        #expect(m.status == 2)
        close(fd)
        // released: the run goes ahead
        let again = try CLI.run(["run", job, "--out", out.path, "--quiet"])
        #expect(again.status == 0, "stderr: \(again.stderr)")
    }

    /// Two runs into one DIR started together, three times: exactly one runs, the other exits
    /// 2 in one line; the survivor's summary equals an undisturbed run's; the store is never
    /// empty and no temporary store is left.
    @Test func concurrentRunsOneWins() throws {
        let reference = try StoreTests.reference()
        for round in 0..<3 {
            let (dir, job) = try StoreTests.jobFile()
            defer { try? FileManager.default.removeItem(at: dir) }
            let out = dir.appendingPathComponent("out")
            let box = RaceResults()
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                let start = Date()
                let r = try? CLI.run(["run", job, "--out", out.path, "--quiet", "--threads", "2"])
                box.set(k, r, Date().timeIntervalSince(start))
            }
            let (results, seconds) = box.get()
            let rs = results.compactMap { $0 }
            #expect(rs.count == 2)
            let winners = rs.filter { $0.status == 0 }
            let losers = rs.filter { Self.refused($0) }
            #expect(winners.count == 1 && losers.count == 1, "round \(round): \(rs.map { "\($0.status): \($0.stderr)" })")
            if let loser = rs.firstIndex(where: { Self.refused($0) }) {
                #expect(seconds[loser] < 5, "round \(round): the refused run took \(seconds[loser]) s")
                // refused by the lock (started together, the loser finds the winner running)
                #expect(rs[loser].stderr.contains("is in use by pid"), "round \(round): \(rs[loser].stderr)")
            }
            let attrs = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("results.sqlite").path)
            #expect(((attrs[.size] as? NSNumber)?.intValue ?? 0) > 0)
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("results.sqlite.partial").path))
            #expect(try StoreTests.summary(out) == reference, "round \(round)")
        }
    }
}

/// SplitMix64 (fixed seeds for the bit flips).
struct BitFlipRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Results of the two racing runs, filled from two threads.
private final class RaceResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [CLIResult?] = [nil, nil]
    private var seconds: [Double] = [0, 0]
    func set(_ k: Int, _ r: CLIResult?, _ s: Double) { lock.lock(); results[k] = r; seconds[k] = s; lock.unlock() }
    func get() -> ([CLIResult?], [Double]) { lock.lock(); defer { lock.unlock() }; return (results, seconds) }
}
