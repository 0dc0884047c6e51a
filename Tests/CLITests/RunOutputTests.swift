import Foundation
import Testing
import TestSupport

/// A small valid job: the 1-D double well from −1 to x > 0, Langevin with the bridge test
/// and discrete SGD with Gaussian gradient noise. Seconds on one core.
let smallJob = """
    \(SpecFixtures.doubleWell(name: "cli-double-well", seed: 7))

    [[experiment]]
    name = "langevin"
    dynamics = "langevin"
    epsilon = [0.3, 0.2]
    dt = 1e-3
    paths = 400
    exit_test = "bridge"

    [[experiment]]
    name = "sgd"
    dynamics = "sgd"
    learning_rate = 0.05
    batch_size = 1
    noise = { law = "gaussian", sigma = 1.0 }
    paths = 400
    max_steps = 1_000_000

    """

@Suite struct RunOutputTests {
    static func parseObject(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any], "top level is not an object: \(text)")
    }

    @Test func jsonIsCompleteAndIndependentOfThreads() throws {
        let one = try CLI.run(spec: smallJob, extra: ["--format", "json", "--threads", "1", "--quiet"])
        #expect(one.status == 0, "stderr: \(one.stderr)")
        #expect(one.stderr.isEmpty, "--quiet must keep stderr empty: \(one.stderr)")
        let two = try CLI.run(spec: smallJob, extra: ["--format", "json", "--threads", "2"])
        #expect(two.status == 0, "stderr: \(two.stderr)")
        // Without --quiet, one progress line per cell goes to stderr, never to stdout.
        #expect(two.stderrLines.count == 3, "stderr: \(two.stderr)")

        let root = try Self.parseObject(one.stdout)
        #expect(root["job"] as? String == "cli-double-well")
        #expect((root["seed"] as? NSNumber)?.intValue == 7)
        let cells = try #require(root["cells"] as? [[String: Any]])
        #expect(cells.count == 3)  // two epsilons + one learning rate
        let fields = ["experiment", "dynamics", "method", "parameters", "paths", "exited", "censored",
                      "mean_exit_time", "standard_error", "ci95", "time_unit", "mean_exit_iterations",
                      "exit_sides", "wall_seconds"]
        for cell in cells {
            for field in fields { #expect(cell[field] != nil, "cell lacks \(field): \(cell)") }
            let paths = try #require((cell["paths"] as? NSNumber)?.intValue)
            #expect(paths == 400)
            let exited = try #require((cell["exited"] as? NSNumber)?.intValue)
            let censored = try #require((cell["censored"] as? NSNumber)?.intValue)
            let diverged = (cell["diverged"] as? NSNumber)?.intValue ?? 0
            #expect(exited + censored + diverged == paths)
            let sides = try #require(cell["exit_sides"] as? [String: Any])
            #expect(sides.values.compactMap { ($0 as? NSNumber)?.intValue }.reduce(0, +) == exited)
            if let mean = (cell["mean_exit_time"] as? NSNumber)?.doubleValue {
                #expect(mean > 0 && mean.isFinite)
            }
        }
        let langevin = cells.filter { $0["experiment"] as? String == "langevin" }
        #expect(langevin.count == 2)
        #expect(langevin.compactMap { ($0["parameters"] as? [String: Any])?["epsilon"] as? NSNumber }.map(\.doubleValue) == [0.3, 0.2])
        for cell in langevin {
            #expect(cell["dynamics"] as? String == "langevin")
            #expect(cell["time_unit"] as? String == "time")
            #expect(cell["mean_exit_iterations"] is NSNull)
            #expect(cell["exit_test"] as? String == "bridge")
        }
        let sgd = try #require(cells.first { $0["experiment"] as? String == "sgd" })
        #expect(sgd["dynamics"] as? String == "sgd")
        #expect(sgd["time_unit"] as? String == "iterations")
        #expect(sgd["method"] as? String == "monte-carlo")

        // Same seed ⇒ identical bits for any thread count.
        #expect(withoutWallSeconds(one.stdout) == withoutWallSeconds(two.stdout))
        #expect(one.stdout.contains("\"wall_seconds\""))
    }

    @Test func outDirectoryHoldsSummaryAndSpec() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("results/run1")
        let result = try CLI.run(spec: smallJob, extra: ["--format", "json", "--threads", "2", "--quiet", "--out", out.path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let summary = try String(contentsOf: out.appendingPathComponent("summary.json"), encoding: .utf8)
        _ = try Self.parseObject(summary)
        #expect(withoutWallSeconds(summary).trimmingCharacters(in: .newlines)
                == withoutWallSeconds(result.stdout).trimmingCharacters(in: .newlines))
        let spec = try String(contentsOf: out.appendingPathComponent("job.toml"), encoding: .utf8)
        #expect(spec == smallJob)
    }

    @Test func textFormatPrintsTable() throws {
        let result = try CLI.run(spec: smallJob, extra: ["--threads", "2", "--quiet"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("cli-double-well") }, "\(result.stdout)")
        let header = try #require(lines.firstIndex { $0.contains("experiment") && $0.contains("mean") },
                                  "no header line in:\n\(result.stdout)")
        // Every cell gets a row below the header.
        let rows = lines[(header + 1)...]
        #expect(rows.filter { $0.contains("langevin") }.count == 2, "\(result.stdout)")
        #expect(rows.contains { $0.contains("sgd") }, "\(result.stdout)")
        #expect(!result.stdout.hasPrefix("{"))
    }

    @Test(arguments: [["--threads", "0"], ["--threads", "-3"], ["--threads", "many"], ["--format", "xml"]])
    func usageErrorsFail(_ extra: [String]) throws {
        let result = try CLI.run(spec: smallJob, extra: extra)
        #expect(result.status != 0, "stdout: \(result.stdout)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("Error:") || result.stderr.contains("error:"), "stderr: \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"), "stderr: \(result.stderr)")
    }

    @Test func helpListsSubcommands() throws {
        let result = try CLI.run(["--help"])
        #expect(result.status == 0)
        let help = result.stdout + result.stderr
        #expect(help.contains("run"), "\(help)")
        #expect(help.contains("demo"), "\(help)")
        #expect(help.contains("SUBCOMMANDS"), "\(help)")
    }

    @Test func noArgumentsIsAUsageError() throws {
        let result = try CLI.run(["run"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("job"), "stderr: \(result.stderr)")
    }
}

@Suite struct ValidateCommandTests {
    /// `sgd-escape validate` runs the exact-reference battery and exits 0 with every check passing.
    @Test func validatePasses() throws {
        let result = try CLI.run(["validate", "--threads", "2"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains(" 0 failed"))
        #expect(!result.stdout.contains("FAIL"))
    }
}
