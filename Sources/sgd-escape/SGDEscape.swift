import ArgumentParser
import Foundation
import Diffusion
import Jobs
import Reporting

@main
struct SGDEscapeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgd-escape",
        abstract: "First-exit times of SGD, its SDE and Langevin/Lévy dynamics.",
        version: ToolVersion.number,
        subcommands: [Run.self, Check.self, ReportCommand.self, Demo.self, Validate.self, Merge.self, Export.self, Slurm.self, TailIndexCommand.self]
    )

    /// ArgumentParser's own entry point, except that a usage error (exit 64) quotes at most 80
    /// characters of what was typed, like every other message (`String.shortened`).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let lines = fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false)
            let text = lines.map { MessageText.oneLine(shorteningQuotes(String($0))) }.joined(separator: "\n")
            FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
            exit(withError: ExitCode.validationFailure)
        }
    }

    /// `line` with each '…'-quoted run longer than 80 characters shortened.
    static func shorteningQuotes(_ line: String) -> String {
        let parts = line.split(separator: "'", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return line }
        return parts.enumerated().map { k, part in k % 2 == 1 && k < parts.count - 1 ? String(part).shortened() : String(part) }
            .joined(separator: "'")
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The text of a job spec file, or a one-line error (exit 2).
func readSpec(_ path: String) -> String {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        fail("cannot read job spec \(path): it is a directory, not a file")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        fail("cannot read job spec \(path): no such file or not readable")
    }
    guard let text = String(data: data, encoding: .utf8) else { fail("job spec \(path) is not UTF-8 text") }
    return text
}

/// Prints a one-line error and exits with status 2 (bad input) — never a stack trace.
func fail(_ message: String) -> Never {
    // one line, and never a huge one: a safety net behind the per-value shortening
    var line = message.replacingOccurrences(of: "\n", with: " ")
    if line.count > 1000 { line = String(line.prefix(1000)) + "… (message cut at 1000 of \(line.count) characters)" }
    FileHandle.standardError.write(Data("error: \(line)\n".utf8))
    exit(2)
}

struct RunOptions: ParsableArguments {
    @Option(name: .long, help: "Write results.sqlite, summary.json and the spec into this directory.")
    var out: String?

    @Option(name: .long, help: "Run only shard K of N: the cells whose global index i has i % N == K-1.")
    var shard: String?

    @Flag(name: .long, help: "Continue the run stored in --out DIR: compute only the cells it lacks.")
    var resume = false

    @Option(name: .long, help: "Worker threads (default: all cores). Results do not depend on it.")
    var threads: Int?

    @Flag(name: .long, help: "No progress lines on stderr.")
    var quiet = false

    @Flag(name: .long, help: "Quick scale: a tenth of each Monte Carlo cell's paths (at least 100), for smoke tests.")
    var quick = false

    @Option(name: .long, help: "text (a table) or json (the job object of docs/output.md on stdout).")
    var format: OutputFormat = .text

    @Flag(name: .long, help: "Lift the job-wide caps (10⁶ cells, 10¹⁵ planned path-steps) for a deliberately large job.")
    var allowLarge = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        if let shard, parsedShard(shard) == nil {
            throw ValidationError("--shard must be K/N with 1 ≤ K ≤ N, got '\(shard)'")
        }
        if resume, out == nil { throw ValidationError("--resume needs --out DIR (the run to continue)") }
    }
}

/// "K/N" → (K, N) with 1 ≤ K ≤ N.
func parsedShard(_ text: String) -> (k: Int, n: Int)? {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n else { return nil }
    return (k, n)
}

/// Runs a job through `JobExecution` and prints: progress on stderr, the table or JSON on
/// stdout. Exits 2 on bad input, 130 when interrupted, 1 when a cell failed.
func execute(specText: String, baseDirectory: URL?, options: RunOptions, jobPath: String? = nil) {
    var settings = JobExecution.Options()
    settings.out = options.out
    settings.shard = options.shard.flatMap(parsedShard)
    settings.resume = options.resume
    settings.threads = options.threads ?? ProcessInfo.processInfo.activeProcessorCount
    settings.quick = options.quick
    settings.limits = options.allowLarge ? .none : .standard
    settings.commandLine = CommandLine.arguments.joined(separator: " ")
    let job: JobExecution
    do { job = try JobExecution(specText: specText, baseDirectory: baseDirectory, options: settings) }
    catch { fail("\(error)") }
    let total = job.selected.count
    if !options.quiet, job.alreadyDone > 0 || job.retrying > 0 {
        let retry = job.retrying > 0 ? "; retrying \(job.retrying) failed" : ""
        FileHandle.standardError.write(Data("resuming: \(job.alreadyDone) of \(total) cells already in the store\(retry)\n".utf8))
    }
    installInterruptHandler()
    let progress = ProgressDisplay(total: total, alreadyDone: job.alreadyDone, quiet: options.quiet)
    let outcome: JobExecution.Outcome
    do {
        outcome = try job.run(shouldStop: { interrupted.load(ordering: .relaxed) }, cellFinished: progress.cellFinished)
    } catch { fail("\(error)") }
    progress.finish()
    if outcome == .interrupted {
        let resume = job.outDirectory.map { "; resume with: sgd-escape run \(jobPath ?? "JOB") --out \($0.path) --resume" }
            ?? " (no --out: nothing was kept)"
        FileHandle.standardError.write(Data("interrupted: \(job.finished.count) of \(total) cells finished\(resume)\n".utf8))
        exit(130)
    }
    switch options.format {
    case .json:
        print(job.summary().serialized(indent: 2))
    case .text:
        if job.fresh.count == total {
            print(TextTable.render(job: job.spec.name, seed: job.spec.seed, cells: job.fresh))
        } else {
            print(TextTable.render(job: job.spec.name, seed: job.spec.seed, cells: job.selectedFinished))
        }
    }
    let failed = job.failedCells
    if !failed.isEmpty {
        var lines = "\(failed.count) of \(total) cells failed\(job.outDirectory.map { " (rerun them with: sgd-escape run \(jobPath ?? "JOB") --out \($0.path) --resume)" } ?? ""):\n"
        for cell in failed { lines += "  cell \(cell.global + 1): \(cell.failure ?? "")\n" }
        FileHandle.standardError.write(Data(lines.utf8))
        exit(1)
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
            let text = readSpec(job)
            execute(specText: text, baseDirectory: url.deletingLastPathComponent(), options: options, jobPath: job)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse and validate a job spec, every cell included, and print the plan; runs and writes nothing.",
            discussion: "Exits 0 when the spec can run, 2 with a one-line error (key, value, requirement, line) when not.")

        @Argument(help: "The job spec, e.g. job.toml.")
        var job: String

        @Flag(name: .long, help: "Lift the job-wide caps (10⁶ cells, 10¹⁵ planned path-steps).")
        var allowLarge = false

        func run() throws {
            let url = URL(fileURLWithPath: job)
            let spec: JobSpec
            do { spec = try JobSpec.parse(readSpec(job), baseDirectory: url.deletingLastPathComponent(), limits: allowLarge ? .none : .standard) }
            catch { fail(error.description) }
            print(JobPlan(spec: spec).text)
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
            abstract: "Run the main job on its embedded default spec (discrete SGD vs its SDE leaving a sharp minimum) and write its report and notebook.",
            discussion: "Results go to --out (default out/demo; an existing run of the same spec there is resumed, so a second demo recomputes nothing), the report to --report and the notebook to --notebook.")

        @OptionGroup var options: RunOptions

        @Option(name: .long, help: "Report folder.")
        var report: String = "Reports/demo"

        @Option(name: .long, help: "Notebook path.")
        var notebook: String = "Notebooks-export/demo.ipynb"

        func run() throws {
            var options = options
            let out = options.out ?? "out/demo"
            options.out = out
            if FileManager.default.fileExists(atPath: URL(fileURLWithPath: out).appendingPathComponent(ResultsStore.fileName).path) {
                options.resume = true
            }
            execute(specText: DemoJob.spec, baseDirectory: nil, options: options)
            writeReport(from: out, out: report, notebook: notebook, quiet: options.quiet)
        }
    }
}
