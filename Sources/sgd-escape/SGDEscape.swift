import ArgumentParser
import Foundation
import Jobs

@main
struct SGDEscapeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgd-escape",
        abstract: "First-exit times of SGD, its SDE and Langevin/Lévy dynamics.",
        subcommands: [Run.self, Demo.self, Validate.self]
    )
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Prints a one-line error and exits with status 2 (bad input) — never a stack trace.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(2)
}

struct RunOptions: ParsableArguments {
    @Option(name: .long, help: "Write summary.json (and the spec) into this directory.")
    var out: String?

    @Option(name: .long, help: "Worker threads (default: all cores). Results do not depend on it.")
    var threads: Int?

    @Flag(name: .long, help: "No progress lines on stderr.")
    var quiet = false

    @Option(name: .long, help: "text (a table) or json (DESIGN.md's object on stdout).")
    var format: OutputFormat = .text

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
    }
}

func execute(specText: String, baseDirectory: URL?, options: RunOptions) {
    let spec: JobSpec
    do { spec = try JobSpec.parse(specText, baseDirectory: baseDirectory) } catch { fail(error.description) }
    let threads = options.threads ?? ProcessInfo.processInfo.activeProcessorCount
    let runner = JobRunner(spec: spec, threads: threads)
    var outDirectory: URL? = nil
    if let out = options.out {
        let url = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data(specText.utf8).write(to: url.appendingPathComponent("job.toml"), options: .atomic)
        } catch { fail("--out \(out): cannot write there (\(error.localizedDescription))") }
        outDirectory = url
    }
    let total = runner.cells.count
    var done: [CellResult] = []
    let results: [CellResult]
    do {
        results = try runner.run { cell in
            done.append(cell)
            if !options.quiet {
                let mean = cell.estimate.mean.map { String(format: "%.6g", $0) } ?? "n/a"
                let se = cell.estimate.standardError.map { String(format: "%.2g", $0) } ?? "n/a"
                let params = cell.parameters.map { "\($0.key)=\(TextTable.number($0.value))" }.joined(separator: " ")
                FileHandle.standardError.write(Data("[\(done.count)/\(total)] \(cell.experiment) \(params): mean \(mean) ± \(se) \(cell.timeUnit) (\(String(format: "%.2f", cell.wallSeconds)) s)\n".utf8))
            }
            if let outDirectory {
                let json = jobJSON(name: spec.name, seed: spec.seed, cells: done).serialized(indent: 2) + "\n"
                do { try Data(json.utf8).write(to: outDirectory.appendingPathComponent("summary.json"), options: .atomic) }
                catch { fail("cannot write summary.json: \(error.localizedDescription)") }
            }
        }
    } catch { fail(error.description) }
    switch options.format {
    case .json:
        print(jobJSON(name: spec.name, seed: spec.seed, cells: results).serialized(indent: 2))
    case .text:
        print(TextTable.render(job: spec.name, seed: spec.seed, cells: results))
    }
}

extension SGDEscapeCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a job spec (TOML or JSON).")

        @Argument(help: "The job spec, e.g. job.toml.")
        var job: String

        @OptionGroup var options: RunOptions

        func run() throws {
            let url = URL(fileURLWithPath: job)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                fail("cannot read job spec \(job): it is a directory, not a file")
            }
            guard let data = FileManager.default.contents(atPath: url.path) else {
                fail("cannot read job spec \(job): no such file or not readable")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                fail("job spec \(job) is not UTF-8 text")
            }
            execute(specText: text, baseDirectory: url.deletingLastPathComponent(), options: options)
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the built-in exact references and print estimates, references and z-scores.")

        @Option(name: .long, help: "Worker threads for the Monte Carlo checks (default: all cores).")
        var threads: Int?

        func run() throws {
            let checks: [Validation.Check]
            do { checks = try Validation.run(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount) }
            catch { fail("validation could not run: \(error)") }
            var rows = [["check", "estimate", "reference", "z", "rel. error", "criterion", "result"]]
            for c in checks {
                rows.append([c.name, String(format: "%.8g", c.estimate), String(format: "%.8g", c.reference),
                             c.z.map { String(format: "%+.2f", $0) } ?? "", c.relativeError.isNaN ? "" : String(format: "%.2e", c.relativeError),
                             c.criterion, c.passed ? "pass" : "FAIL"])
            }
            let widths = (0..<rows[0].count).map { k in rows.map { $0[k].count }.max()! }
            for row in rows {
                print(zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
            }
            let failed = checks.filter { !$0.passed }.count
            print("\(checks.count - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the main job on its embedded default spec (sharp vs flat minimum).")

        @OptionGroup var options: RunOptions

        func run() throws {
            execute(specText: DemoJob.spec, baseDirectory: nil, options: options)
        }
    }
}
