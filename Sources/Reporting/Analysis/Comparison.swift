import Foundation
import Jobs
import Diffusion

/// One cell of a Monte Carlo experiment set beside the matching cell of another experiment
/// (the same noise law, as the cells record it, and the same parameters with equal values, integration
/// keys `dt`, `dt_fraction`, `nodes` aside): discrete SGD against its SDE, a simulation against its exact grid or chain, or
/// against a theory formula.
///
/// The ratio r = τ_A/τ_B has the delta-method error SE(log r) = √((SE_A/τ_A)² + (SE_B/τ_B)²)
/// and 95 % interval r·exp(±1.96 SE(log r)); the z-score is (τ_A − τ_B)/√(SE_A² + SE_B²),
/// with SE_B the reference's own error estimate (0 for a theory formula). The verdict is
/// "agree" when |z| < 3 — a threshold above 1.96 because a report makes many comparisons at
/// once (at |z| < 3 about 1 in 370 true agreements is called a difference).
public struct Comparison: Sendable {
    public enum Kind: String, Sendable {
        /// Another simulation (e.g. discrete SGD against its SDE).
        case simulation
        /// The exact reference of the same dynamics (a validation).
        case exact
        /// The exact reference of another dynamics (e.g. discrete SGD against the exact diffusion).
        case model
        /// An asymptotic formula.
        case theory
    }
    public var a: ReportCell
    public var b: ReportCell
    public var kind: Kind
    /// The shared parameter values that matched the two cells.
    public var key: [(key: String, value: Double)]
    /// "iterations" or "time".
    public var unit: String
    public var aMean: Double, aSE: Double
    public var bMean: Double, bSE: Double
    public var ratio: Double
    public var ratioCI95: [Double]
    public var z: Double

    public static let agreeBelow = 3.0
    public var agrees: Bool { abs(z) < Comparison.agreeBelow }
    public var verdict: String {
        if agrees { return "agree" }
        return ratio < 1 ? "differ: \(a.experiment) faster" : "differ: \(a.experiment) slower"
    }

    static let integrationKeys: Set<String> = ["dt", "dt_fraction", "nodes"]

    static func kind(of cell: ReportCell) -> Kind? {
        // minimum-action predicts only the exponent: no comparison reference
        guard let method = MethodRegistry.named(cell.method), method.isComparisonReference else { return nil }
        switch method.kind {
        case .simulation: return .simulation
        case .exact: return .exact
        case .theory: return .theory
        case .sampling: return nil
        }
    }

    /// All comparisons of the job: every Monte Carlo experiment against every later Monte Carlo
    /// experiment and every deterministic one, cell by cell, in experiment and cell order —
    /// only between cells of the same landscape, start and exit region.
    public static func all(_ input: ReportInput) -> [Comparison] {
        let byExperiment = Dictionary(grouping: input.cells, by: \.experimentIndex)
        let indices = byExperiment.keys.sorted()
        var out: [Comparison] = []
        for i in indices {
            let left = byExperiment[i]!.sorted { $0.cellIndex < $1.cellIndex }
            guard left.first?.isMonteCarlo == true else { continue }
            for j in indices where j != i {
                let right = byExperiment[j]!.sorted { $0.cellIndex < $1.cellIndex }
                guard let r0 = right.first, var k = kind(of: r0) else { continue }
                // an exact reference validates only its own dynamics; across dynamics it is a model comparison
                // (only discrete SGD against a continuous model's exact value: the breakdown of the diffusion approximation)
                if k == .exact && r0.dynamics != left[0].dynamics {
                    guard left[0].dynamics == .sgd, r0.dynamics != .sgd else { continue }
                    k = .model
                }
                if k == .simulation && j < i { continue }
                for cell in left {
                    let geometry = input.setting(of: cell)
                    for other in right {
                        // only cells on the same landscape, start and exit region (experiments may have their own)
                        if let geometry, let g = input.setting(of: other), !geometry.sameGeometry(as: g) { continue }
                        if let c = compare(cell, other, kind: k) { out.append(c) }
                    }
                }
            }
        }
        return out
    }

    /// The parameters two cells share when they are the same model: the same noise law (as the
    /// cells record it) and the same parameters with equal values, integration keys aside; nil otherwise.
    static func matchingParameters(_ a: ReportCell, _ b: ReportCell) -> [(key: String, value: Double)]? {
        let aKeys = a.parameters.filter { !integrationKeys.contains($0.key) }
        let bKeys = Set(b.parameters.map(\.key)).subtracting(integrationKeys)
        let shared = aKeys.filter { bKeys.contains($0.key) }
        guard a.noiseLaw == b.noiseLaw, !shared.isEmpty, Set(aKeys.map(\.key)) == bKeys,
              shared.allSatisfy({ b.parameter($0.key) == $0.value }) else { return nil }
        return shared
    }

    static func compare(_ a: ReportCell, _ b: ReportCell, kind: Kind) -> Comparison? {
        guard let shared = matchingParameters(a, b) else { return nil }
        let unit: String
        if a.meanIterations != nil && b.meanIterations != nil { unit = "iterations" }
        else if a.timeUnit == b.timeUnit { unit = a.timeUnit.rawValue }
        else { return nil }
        guard let av = ScalingAnalysis.value(a, unit: unit), let bv = ScalingAnalysis.value(b, unit: unit) else { return nil }
        let ratio = av.mean / bv.mean
        let seLog = ((av.se / av.mean) * (av.se / av.mean) + (bv.se / bv.mean) * (bv.se / bv.mean)).squareRoot()
        let seDiff = (av.se * av.se + bv.se * bv.se).squareRoot()
        let z = seDiff > 0 ? (av.mean - bv.mean) / seDiff : (av.mean == bv.mean ? 0 : .infinity)
        return Comparison(a: a, b: b, kind: kind, key: shared, unit: unit, aMean: av.mean, aSE: av.se,
                          bMean: bv.mean, bSE: bv.se, ratio: ratio,
                          ratioCI95: [ratio * exp(-1.96 * seLog), ratio * exp(1.96 * seLog)], z: z)
    }
}
