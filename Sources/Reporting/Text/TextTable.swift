import Foundation
import Jobs
import Diffusion

/// Plain-text results table for `sgd-escape run --format text`.
public enum TextTable {
    public static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(format: "%.6g", x)
    }

    /// Methods that sample paths (simulation and sampling kinds): counts and exit sides are
    /// per path. Sampling methods estimate no exit time; their results are `quantities` (JSON).
    static func isSampled(_ method: String) -> Bool {
        let kind = MethodRegistry.kind(of: method)
        return kind == .simulation || kind == .sampling
    }
    static let noExitTimeNote = "convergence / tail-index cells: no exit time (exit sides = where paths ended); results in --format json (quantities)\n"

    /// The table of freshly run cells: the same rendering as from their JSON.
    public static func render(job: String, seed: UInt64, cells: [CellResult]) -> String {
        render(job: job, seed: seed, json: cells.map { $0.json() })
    }
}

extension TextTable {
    /// The same table from cell JSON (cells loaded from a results store).
    public static func render(job: String, seed: UInt64, json cells: [JSONValue]) -> String {
        func double(_ v: JSONValue?) -> Double? {
            switch v { case .double(let x)?: x; case .int(let i)?: Double(i); default: nil }
        }
        func string(_ v: JSONValue?) -> String { if case .string(let s)? = v { s } else { "" } }
        func int(_ v: JSONValue?) -> String { if case .int(let i)? = v { String(i) } else { "0" } }
        func pairs(_ v: JSONValue?) -> [(String, JSONValue)] { if case .object(let p)? = v { p } else { [] } }
        var rows: [[String]] = [["experiment", "method", "parameters", "paths", "exited", "censored", "diverged",
                                 "mean exit", "error", "unit", "iterations", "exit sides"]]
        var estimators = Set<String>()
        var anyDeterministic = false
        var noExitTime = false
        for c in cells {
            let method = string(c["method"])
            let kind = MethodRegistry.kind(of: method)
            let deterministic = !isSampled(method)
            let failed = string(c["status"]) == ResultsStore.failed
            anyDeterministic = anyDeterministic || deterministic
            if kind == .simulation, !failed, string(c["estimator"]) != ExitTimeEstimate.sampleMean { estimators.insert(string(c["estimator"])) }
            noExitTime = noExitTime || kind == .sampling
            rows.append([
                string(c["experiment"]), method,
                pairs(c["parameters"]).map { "\($0.0)=\(double($0.1).map(number) ?? "")" }.joined(separator: " "),
                int(c["paths"]), int(c["exited"]), int(c["censored"]), int(c["diverged"]),
                failed ? "failed" : double(c["mean_exit_time"]).map { String(format: "%.6g", $0) } ?? "n/a",
                deterministic ? (double(c["method_error"]).map { String(format: "±%.2g (grid)", $0) } ?? "—")
                    : double(c["standard_error"]).map { String(format: "%.3g", $0) } ?? "n/a",
                string(c["time_unit"]),
                double(c["mean_exit_iterations"]).map { String(format: "%.6g", $0) } ?? "",
                deterministic ? "—" : pairs(c["exit_sides"]).map { "\($0.0): \(int($0.1))" }.joined(separator: ", "),
            ])
        }
        let widths = (0..<rows[0].count).map { k in rows.map { $0[k].count }.max()! }
        var out = "job \(job), seed \(seed)\n"
        for (r, row) in rows.enumerated() {
            out += zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
            if r == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        if !estimators.isEmpty { out += "censoring-aware estimator: " + estimators.sorted().joined(separator: "; ") + "\n" }
        if noExitTime { out += noExitTimeNote }
        if anyDeterministic {
            out += "deterministic cells: standard error 0; formulas, grids and assumptions are in --format json (estimator)\n"
        }
        return out
    }
}
