import Foundation
import Jobs
import Diffusion

/// Measured divergence probabilities of discrete SGD set against the linear-stability
/// thresholds of the same job (`theory = "stability"` cells, docs/THEORY.md §3): for each Monte
/// Carlo cell, P(diverged) with a 95 % Wilson interval (Wilson 1927, exact enough at the
/// 0 and 1 ends where the normal interval collapses) and, for each criterion, whether η lies
/// above the largest stable learning rate at that batch size.
public struct StabilityRow: Sendable {
    public var cell: ReportCell
    public var divergedFraction: Double
    public var ci95: [Double]
    /// (criterion, threshold η_c) of the matching stability cell, in the order the theory gives them.
    public var thresholds: [(name: String, value: Double)]
    /// The matching cell's intervals of η where the 1-D Lyapunov exponent is negative
    /// (`almost_sure_interval_K_lower/upper`); empty when it has none.
    public var almostSureIntervals: [(lower: Double, upper: Double)] = []
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

    /// Rows for every Monte Carlo `sgd` cell that has a stability cell on the same landscape,
    /// start and exit with the same batch size and minibatch sampling (`replacement`), and
    /// other shared parameters but the learning rate.
    public static func rows(_ input: ReportInput) -> [StabilityRow] {
        let stability = input.cells.filter { $0.method == TheoryMethod.name && $0.quantity("gd_max_learning_rate") != nil }
        guard !stability.isEmpty else { return [] }
        func replacement(_ cell: ReportCell) -> Bool? { input.spec.experiments.first { $0.name == cell.experiment }?.withReplacement }
        var out: [StabilityRow] = []
        for cell in input.cells where cell.isMonteCarlo && cell.dynamics == .sgd {
            let shared = cell.parameters.filter { $0.key != "learning_rate" && $0.key != "dt" }
            let geometry = input.setting(of: cell)
            guard let match = stability.first(where: { s in
                // the same landscape, start and exit (experiments may have their own)
                if let geometry, let g = input.setting(of: s), !geometry.sameGeometry(as: g) { return false }
                return replacement(s) == replacement(cell) && shared.allSatisfy { p in s.parameter(p.key).map { $0 == p.value } ?? true }
            }) else { continue }
            let thresholds = match.quantities.filter { $0.key.hasSuffix("_max_learning_rate") }
                .map { (name: criterion($0.key), value: $0.value) }
            var intervals: [(lower: Double, upper: Double)] = []
            while let lower = match.quantity("almost_sure_interval_\(intervals.count + 1)_lower"),
                  let upper = match.quantity("almost_sure_interval_\(intervals.count + 1)_upper") {
                intervals.append((lower, upper))
            }
            out.append(StabilityRow(cell: cell, divergedFraction: cell.divergedFraction,
                                    ci95: wilson(successes: cell.diverged, trials: cell.paths), thresholds: thresholds,
                                    almostSureIntervals: intervals))
        }
        return out
    }

    static func markdown(_ rows: [StabilityRow]) -> String {
        guard let first = rows.first else { return "" }
        let names = first.thresholds.map(\.name)
        // one line per experiment and fixed parameters: the measured transition in η
        var ids: [String] = []
        var groups: [String: [StabilityRow]] = [:]
        for r in rows {
            let fixed = r.cell.parameters.filter { $0.key != "learning_rate" && $0.key != "dt" }
            let id = "\(r.cell.experiment)|\(Format.parameters(fixed))"
            if groups[id] == nil { ids.append(id) }
            groups[id, default: []].append(r)
        }
        var t = "Measured probability that discrete SGD diverges (|θ| overflowed or went NaN within the step cap), with 95 % Wilson intervals, against the largest stable learning rate η_c of each linear-stability criterion at the minimum for the same batch size. The measured transition is the interval between the largest η where at most half the paths diverged and the smallest η above it where more than half did; ✓ marks a threshold inside it. Every cell is in `data/stability.csv`.\n\n"
        t += "| Experiment | Parameters | Cells | Measured transition (η) | " + names.map { "\($0) η_c" }.joined(separator: " | ") + " |\n"
        t += "|---|---|---|---|" + names.map { _ in "---|" }.joined() + "\n"
        for id in ids {
            let g = groups[id]!.sorted { ($0.cell.parameter("learning_rate") ?? 0) < ($1.cell.parameter("learning_rate") ?? 0) }
            let parts = id.split(separator: "|", maxSplits: 1).map(String.init)
            let stable = g.filter { $0.divergedFraction <= 0.5 }.last
            let unstable = g.first { r in r.divergedFraction > 0.5 && (r.cell.parameter("learning_rate") ?? 0) > (stable?.cell.parameter("learning_rate") ?? -1) }
            let lo = stable?.cell.parameter("learning_rate"), hi = unstable?.cell.parameter("learning_rate")
            let transition: String
            switch (lo, hi) {
            case let (a?, b?): transition = "(\(Format.compact(a)), \(Format.compact(b))]: P = \(Format.number(stable!.divergedFraction, significant: 2)) → \(Format.number(unstable!.divergedFraction, significant: 2))"
            case let (a?, nil): transition = "> \(Format.compact(a)) (no divergence measured)"
            case let (nil, b?): transition = "≤ \(Format.compact(b)) (diverges at every η)"
            default: transition = "—"
            }
            let marks = g[0].thresholds.map { th -> String in
                let inside = lo.map { th.value >= $0 } ?? true
                let below = hi.map { th.value <= $0 } ?? true
                return Format.number(th.value, significant: 4) + (lo != nil || hi != nil ? (inside && below ? " ✓" : "") : "")
            }
            t += "| \(parts[0]) | \(parts.count > 1 ? parts[1] : "") | \(g.count) | \(transition) | " + marks.joined(separator: " | ") + " |\n"
        }
        // Λ(η) < 0 again beyond the first threshold: say where, since η_c alone implies instability there
        var notes: [String] = []
        for id in ids {
            let intervals = groups[id]![0].almostSureIntervals
            guard intervals.count > 1 else { continue }
            let parts = id.split(separator: "|", maxSplits: 1).map(String.init)
            let list = intervals.map { "(\(Format.number($0.lower, significant: 4)), \(Format.number($0.upper, significant: 4)))" }.joined(separator: ", ")
            notes.append("- `\(parts[0])`\(parts.count > 1 && !parts[1].isEmpty ? " (\(parts[1]))" : ""): the almost-sure criterion (Lyapunov exponent < 0) holds on \(intervals.count) intervals of η, \(list); its η_c above is the end of the first.")
        }
        if !notes.isEmpty { t += "\n" + notes.joined(separator: "\n") + "\n" }
        return t + "\n"
    }

    /// One sentence per group for the report's results: where divergence sets in and which
    /// thresholds fall inside that interval.
    static func findings(_ rows: [StabilityRow]) -> [String] {
        var ids: [String] = []
        var groups: [String: [StabilityRow]] = [:]
        for r in rows {
            let fixed = r.cell.parameters.filter { $0.key != "learning_rate" && $0.key != "dt" }
            let id = "`\(r.cell.experiment)`\(fixed.isEmpty ? "" : " (\(Format.parameters(fixed)))")"
            if groups[id] == nil { ids.append(id) }
            groups[id, default: []].append(r)
        }
        return ids.compactMap { id in
            let g = groups[id]!.sorted { ($0.cell.parameter("learning_rate") ?? 0) < ($1.cell.parameter("learning_rate") ?? 0) }
            guard let stable = g.filter({ $0.divergedFraction <= 0.5 }).last,
                  let unstable = g.first(where: { ($0.cell.parameter("learning_rate") ?? 0) > (stable.cell.parameter("learning_rate") ?? 0) && $0.divergedFraction > 0.5 }),
                  let a = stable.cell.parameter("learning_rate"), let b = unstable.cell.parameter("learning_rate") else { return nil }
            let inside = g[0].thresholds.filter { $0.value >= a && $0.value <= b }
            let list = inside.isEmpty ? "no threshold lies in it" : "inside: " + inside.map { "\($0.name) η_c = \(Format.number($0.value, significant: 4))" }.joined(separator: ", ")
            return "\(id): divergence sets in between η = \(Format.compact(a)) (P = \(Format.number(stable.divergedFraction, significant: 2))) and η = \(Format.compact(b)) (P = \(Format.number(unstable.divergedFraction, significant: 2))); \(list)."
        }
    }

    /// Every cell's divergence probability beside the thresholds, for CSV and the notebook.
    static func table(_ rows: [StabilityRow]) -> Table {
        let names = rows.first?.thresholds.map(\.name) ?? []
        let columns = ["experiment", "parameters", "learning_rate", "paths", "diverged", "diverged_fraction", "ci_low", "ci_high"]
            + names.map { "\($0) max_learning_rate" }
        return Table(name: "stability", columns: columns, rows: rows.map { r in
            [.text(r.cell.experiment), .text(Format.parameters(r.cell.parameters)),
             r.cell.parameter("learning_rate").map { .number($0) } ?? .missing, .integer(r.cell.paths), .integer(r.cell.diverged),
             .number(r.divergedFraction), .number(r.ci95[0]), .number(r.ci95[1])] + r.thresholds.map { .number($0.value) }
        })
    }
}
