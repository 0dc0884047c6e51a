import ArgumentParser
import Foundation
import Jobs
import Reporting

@main
struct SGDEscapeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgd-escape",
        abstract: "First-exit times of SGD, its SDE and Langevin/Lévy dynamics.",
        subcommands: [Run.self, ReportCommand.self, Demo.self, Validate.self, Merge.self, Export.self, Slurm.self]
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

    @Option(name: .long, help: "text (a table) or json (DESIGN.md's object on stdout).")
    var format: OutputFormat = .text

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

func execute(specText: String, baseDirectory: URL?, options: RunOptions, jobPath: String? = nil) {
    let spec: JobSpec
    do { spec = try JobSpec.parse(specText, baseDirectory: baseDirectory) } catch { fail(error.description) }
    let threads = options.threads ?? ProcessInfo.processInfo.activeProcessorCount
    let runner = JobRunner(spec: spec, threads: threads, pathsScale: options.quick ? 0.1 : 1)
    let shard = options.shard.flatMap(parsedShard)
    let plan = runner.cells
    let selected = plan.indices.filter { i in shard.map { i % $0.n == $0.k - 1 } ?? true }
    var outDirectory: URL? = nil
    var store: ResultsStore? = nil
    var stored: [Int: JSONValue] = [:]
    if let out = options.out {
        let url = URL(fileURLWithPath: out)
        let storePath = url.appendingPathComponent(ResultsStore.fileName).path
        let exists = FileManager.default.fileExists(atPath: storePath)
        if exists, !options.resume {
            fail("--out \(out) already holds results (\(ResultsStore.fileName)); pass --resume to continue that run, or choose another --out")
        }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            if !exists { try Data(specText.utf8).write(to: url.appendingPathComponent("job.toml"), options: .atomic) }
        } catch { fail("--out \(out): cannot write there (\(error.localizedDescription))") }
        do {
            let s = try ResultsStore(path: storePath)
            if exists, let job = try s.job() {
                if job.commandLine.split(separator: " ").contains("--quick") != options.quick {
                    fail("--resume: the stored run was made \(options.quick ? "without" : "with") --quick; resume it the same way, or choose another --out")
                }
                let diff = SpecDiff.differences(old: job.spec, new: specText)
                if !diff.isEmpty {
                    fail("--resume: the spec differs from the one stored in \(storePath): \(diff.joined(separator: "; "))")
                }
                for cell in try s.cells() { stored[cell.global] = cell.json }
            } else {
                try s.setJob(.init(name: spec.name, spec: specText, specHash: ResultsStore.specHash(specText), seed: spec.seed,
                                   toolVersion: ResultsStore.toolVersion,
                                   commandLine: CommandLine.arguments.joined(separator: " "),
                                   host: ProcessInfo.processInfo.hostName,
                                   startedAt: ISO8601DateFormatter().string(from: Date()),
                                   shard: shard.map { "\($0.k)/\($0.n)" }))
            }
            store = s
        } catch { fail("\(storePath): \(error)") }
        outDirectory = url
    }
    let total = selected.count
    var finished: [Int: JSONValue] = stored.filter { selected.contains($0.key) }
    var fresh: [CellResult] = []
    func summary() -> JSONValue {
        summaryJSON(name: spec.name, seed: spec.seed, cells: selected.compactMap { finished[$0] })
    }
    if !options.quiet, !finished.isEmpty {
        FileHandle.standardError.write(Data("resuming: \(finished.count) of \(total) cells already in the store\n".utf8))
    }
    installInterruptHandler()
    let progress = ProgressDisplay(total: total, alreadyDone: finished.count, quiet: options.quiet)
    for g in selected where finished[g] == nil {
        if interrupted.load(ordering: .relaxed) {
            progress.finish()
            let resume = outDirectory.map { "; resume with: sgd-escape run \(jobPath ?? "JOB") --out \($0.path) --resume" }
                ?? " (no --out: nothing was kept)"
            FileHandle.standardError.write(Data("interrupted: \(finished.count) of \(total) cells finished\(resume)\n".utf8))
            exit(130)
        }
        let (e, c) = plan[g]
        let cell: CellResult
        if let store {
            do { cell = try store.recordCell(global: g) { sink in try runner.runCell(experiment: e, cell: c, samples: sink) } }
            catch let error as SpecError { fail(error.description) }
            catch { fail("cannot store cell \(g + 1): \(error)") }
        } else {
            do { cell = try runner.runCell(experiment: e, cell: c) } catch { fail(error.description) }
        }
        let json = cell.json()
        finished[g] = json
        fresh.append(cell)
        progress.cellFinished(cell)
        if let outDirectory {
            writeSummary(summary(), to: outDirectory)
        }
    }
    progress.finish()
    if let outDirectory, fresh.isEmpty { writeSummary(summary(), to: outDirectory) }
    switch options.format {
    case .json:
        print(summary().serialized(indent: 2))
    case .text:
        if fresh.count == total {
            print(TextTable.render(job: spec.name, seed: spec.seed, cells: fresh))
        } else {
            print(TextTable.render(job: spec.name, seed: spec.seed, json: selected.compactMap { finished[$0] }))
        }
    }
}

/// DESIGN.md's job object from cell JSON values (the same bytes as `jobJSON`).
func summaryJSON(name: String, seed: UInt64, cells: [JSONValue]) -> JSONValue {
    .object([("job", .string(name)), ("seed", .int(Int(truncatingIfNeeded: seed))), ("cells", .array(cells))])
}

/// Rewrites DIR/summary.json atomically.
func writeSummary(_ json: JSONValue, to directory: URL) {
    let text = json.serialized(indent: 2) + "\n"
    do { try Data(text.utf8).write(to: directory.appendingPathComponent("summary.json"), options: .atomic) }
    catch { fail("cannot write summary.json: \(error.localizedDescription)") }
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
            execute(specText: text, baseDirectory: url.deletingLastPathComponent(), options: options, jobPath: job)
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
