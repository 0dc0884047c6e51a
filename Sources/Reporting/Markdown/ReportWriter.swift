import Foundation

/// Writes a `Report` to disk: `DIR/report.md`, `DIR/figures/<name>.svg`, `DIR/data/<table>.csv`
/// and `DIR/job.toml` (the spec that produced it). The folder is built beside the target and
/// renamed into place, so an interrupted or failed write never leaves a half-written report
/// (and an existing report is replaced only once the new one is complete).
public enum ReportWriter {
    public static func write(_ report: Report, specText: String, to directory: String) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging.appendingPathComponent("figures"), withIntermediateDirectories: true)
        try fm.createDirectory(at: staging.appendingPathComponent("data"), withIntermediateDirectories: true)
        do {
            try Data(report.markdown.utf8).write(to: staging.appendingPathComponent("report.md"))
            try Data(specText.utf8).write(to: staging.appendingPathComponent("job.toml"))
            for figure in report.figures {
                try Data(SVGRenderer.render(figure).utf8).write(to: staging.appendingPathComponent("figures/\(figure.name).svg"))
            }
            for table in report.tables {
                try Data(table.csv().utf8).write(to: staging.appendingPathComponent("data/\(table.name).csv"))
            }
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: target.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw ReportError("--out \(directory) is a file, not a folder") }
                let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
                try fm.moveItem(at: target, to: old)
                try fm.moveItem(at: staging, to: target)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: staging, to: target)
            }
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    /// Writes `text` to `path` atomically (temporary file + rename), creating parent folders.
    public static func writeAtomically(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}
