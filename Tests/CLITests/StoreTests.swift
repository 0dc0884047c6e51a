import Foundation
import GRDB
import Testing
import TestSupport

/// Six cells (four Monte Carlo Langevin, one grid, one SGD), under a second in all.
let storeJob = """
    \(SpecFixtures.doubleWell(name: "store-double-well", seed: 11))

    [[experiment]]
    name = "langevin"
    dynamics = "langevin"
    epsilon = [0.35, 0.3, 0.25, 0.2]
    dt = 1e-3
    paths = 300
    exit_test = "bridge"

    [[experiment]]
    name = "exact"
    dynamics = "langevin"
    method = "backward-kolmogorov"
    epsilon = 0.25

    [[experiment]]
    name = "sgd"
    dynamics = "sgd"
    learning_rate = 0.05
    batch_size = 1
    noise = { law = "gaussian", sigma = 1.0 }
    paths = 250
    max_steps = 200_000

    """

@Suite(.serialized) struct StoreTests {
    /// A fresh directory holding `job.toml` with `text`.
    static func jobFile(_ text: String = storeJob) throws -> (dir: URL, job: String) {
        let dir = try CLI.temporaryDirectory()
        let job = dir.appendingPathComponent("job.toml")
        try Data(text.utf8).write(to: job)
        return (dir, job.path)
    }

    static func summary(_ dir: URL) throws -> String {
        withoutWallSeconds(try String(contentsOf: dir.appendingPathComponent("summary.json"), encoding: .utf8))
    }

    /// The uninterrupted run's summary (minus wall_seconds), computed once.
    static func reference() throws -> String {
        let (dir, job) = try jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("ref")
        let r = try CLI.run(["run", job, "--out", out.path, "--quiet", "--threads", "2"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        return try summary(out)
    }

    static func open(_ dir: URL) throws -> DatabaseQueue {
        try DatabaseQueue(path: dir.appendingPathComponent("results.sqlite").path)
    }

    @Test func storeHoldsCellsAndSamples() throws {
        let (dir, job) = try Self.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try CLI.run(["run", job, "--out", out.path, "--quiet", "--format", "json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(withoutWallSeconds(r.stdout) == (try Self.summary(out)))
        let db = try Self.open(out)
        try db.read { (db: Database) throws in
            #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job") == 1)
            #expect(try String.fetchOne(db, sql: "SELECT spec FROM job") == storeJob)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cell") == 6)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample") == 4 * 300 + 250)
            // The grid cell has no samples; every Monte Carlo cell has one per path.
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample WHERE experiment_index = 1") == 0)
            #expect(try Int.fetchAll(db, sql: "SELECT COUNT(*) FROM sample GROUP BY experiment_index, cell_index") == [300, 300, 300, 300, 250])
            let exited = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample WHERE outcome = 'x > 0'")!
            let censored = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample WHERE outcome = 'censored'")!
            #expect(exited + censored == 1450)
            // langevin time = steps × dt
            let row = try Row.fetchOne(db, sql: "SELECT steps, time FROM sample WHERE experiment_index = 0 LIMIT 1")!
            #expect(abs((row["time"] as Double) - Double(row["steps"] as Int) * 1e-3) < 1e-12)
        }
    }

    @Test func resumeAfterDeletingLastCellMatches() throws {
        let reference = try Self.reference()
        let (dir, job) = try Self.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        #expect(try CLI.run(["run", job, "--out", out.path, "--quiet"]).status == 0)
        // Simulate a crash before the last cell committed: drop its rows.
        try Self.open(out).write { (db: Database) throws in
            try db.execute(sql: "DELETE FROM sample WHERE experiment_index = 2")
            try db.execute(sql: "DELETE FROM cell WHERE global_index = 5")
            try db.execute(sql: "DELETE FROM cell WHERE global_index = 2")
            try db.execute(sql: "DELETE FROM sample WHERE experiment_index = 0 AND cell_index = 2")
        }
        let r = try CLI.run(["run", job, "--out", out.path, "--resume"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("resuming: 4 of 6"), "stderr: \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("[") }.count == 2, "stderr: \(r.stderr)")
        #expect(try Self.summary(out) == reference)
        try Self.open(out).read { (db: Database) throws in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample") == 1450)
        }
        // Resuming a complete run computes nothing and still agrees.
        let again = try CLI.run(["run", job, "--out", out.path, "--resume", "--format", "json"])
        #expect(again.status == 0)
        #expect(withoutWallSeconds(again.stdout) == reference)
    }

    /// SIGKILL the same run five times at different points (the first run, then four resumes),
    /// checking the store's integrity after every kill; the final resume equals an
    /// uninterrupted run.
    @Test func repeatedSIGKILLThenResumeMatches() throws {
        let reference = try Self.reference()
        let (dir, job) = try Self.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        for (k, delay) in [0.12, 0.08, 0.2, 0.1, 0.3].enumerated() {
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["run", job, "--out", out.path, "--quiet", "--threads", "2"] + (k > 0 ? ["--resume"] : [])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if FileManager.default.fileExists(atPath: out.appendingPathComponent("results.sqlite").path) {
                try Self.open(out).read { (db: Database) throws in
                    #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok", "after kill \(k + 1)")
                }
            }
        }
        let resumeArguments = FileManager.default.fileExists(atPath: out.appendingPathComponent("results.sqlite").path) ? ["--resume"] : []
        let r = try CLI.run(["run", job, "--out", out.path, "--quiet"] + resumeArguments)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(try Self.summary(out) == reference)
        try Self.open(out).read { (db: Database) throws in
            #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample") == 1450)
        }
    }

    @Test func refusesExistingStoreWithoutResume() throws {
        let (dir, job) = try Self.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        #expect(try CLI.run(["run", job, "--out", out.path, "--quiet"]).status == 0)
        let r = try CLI.run(["run", job, "--out", out.path, "--quiet"])
        #expect(r.status == 2)
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("error: ") && r.stderr.contains("--resume"), "stderr: \(r.stderr)")
    }

    @Test func refusesResumeWithChangedSpec() throws {
        let (dir, job) = try Self.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        #expect(try CLI.run(["run", job, "--out", out.path, "--quiet"]).status == 0)
        let changed = storeJob.replacingOccurrences(of: "seed = 11", with: "seed = 12")
            .replacingOccurrences(of: "paths = 250", with: "paths = 260")
        try Data(changed.utf8).write(to: URL(fileURLWithPath: job))
        let r = try CLI.run(["run", job, "--out", out.path, "--resume", "--quiet"])
        #expect(r.status == 2)
        #expect(r.stderrLines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("'seed'") && r.stderr.contains("'sgd'") && r.stderr.contains("paths"), "stderr: \(r.stderr)")
        #expect(!r.stderr.contains("'langevin'"), "stderr: \(r.stderr)")
        // Only comments/layout changed: the same spec, so resuming is allowed.
        try Data(("# a comment\n" + storeJob).utf8).write(to: URL(fileURLWithPath: job))
        let same = try CLI.run(["run", job, "--out", out.path, "--resume", "--quiet"])
        #expect(same.status == 0, "stderr: \(same.stderr)")
    }

    @Test func threeShardsMergeToTheSingleRun() throws {
        let reference = try Self.reference()
        let (dir, job) = try Self.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        var shards: [String] = []
        for k in 1...3 {
            let out = dir.appendingPathComponent("shard\(k)")
            let r = try CLI.run(["run", job, "--out", out.path, "--shard", "\(k)/3", "--quiet", "--threads", "1"])
            #expect(r.status == 0, "stderr: \(r.stderr)")
            try Self.open(out).read { (db: Database) throws in
                #expect(try Int.fetchAll(db, sql: "SELECT global_index FROM cell ORDER BY global_index") == [k - 1, k + 2])
            }
            shards.append(out.path)
        }
        let merged = dir.appendingPathComponent("merged")
        // Overlap (shard 1 twice) is allowed when identical.
        let r = try CLI.run(["merge"] + shards + [shards[0], "--out", merged.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(try Self.summary(merged) == reference)
        try Self.open(merged).read { (db: Database) throws in
            #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cell") == 6)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample") == 1450)
        }
        // Resuming the merged store computes nothing.
        let resumed = try CLI.run(["run", job, "--out", merged.path, "--resume", "--format", "json", "--quiet"])
        #expect(resumed.status == 0)
        #expect(withoutWallSeconds(resumed.stdout) == reference)
        // Bad shard specs are usage errors.
        #expect(try CLI.run(["run", job, "--shard", "4/3"]).status == 64)
        #expect(try CLI.run(["run", job, "--shard", "0/3"]).status == 64)
    }

    @Test func mergeRefusesMismatchedJobs() throws {
        let (dir, job) = try Self.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        #expect(try CLI.run(["run", job, "--out", a.path, "--shard", "1/2", "--quiet"]).status == 0)
        let other = dir.appendingPathComponent("other.toml")
        try Data(storeJob.replacingOccurrences(of: "seed = 11", with: "seed = 13").utf8).write(to: other)
        #expect(try CLI.run(["run", other.path, "--out", b.path, "--shard", "2/2", "--quiet"]).status == 0)
        let r = try CLI.run(["merge", a.path, b.path, "--out", dir.appendingPathComponent("m").path])
        #expect(r.status == 2)
        #expect(r.stderrLines.count == 1 && r.stderr.contains("different job"), "stderr: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("m/results.sqlite").path))
        // Same spec hash but a tampered overlapping cell is refused too.
        let c = dir.appendingPathComponent("c")
        #expect(try CLI.run(["run", job, "--out", c.path, "--shard", "1/2", "--quiet"]).status == 0)
        try Self.open(c).write { (db: Database) throws in
            try db.execute(sql: "UPDATE cell SET json = replace(json, '\"exited\":', '\"exited\":1') WHERE global_index = 0")
        }
        // the cell's digest no longer matches: refused as damaged before any comparison
        let t = try CLI.run(["merge", a.path, c.path, "--out", dir.appendingPathComponent("m2").path])
        #expect(t.status == 2)
        #expect(t.stderrLines.count == 1 && t.stderr.contains("cell 1 (experiment 'langevin', cell 1) is damaged"), "stderr: \(t.stderr)")
        // without digests (a store written before them, read unverified) the overlap check catches it
        try Self.open(c).write { (db: Database) throws in
            try db.execute(sql: "ALTER TABLE cell DROP COLUMN digest; ALTER TABLE cell DROP COLUMN sample_count")
        }
        let u = try CLI.run(["merge", a.path, c.path, "--out", dir.appendingPathComponent("m3").path])
        #expect(u.status == 2)
        #expect(u.stderrLines.count == 2 && u.stderrLines[0].hasPrefix("warning:") && u.stderrLines[1].contains("differs"), "stderr: \(u.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("m3/results.sqlite").path))
    }

    @Test func exportWritesParsableCSV() throws {
        let (dir, job) = try Self.jobFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        #expect(try CLI.run(["run", job, "--out", out.path, "--quiet"]).status == 0)
        let cells = dir.appendingPathComponent("cells.csv"), samples = dir.appendingPathComponent("samples.csv")
        let r = try CLI.run(["export", out.path, "--cells", cells.path, "--samples", samples.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        func rows(_ url: URL) throws -> [[String]] {
            // Minimal RFC 4180 reader (quoted fields may hold commas).
            var result: [[String]] = [], row: [String] = [], field = "", quoted = false
            var it = try String(contentsOf: url, encoding: .utf8).makeIterator()
            while let ch = it.next() {
                if quoted {
                    if ch == "\"" { quoted = false } else { field.append(ch) }
                } else if ch == "\"" { quoted = true
                } else if ch == "," { row.append(field); field = ""
                } else if ch == "\n" { row.append(field); field = ""; result.append(row); row = []
                } else { field.append(ch) }
            }
            if !field.isEmpty || !row.isEmpty { row.append(field); result.append(row) }
            return result
        }
        let c = try rows(cells)
        #expect(c.count == 1 + 6)
        #expect(c.allSatisfy { $0.count == c[0].count })
        #expect(c[0].contains("epsilon") && c[0].contains("learning_rate") && c[0].contains("mean_exit_time"))
        let eps = c[0].firstIndex(of: "epsilon")!
        #expect(c[1...].map { $0[eps] } == ["0.35", "0.3", "0.25", "0.2", "0.25", ""])
        let s = try rows(samples)
        #expect(s.count == 1 + 1450)
        #expect(s[0] == ["experiment_index", "experiment", "cell", "path", "steps", "time", "outcome", "x"])
        #expect(s.allSatisfy { $0.count == 8 })
        #expect(s[1...].allSatisfy { Int($0[4]) != nil && Double($0[5]) != nil && Double($0[7]) != nil })
    }
}
