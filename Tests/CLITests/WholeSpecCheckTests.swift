import Foundation
import Testing
import TestSupport

/// Spec errors that used to surface only when their cell ran: `run` and `check` refuse them
/// before any cell runs, naming the key and its line, and `run` writes no results directory.
struct WholeSpecCheckTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let spec: String
        /// Substrings of the one-line error: key path, requirement, line.
        let expected: [String]
        var testDescription: String { name }
    }

    static let doubleWell = SpecFixtures.doubleWell(name: "t") + """

        [[experiment]]
        name = "late"
        dynamics = "langevin"
        epsilon = 0.2
        paths = 100

        """

    /// A valid Monte Carlo experiment first, then the faulty one: the error must come
    /// before the first (valid) cell runs.
    static let cases: [Case] = [
        Case(name: "imkeller-pavlyukevich without an interval exit", spec: doubleWell + """
            [[experiment]]
            name = "ip"
            dynamics = "levy"
            method = "theory"
            theory = "imkeller-pavlyukevich"
            epsilon = 0.1
            alpha = 1.5
            """, expected: ["experiment[2].theory", "interval exit", "line 17"]),
        Case(name: "backward-kolmogorov with alpha-stable noise", spec: doubleWell + """
            [[experiment]]
            name = "bk"
            dynamics = "sgd-sde"
            method = "backward-kolmogorov"
            learning_rate = 0.1
            noise = { law = "alpha-stable", sigma = 1.0, alpha = 1.5 }
            """, expected: ["experiment[2].method", "Gaussian noise", "line 16"]),
        Case(name: "student-t nu ≤ 2 for sgd-sde", spec: doubleWell + """
            [[experiment]]
            name = "st"
            dynamics = "sgd-sde"
            learning_rate = 0.1
            noise = { law = "student-t", sigma = 1.0, nu = [3.0, 2.0] }
            """, expected: ["experiment[2].noise.nu", "must be > 2", "got 2", "line 17"]),
        Case(name: "eyring-kramers through a saddle that is not index 1", spec: """
            name = "t"
            [landscape]
            potential = "x^4/4 - x^2/2 + y^4/4 - y^2/2"
            [start]
            point = [-1.0, -1.0]
            [exit]
            when = "x > 0"
            [[experiment]]
            name = "ek"
            dynamics = "langevin"
            method = "theory"
            theory = "eyring-kramers"
            saddle = [0.0, 0.0]
            epsilon = 0.1
            """, expected: ["experiment[1].theory", "exactly one negative eigenvalue", "cell 1", "line 12"]),
        Case(name: "getoor on langevin", spec: doubleWell + """
            [[experiment]]
            name = "g"
            dynamics = "langevin"
            method = "theory"
            theory = "getoor"
            epsilon = 0.1
            """, expected: ["experiment[2].theory", "\"getoor\" is a law for dynamics \"levy\"", "line 17"]),
        Case(name: "hu-saddle from a start that is not a saddle", spec: doubleWell + """
            [[experiment]]
            name = "hs"
            dynamics = "langevin"
            method = "theory"
            theory = "hu-saddle"
            epsilon = [0.1, 0.05]
            """, expected: ["experiment[2].theory", "start at a saddle", "cell 1", "line 17"]),
        Case(name: "2-D domain with no grid node in the exit region", spec: """
            name = "t"
            [landscape]
            potential = "x^2/2 + y^2/2"
            [start]
            point = [-1.5, 0.0]
            [exit]
            when = "x > 0"
            [[experiment]]
            name = "bk2"
            dynamics = "langevin"
            method = "backward-kolmogorov"
            epsilon = 0.1
            nodes = 65
            domain = { lower = [-2.0, -1.0], upper = [-1.0, 1.0] }
            """, expected: ["experiment[1].domain", "no node", "exit region", "line 14"]),
    ]

    @Test(arguments: cases)
    func runAndCheckRefuseBeforeAnyCell(_ c: Case) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("job.toml")
        try Data(c.spec.utf8).write(to: file)
        let out = dir.appendingPathComponent("out")
        for arguments in [["run", file.path, "--out", out.path, "--threads", "1"], ["check", file.path]] {
            let r = try CLI.run(arguments)
            #expect(r.status == 2, "\(arguments[0]): exit \(r.status), stderr \(r.stderr)")
            #expect(r.stderrLines.count == 1, "\(arguments[0]): \(r.stderr)")
            for part in c.expected {
                #expect(r.stderr.contains(part), "\(arguments[0]): '\(part)' missing from \(r.stderr)")
            }
            #expect(r.stdout.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: out.path), "a refused run wrote its --out directory")
    }

    @Test func checkPrintsThePlanOfAValidSpec() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("job.toml")
        try Data((Self.doubleWell + "[[experiment]]\nname = \"exact\"\ndynamics = \"langevin\"\nmethod = \"backward-kolmogorov\"\nepsilon = [0.2, 0.1]\n").utf8).write(to: file)
        let check = try CLI.run(["check", file.path])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("3 cells in 2 experiments"))
        // the Monte Carlo bound: 100 paths × 1,000,000 max_steps
        #expect(check.stdout.contains("late") && check.stdout.contains("1e+08"), "\(check.stdout)")
        // one row per experiment: its name, method and kind
        #expect(check.stdout.split(separator: "\n").contains { $0.hasPrefix("exact") && $0.contains("backward-kolmogorov  exact") },
                "\(check.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["job.toml"], "check wrote something")
    }

    /// A cell whose method fails numerically is data: the job finishes its other cells,
    /// stores the failure, exits 1, and `--resume` retries only the failed cell.
    @Test func aFailedCellIsRecordedAndRetriedAlone() throws {
        // every per-sample gradient of Σ aᵢx²/2 is 0 at the minimizer: the tail-index cell
        // draws only zeros and fails; the Monte Carlo cells run (and are all censored)
        let spec = """
            name = "fails"
            [landscape]
            builtin = "quadratic-sums"
            curvatures = [1.0, 2.0]
            [start]
            point = [0.0]
            [exit]
            when = "x > 0.5"
            [[experiment]]
            name = "mc"
            dynamics = "sgd"
            learning_rate = [0.1, 0.2]
            paths = 20
            max_steps = 50
            [[experiment]]
            name = "tail"
            dynamics = "sgd"
            method = "tail-index"
            learning_rate = 0.1
            paths = 200

            """
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("job.toml")
        try Data(spec.utf8).write(to: file)
        let out = dir.appendingPathComponent("out")
        let first = try CLI.run(["run", file.path, "--out", out.path, "--threads", "1", "--quiet", "--format", "json"])
        #expect(first.status == 1, "\(first.stderr)")
        #expect(first.stderr.contains("1 of 3 cells failed") && first.stderr.contains("draw is exactly 0"), "\(first.stderr)")
        #expect(first.stdout.contains("\"status\": \"failed\""))
        #expect(first.stdout.components(separatedBy: "\"exited\"").count == 4, "all three cells in the summary")
        let summary = try String(contentsOf: out.appendingPathComponent("summary.json"), encoding: .utf8)

        let again = try CLI.run(["run", file.path, "--out", out.path, "--threads", "1", "--resume", "--format", "json"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("resuming: 2 of 3 cells already in the store; retrying 1 failed"), "\(again.stderr)")
        // the two done cells were not recomputed: their JSON, wall_seconds included, is unchanged
        let resumed = try String(contentsOf: out.appendingPathComponent("summary.json"), encoding: .utf8)
        let mcPart = { (s: String) in s.components(separatedBy: "\"experiment\": \"tail\"")[0] }
        #expect(mcPart(resumed) == mcPart(summary))
        #expect(resumed.contains("\"status\": \"failed\""))

        // the report lists the failed cell and uses it in no analysis
        let reportDir = dir.appendingPathComponent("report")
        let report = try CLI.run(["report", out.path, "--out", reportDir.path, "--quiet"])
        #expect(report.status == 0, "\(report.stderr)")
        let markdown = try String(contentsOf: reportDir.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("## Failed cells") && markdown.contains("| 3 | tail | η = 0.1, B = 1 | tail index:"), "\(markdown)")
        #expect(markdown.contains("2 of 3 finished, 1 failed"))
    }
}
