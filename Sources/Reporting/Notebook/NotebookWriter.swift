import Jobs

/// Writes a report as a Jupyter notebook (nbformat 4.5, Python 3 kernel) that carries its
/// data inline and rebuilds every figure with pandas and matplotlib.
///
/// Cells: the title and introduction (Markdown); the imports; then per section its heading
/// and text, a code cell per table that reads the table's CSV (`Table.csv()`) into a
/// DataFrame, and a code cell per figure that reads `Figure.dataTable()` and draws it as the
/// `Figure` says (scales, forced ranges, error bars, hollow markers, line styles, steps, the
/// tab10 colour of each series, title, labels, legend), followed by the caption.
///
/// The output is deterministic and canonical: keys sorted and indented as `nbformat.write`
/// does, cell ids `cell-0001`, `cell-0002`, … in order, no timestamps, no outputs and null
/// execution counts — the same report gives the same bytes, and saving it from Jupyter
/// unchanged gives them too.
public enum NotebookWriter {
    public static func notebook(title: String, introduction: String, sections: [NotebookSection]) -> String {
        var cells: [NotebookCell] = [
            .markdown(paragraphs("# " + title, introduction)),
            .code("import io\n\nimport matplotlib.pyplot as plt\nimport pandas as pd"),
        ]
        var names = PythonNames(taken: ["io", "pd", "plt", "fig", "ax", "s"])
        for section in sections {
            cells.append(.markdown(paragraphs("## " + section.heading, section.text)))
            for table in section.tables {
                cells.append(.code(tableSource(table, variable: names.claim(table.name))))
            }
            for figure in section.figures {
                cells.append(.code(figureSource(figure, variable: names.claim(figure.name))))
                if !figure.caption.isEmpty { cells.append(.markdown(figure.caption)) }
            }
        }
        return NotebookCell.document(cells)
    }

    private static func paragraphs(_ heading: String, _ text: String) -> String {
        text.isEmpty ? heading : heading + "\n\n" + text
    }

    static func tableSource(_ table: Table, variable: String) -> String {
        ["# Table '\(table.name)'", readCSV(table, into: variable, missingText: true), variable].joined(separator: "\n")
    }

    /// `variable = pd.read_csv(...)` for the table's CSV. Numeric columns read empty fields and
    /// `nan` as missing; text columns (any cell text) stay text — "NA" or "null" is not
    /// missing — and read an empty field as missing only when `missingText`.
    static func readCSV(_ table: Table, into variable: String, missingText: Bool) -> String {
        if table.columns.isEmpty { return "\(variable) = pd.DataFrame()" }
        let textColumns = table.columns.indices.filter { c in
            table.rows.contains { row in
                if c < row.count, case .text = row[c] { return true } else { return false }
            }
        }
        let missing = table.columns.indices.compactMap { c -> String? in
            if !textColumns.contains(c) { return "\(python(table.columns[c])): ['', 'nan']" }
            return missingText ? "\(python(table.columns[c])): ['']" : nil
        }
        var lines = ["\(variable) = pd.read_csv(",
                     "    io.StringIO(\(pythonBlock(table.csv()))),",
                     "    keep_default_na=False,",
                     "    na_values={\(missing.joined(separator: ", "))},"]
        if !textColumns.isEmpty {
            lines.append("    dtype={\(textColumns.map { "\(python(table.columns[$0])): str" }.joined(separator: ", "))},")
        }
        lines.append(")")
        return lines.joined(separator: "\n")
    }

    static func figureSource(_ figure: Figure, variable: String) -> String {
        var lines = ["# Figure '\(figure.name)': its points, one row each, and how they are drawn.",
                     readCSV(figure.dataTable(), into: variable, missingText: false),
                     "fig, ax = plt.subplots()"]
        // The legend lists the series in the figure's order (matplotlib's own puts error-bar
        // series last), and leaves out those without a name.
        let legend = figure.series.contains { !$0.name.isEmpty }
        if legend { lines.append("legend = []") }
        var start = 0
        for (i, series) in figure.series.enumerated() {
            let unique = figure.series.filter { $0.name == series.name }.count == 1
            lines.append(unique ? "s = \(variable)[\(variable).series == \(python(series.name))]"
                                : "s = \(variable).iloc[\(start):\(start + series.x.count)]  # \(python(series.name))")
            start += series.x.count
            var style = ["color=\(python(figure.color(ofSeries: i)))", "label=\(matplotlibText(series.name))"]
            let marker: String = switch series.marker {
            case .circle, .openCircle: "'o'"
            case .square: "'s'"
            case .triangle: "'^'"
            }
            let lineStyle: String = switch series.lineStyle {
            case .solid: "'-'"
            case .dashed: "'--'"
            case .dotted: "':'"
            }
            let named = !series.name.isEmpty
            if series.mark == .points && series.marker == .openCircle { style.insert("mfc='white'", at: 1) }
            if series.mark == .points && series.yLow != nil && series.yHigh != nil {
                lines.append((named ? "legend.append(" : "") + "ax.errorbar(")
                lines.append("    s.x, s.y, yerr=[(s.y - s.y_low).clip(lower=0), (s.y_high - s.y).clip(lower=0)],")
                lines.append("    fmt=\(marker), capsize=3, \(style.joined(separator: ", ")),")
                lines.append(named ? "))" : ")")
                continue
            }
            let how = switch series.mark {
            case .points: "linestyle='none', marker=\(marker)"
            case .line: "linestyle=\(lineStyle)"
            case .step: "drawstyle='steps-post', linestyle=\(lineStyle)"
            }
            lines.append((named ? "legend += " : "") + "ax.plot(s.x, s.y, \(how), \(style.joined(separator: ", ")))")
        }
        for (axis, name) in [(figure.x, "x"), (figure.y, "y")] {
            if axis.scale == .log { lines.append("ax.set_\(name)scale('log')") }
            if let range = axis.range {
                lines.append("ax.set_\(name)lim(\(pythonFloat(range.lowerBound)), \(pythonFloat(range.upperBound)))")
            }
        }
        lines.append("ax.set_title(\(matplotlibText(figure.title)))")
        lines.append("ax.set_xlabel(\(matplotlibText(figure.x.label)))")
        lines.append("ax.set_ylabel(\(matplotlibText(figure.y.label)))")
        if legend { lines.append("ax.legend(handles=legend)") }
        lines.append("plt.show()")
        return lines.joined(separator: "\n")
    }

    /// Text that matplotlib shows as written: a `$` pair would otherwise start mathtext.
    static func matplotlibText(_ text: String) -> String {
        python(text.replacingOccurrences(of: "$", with: "\\$"))
    }

    static func pythonFloat(_ value: Double) -> String {
        value.isNaN ? "float('nan')" : value.isInfinite ? (value < 0 ? "float('-inf')" : "float('inf')") : "\(value)"
    }

    /// A single-quoted Python string literal of `text`. Control characters and Unicode line
    /// separators are escaped, so the literal is one line of source; the rest stays as is.
    static func python(_ text: String) -> String {
        var literal = "'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": literal += "\\\\"
            case "'": literal += "\\'"
            default: literal += pythonEscaped(scalar) ?? String(scalar)
            }
        }
        return literal + "'"
    }

    /// A triple-quoted Python string literal of multi-line `text`, opened by `"""\` so that
    /// the text starts on its own line. Backslashes are doubled, and of the `"`s every third
    /// in a row is escaped, and those that end the text, so no `"""` closes the literal early.
    static func pythonBlock(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        let trailingQuotes = scalars.count - (scalars.lastIndex { $0 != "\"" }.map { $0 + 1 } ?? 0)
        var literal = "\"\"\"\\\n", run = 0
        for (i, scalar) in scalars.enumerated() {
            if scalar == "\"" {
                if run == 2 || i >= scalars.count - trailingQuotes {
                    literal += "\\\""; run = 0
                } else {
                    literal += "\""; run += 1
                }
                continue
            }
            run = 0
            switch scalar {
            case "\\": literal += "\\\\"
            case "\n": literal += "\n"
            default: literal += pythonEscaped(scalar) ?? String(scalar)
            }
        }
        return literal + "\"\"\""
    }

    /// The escape for characters that Python source or Jupyter's line splitting would alter.
    private static func pythonEscaped(_ scalar: Unicode.Scalar) -> String? {
        switch scalar.value {
        case 0x0A: "\\n"
        case 0x0D: "\\r"
        case 0x09: "\\t"
        case 0x00..<0x20, 0x7F, 0x85: "\\x" + hex(scalar.value, digits: 2)
        case 0x2028, 0x2029: "\\u" + hex(scalar.value, digits: 4)
        default: nil
        }
    }
}

fileprivate func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

/// Python variable names for tables and figures: their names made identifiers, unique.
struct PythonNames {
    private var taken: Set<String>
    private static let keywords: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
        "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
        "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ]

    init(taken: Set<String>) { self.taken = taken }

    mutating func claim(_ name: String) -> String {
        var base = String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || scalar.properties.numericType != nil) ? scalar : "_"
        }))
        if base.isEmpty || base.first!.isNumber { base = "data_" + base }
        if PythonNames.keywords.contains(base) { base += "_" }
        var candidate = base, n = 2
        while taken.contains(candidate) { candidate = "\(base)_\(n)"; n += 1 }
        taken.insert(candidate)
        return candidate
    }
}

/// A notebook cell and the nbformat JSON of a list of them.
enum NotebookCell {
    case markdown(String)
    case code(String)

    /// The notebook as `nbformat.write` writes it: `json.dumps(indent=1, sort_keys=True,
    /// ensure_ascii=False)` with each source split into lines as `str.splitlines(True)` does,
    /// plus a final newline.
    static func document(_ cells: [NotebookCell]) -> String {
        var out = "{\n \"cells\": ["
        for (i, cell) in cells.enumerated() {
            out += i == 0 ? "\n" : ",\n"
            let id = "cell-" + String(repeating: "0", count: max(0, 4 - String(i + 1).count)) + String(i + 1)
            switch cell {
            case .markdown(let source):
                out += "  {\n   \"cell_type\": \"markdown\",\n   \"id\": \"\(id)\",\n   \"metadata\": {},\n"
                out += "   \"source\": \(sourceLines(source))\n  }"
            case .code(let source):
                out += "  {\n   \"cell_type\": \"code\",\n   \"execution_count\": null,\n   \"id\": \"\(id)\",\n"
                out += "   \"metadata\": {},\n   \"outputs\": [],\n   \"source\": \(sourceLines(source))\n  }"
            }
        }
        out += cells.isEmpty ? "],\n" : "\n ],\n"
        out += """
             "metadata": {
              "kernelspec": {
               "display_name": "Python 3",
               "language": "python",
               "name": "python3"
              },
              "language_info": {
               "name": "python"
              }
             },
             "nbformat": 4,
             "nbformat_minor": 5
            }

            """
        return out
    }

    private static func sourceLines(_ source: String) -> String {
        let lines = splitLines(source)
        if lines.isEmpty { return "[]" }
        return "[\n" + lines.map { "    " + jsonString($0) }.joined(separator: ",\n") + "\n   ]"
    }

    /// Python's `str.splitlines(keepends=True)`: the separators it knows, `\r\n` as one.
    static func splitLines(_ text: String) -> [String] {
        var lines: [String] = [], line = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let scalar = scalars[i]
            line.append(scalar)
            switch scalar.value {
            case 0x0D where i + 1 < scalars.count && scalars[i + 1] == "\n":
                line.append("\n"); i += 1; fallthrough
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                lines.append(String(line)); line = String.UnicodeScalarView()
            default: break
            }
            i += 1
        }
        if !line.isEmpty { lines.append(String(line)) }
        return lines
    }

    /// A JSON string as Python's `json.dumps(ensure_ascii=False)` writes it.
    static func jsonString(_ text: String) -> String { JSONValue.quoted(text) }
}
