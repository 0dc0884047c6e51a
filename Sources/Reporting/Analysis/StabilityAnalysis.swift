import Foundation
import Jobs

/// Measured divergence probabilities of discrete SGD set against the linear-stability
/// thresholds of the same job (`theory = "stability"` cells, THEORY.md §3): for each Monte
/// Carlo cell, P(diverged) with a 95 % Wilson interval (Wilson 1927, exact enough at the
/// 0 and 1 ends where the normal interval collapses) and, for each criterion, whether η lies
/// above the largest stable learning rate at that batch size.
public struct StabilityRow: Sendable {
    public var cell: ReportCell
    public var divergedFraction: Double
    public var ci95: [Double]
    /// (criterion, threshold η_c) of the matching stability cell, in the order the theory gives them.
    public var thresholds: [(name: String, value: Double)]
}

public enum StabilityAnalysis {
    /// The criteria as the report names them.
    static func criterion(_ key: String) -> String {
        switch key {
        case "gd_max_learning_rate": return "GD"
        case "mean_square_max_learning_rate": return "mean-square"
        case "wu_ma_e_max_learning_rate": return "Wu–Ma–E"
        case "sure_max_learning_rate": return "sure"
        case "almost_sure_max_learning_rate": return "almost-sure"
        case "wu_wang_su_max_learning_rate": return "Wu–Wang–Su"
        default: return key
        }
    }

    public static func wilson(successes k: Int, trials n: Int, z: Double = 1.96) -> [Double] {
        guard n > 0 else { return [0, 1] }
        let p = Double(k) / Double(n), nn = Double(n)
        let centre = (p + z * z / (2 * nn)) / (1 + z * z / nn)
        let half = z / (1 + z * z / nn) * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot()
        return [max(centre - half, 0), min(centre + half, 1)]
    }

    /// Rows for every Monte Carlo `sgd` cell that has a stability cell with the same batch
    /// size (and other shared parameters but the learning rate).
    public static func rows(_ input: ReportInput) -> [StabilityRow] {
        let stability = input.cells.filter { $0.method == "theory" && $0.quantity("gd_max_learning_rate") != nil }
        guard !stability.isEmpty else { return [] }
        var out: [StabilityRow] = []
        for cell in input.cells where cell.isMonteCarlo && cell.dynamics == "sgd" {
            let shared = cell.parameters.filter { $0.key != "learning_rate" && $0.key != "dt" }
            guard let match = stability.first(where: { s in
                shared.allSatisfy { p in s.parameter(p.key).map { $0 == p.value } ?? true }
            }) else { continue }
            let thresholds = match.quantities.filter { $0.key.hasSuffix("_max_learning_rate") }
                .map { (name: criterion($0.key), value: $0.value) }
            out.append(StabilityRow(cell: cell, divergedFraction: cell.divergedFraction,
                                    ci95: wilson(successes: cell.diverged, trials: cell.paths), thresholds: thresholds))
        }
        return out
    }

    static func markdown(_ rows: [StabilityRow]) -> String {
        guard let first = rows.first else { return "" }
        let names = first.thresholds.map(\.name)
        var t = "Measured probability that discrete SGD diverges (|θ| overflowed or went NaN within the step cap) against the largest stable learning rate η_c of each linear-stability criterion at the minimum, for the cell's batch size. ▲ marks η > η_c (the criterion predicts instability).\n\n"
        t += "| Experiment | Parameters | P(diverged) [95 % CI] | " + names.map { "\($0) η_c" }.joined(separator: " | ") + " |\n"
        t += "|---|---|---|" + names.map { _ in "---|" }.joined() + "\n"
        for r in rows {
            let eta = r.cell.parameter("learning_rate") ?? .nan
            let marks = r.thresholds.map { "\(Format.number($0.value, significant: 4))\(eta > $0.value ? " ▲" : "")" }
            t += "| \(r.cell.experiment) | \(Format.parameters(r.cell.parameters.filter { $0.key != "dt" })) | \(Format.number(r.divergedFraction, significant: 3)) \(Format.interval(r.ci95)) | " + marks.joined(separator: " | ") + " |\n"
        }
        // Which criterion separates the measured outcomes best: count cells where "η > η_c"
        // agrees with "diverged in more than half of the paths".
        var agreement: [String] = []
        for (k, name) in names.enumerated() {
            let hits = rows.filter { r in
                let eta = r.cell.parameter("learning_rate") ?? .nan
                return (eta > r.thresholds[k].value) == (r.divergedFraction > 0.5)
            }.count
            agreement.append("\(name) \(hits)/\(rows.count)")
        }
        t += "\nCells where the criterion's verdict (η > η_c) matches the majority outcome (P(diverged) > ½): \(agreement.joined(separator: ", ")).\n\n"
        return t
    }
}
