extension Table.Cell {
    /// The cell as report text (numbers to 4 significant digits).
    public var text: String {
        switch self {
        case .text(let s): return s
        case .number(let x): return Format.number(x)
        case .integer(let i): return String(i)
        case .missing: return "—"
        }
    }
}

extension Table {
    /// A GitHub-flavoured Markdown table; `display` overrides how a column's cells are
    /// shown (the CSV and the notebook keep the full values).
    public func markdown(display: [String: (Cell) -> String] = [:]) -> String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var out = "| " + columns.map(escape).joined(separator: " | ") + " |\n"
        out += "|" + columns.map { _ in "---|" }.joined() + "\n"
        for row in rows {
            let cells = row.enumerated().map { k, cell in escape(display[columns[k]]?(cell) ?? cell.text) }
            out += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }
}
