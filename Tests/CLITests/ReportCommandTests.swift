import Foundation
import Testing

@Suite(.serialized) struct ReportCommandTests {
    /// A report regenerated from the same results store is byte-identical (Markdown, every
    /// SVG, every CSV, the spec and the notebook), and it carries what the issue asks for.
    @Test func reportIsByteIdenticalWhenRegenerated() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let job = dir.appendingPathComponent("job.toml")
        try Data(storeJob.utf8).write(to: job)
        let out = dir.appendingPathComponent("run").path
        let run = try CLI.run(["run", job.path, "--out", out, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        var trees: [[String: Data]] = []
        for k in 0..<2 {
            let report = dir.appendingPathComponent("report-\(k)").path
            let notebook = dir.appendingPathComponent("nb-\(k)/report.ipynb").path
            let r = try CLI.run(["report", out, "--out", report, "--notebook", notebook, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            var files: [String: Data] = [:]
            let base = URL(fileURLWithPath: report)
            for case let path as String in FileManager.default.enumerator(atPath: report)! {
                var isDirectory: ObjCBool = false
                let url = base.appendingPathComponent(path)
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files[path] = try Data(contentsOf: url)
                }
            }
            files["notebook"] = try Data(contentsOf: URL(fileURLWithPath: notebook))
            trees.append(files)
        }
        #expect(trees[0].keys.sorted() == trees[1].keys.sorted())
        for (path, data) in trees[0] { #expect(trees[1][path] == data, "\(path) differs between two regenerations") }
        let markdown = String(decoding: try #require(trees[0]["report.md"]), as: UTF8.self)
        for section in ["# ", "| Seed | 11 |", "## Scaling laws", "## Comparisons", "## Validation against exact references",
                        "## Cells", "## Job spec", "```toml"] {
            #expect(markdown.contains(section), "report lacks \(section)")
        }
        // every figure the Markdown links to exists
        let links = markdown.components(separatedBy: "](figures/").dropFirst().map { $0.prefix { $0 != ")" } }
        #expect(!links.isEmpty)
        for link in links { #expect(trees[0]["figures/\(link)"] != nil, "missing figures/\(link)") }
        #expect(trees[0]["job.toml"] == Data(storeJob.utf8))
    }

    /// `report --spec` takes a revised [report] table without a rerun, and refuses any
    /// other change to the spec.
    @Test func reportSpecOverrideAcceptsOnlyReportChanges() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let job = dir.appendingPathComponent("job.toml")
        try Data(storeJob.utf8).write(to: job)
        let out = dir.appendingPathComponent("run").path
        #expect(try CLI.run(["run", job.path, "--out", out, "--quiet"]).status == 0)
        let revised = dir.appendingPathComponent("revised.toml")
        try Data((storeJob + "\n[report]\ntitle = \"Revised title\"\n").utf8).write(to: revised)
        let report = dir.appendingPathComponent("report").path
        let r = try CLI.run(["report", out, "--out", report, "--spec", revised.path, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: report + "/report.md", encoding: .utf8).hasPrefix("# Revised title\n"))
        let changed = dir.appendingPathComponent("changed.toml")
        try Data(storeJob.replacingOccurrences(of: "seed = 11", with: "seed = 12").utf8).write(to: changed)
        let refused = try CLI.run(["report", out, "--out", report, "--spec", changed.path])
        #expect(refused.status == 2 && refused.stderr.contains("'seed'"), "\(refused.stderr)")
    }

    @Test func reportOfAMissingStoreIsAOneLineError() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["report", dir.path, "--out", dir.appendingPathComponent("r").path])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: report: no results.sqlite") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r").path))
    }
}

@Suite(.serialized) struct DemoReportTests {
    /// `demo` runs the embedded job and writes the report (every linked figure present) and a
    /// notebook that, under `make test` (SGD_ESCAPE_PYTHON), validates and executes headless
    /// with one image per figure.
    @Test func demoWritesReportAndExecutableNotebook() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = dir.appendingPathComponent("Reports/demo").path
        let notebook = dir.appendingPathComponent("Notebooks-export/demo.ipynb").path
        let r = try CLI.run(["demo", "--out", dir.appendingPathComponent("run").path, "--report", report,
                             "--notebook", notebook, "--quiet"], timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        let markdown = try String(contentsOfFile: report + "/report.md", encoding: .utf8)
        let links = markdown.components(separatedBy: "](figures/").dropFirst().map { String($0.prefix { $0 != ")" }) }
        #expect(links.count >= 4)
        for link in links { #expect(FileManager.default.fileExists(atPath: report + "/figures/" + link), "missing \(link)") }
        #expect(markdown.contains("Simulations against exact references"))
        guard let python = ProcessInfo.processInfo.environment["SGD_ESCAPE_PYTHON"] else { return }
        let script = """
            import sys, nbformat
            from nbclient import NotebookClient
            nb = nbformat.read(sys.argv[1], as_version=4)
            nbformat.validate(nb)
            NotebookClient(nb, timeout=300, kernel_name="python3").execute()
            print(sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, notebook]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the notebook failed to execute")
        let images = Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(images == links.count, "\(images) images for \(links.count) figures")
    }
}
