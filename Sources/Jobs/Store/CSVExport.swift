import Foundation
import CSV
import GRDB

/// Writes a store's cells and samples as CSV (quoting by CSV.swift).
public enum CSVExport {
    static func text(_ v: JSONValue?) -> String {
        switch v {
        case nil, .null?: return ""
        case .int(let i)?: return String(i)
        case .double(let x)?: return x.isFinite ? "\(x)" : ""
        case .string(let s)?: return s
        case .bool(let b)?: return b ? "true" : "false"
        case let other?: return other.serialized()
        }
    }

    /// Ends the file with a newline (CSVWriter writes one only between rows) and closes it.
    static func finish(_ csv: CSVWriter) {
        var newline: UInt8 = 0x0A
        _ = csv.stream.write(&newline, maxLength: 1)
        csv.stream.close()
    }

    static func writer(_ path: String) throws -> CSVWriter {
        guard let stream = OutputStream(toFileAtPath: path, append: false) else {
            throw ResultsStore.StoreError("cannot write \(path)")
        }
        stream.open()
        return try CSVWriter(stream: stream)
    }

    /// One row per cell; one column per parameter key seen anywhere in the job. Returns the row count.
    @discardableResult
    public static func writeCells(store: ResultsStore, to path: String) throws -> Int {
        let cells = try store.cells()
        var keys: [String] = []
        for c in cells {
            if case .object(let pairs)? = c.json["parameters"] {
                for (k, _) in pairs where !keys.contains(k) { keys.append(k) }
            }
        }
        let csv = try writer(path)
        defer { finish(csv) }
        try csv.write(row: ["experiment_index", "experiment", "cell", "global_index", "dynamics", "method"] + keys
                      + ["mean_exit_time", "standard_error", "ci95_low", "ci95_high", "time_unit", "mean_exit_iterations",
                         "paths", "exited", "censored", "diverged", "method_error", "estimator"])
        for c in cells {
            let j = c.json
            var row = [String(c.experimentIndex), text(j["experiment"]), String(c.cellIndex), String(c.global),
                       text(j["dynamics"]), text(j["method"])]
            for k in keys { row.append(text(j["parameters"]?[k])) }
            var lo = "", hi = ""
            if case .array(let ci)? = j["ci95"], ci.count == 2 { lo = text(ci[0]); hi = text(ci[1]) }
            row += [text(j["mean_exit_time"]), text(j["standard_error"]), lo, hi, text(j["time_unit"]),
                    text(j["mean_exit_iterations"]), text(j["paths"]), text(j["exited"]), text(j["censored"]),
                    text(j["diverged"]), text(j["method_error"]), text(j["estimator"])]
            try csv.write(row: row)
        }
        return cells.count
    }

    /// One row per stored path. Returns the row count.
    @discardableResult
    public static func writeSamples(store: ResultsStore, to path: String) throws -> Int {
        let dimension = (try JSONValue.parse(try store.firstExitPoint() ?? "[]")).arrayCount
        let csv = try writer(path)
        defer { finish(csv) }
        let coordinates = dimension == 1 ? ["x"] : (1...max(dimension, 1)).map { "x\($0)" }
        try csv.write(row: ["experiment_index", "experiment", "cell", "path", "steps", "time", "outcome"]
                      + (dimension == 0 ? [] : coordinates))
        var rows = 0
        try store.forEachSample { name, e, c, p, steps, time, outcome, point in
            var row = [String(e), name, String(c), String(p), String(steps), "\(time)", outcome]
            if case .array(let xs) = try JSONValue.parse(point) {
                row += xs.map { text($0) }
                if xs.count < dimension { row += Array(repeating: "", count: dimension - xs.count) }
            }
            try csv.write(row: row)
            rows += 1
        }
        return rows
    }
}

extension JSONValue {
    var arrayCount: Int { if case .array(let a) = self { a.count } else { 0 } }
}

extension ResultsStore {
    func firstExitPoint() throws -> String? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT exit_point FROM sample LIMIT 1") }
    }
}
