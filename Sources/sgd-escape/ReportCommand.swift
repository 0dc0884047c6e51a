import ArgumentParser
import Foundation
import Jobs
import Reporting

/// Builds the report of the run stored in `directory` and writes it (and the notebook).
/// Returns the report folder written.
@discardableResult
func writeReport(from directory: String, out: String?, notebook: String?, spec: String? = nil, quiet: Bool = false) -> String {
    var specText: String? = nil
    if let spec {
        guard let data = FileManager.default.contents(atPath: spec), let text = String(data: data, encoding: .utf8) else {
            fail("report: --spec \(spec): no such file or not UTF-8 text")
        }
        specText = text
    }
    let input: ReportInput
    do { input = try ReportInput(directory: directory, specText: specText) } catch { fail("report: \(error)") }
    let report: Report
    do { report = try ReportBuilder.build(input) } catch { fail("report: \(error)") }
    let folder: String
    if let out { folder = out } else {
        // a store written before names were checked may hold one that would leave Reports/
        guard let name = JobSpec.defaultReportFolder(input.job.name) else {
            fail("report: the stored job name \"\(input.job.name.shortened())\" cannot name a folder (\(JobSpec.nameViolation(input.job.name) ?? "")); give --out DIR")
        }
        folder = name
    }
    do { try ReportWriter.write(report, specText: input.job.spec, to: folder) }
    catch { fail("report: cannot write \(folder): \(error)") }
    var written = ["\(folder)/report.md (\(report.figures.count) figures)"]
    if let notebook {
        do { try ReportWriter.writeAtomically(report.notebook(), to: notebook) }
        catch { fail("report: cannot write the notebook \(notebook): \(error)") }
        written.append(notebook)
    }
    if !quiet { FileHandle.standardError.write(Data("wrote \(written.joined(separator: " and "))\n".utf8)) }
    return folder
}

extension SGDEscapeCommand {
    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write a Markdown report with SVG figures (and optionally a Jupyter notebook) from a run's results.",
            discussion: "Reads DIR/results.sqlite. The report is a function of the store alone: regenerating it gives byte-identical files.")

        @Argument(help: "A run's --out folder (holding results.sqlite).")
        var directory: String

        @Option(name: .long, help: "Report folder (default: Reports/<job name>).")
        var out: String?

        @Option(name: .long, help: "Also write a notebook that rebuilds every figure, e.g. Notebooks-export/NAME.ipynb.")
        var notebook: String?

        @Option(name: .long, help: "Take [report] and description from this spec (otherwise identical to the run's) instead of the stored one.")
        var spec: String?

        @Flag(name: .long, help: "Do not print what was written.")
        var quiet = false

        func run() throws {
            writeReport(from: directory, out: out, notebook: notebook, spec: spec, quiet: quiet)
        }
    }
}
