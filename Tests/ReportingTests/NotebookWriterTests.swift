import CSV
import Foundation
import Testing
import TestSupport
@testable import Reporting

@Suite struct NotebookWriterTests {
    /// Text that breaks naive CSV, Python string or JSON embedding.
    static let table = Table(
        name: "awkward table",
        columns: ["label", "value, in \"units\"", "count", "note"],
        rows: [
            [.text("plain"), .number(1.5), .integer(3), .text("a, b")],
            [.text("quote \" inside"), .number(.nan), .integer(-7), .text("line one\nline two")],
            [.text("triple \"\"\" quotes"), .number(.infinity), .integer(0), .text("back\\slash \\n \\\"\"\" not escapes")],
            [.text("ünïcødé — η ≈ 0.1 🙂"), .number(-.infinity), .integer(Int.max), .text("NA")],
            [.text("ends with a quote\""), .number(1e-300), .integer(Int.min), .missing],
            [.missing, .number(0.1 + 0.2), .integer(1), .text("\r\n CRLF,\ttab and \u{2028} separator")],
            [.text("$x$ and 'single'"), .missing, .integer(2), .text("\"\"")],
            [.text(" padded "), .number(-0.0), .integer(42), .text("nan")],
        ]
    )

    static let figures = [
        Figure(
            name: "escape-times", title: "Mean exit time τ against 1/ε ($ cost)",
            x: Figure.Axis("1/ε", scale: .log), y: Figure.Axis("τ (iterations)", scale: .log),
            series: [
                Figure.Series("Monte Carlo", mark: .points, x: [1, 2, 4, 8], y: [3.1, 9.4, 80.2, 5120.5],
                              yLow: [2.9, 9.0, 77.0, 4900], yHigh: [3.3, 9.8, 83.5, 5350]),
                Figure.Series("censored (lower bound)", mark: .points, x: [16], y: [2.5e5], marker: .openCircle),
                Figure.Series("censored with bars", mark: .points, x: [12], y: [9e4], yLow: [8e4], yHigh: [1e5],
                              marker: .openCircle, colorIndex: 3),
                Figure.Series("Kramers", mark: .line, x: [1, 16], y: [2.7, 3.0e5], lineStyle: .dashed),
            ],
            caption: "Error bars are 95 % intervals; the hollow circles are lower bounds."
        ),
        Figure(
            name: "survival", title: "Survival P(τ > t)",
            x: Figure.Axis("t", range: 0...10), y: Figure.Axis("P(τ > t)", range: 0...1),
            series: [
                Figure.Series("empirical", mark: .step, x: [0, 1, 2.5, 4, 7], y: [1, 0.8, 0.5, 0.25, 0.05]),
                Figure.Series("fit", mark: .line, x: [0, 5, 10], y: [1, 0.3, 0.09], lineStyle: .dotted, colorIndex: 12),
                Figure.Series("fit", mark: .points, x: [3, 6], y: [0.4, 0.2], marker: .square),
                Figure.Series("", mark: .points, x: [9], y: [0.1], marker: .triangle),
            ]
        ),
    ]

    static let sections = [
        NotebookSection(heading: "Exit times", text: "Monte Carlo against **Kramers**.",
                        tables: [table], figures: [figures[0]]),
        NotebookSection(heading: "Survival", figures: [figures[1]]),
    ]

    static func notebook() -> String {
        NotebookWriter.notebook(title: "Double well — \"escape\"", introduction: "From `demo.toml`.\nSeed 1.",
                                sections: sections)
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "Fixtures")

    @Test func csvRoundTrip() throws {
        let csv = Self.table.csv()
        let reader = try CSVReader(string: csv, hasHeaderRow: true)
        #expect(reader.headerRow == Self.table.columns)
        var rows: [[String]] = []
        while let row = reader.next() { rows.append(row) }
        #expect(rows.count == Self.table.rows.count)
        for (read, cells) in zip(rows, Self.table.rows) {
            #expect(read.count == cells.count)
            for (field, cell) in zip(read, cells) {
                switch cell {
                case .text(let text): #expect(field == text)
                case .integer(let value): #expect(Int(field) == value)
                case .number(let value):
                    let back = try #require(Double(field), "\(field)")
                    #expect(back.bitPattern == value.bitPattern || (back.isNaN && value.isNaN), "\(field) vs \(value)")
                case .missing: #expect(field.isEmpty)
                }
            }
        }
        #expect(csv.hasSuffix("\n") && csv.hasPrefix("label,\"value, in \"\"units\"\"\",count,note\n"))
        #expect(Table.csvField(.number(-.nan)) == "nan" && Table.csvField(.number(1e-5)) == "1e-05")
        // A lone empty field is quoted, or readers would skip its line.
        #expect(Table(name: "t", columns: ["a"], rows: [[.missing], [.integer(1)]]).csv() == "a\n\"\"\n1\n")
    }

    @Test func notebookIsNbformat4JSON() throws {
        let text = Self.notebook()
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let notebook = try #require(object as? [String: Any])
        #expect(notebook["nbformat"] as? Int == 4 && notebook["nbformat_minor"] as? Int == 5)
        let kernel = try #require((notebook["metadata"] as? [String: Any])?["kernelspec"] as? [String: Any])
        #expect(kernel["name"] as? String == "python3" && kernel["language"] as? String == "python")
        let cells = try #require(notebook["cells"] as? [[String: Any]])
        // title, imports, heading, table, figure, caption, heading, figure
        #expect(cells.map { $0["cell_type"] as? String ?? "" }
                == ["markdown", "code", "markdown", "code", "code", "markdown", "markdown", "code"])
        #expect(cells.map { $0["id"] as? String ?? "" } == (1...8).map { String(format: "cell-%04d", $0) })
        for cell in cells where cell["cell_type"] as? String == "code" {
            #expect((cell["outputs"] as? [Any])?.isEmpty == true && cell["execution_count"] is NSNull)
        }
        let source = cells.map { (($0["source"] as? [String]) ?? []).joined() }
        #expect(source[0] == "# Double well — \"escape\"\n\nFrom `demo.toml`.\nSeed 1.")
        #expect(source[1].contains("import pandas as pd") && source[1].contains("import matplotlib.pyplot as plt"))
        #expect(source[3].contains("awkward_table = pd.read_csv("))
        let figure = source[4], survival = source[7]
        #expect(figure.contains("ax.set_xscale('log')") && figure.contains("ax.set_yscale('log')"))
        #expect(figure.contains("capsize=3") && figure.contains("mfc='white'") && figure.contains("linestyle='--'"))
        #expect(figure.contains("color='#d62728'") && figure.contains("\\\\$ cost"))
        #expect(survival.contains("drawstyle='steps-post'") && survival.contains("linestyle=':'"))
        #expect(survival.contains("ax.set_xlim(0.0, 10.0)") && survival.contains("survival.iloc[5:8]"))
        #expect(survival.contains("color='#2ca02c'") && survival.hasSuffix("ax.legend(handles=legend)\nplt.show()"))
    }

    @Test func deterministicAndGolden() throws {
        let text = Self.notebook()
        #expect(text == Self.notebook())
        let golden = Self.fixtures.appending(path: "NotebookWriterTests.ipynb")
        if ProcessInfo.processInfo.environment["SGD_ESCAPE_RECORD"] != nil {
            try text.write(to: golden, atomically: true, encoding: .utf8)
        }
        let recorded = try String(contentsOf: golden, encoding: .utf8)
        #expect(text == recorded, "differs from Fixtures/NotebookWriterTests.ipynb; re-record with SGD_ESCAPE_RECORD=1")
    }

    @Test func pythonLiterals() {
        #expect(NotebookWriter.python("a'b\\c\nd\u{2028}") == "'a\\'b\\\\c\\nd\\u2028'")
        #expect(NotebookWriter.pythonBlock("x,\"\"\"\ny\"") == "\"\"\"\\\nx,\"\"\\\"\ny\\\"\"\"\"")
        #expect(NotebookCell.splitLines("a\r\nb\rc\u{2028}d\n") == ["a\r\n", "b\r", "c\u{2028}", "d\n"])
        #expect(NotebookCell.jsonString("\"\\\u{01}\t\u{7F}é") == "\"\\\"\\\\\\u0001\\t\u{7F}é\"")
        var names = PythonNames(taken: ["pd"])
        #expect(["pd", "1st-figure", "class", "a b", "a_b"].map { names.claim($0) }
                == ["pd_2", "data_1st_figure", "class_", "a_b", "a_b_2"])
    }

    /// Validates the notebook with nbformat and executes it headless with nbclient, then
    /// checks the DataFrames against the Swift values and that each figure drew a PNG.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SGD_ESCAPE_PYTHON"] != nil,
                   "SGD_ESCAPE_PYTHON is unset; `make test` sets it to the virtualenv it makes in .build-py/"))
    func executesInJupyter() throws {
        let python = ProcessInfo.processInfo.environment["SGD_ESCAPE_PYTHON"]!
        let directory = FileManager.default.temporaryDirectory.appending(path: "sgd-escape-notebook-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let notebookFile = directory.appending(path: "report.ipynb")
        try Self.notebook().write(to: notebookFile, atomically: true, encoding: .utf8)
        let frames = [(Self.table, "awkward_table"), (Self.figures[0].dataTable(), "escape_times"),
                      (Self.figures[1].dataTable(), "survival")].map { table, variable in
            ["variable": variable, "columns": table.columns, "rows": table.rows.map { $0.map(Self.expected) }] as [String: Any]
        }
        // Random awkward strings (fixed seed): Python must read each literal back as the string,
        // and json.dumps must write each string as the notebook's JSON encoder does.
        var random = SplitMix64(seed: 5)
        let alphabet: [String] = ["\"", "\"", "'", "\\", "\n", "\r", "\t", "\u{0}", "\u{7F}", "\u{85}", "\u{2028}",
                                  "a", "é", "🙂", "$", "{"]
        let strings = (0..<400).map { _ in
            (0..<random.int(13)).map { _ in alphabet[random.int(alphabet.count)] }.joined()
        }
        let literals = strings.flatMap { [[NotebookWriter.python($0), $0], [NotebookWriter.pythonBlock($0), $0]] }
        let json = strings.map { [NotebookCell.jsonString($0), $0] }
        let expectedFile = directory.appending(path: "expected.json")
        try JSONSerialization.data(withJSONObject: ["frames": frames, "figures": Self.figures.count,
                                                    "literals": literals, "json": json]).write(to: expectedFile)

        let (status, output) = try run(python, [Self.fixtures.appending(path: "check_notebook.py").path,
                                                notebookFile.path, expectedFile.path],
                                       in: directory, timeout: 300)
        #expect(status == 0, "check_notebook.py failed (status \(status)):\n\(output)")
        #expect(output.contains("ok: "), "\(output)")
    }

    static func expected(_ cell: Table.Cell) -> [String] {
        switch cell {
        case .text(let text): ["text", text]
        case .number(let value): ["number", "\(value)"]
        case .integer(let value): ["integer", String(value)]
        case .missing: ["missing", ""]
        }
    }

    /// Runs a program with stdout and stderr to a file (no pipe to fill), killed after `timeout` s.
    func run(_ program: String, _ arguments: [String], in directory: URL, timeout: TimeInterval) throws -> (Int32, String) {
        let log = directory.appending(path: "output.txt")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = handle
        process.standardError = handle
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            done.wait()
            Issue.record("\(program) ran longer than \(timeout) s and was stopped")
        }
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}
