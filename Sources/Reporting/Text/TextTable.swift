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

    /// The results table of `cells` (fresh, or loaded from a results store).
    public static func render(job: String, seed: UInt64, cells: [Cell]) -> String {
        func finite(_ x: Double?) -> Double? { x.flatMap { $0.isFinite ? $0 : nil } }
        // P(exit by the cap) [95 %], in its own column when some Monte Carlo cell was censored
        let showExit = cells.contains { $0.methodKind == .simulation && $0.censored > 0 && $0.exitProbability != nil }
        var rows: [[String]] = [["experiment", "method", "parameters", "paths", "exited", "censored", "diverged"]
                                + (showExit ? ["P(exit by cap)"] : []) + ["mean exit", "error", "unit", "iterations", "exit sides"]]
        var estimators = Set<String>(), otherEstimators = Set<String>()
        var anyDeterministic = false
        var noExitTime = false
        let allDiverged = cells.filter(\.allDiverged).count
        for c in cells {
            let deterministic = !isSampled(c.method)
            anyDeterministic = anyDeterministic || deterministic
            if c.methodKind == .simulation, !c.failed, c.estimator != ExitTimeEstimate.sampleMean {
                // a withheld mean's text is per cell (reason, P(exit)); the table names the rule once
                let text = c.estimator.hasPrefix(ExitTimeEstimate.tailNotShownExponential)
                    ? ExitTimeEstimate.tailNotShownExponential + " (reason per cell in --format json); use method = \"splitting\" for rare exits"
                    : c.estimator
                if c.censored > 0 || c.mean == nil { estimators.insert(text) } else { otherEstimators.insert(text) }
            }
            noExitTime = noExitTime || c.methodKind == .sampling
            var exit = ""
            if c.methodKind == .simulation, let p = c.exitProbability {
                exit = String(format: "%.3g", p)
                if let ci = c.exitProbabilityCI95 { exit += String(format: " [%.3g, %.3g]", ci[0], ci[1]) }
            }
            var counts: [String] = [String(c.paths), String(c.exited), String(c.censored), String(c.diverged)]
            if showExit { counts.append(exit) }
            rows.append([
                c.experiment, c.method,
                c.parameters.map { "\($0.key)=\(finite($0.value).map(number) ?? "")" }.joined(separator: " "),
            ] + counts + [
                c.failed ? "failed" : c.allDiverged ? "all diverged"
                    : c.mean.map { String(format: "%.6g", $0) } ?? c.lowerBound.map { String(format: "≥ %.6g", $0) } ?? "n/a",
                deterministic ? (c.methodError.map { String(format: "±%.2g (grid)", $0) } ?? "—")
                    : c.standardError.map { String(format: "%.3g", $0) } ?? "n/a",
                c.timeUnit.rawValue,
                c.meanIterations.map { String(format: "%.6g", $0) } ?? "",
                deterministic ? "—" : c.exitSides.map { "\($0.label): \($0.count)" }.joined(separator: ", "),
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
        if !otherEstimators.isEmpty { out += "estimator: " + otherEstimators.sorted().joined(separator: "; ") + "\n" }
        if noExitTime { out += noExitTimeNote }
        if allDiverged > 0 {
            out += "all diverged: every path of \(allDiverged) cell\(allDiverged == 1 ? "" : "s") overflowed or went non-finite (no exit time); check the landscape, the start and the step size\n"
        }
        if cells.contains(where: { $0.mean == nil && $0.lowerBound != nil && !$0.failed && !$0.allDiverged }) {
            out += "≥ x: no mean (too few exits before the cap); x is a lower bound on the mean exit time (the restricted mean)\n"
        }
        if anyDeterministic {
            out += "deterministic cells: standard error 0; formulas, grids and assumptions are in --format json (estimator)\n"
        }
        return out
    }
}
