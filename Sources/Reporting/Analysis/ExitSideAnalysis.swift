import Foundation
import Jobs
import Diffusion

/// Which exit side a Monte Carlo cell's paths left through, with the escape rate per side
/// (docs/THEORY.md §5, "Rates per exit side").
///
/// Of the n paths that exited, n_j left through term j of the exit region; the fraction
/// p_j = n_j/n has its exact Clopper–Pearson 95 % interval. With competing exits the total
/// rate k = 1/E τ splits as k_j = p_j·k, so k_j = p_j/E τ. Its delta-method error is
/// SE(log k_j)² = (1 − p_j)/n_j + (SE_τ/τ)² (first order; the two terms are independent
/// when the exit is memoryless, since an exponential exit time is independent of the side —
/// the metastable regime these rates are meant for). Censored paths do not enter p_j, which
/// assumes the side is independent of the exit time.
///
/// Beside it, where a matching cell (same noise law and parameters, as `Comparison` matches
/// them) gives the probability of leaving through the upper end of a 1-D interval — the
/// committor of the backward-Kolmogorov grid, quantity `splitting_probability_upper`, the
/// same dynamics' reference preferred — that probability q for the upper term (1 − q for the lower) with
/// z = (n_j − n·q)/√(n·q(1 − q)) (normal approximation to the binomial).
public struct ExitSideRow: Sendable {
    public var cell: ReportCell
    public var label: String
    public var count: Int
    public var exited: Int
    public var fraction: Double
    public var fractionCI95: [Double]
    /// k_j in 1/unit, with its delta-method error; nil without a mean exit time.
    public var rate: Double?
    public var rateStandardError: Double?
    public var unit: String
    /// The reference probability of this side and the cell that gave it.
    public var reference: (probability: Double, cell: ReportCell)?
    public var z: Double? {
        guard let q = reference?.probability, q > 0, q < 1 else { return nil }
        let n = Double(exited)
        return (Double(count) - n * q) / (n * q * (1 - q)).squareRoot()
    }
}

public enum ExitSideAnalysis {
    /// The backward-Kolmogorov quantity: P(leave through the upper end of a 1-D interval).
    static let upperProbabilityKey = BackwardKolmogorovMethod.upperSplittingProbabilityKey

    /// k_j = p_j/E τ with SE(log k_j)² = (1 − p_j)/n_j + (SE/τ)² (see `ExitSideRow`).
    static func rate(count: Int, exited: Int, mean: Double, standardError: Double) -> (rate: Double, standardError: Double) {
        let p = Double(count) / Double(exited)
        let k = p / mean
        let seLog = ((1 - p) / Double(count) + (standardError / mean) * (standardError / mean)).squareRoot()
        return (k, k * seLog)
    }

    /// One row per side of every Monte Carlo cell whose exit region has two or more terms and
    /// whose paths exited.
    public static func rows(_ input: ReportInput) -> [ExitSideRow] {
        let references = input.cells.filter { $0.quantity(upperProbabilityKey) != nil }
        var out: [ExitSideRow] = []
        for cell in input.cells where cell.isMonteCarlo && cell.exitSides.count >= 2 && cell.exited > 0 {
            let unit = ScalingAnalysis.unit(cell)
            let v = ScalingAnalysis.value(cell, unit: unit)
            let upper = upperSide(cell.exitSides.map(\.label))
            // the same dynamics' reference first (the chain's for discrete SGD, were it to give one), else the diffusion's
            let geometry = input.setting(of: cell)
            let matching = references.filter { r in
                // the same landscape, start and exit (experiments may have their own)
                if let geometry, let g = input.setting(of: r), !geometry.sameGeometry(as: g) { return false }
                return Comparison.matchingParameters(cell, r) != nil
            }
            let ref = matching.first { $0.dynamics == cell.dynamics } ?? matching.first
            for (j, side) in cell.exitSides.enumerated() {
                var row = ExitSideRow(cell: cell, label: side.label, count: side.count, exited: cell.exited,
                                      fraction: Double(side.count) / Double(cell.exited),
                                      fractionCI95: ExitTimeEstimate.clopperPearson95(successes: side.count, trials: cell.exited),
                                      rate: nil, rateStandardError: nil, unit: unit, reference: nil)
                if let v, side.count > 0 {
                    let r = rate(count: side.count, exited: cell.exited, mean: v.mean, standardError: v.se)
                    row.rate = r.rate; row.rateStandardError = r.standardError
                }
                if let ref, let q = ref.quantity(upperProbabilityKey), let upper, cell.exitSides.count == 2 {
                    row.reference = (j == upper ? q : 1 - q, ref)
                }
                out.append(row)
            }
        }
        return out
    }

    /// The index of the term that holds the far right of the line and not the far left (the
    /// upper end of an interval), when the labels are 1-D conditions in x and exactly one does.
    static func upperSide(_ labels: [String]) -> Int? {
        guard labels.count == 2 else { return nil }
        let far = 1e12
        var upper: [Int] = [], lower: [Int] = []
        for (j, label) in labels.enumerated() {
            guard let e = try? ExpressionParser.parse(label, variables: ["x"]) else { return nil }
            let right = e.evaluate(at: [far]) != 0, left = e.evaluate(at: [-far]) != 0
            if right && !left { upper.append(j) } else if left && !right { lower.append(j) }
        }
        return upper.count == 1 && lower.count == 1 ? upper[0] : nil
    }

    static func markdown(_ rows: [ExitSideRow]) -> String {
        var t = "Where the paths that exited left: the fraction per exit side with its exact (Clopper–Pearson) 95 % interval and the rate per side k = fraction/E τ (delta-method error; valid for a memoryless exit, docs/THEORY.md §5)"
        let hasReference = rows.contains { $0.reference != nil }
        t += hasReference ? "; beside it the probability of that side from the backward-Kolmogorov committor of the matching cell, with z = (count − n·q)/√(n·q(1 − q)).\n\n" : ".\n\n"
        t += "| Experiment | Parameters | Side | Exits | Fraction [95 %] | Rate per side | Unit |" + (hasReference ? " Committor q | z |" : "")
        t += "\n|---|---|---|---|---|---|---|" + (hasReference ? "---|---|" : "") + "\n"
        for r in rows {
            let rate = r.rate.map { Format.value($0, error: r.rateStandardError) } ?? "—"
            t += "| \(r.cell.experiment) | \(Format.parameters(r.cell.parameters)) | \(r.label.replacingOccurrences(of: "|", with: "\\|")) | \(r.count) of \(r.exited) | \(Format.number(r.fraction, significant: 3)) \(Format.interval(r.fractionCI95)) | \(rate) | 1/\(r.unit) |"
            if hasReference {
                t += r.reference.map { " \(Format.number($0.probability, significant: 4)) (\($0.cell.experiment)) | \(r.z.map { Format.number($0, significant: 3) } ?? "—") |" } ?? " — | — |"
            }
            t += "\n"
        }
        return t + "\n"
    }

    static func table(_ rows: [ExitSideRow]) -> Table {
        let columns = ["experiment", "parameters", "side", "count", "exited", "fraction", "fraction_ci_low", "fraction_ci_high",
                       "rate", "rate_se", "unit", "reference_probability", "reference_experiment", "z"]
        return Table(name: "exit_sides", columns: columns, rows: rows.map { r in
            [.text(r.cell.experiment), .text(Format.parameters(r.cell.parameters)), .text(r.label), .integer(r.count), .integer(r.exited),
             .number(r.fraction), .number(r.fractionCI95[0]), .number(r.fractionCI95[1]),
             r.rate.map { .number($0) } ?? .missing, r.rateStandardError.map { .number($0) } ?? .missing, .text("1/\(r.unit)"),
             r.reference.map { .number($0.probability) } ?? .missing, r.reference.map { .text($0.cell.experiment) } ?? .missing,
             r.z.map { .number($0) } ?? .missing]
        })
    }
}
