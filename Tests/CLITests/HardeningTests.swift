import Foundation
import GRDB
import Testing
import TestSupport

/// Issue 13, through the binary: job names cannot leave the chosen folder, job-wide caps are
/// checked before anything runs, messages stay short, a landscape not finite at the start is
/// refused, all-diverged cells are flagged, and the small things (`--version`, parameters as
/// written, the lower bound of censored cells, Ctrl-C acknowledged with `--quiet`).
@Suite struct HardeningTests {
    /// Runs the binary in `directory` (its working directory), like a user in a shell there.
    func run(_ arguments: [String], in directory: URL) throws -> (status: Int32, stderr: String, stdout: String) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let errorFile = directory.appendingPathComponent(".stderr"), outputFile = directory.appendingPathComponent(".stdout")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: errorFile); try? FileManager.default.removeItem(at: outputFile) }
        return (process.terminationStatus, (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "",
                (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "")
    }

    /// Every path below `root`, relative (hidden capture files left out).
    func listing(_ root: URL) -> Set<String> {
        Set((FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []).filter { !$0.hasPrefix(".std") })
    }

    static let langevin = "[[experiment]]\nname = \"lang\"\ndynamics = \"langevin\"\nepsilon = 0.3\ndt = 0.01\npaths = 10\nmax_steps = 1000\n"

    @Test(arguments: ["../../etc/x", "/tmp/sgd-escape-escape-x", "a/b", "..", ".", "a\\u0007b", "-rf", "~/x", "a\\\\b"])
    func escapingNameWritesNothingOutsideTheFolder(name: String) throws {
        // root/work is the working directory: ../../etc/x from Reports/ would land in root/etc/x
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let work = root.appendingPathComponent("a/b/work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let spec = SpecFixtures.doubleWell(name: "PLACEHOLDER").replacingOccurrences(of: "PLACEHOLDER", with: name) + "\n" + Self.langevin
        try spec.write(to: work.appendingPathComponent("job.toml"), atomically: true, encoding: .utf8)
        let before = listing(root)
        for arguments in [["check", "job.toml"], ["run", "job.toml", "--out", "out", "--quiet"], ["slurm", "job.toml", "--shards", "2"],
                          ["run", "job.toml", "--quiet"]] {
            let r = try run(arguments, in: work)
            #expect(r.status == 2, "\(arguments): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("error: name must be a plain label"), "\(arguments): \(r.stderr)")
        }
        #expect(listing(root) == before)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/sgd-escape-escape-x"))
    }

    @Test func plainNamesStillWork() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let spec = SpecFixtures.doubleWell(name: "sharp B=1 (η 0.1)") + "\n" + Self.langevin
        try spec.write(to: work.appendingPathComponent("job.toml"), atomically: true, encoding: .utf8)
        #expect(try run(["run", "job.toml", "--out", "out", "--quiet"], in: work).status == 0)
        let report = try run(["report", "out", "--quiet"], in: work)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("Reports/sharp B=1 (η 0.1)/report.md").path))
    }

    /// 1000 experiments of 46³ cells (9.7·10⁷): refused from the axis sizes, before any cell is built.
    @Test func hugeJobIsRefusedQuickly() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        func axis(_ f: (Int) -> String) -> String { "[" + (0..<46).map(f).joined(separator: ", ") + "]" }
        var spec = SpecFixtures.doubleWell(name: "big") + "\n"
        for k in 0..<1000 {
            spec += "[[experiment]]\nname = \"e\(k)\"\ndynamics = \"langevin\"\nepsilon = \(axis { "0.\($0 + 10)" })\n"
                + "dt = \(axis { "\(Double($0 + 1) / 1000)" })\npaths = \(axis { "\($0 + 1)" })\nmax_steps = 10\n"
        }
        try spec.write(to: work.appendingPathComponent("job.toml"), atomically: true, encoding: .utf8)
        let start = Date()
        let r = try run(["run", "job.toml", "--out", "out", "--quiet"], in: work)
        let seconds = Date().timeIntervalSince(start)
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: the job has more than 1000000 cells") && r.stderr.contains("--allow-large"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("out").path))
        // generous for a debug build on a loaded machine; a release build takes about 0.2 s
        #expect(seconds < 10, "took \(seconds) s")
    }

    @Test func pathStepCapAndItsOverride() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let spec = SpecFixtures.doubleWell(name: "steps")
            + "\n[[experiment]]\nname = \"e\"\ndynamics = \"langevin\"\nepsilon = 0.3\ndt = 0.01\npaths = 1000000000\nmax_steps = 10000000\n"
        try spec.write(to: work.appendingPathComponent("job.toml"), atomically: true, encoding: .utf8)
        let refused = try run(["check", "job.toml"], in: work)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("path-steps") && refused.stderr.contains("--allow-large"), "\(refused.stderr)")
        let allowed = try run(["check", "job.toml", "--allow-large"], in: work)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let slurm = try run(["slurm", "job.toml", "--shards", "2", "--allow-large"], in: work)
        #expect(slurm.status == 0, "\(slurm.stderr)")
        let script = try String(contentsOf: work.appendingPathComponent("steps-slurm/submit.sh"), encoding: .utf8)
        #expect(script.contains("--resume --allow-large"))
    }

    /// A value of any length is quoted with at most 80 characters: every message stays short.
    @Test(arguments: [
        String(repeating: "x", count: 3_000_000),
        "name = \"t\"\nseed = \"" + String(repeating: "b", count: 100_000) + "\"\n",
        "name = \"t\"\nseed = [" + String(repeating: "1, ", count: 100_000) + "\"a\"]\n",
        SpecFixtures.doubleWell(name: "t").replacingOccurrences(of: "x > 0", with: "x > " + String(repeating: "y", count: 100_000)) + "\n" + langevin,
        SpecFixtures.doubleWell(name: "t") + "\n" + langevin + String(repeating: "z", count: 100_000) + " = 1\n",
        SpecFixtures.doubleWell(name: "t").replacingOccurrences(of: "x^4/4", with: String(repeating: "x+", count: 50_000) + "(") + "\n" + langevin,
        SpecFixtures.doubleWell(name: "t") + "\n" + langevin.replacingOccurrences(of: "\"lang\"\n", with: "\"lang\"\nmethod = \"" + String(repeating: "m", count: 100_000) + "\"\n"),
        "{\"name\": \"t\", \"" + String(repeating: "q", count: 100_000) + "\" 1}",
    ])
    func messagesQuoteAtMostEightyCharacters(text: String) throws {
        let r = try CLI.run(spec: text, extension: text.hasPrefix("{") ? "json" : "toml", extra: ["--quiet"])
        #expect(r.status == 2)
        #expect(r.stderrLines.count == 1)
        #expect(r.stderr.utf8.count < 500, "\(r.stderr.prefix(600))")
        // no run of the same character longer than the quoted 80
        #expect(!r.stderr.contains(String(repeating: r.stderr.contains("yyyy") ? "y" : "x", count: 81)))
    }

    @Test(arguments: [("1/0 + x^2", "-1.0"), ("sqrt(x)", "-1.0"), ("x^2/(x+1)", "-1.0")])
    func landscapeMustBeFiniteAtTheStart(potential: String, start: String) throws {
        let spec = "name = \"t\"\n[landscape]\npotential = \"\(potential)\"\n[start]\npoint = [\(start)]\n[exit]\nwhen = \"x > 0\"\n" + Self.langevin
        let r = try CLI.run(spec: spec, extra: ["--quiet"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: landscape.potential \"\(potential)\" must be finite at the start [-1]"), "\(r.stderr)")
        #expect(r.stderr.contains("(line 3)"))
    }

    /// learning_rate = 5 on x² multiplies x by −9 each step: every path overflows.
    static let divergent = """
        name = "dv"
        [landscape]
        potential = "x^2"
        [start]
        point = [1.0]
        [exit]
        when = "x^2 < -1"
        [[experiment]]
        name = "blowup"
        dynamics = "sgd"
        learning_rate = [5, 0.1]
        noise = { law = "gaussian", sigma = 0.1 }
        paths = 20
        max_steps = 2000
        """

    @Test func allDivergedCellsAreFlaggedAndCensoredCellsShowTheirBound() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        try Self.divergent.write(to: work.appendingPathComponent("job.toml"), atomically: true, encoding: .utf8)
        let text = try run(["run", "job.toml", "--quiet", "--out", "out"], in: work)
        #expect(text.status == 0, "\(text.stderr)")
        let rows = text.stdout.split(separator: "\n")
        #expect(rows.contains { $0.hasPrefix("blowup") && $0.contains("learning_rate=5 ") && $0.contains("all diverged") })
        // the censored cell (no exit before the cap): its lower bound, not n/a
        #expect(rows.contains { $0.hasPrefix("blowup") && $0.contains("learning_rate=0.1 ") && $0.contains("≥ 2000") })
        let json = try run(["run", "job.toml", "--quiet", "--format", "json"], in: work)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let cells = try #require(object["cells"] as? [[String: Any]])
        #expect(cells.map { $0["all_diverged"] as? Bool } == [true, nil])
        let summary = try String(contentsOf: work.appendingPathComponent("out/summary.json"), encoding: .utf8)
        #expect(summary.contains("\"all_diverged\": true"))
        // parameters as written: 5 and 1, not 5.0 and 1.0
        #expect(json.stdout.contains("\"learning_rate\": 5,") && json.stdout.contains("\"batch_size\": 1,"))
        let report = try run(["report", "out", "--out", "rep", "--quiet"], in: work)
        #expect(report.status == 0, "\(report.stderr)")
        let markdown = try String(contentsOf: work.appendingPathComponent("rep/report.md"), encoding: .utf8)
        #expect(markdown.contains("## Claim and result") && markdown.contains("**Every path diverged** in 1 of 2 cells"))
        #expect(markdown.contains("| all diverged |"))
    }

    @Test func derivedStepIsShownAsWritten() throws {
        let spec = SpecFixtures.doubleWell(name: "dt") + """

            [[experiment]]
            name = "sde"
            dynamics = "sgd-sde"
            learning_rate = 0.1
            dt_fraction = 0.05
            noise = { law = "gaussian", sigma = 1.0 }
            paths = 20
            """
        let r = try CLI.run(spec: spec, extra: ["--quiet", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"dt\": 0.005\n") || r.stdout.contains("\"dt\": 0.005,"), "\(r.stdout.prefix(800))")
        #expect(!r.stdout.contains("0.005000000000000001"))
    }

    /// A usage error (exit 64) quotes at most 80 characters of what was typed.
    @Test func usageErrorsQuoteAtMostEightyCharacters() throws {
        let long = String(repeating: "x", count: 5000)
        for arguments in [["run", "job.toml", "--threads", long], ["run", "job.toml", "--bogus-" + long], [long]] {
            let r = try CLI.run(arguments)
            #expect(r.status == 64, "\(r.stderr.prefix(300))")
            #expect(r.stderr.hasPrefix("Error: ") && r.stderr.contains("… (50"), "\(r.stderr.prefix(300))")
            #expect(r.stderr.split(separator: "\n").allSatisfy { $0.count <= 200 }, "\(r.stderr.prefix(300))")
        }
    }

    /// `--version` prints MAJOR.MINOR.PATCH, and a store records the same version.
    @Test func version() throws {
        let r = try CLI.run(["--version"])
        #expect(r.status == 0)
        let version = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.split(separator: ".").count == 3)
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        try Self.divergent.write(to: work.appendingPathComponent("job.toml"), atomically: true, encoding: .utf8)
        #expect(try run(["run", "job.toml", "--quiet", "--out", "out"], in: work).status == 0)
        let db = try DatabaseQueue(path: work.appendingPathComponent("out/results.sqlite").path)
        let stored = try db.read { db in try String.fetchOne(db, sql: "SELECT tool_version FROM job") }
        #expect(stored?.hasPrefix("sgd-escape \(version) (store schema ") == true, "\(stored ?? "nil")")
    }

    /// With --quiet the first Ctrl-C still says it was received.
    @Test func firstInterruptIsAcknowledgedWhenQuiet() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        try InterruptTests.spec.write(to: work.appendingPathComponent("job.toml"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["run", work.appendingPathComponent("job.toml").path, "--quiet", "--threads", "1"]
        let errorFile = work.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 0.4)
        process.interrupt()
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 130, "\(errorText)")
        #expect(errorText.contains("interrupt received: stopping after the cells in progress"), "\(errorText)")
    }
}
