import Foundation
import Testing
import TestSupport

/// A malformed job and what the one-line error must say about it.
struct BadInput: CustomTestStringConvertible, Sendable {
    enum Input: Sendable {
        case text(String, ext: String)
        case bytes([UInt8])
        case missingFile
        case directory
    }
    let name: String
    let input: Input
    /// Substrings the `error: …` line must contain: key path, value, requirement, line.
    let expected: [String]

    var testDescription: String { name }

    init(_ name: String, _ text: String, ext: String = "toml", expect expected: [String]) {
        self.name = name
        self.input = .text(text, ext: ext)
        self.expected = expected
    }

    init(_ name: String, input: Input, expect expected: [String]) {
        self.name = name
        self.input = input
        self.expected = expected
    }
}

/// Lines 1–7 of most cases: a 1-D double well started at −1, exiting at x > 0.
private let wellPrefix = """
    name = "t"
    [landscape]
    potential = "x^4/4 - x^2/2"
    [start]
    point = [-1.0]
    [exit]
    when = "x > 0"
    """

/// `wellPrefix` plus one `[[experiment]]` on line 8 whose k-th key sits on line 8 + k.
private func job(_ experimentLines: String...) -> String {
    wellPrefix + "\n[[experiment]]\n" + experimentLines.joined(separator: "\n") + "\n"
}

/// A spec with the given landscape/start/exit lines and a valid langevin experiment.
private func job(top: String, experiment: String = "name = \"lang\"\ndynamics = \"langevin\"\nepsilon = 0.3\npaths = 10") -> String {
    top + "\n[[experiment]]\n" + experiment + "\n"
}

private let gaussianNoise = #"noise = { law = "gaussian", sigma = 1.0 }"#

let badInputs: [BadInput] = [
    // TOML syntax
    BadInput("unterminated string", "name = \"t\nseed = 1\n",
             expect: ["syntax error", "line 1", "column 8", "unterminated string"]),
    BadInput("missing =", "name = \"t\"\nseed 1\n",
             expect: ["syntax error", "line 2", "missing '=' after key 'seed'"]),
    BadInput("duplicate key", "name = \"t\"\nseed = 1\nseed = 2\n",
             expect: ["syntax error", "line 3", "'seed'", "line 2"]),
    BadInput("unterminated array", "name = \"t\"\n[start]\npoint = [-1.0, \n",
             expect: ["syntax error", "line 3", "unterminated array"]),

    // top level
    BadInput("missing name", job(top: """
        seed = 1
        [landscape]
        potential = "x^2"
        [start]
        point = [1.0]
        [exit]
        interval = [-2.0, 2.0]
        """), expect: ["name is required"]),
    BadInput("negative seed", "name = \"t\"\nseed = -3\n", expect: ["seed must be ≥ 0, got -3", "line 2"]),
    BadInput("missing landscape", job(top: """
        name = "t"
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        """), expect: ["landscape is required: give a [landscape] table, or [experiment.landscape] in every experiment"]),
    BadInput("potential and builtin", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - x^2/2"
        builtin = "double-well"
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        """), expect: ["landscape.builtin cannot be combined with landscape.potential", "line 4"]),
    BadInput("unknown builtin", job(top: """
        name = "t"
        [landscape]
        builtin = "triple-well"
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        """), expect: ["landscape.builtin must be one of", "\"double-well\"", "got \"triple-well\"", "line 3"]),
    BadInput("sharp-flat barrier_curvature too large", job(top: """
        name = "t"
        [landscape]
        builtin = "sharp-flat"
        barrier_curvature = 1000.0
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        """), expect: ["landscape.barrier_curvature must be in (0, min(h_sharp, h_flat))", "got 1000.0", "builtin \"sharp-flat\", line 4"]),

    // expressions
    BadInput("unknown variable", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - q^2/2"
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        """), expect: ["landscape.potential", "q", "line 3"]),
    BadInput("unknown function", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - foo(x)"
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        """), expect: ["landscape.potential", "foo", "line 3"]),
    BadInput("unbalanced parenthesis", job(top: """
        name = "t"
        [landscape]
        potential = "(x^4/4 - x^2/2"
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        """), expect: ["landscape.potential", "(x^4/4 - x^2/2", "column", "line 3"]),

    // experiment numbers
    BadInput("negative epsilon", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilon = -0.3"),
             expect: ["experiment[1].epsilon must be > 0, got -0.3", "experiment 'lang'", "line 11"]),
    BadInput("zero epsilon", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilon = 0"),
             expect: ["experiment[1].epsilon must be > 0, got 0", "line 11"]),
    BadInput("zero dt", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilon = 0.3", "dt = 0.0"),
             expect: ["experiment[1].dt must be > 0, got 0", "line 12"]),
    BadInput("negative dt", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilon = 0.3", "dt = -1e-3"),
             expect: ["experiment[1].dt must be > 0, got -0.001", "line 12"]),
    BadInput("alpha 2.5", job("name = \"levy\"", "dynamics = \"levy\"", "epsilon = 0.3", "alpha = 2.5"),
             expect: ["experiment[1].alpha must be in (0, 2], got 2.5", "experiment 'levy'", "line 12"]),
    BadInput("negative learning rate", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = -0.1", gaussianNoise),
             expect: ["experiment[1].learning_rate must be > 0, got -0.1 (experiment 'sgd', line 11)"]),
    BadInput("batch_size 0", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = 0.1", "batch_size = 0", gaussianNoise),
             expect: ["experiment[1].batch_size must be an integer ≥ 1, got 0", "line 12"]),
    BadInput("batch_size 1.5", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = 0.1", "batch_size = 1.5", gaussianNoise),
             expect: ["experiment[1].batch_size must be an integer ≥ 1, got 1.5", "line 12"]),
    BadInput("paths 0", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilon = 0.3", "paths = 0"),
             expect: ["experiment[1].paths must be an integer in 1...1000000000, got 0", "line 12"]),
    BadInput("max_steps string", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilon = 0.3", "max_steps = \"many\""),
             expect: ["experiment[1].max_steps must be a number or an array of numbers, got string \"many\"", "line 12"]),
    BadInput("sigma negative in sweep", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = 0.1",
                                             #"noise = { law = "gaussian", sigma = [1.0, -2.0] }"#),
             expect: ["experiment[1].noise.sigma must be > 0, got -2", "experiment 'sgd'", "line 12"]),
    BadInput("empty sweep array", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilon = []"),
             expect: ["experiment[1].epsilon must not be an empty array", "line 11"]),

    // experiment keys
    BadInput("unknown key (typo)", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilonn = 0.3"),
             expect: ["unknown key 'experiment[1].epsilonn'", "line 11", "'epsilon'"]),
    BadInput("key for another dynamics", job("name = \"lang\"", "dynamics = \"langevin\"", "epsilon = 0.3", "learning_rate = 0.1"),
             expect: ["experiment[1].learning_rate does not apply to dynamics \"langevin\"", "\"sgd\"", "line 12"]),
    BadInput("unknown dynamics", job("name = \"x\"", "dynamics = \"adam\"", "learning_rate = 0.1"),
             expect: ["experiment[1].dynamics must be one of", "\"langevin\"", "got \"adam\"", "line 10"]),
    BadInput("unknown method", job("name = \"lang\"", "dynamics = \"langevin\"", "method = \"grid\"", "epsilon = 0.3"),
             expect: ["experiment[1].method must be one of", "\"minimum-action\"", "got \"grid\"", "line 11"]),
    BadInput("bridge with sgd", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = 0.1", gaussianNoise, "exit_test = \"bridge\""),
             expect: ["experiment[1].exit_test \"bridge\" does not apply to dynamics \"sgd\"", "line 13"]),
    BadInput("bridge with levy", job("name = \"levy\"", "dynamics = \"levy\"", "epsilon = 0.3", "alpha = 1.5", "exit_test = \"bridge\""),
             expect: ["experiment[1].exit_test \"bridge\" needs Gaussian noise", "line 13"]),
    BadInput("dt and dt_fraction", job("name = \"sde\"", "dynamics = \"sgd-sde\"", "learning_rate = 0.1", gaussianNoise, "dt = 1e-3", "dt_fraction = 0.1"),
             expect: ["experiment[1].dt_fraction cannot be combined with dt", "line 14"]),
    BadInput("duplicate experiment names", wellPrefix + """

        [[experiment]]
        name = "lang"
        dynamics = "langevin"
        epsilon = 0.3
        [[experiment]]
        name = "lang"
        dynamics = "langevin"
        epsilon = 0.2
        """, expect: ["experiment[2].name \"lang\" is used by an earlier experiment", "line 13"]),
    BadInput("no experiment", wellPrefix + "\n", expect: ["experiment is required", "[[experiment]]"]),

    // noise
    BadInput("noise missing", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = 0.1"),
             expect: ["experiment[1].noise is required for dynamics \"sgd\"", "expression landscape", "line 8"]),
    BadInput("noise law unknown", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = 0.1", #"noise = { law = "cauchy", sigma = 1.0 }"#),
             expect: ["experiment[1].noise.law must be one of", "got \"cauchy\"", "line 12"]),
    BadInput("noise finite-sum on expression", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = 0.1", #"noise = { law = "finite-sum" }"#),
             expect: ["experiment[1].noise.law \"finite-sum\" needs a finite-sum landscape", "line 12"]),
    BadInput("student-t without nu", job("name = \"sgd\"", "dynamics = \"sgd\"", "learning_rate = 0.1", #"noise = { law = "student-t", sigma = 1.0 }"#),
             expect: ["experiment[1].noise.nu is required for noise law \"student-t\"", "line 12"]),

    // start and exit
    BadInput("start wrong dimension", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - x^2/2"
        [start]
        point = [-1.0, 0.5]
        [exit]
        when = "x > 0"
        """), expect: ["start.point must have 1 coordinates", "got 2", "line 5"]),
    BadInput("start already in exit region", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - x^2/2"
        [start]
        point = [1.0]
        [exit]
        when = "x > 0"
        """), expect: ["start.point [1.0] is already in the exit region", "x > 0", "line 5"]),
    BadInput("exit with two regions", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - x^2/2"
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        interval = [-2.0, 0.0]
        """), expect: ["exit has when and interval; give exactly one", "line 6"]),
    BadInput("exit with none", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - x^2/2"
        [start]
        point = [-1.0]
        [exit]
        """), expect: ["exit needs one of", "line 6"]),
    BadInput("interval lower >= upper", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - x^2/2"
        [start]
        point = [-1.0]
        [exit]
        interval = [0.5, 0.5]
        """), expect: ["exit.interval must have lower < upper", "[0.5, 0.5]", "line 7"]),
    BadInput("ball radius zero", job(top: """
        name = "t"
        [landscape]
        potential = "x^4/4 - x^2/2"
        [start]
        point = [-1.0]
        [exit]
        ball = { center = [-1.0], radius = 0.0 }
        """), expect: ["exit.ball.radius must be > 0, got 0", "line 7"]),

    // other inputs
    BadInput("JSON spec error", """
        {
          "name": "t",
          "landscape": { "potential": "x^4/4 - x^2/2" },
          "start": { "point": [-1.0] },
          "exit": { "when": "x > 0" },
          "experiment": [
            { "name": "lang", "dynamics": "langevin",
              "epsilon": -0.3 }
          ]
        }
        """, ext: "json", expect: ["experiment[1].epsilon must be > 0, got -0.3", "experiment 'lang'", "line 8"]),
    BadInput("JSON syntax error", "{\n  \"name\": \"t\",\n  \"seed\": 1,,\n}\n", ext: "json",
             expect: ["syntax error", "line 3"]),
    BadInput("file does not exist", input: .missingFile, expect: ["cannot read job spec", "no-such-job.toml"]),
    BadInput("directory instead of file", input: .directory, expect: ["cannot read job spec", "it is a directory"]),
    BadInput("binary garbage", input: .bytes([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe, 0x00, 0x9c, 0xc3, 0x28, 0x0a, 0x80]),
             expect: ["job.toml", "not UTF-8"]),
    BadInput("NUL bytes in valid UTF-8", input: .bytes(Array("name = \"t\"\n\u{0}\u{1}\u{2}\n".utf8)),
             expect: ["syntax error", "line 2"]),
]

@Suite struct BadInputTests {
    @Test func enoughCases() {
        #expect(badInputs.count >= 35)
        #expect(Set(badInputs.map(\.name)).count == badInputs.count, "case names must be unique")
    }

    @Test(arguments: badInputs)
    func rejectsWithOneLineError(_ bad: BadInput) throws {
        let result: CLIResult
        switch bad.input {
        case .text(let text, let ext):
            result = try CLI.run(spec: text, extension: ext)
        case .bytes(let bytes):
            let dir = try CLI.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("job.toml")
            try Data(bytes).write(to: file)
            result = try CLI.run(["run", file.path])
        case .missingFile:
            let dir = try CLI.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            result = try CLI.run(["run", dir.appendingPathComponent("no-such-job.toml").path])
        case .directory:
            let dir = try CLI.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            result = try CLI.run(["run", dir.path])
        }
        let shown = "status \(result.status), stderr: \(result.stderr)"
        #expect(!result.timedOut, "\(shown)")
        #expect(result.status == 2, "\(shown)")
        #expect(result.stdout.isEmpty, "stdout: \(result.stdout)")
        let lines = result.stderrLines
        #expect(lines.count == 1, "\(shown)")
        #expect(result.stderr.hasPrefix("error: "), "\(shown)")
        #expect(result.stderr.hasSuffix("\n"), "\(shown)")
        for fragment in bad.expected {
            #expect(result.stderr.contains(fragment), "missing \"\(fragment)\" in: \(result.stderr)")
        }
    }
}

/// `sgd-escape tail-index FILE.csv`: an estimate on stdout (text and JSON), bad files as one
/// line on stderr with status 2.
@Suite struct TailIndexCommandTests {
    @Test func estimatesAndRefuses() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("noise.csv")
        var rows = ["g"]
        var state = SplitMix64(seed: 4)
        for _ in 0..<400 { rows.append(String(state.uniform(-1, 1))) }
        try rows.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let text = try CLI.run(["tail-index", file.path])
        #expect(text.status == 0 && text.stdout.contains("400 samples of dimension 1") && text.stdout.contains("tail index α̂ ="), "\(text.stdout)\(text.stderr)")
        let json = try CLI.run(["tail-index", file.path, "--format", "json", "--block-size", "20"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(json.status == 0 && object?["block_size"] as? Int == 20 && object?["blocks"] as? Int == 20 && object?["samples"] as? Int == 400)
        try "1,2\n3\n".write(to: file, atomically: true, encoding: .utf8)
        for arguments in [["tail-index", file.path], ["tail-index", dir.appendingPathComponent("none.csv").path],
                          ["tail-index", file.path, "--pooling", "norm"]] {
            let bad = try CLI.run(arguments)
            #expect(bad.status == 2 && bad.stdout.isEmpty && bad.stderrLines.count == 1 && bad.stderr.hasPrefix("error: "), "\(arguments): \(bad.stderr)")
        }
    }
}
