import Foundation
internal import CGSL

extension StabilityThresholds {
    /// Wu–Wang–Su at a zero-loss (interpolating) minimum θ* of a square loss
    /// `ℓᵢ = ½(uᵢ − yᵢ)²` (Wu, Wang & Su, NeurIPS 2022; docs/THEORY.md §3). There L = 0 and
    /// Σ = 0, so μ(θ*) = Tr(ΣG)/(2L‖G‖²_F) is 0/0; near θ*, at θ = θ* + e, the residuals are
    /// rᵢ = aᵢᵀe + O(‖e‖²) with aᵢ = ∇uᵢ(θ*), so to leading order
    ///
    ///     L = ½ eᵀGe,   Tr(ΣG) = eᵀKe,   K = (1/n) Σ (aᵢᵀGaᵢ) aᵢaᵢᵀ − G³,
    ///
    /// (∇ℓᵢ = rᵢaᵢ, ∇L = Ge) and μ(e) = eᵀKe / (eᵀGe · ‖G‖²_F) depends only on the direction
    /// of approach. Its least value over directions with eᵀGe > 0 (the range of G; directions
    /// in its kernel leave L at 0) is
    ///
    ///     μ_min = λ_min(Λ_r^{-½} V_rᵀ K V_r Λ_r^{-½}) / ‖G‖²_F,
    ///
    /// G = VΛVᵀ restricted to eigenvalues above d·ε·λ_max (`gsl_eigen_symmv`). The alignment
    /// condition Tr(ΣG) ≥ 2μL‖G‖²_F then holds near θ* with μ = μ_min, and the stability bound
    /// is ‖H‖_F ≤ √(B/μ_min)/η. Exact for linear models (the O(‖e‖²) term vanishes); nil when G
    /// = 0 or μ_min ≤ 0.
    static func zeroLossWuWangSu(_ square: any SquareLossFiniteSum, at point: [Double], batchSize b: Int) throws(TheoryError) -> WuWangSu? {
        let d = square.dimension, n = square.sampleCount
        var a = [Double](repeating: 0, count: n * d)
        point.withUnsafeBufferPointer { p in
            a.withUnsafeMutableBufferPointer { out in
                for i in 0..<n { square.addOutputGradient(i, at: p.baseAddress!, scale: 1, into: out.baseAddress! + i * d) }
            }
        }
        var g = [Double](repeating: 0, count: d * d)
        for i in 0..<n { for r in 0..<d { for c in 0..<d { g[r * d + c] += a[i * d + r] * a[i * d + c] / Double(n) } } }
        let gNorm2 = g.reduce(0) { $0 + $1 * $1 }
        guard gNorm2 > 0 else { return nil }
        var k = [Double](repeating: 0, count: d * d)
        for i in 0..<n {
            var q = 0.0  // aᵢᵀGaᵢ
            for r in 0..<d { var row = 0.0; for c in 0..<d { row += g[r * d + c] * a[i * d + c] }; q += a[i * d + r] * row }
            for r in 0..<d { for c in 0..<d { k[r * d + c] += q * a[i * d + r] * a[i * d + c] / Double(n) } }
        }
        let g2 = TheoryNumerics.multiply(g, g, d), g3 = TheoryNumerics.multiply(g2, g, d)
        for j in 0..<(d * d) { k[j] -= g3[j] }
        let (values, vectors) = try TheoryNumerics.symmetricEigensystem(g, dimension: d)
        let top = values.max()!
        let range = values.indices.filter { values[$0] > Double(d) * Double.ulpOfOne * top }
        let r = range.count
        // W = V_r Λ_r^{-½} (d×r); M = WᵀKW (r×r)
        var w = [Double](repeating: 0, count: d * r)
        for (col, j) in range.enumerated() { for row in 0..<d { w[row * r + col] = vectors[row * d + j] / values[j].squareRoot() } }
        var m = [Double](repeating: 0, count: r * r)
        for p in 0..<r { for q in 0..<r {
            var s = 0.0
            for x in 0..<d { for y in 0..<d { s += w[x * r + p] * k[x * d + y] * w[y * r + q] } }
            m[p * r + q] = s
        } }
        let lowest: Double
        do { lowest = try TheoryNumerics.symmetricEigenvalues(m, dimension: r).first! } catch { throw TheoryNumerics.wrap(error) }
        let mu = lowest / gNorm2
        guard mu > 0, mu.isFinite else { return nil }
        let h = square.localGeometry(at: point).hessianFrobeniusNorm
        var result = WuWangSu(alignment: mu, hessianFrobeniusNorm: h, batchSize: b)
        result.atZeroLoss = true
        return result
    }
}

extension TheoryNumerics {
    /// Row-major d×d product.
    static func multiply(_ x: [Double], _ y: [Double], _ d: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d * d)
        for r in 0..<d { for k in 0..<d where x[r * d + k] != 0 { for c in 0..<d { out[r * d + c] += x[r * d + k] * y[k * d + c] } } }
        return out
    }

    /// Eigenvalues and eigenvectors of a symmetric d×d matrix (`gsl_eigen_symmv`): eigenvector
    /// j is column j of the row-major `vectors`.
    static func symmetricEigensystem(_ a: [Double], dimension d: Int) throws(TheoryError) -> (values: [Double], vectors: [Double]) {
        GSL.prepare()
        let m = gsl_matrix_alloc(d, d)!, values = gsl_vector_alloc(d)!, vectors = gsl_matrix_alloc(d, d)!
        let work = gsl_eigen_symmv_alloc(d)!
        defer { gsl_matrix_free(m); gsl_vector_free(values); gsl_matrix_free(vectors); gsl_eigen_symmv_free(work) }
        for r in 0..<d { for c in 0..<d { gsl_matrix_set(m, r, c, 0.5 * (a[r * d + c] + a[c * d + r])) } }
        guard gsl_eigen_symmv(m, values, vectors, work) == 0 else { throw TheoryError("symmetric eigensystem (\(d)×\(d)) failed") }
        return ((0..<d).map { gsl_vector_get(values, $0) }, (0..<(d * d)).map { gsl_matrix_get(vectors, $0 / d, $0 % d) })
    }
}
