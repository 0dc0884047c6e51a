import Foundation
import CSV
import GRDB

/// Writes a store's cells and samples as CSV (quoting by CSV.swift).
public enum CSVExport {
    static func text(_ x: Double?) -> String { x.map { $0.isFinite ? "\($0)" : "" } ?? "" }

    /// A stored exit point, `[x₁, …]` (null for a non-finite coordinate).
    static func point(_ text: String) throws -> [Double?] {
        try JSONDecoder().decode([Double?].self, from: Data(text.utf8))
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
        for c in cells { for p in c.parameters where !keys.contains(p.key) { keys.append(p.key) } }
        let csv = try writer(path)
        defer { finish(csv) }
        try csv.write(row: ["experiment_index", "experiment", "cell", "global_index", "dynamics", "method"] + keys
                      + ["mean_exit_time", "standard_error", "ci95_low", "ci95_high", "time_unit", "mean_exit_iterations",
                         "paths", "exited", "censored", "diverged", "method_error", "estimator",
                         "exit_probability", "exit_probability_ci95_low", "exit_probability_ci95_high"])
        for c in cells {
            var row = [String(c.experimentIndex), c.experiment, String(c.cellIndex), String(c.global),
                       c.dynamics.rawValue, c.method]
            for k in keys { row.append(text(c.parameter(k))) }
            var lo = "", hi = ""
            if let ci = c.ci95, ci.count == 2 { lo = text(ci[0]); hi = text(ci[1]) }
            row += [text(c.mean), text(c.standardError), lo, hi, c.timeUnit.rawValue,
                    text(c.meanIterations), String(c.paths), String(c.exited), String(c.censored),
                    String(c.diverged), text(c.methodError), c.estimator,
                    text(c.exitProbability), text(c.exitProbabilityCI95?.first), text(c.exitProbabilityCI95?.last)]
            try csv.write(row: row)
        }
        return cells.count
    }

    /// One row per stored path. Returns the row count.
    @discardableResult
    public static func writeSamples(store: ResultsStore, to path: String) throws -> Int {
        let dimension = try point(try store.firstExitPoint() ?? "[]").count
        let csv = try writer(path)
        defer { finish(csv) }
        let coordinates = dimension == 1 ? ["x"] : (1...max(dimension, 1)).map { "x\($0)" }
        try csv.write(row: ["experiment_index", "experiment", "cell", "path", "steps", "time", "outcome"]
                      + (dimension == 0 ? [] : coordinates))
        var rows = 0
        try store.forEachSample { name, e, c, p, steps, time, outcome, point in
            var row = [String(e), name, String(c), String(p), String(steps), "\(time)", outcome]
            let xs = try CSVExport.point(point)
            row += xs.map { text($0) }
            if xs.count < dimension { row += Array(repeating: "", count: dimension - xs.count) }
            try csv.write(row: row)
            rows += 1
        }
        return rows
    }
}

extension ResultsStore {
    func firstExitPoint() throws -> String? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT exit_point FROM sample LIMIT 1") }
    }
}
