internal import CGSL

extension LinearRegression {
    /// The label of the least-squares minimizer among the landscape's critical points.
    public static let minimizerLabel = "least-squares minimizer"

    /// The least-squares minimizer θ* = argmin (1/n) Σ ½(aᵢᵀθ − yᵢ)², the unique solution of
    /// the normal equations AᵀAθ = Aᵀy when the n×d design A has full column rank, computed
    /// without forming AᵀA: Householder QR of A and the triangular solve Rθ = Qᵀy
    /// (`gsl_linalg_QR_decomp`, `gsl_linalg_QR_lssolve`; Golub & Van Loan, Matrix
    /// Computations §5.3). Backward stable: the error in θ* is O(κ(A)·ε) relative, κ the
    /// condition number, against O(κ²ε) for the normal equations.
    ///
    /// nil when A is rank-deficient (n < d, or a diagonal entry of R at most d·ε·max|Rⱼⱼ|,
    /// the usual numerical-rank cut): then the minimizers form an affine subspace and none
    /// is named.
    public func leastSquaresMinimizer() throws(GSLError) -> [Double]? {
        let n = sampleCount, d = dimension
        guard n >= d else { return nil }
        GSL.prepare()
        let a = gsl_matrix_alloc(n, d)!
        let tau = gsl_vector_alloc(d)!
        let b = gsl_vector_alloc(n)!
        let x = gsl_vector_alloc(d)!
        let residual = gsl_vector_alloc(n)!
        defer { gsl_matrix_free(a); gsl_vector_free(tau); gsl_vector_free(b); gsl_vector_free(x); gsl_vector_free(residual) }
        for i in 0..<n {
            gsl_vector_set(b, i, targets[i])
            for j in 0..<d { gsl_matrix_set(a, i, j, features[i * d + j]) }
        }
        try GSL.check(gsl_linalg_QR_decomp(a, tau), "QR decomposition of the \(n)×\(d) design")
        var largest = 0.0, smallest = Double.infinity
        for j in 0..<d {
            let r = abs(gsl_matrix_get(a, j, j))
            largest = max(largest, r); smallest = min(smallest, r)
        }
        guard largest > 0, smallest > Double(d) * Double.ulpOfOne * largest else { return nil }
        try GSL.check(gsl_linalg_QR_lssolve(a, tau, b, x, residual), "least-squares solve (\(n)×\(d))")
        let theta = (0..<d).map { gsl_vector_get(x, $0) }
        return theta.allSatisfy(\.isFinite) ? theta : nil
    }

    /// The named critical points: the least-squares minimizer and the loss there (empty when
    /// the design is rank-deficient).
    public func criticalPoints() throws(GSLError) -> [CriticalPoint] {
        guard let theta = try leastSquaresMinimizer() else { return [] }
        let value = theta.withUnsafeBufferPointer { loss(at: $0.baseAddress!) }
        return [CriticalPoint(point: theta, value: value, kind: .minimum, label: LinearRegression.minimizerLabel)]
    }
}
