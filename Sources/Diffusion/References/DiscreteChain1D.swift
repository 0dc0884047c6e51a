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

    static func solve(slope: (Double) -> Double, h: Double, s: Double, x0: Double, lower: Double, upper b: Double,
                      lumpLower: Bool, lumpUpper: Bool, nodes m: Int) throws(GSLError) -> Double {
        precondition(m >= 3 && lower <= x0 && x0 <= b && s > 0)
        GSL.prepare()
        let delta = (b - lower) / Double(m - 1)
        let grid = (0..<m).map { lower + Double($0) * delta }
        let a = gsl_matrix_calloc(m, m)!
        defer { gsl_matrix_free(a) }
        let rhs = gsl_vector_alloc(m)!, solution = gsl_vector_alloc(m)!
        defer { gsl_vector_free(rhs); gsl_vector_free(solution) }
        let permutation = gsl_permutation_alloc(m)!
        defer { gsl_permutation_free(permutation) }
        let phi = { (u: Double) in gsl_ran_ugaussian_pdf(u) }
        let cdf = { (u: Double) in gsl_cdf_ugaussian_P(u) }
        var weights = [Double](repeating: 0, count: m)
        for i in 0..<m {
            let mean = grid[i] - h * slope(grid[i])
            for j in 0..<m { weights[j] = 0 }
            // truncated ends: the outside mass lumped on the end node
            if lumpLower { weights[0] += cdf((lower - mean) / s) }
            if lumpUpper { weights[m - 1] += gsl_cdf_ugaussian_Q((b - mean) / s) }
            for k in 0..<(m - 1) {
                let left = grid[k], right = grid[k + 1]
                let alpha = (left - mean) / s, beta = (right - mean) / s
                if alpha > 12 || beta < -12 { continue }
                let mass = cdf(beta) - cdf(alpha)
                let moment = s * (phi(alpha) - phi(beta))  // ∫ (y − mean) p(y) dy on [left, right]
                // ∫ (right − y) p / Δ and ∫ (y − left) p / Δ
                weights[k] += ((right - mean) * mass - moment) / delta
                weights[k + 1] += ((mean - left) * mass + moment) / delta
            }
            for j in 0..<m { gsl_matrix_set(a, i, j, (i == j ? 1 : 0) - weights[j]) }
            gsl_vector_set(rhs, i, 1)
        }
        var sign: Int32 = 0
        try GSL.check(gsl_linalg_LU_decomp(a, permutation, &sign), "chain LU decomposition")
        try GSL.check(gsl_linalg_LU_solve(a, permutation, rhs, solution), "chain LU solve")
        let position = (x0 - lower) / delta
        let k = min(Int(position), m - 2)
        let t = position - Double(k)
        return (1 - t) * gsl_vector_get(solution, k) + t * gsl_vector_get(solution, k + 1)
    }
}
