import Foundation
import Testing
import TestSupport

/// `method = "splitting"` through the command line: its spec errors, its JSON cell, the
/// same bytes for any `--threads`, and a killed run resuming to the same result.
@Suite struct SplittingJobTests {
    static let spec = """
    \(SpecFixtures.doubleWell(name: "splitting-job", seed: 3))
    [[experiment]]
    name = "ams"
    dynamics = "langevin"
    method = "splitting"
    epsilon = [0.1, 0.08, 0.06, 0.05]
    dt = 0.002
    replicas = 200
    runs = 6
    loops = 2000
    """
    /// Several seconds of work, so that a kill lands mid-job.
    static let longer = spec.replacingOccurrences(of: "epsilon = [0.1, 0.08, 0.06, 0.05]\ndt = 0.002\nreplicas = 200\nruns = 6\nloops = 2000",
                                                 with: "epsilon = [0.05, 0.04, 0.035, 0.03]\ndt = 0.001")

    static func withoutWallSeconds(_ text: String) -> String {
        text.split(separator: "\n").filter { !$0.contains("\"wall_seconds\"") }.joined(separator: "\n")
    }

    static func error(_ experimentKeys: String) throws -> CLIResult {
        let text = spec.replacingOccurrences(of: "replicas = 200\nruns = 6\nloops = 2000", with: experimentKeys)
        return try CLI.run(spec: text)
    }

    @Test func badKeysGetOneLineErrors() throws {
        let cases: [(String, String)] = [
            ("replicas = 200\nkill = 200", "kill must be an integer in 1...199"),
            ("runs = 1", "runs must be an integer in 2...100000"),
            ("replicas = 1", "replicas must be an integer in 2...1000000"),
            ("paths = 100", "paths does not apply to method \"splitting\""),
            ("reaction_coordinate = \"x +\"", "reaction_coordinate"),
            ("reaction_coordinate = \"x\"\nstart_level = -0.95", "sigma_level is required with reaction_coordinate"),
            ("reaction_coordinate = \"x\"\nstart_level = -0.9\nsigma_level = -0.95", "start_level < sigma_level"),
            ("sigma_level = 0.1", "sigma_level must be below the exit level 0"),
            ("domain = { lower = [-2, -1], upper = [1, 1] }", "domain applies to 2-D landscapes only"),
        ]
        for (keys, message) in cases {
            let r = try Self.error(keys)
            #expect(r.status == 2 && r.stderrLines.count == 1 && r.stderr.contains(message), "\(keys): \(r.stderr)")
        }
        // a compound exit term has no level function: the default coordinate says so, before any work
        let compound = Self.spec.replacingOccurrences(of: "when = \"x > 0\"", with: "when = \"x > 0 && x < 3\"")
        let r = try CLI.run(spec: compound)
        #expect(r.status == 2 && r.stderr.contains("reaction_coordinate has no default here"), "\(r.stderr)")
    }

    @Test func cellCarriesTheEstimateAndItsPieces() throws {
        let r = try CLI.run(spec: Self.spec, extra: ["--format", "json", "--quiet"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let cells = try #require(json["cells"] as? [[String: Any]])
        #expect(cells.count == 4)
        for cell in cells {
            #expect(cell["method"] as? String == "splitting")
            let mean = try #require(cell["mean_exit_time"] as? Double), se = try #require(cell["standard_error"] as? Double)
            #expect(mean > 0 && se > 0 && se < mean / 5)
            let q = try #require(cell["quantities"] as? [String: Double])
            let p = try #require(q["probability"])
            // the loop decomposition holds for the stored pieces
            let recomposed = q["mean_first_entry"]! + (1 / p - 1) * q["mean_loop"]! + q["mean_reactive"]!
            #expect(abs(recomposed - mean) <= 1e-9 * mean)
            #expect((1...6).allSatisfy { q["run_\($0)_probability"] != nil } && q["run_7_probability"] == nil)
            #expect((cell["estimator"] as? String)?.contains("Bréhier") == true)
        }
        // rarer exits: later
        let means = cells.compactMap { $0["mean_exit_time"] as? Double }
        #expect(zip(means, means.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func threadsDoNotChangeTheBytes() throws {
        let one = try CLI.run(spec: Self.spec, extra: ["--threads", "1", "--quiet", "--format", "json"], timeout: 120)
        let two = try CLI.run(spec: Self.spec, extra: ["--threads", "2", "--quiet", "--format", "json"], timeout: 120)
        #expect(one.status == 0 && two.status == 0)
        #expect(Self.withoutWallSeconds(one.stdout) == Self.withoutWallSeconds(two.stdout))
    }

    @Test func aKilledRunResumesToTheSameResult() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let job = dir.appendingPathComponent("job.toml")
        try Data(Self.longer.utf8).write(to: job)
        let one = try CLI.run(["run", job.path, "--threads", "2", "--quiet", "--format", "json"], timeout: 120)
        #expect(one.status == 0 && !one.stdout.isEmpty)
        // SIGKILL mid-job (after the first cells are stored), then resume
        let out = dir.appendingPathComponent("out")
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["run", job.path, "--out", out.path, "--quiet", "--threads", "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 2.0)
        #expect(process.isRunning, "the job must still be running when it is killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let resume = FileManager.default.fileExists(atPath: out.appendingPathComponent("results.sqlite").path) ? ["--resume"] : []
        let resumed = try CLI.run(["run", job.path, "--out", out.path, "--quiet", "--format", "json", "--threads", "2"] + resume, timeout: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(Self.withoutWallSeconds(resumed.stdout) == Self.withoutWallSeconds(one.stdout))
    }

    /// Past about 10¹⁶ steps the chain's backward equation is singular in double precision
    /// (here E[iterations] ≈ 10²⁴): the cell fails as data, naming splitting, instead of
    /// printing noise (it gave −1.3·10¹⁵ before).
    @Test func unresolvableChainCellFailsNamingSplitting() throws {
        let text = SpecFixtures.doubleWell(name: "chain-limit") + """

        [[experiment]]
        name = "chain"
        dynamics = "sgd"
        method = "chain"
        learning_rate = 0.01
        batch_size = 1
        noise = { law = "gaussian", sigma = 1.0 }
        """
        let r = try CLI.run(spec: text, extra: ["--format", "json", "--quiet"], timeout: 120)
        #expect(r.status == 1, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let cell = try #require((json["cells"] as? [[String: Any]])?.first)
        #expect(cell["status"] as? String == "failed")
        #expect((cell["failure"] as? String)?.contains("method = \"splitting\"") == true, "\(cell)")
        #expect(cell["mean_exit_time"] is NSNull)
    }
}
