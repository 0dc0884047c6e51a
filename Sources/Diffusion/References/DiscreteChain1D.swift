import Foundation
internal import CGSL

/// The exact expected number of steps of the 1-D Gaussian chain
///
///   X_{k+1} = X_k − h V'(X_k) + s ξ_k,   ξ_k ~ N(0, 1),
///
/// to first land in (b, ∞), i.e. Euler–Maruyama with step h (s = √(2εh)) or discrete SGD
/// with Gaussian gradient noise (h = η, s = ησ/√B), checked only at its iterates.
///
/// N(x) solves the chain's backward equation N(x) = 1 + ∫_{−∞}^{b} K(x, y) N(y) dy with
/// the Gaussian kernel K(x, ·) = N(x − hV'(x), s²). Discretised by product integration:
/// N piecewise linear on a uniform grid of [L, b] and the kernel integrated exactly
/// against each hat function (closed forms in Φ and φ), so the error is O(Δ²); mass
/// below L is lumped on the first node (L must lie where the chain never goes, e.g.
/// V(L) − V_min ≫ ε). The dense system (I − W) N = 1 is solved by GSL LU.
/// `meanExitSteps` also returns the results on grids of half and a quarter of the nodes,
/// the Richardson estimate (4N_Δ − N_{2Δ})/3 and, as its error estimate, its difference
/// from the same extrapolation one level coarser (`Richardson.extrapolate`).
public enum DiscreteChain1D {
    public struct Result: Sendable {
        public let steps: Double
        public let coarseSteps: Double
        public let extrapolated: Double
        public let errorEstimate: Double
    }

    public static func meanExitSteps(slope: (Double) -> Double, stepSize h: Double, noise s: Double,
                                     start x0: Double, barrier b: Double, lower: Double,
                                     nodes: Int) throws(GSLError) -> Result {
        try meanExitSteps(slope: slope, stepSize: h, noise: s, start: x0, lower: lower, upper: b,
                          lowerAbsorbing: false, upperAbsorbing: true, nodes: nodes)
    }

    /// General form on [lower, upper]: an absorbing end is an exit (the chain has exited once
    /// it lands beyond it); a non-absorbing end is a truncation of the line where the chain
    /// never goes, whose outside mass is lumped on the end node.
    public static func meanExitSteps(slope: (Double) -> Double, stepSize h: Double, noise s: Double,
                                     start x0: Double, lower: Double, upper: Double,
                                     lowerAbsorbing: Bool, upperAbsorbing: Bool,
                                     nodes: Int) throws(GSLError) -> Result {
        precondition(lowerAbsorbing || upperAbsorbing, "at least one end must be an exit")
        let grids = try (0..<3).map { k throws(GSLError) in
            var n = nodes
            for _ in 0..<k { n = (n + 1) / 2 }
            return try solve(slope: slope, h: h, s: s, x0: x0, lower: lower, upper: upper,
                             lumpLower: !lowerAbsorbing, lumpUpper: !upperAbsorbing, nodes: max(n, 3))
        }
        let (fine, coarse) = Richardson.extrapolate(grids)
        return Result(steps: grids[0], coarseSteps: grids[1], extrapolated: fine, errorEstimate: coarse)
    }

    /// What the solve computes: the mean number of steps to absorption (right-hand side 1),
    /// or the probability of leaving through the upper end first (right-hand side the mass
    /// landing beyond it: the committor when the lower end is absorbing too).
    enum Target { case steps, upperExit }

    /// The probability that the chain started at `x0` lands beyond `upper` before landing at
    /// or below `lower` (both ends absorbing): the chain's own committor, by the same product
    /// integration (O(Δ²)), Richardson-extrapolated over three grids like `meanExitSteps`.
    public static func upperExitProbability(slope: (Double) -> Double, stepSize h: Double, noise s: Double,
                                            start x0: Double, lower: Double, upper: Double,
                                            nodes: Int) throws(GSLError) -> Result {
        let grids = try (0..<3).map { k throws(GSLError) in
            var n = nodes
            for _ in 0..<k { n = (n + 1) / 2 }
            return try solve(slope: slope, h: h, s: s, x0: x0, lower: lower, upper: upper,
                             lumpLower: false, lumpUpper: false, nodes: max(n, 3), target: .upperExit)
        }
        let (fine, coarse) = Richardson.extrapolate(grids)
        return Result(steps: grids[0], coarseSteps: grids[1], extrapolated: fine, errorEstimate: coarse)
    }

    /// One grid. The kernel N(x − hV'(x), s²) is cut at ±12 s (mass beyond is below 2·10⁻³³),
    /// so the system is banded with half-width ⌈(12 s + max|hV'|)/Δ⌉ + 1 and is solved by a
    /// banded LU without pivoting (`Grid2DBandLU`: I − W is a diagonally dominant M-matrix, W
    /// sub-stochastic with non-negative entries): O(m·bw²) instead of dense O(m³), so the grid
    /// can resolve the kernel (Δ = s/10) at small noise. Lumped truncation mass outside the band
    /// is below the same 2·10⁻³³ and is dropped.
    static func solve(slope: (Double) -> Double, h: Double, s: Double, x0: Double, lower: Double, upper b: Double,
                      lumpLower: Bool, lumpUpper: Bool, nodes m: Int, target: Target = .steps) throws(GSLError) -> Double {
        precondition(m >= 3 && lower <= x0 && x0 <= b && s > 0)
        GSL.prepare()
        let delta = (b - lower) / Double(m - 1)
        let grid = (0..<m).map { lower + Double($0) * delta }
        let means = grid.map { $0 - h * slope($0) }
        var shift = 0.0
        for i in 0..<m { shift = max(shift, abs(means[i] - grid[i])) }
        guard shift.isFinite else { throw GSLError(status: Int32(GSL_EDOM), context: "chain: the drift h·V'(x) is not finite on the grid") }
        let cut = 12.0
        let bw = min(m - 1, Int(((cut * s + shift) / delta).rounded(.up)) + 1)
        let band = Grid2DBandLU(n: m, bandwidth: bw)
        var rhs = [Double](repeating: 0, count: m)
        let phi = { (u: Double) in gsl_ran_ugaussian_pdf(u) }
        let cdf = { (u: Double) in gsl_cdf_ugaussian_P(u) }
        for i in 0..<m {
            let mean = means[i]
            let lo = max(0, i - bw), hi = min(m - 1, i + bw)
            func add(_ j: Int, _ w: Double) { if j >= lo && j <= hi { band.add(i, j, -w) } }
            band.add(i, i, 1)
            // truncated ends: the outside mass lumped on the end node
            if lumpLower { add(0, cdf((lower - mean) / s)) }
            if lumpUpper { add(m - 1, gsl_cdf_ugaussian_Q((b - mean) / s)) }
            let first = max(0, Int(((mean - cut * s - lower) / delta).rounded(.down)) - 1)
            let last = min(m - 2, Int(((mean + cut * s - lower) / delta).rounded(.up)) + 1)
            if first <= last {
                for k in first...last {
                    let left = grid[k], right = grid[k + 1]
                    let alpha = (left - mean) / s, beta = (right - mean) / s
                    if alpha > cut || beta < -cut { continue }
                    let mass = cdf(beta) - cdf(alpha)
                    let moment = s * (phi(alpha) - phi(beta))  // ∫ (y − mean) p(y) dy on [left, right]
                    // ∫ (right − y) p / Δ and ∫ (y − left) p / Δ
                    add(k, ((right - mean) * mass - moment) / delta)
                    add(k + 1, ((mean - left) * mass + moment) / delta)
                }
            }
            switch target {
            case .steps: rhs[i] = 1
            case .upperExit: rhs[i] = gsl_cdf_ugaussian_Q((b - mean) / s)
            }
        }
        if let row = band.factor() {
            throw GSLError(status: Int32(GSL_ESING), context: "chain banded LU: pivot \(row) is not positive")
        }
        band.solve(&rhs)
        let position = (x0 - lower) / delta
        let k = min(Int(position), m - 2)
        let t = position - Double(k)
        return (1 - t) * rhs[k] + t * rhs[k + 1]
    }
}
