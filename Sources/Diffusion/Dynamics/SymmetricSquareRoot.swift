internal import CGSL

/// S with S Sᵀ = A⁺ for a symmetric d×d matrix A, A⁺ its positive part (negative
/// eigenvalues set to 0): S = Q diag(√λ⁺) from the eigendecomposition A = Q Λ Qᵀ
/// (GSL `gsl_eigen_symmv`, Golub & Van Loan §8.3; in closed form for d ≤ 2). Used for state-dependent noise,
/// whose covariance (a Hessian or a sampled covariance) can be indefinite away from a
/// minimum. Owns its GSL workspace: one per thread, allocation-free per call.
final class SymmetricSquareRoot {
    let d: Int
    let matrix: UnsafeMutablePointer<gsl_matrix>?
    let vectors: UnsafeMutablePointer<gsl_matrix>?
    let values: UnsafeMutablePointer<gsl_vector>?
    let workspace: OpaquePointer?

    init(dimension: Int) {
        d = dimension
        if d > 2 {
            GSL.prepare()
            matrix = gsl_matrix_alloc(d, d)
            vectors = gsl_matrix_alloc(d, d)
            values = gsl_vector_alloc(d)
            workspace = OpaquePointer(gsl_eigen_symmv_alloc(d))
        } else {
            matrix = nil; vectors = nil; values = nil; workspace = nil
        }
    }

    deinit {
        if d > 2 {
            gsl_matrix_free(matrix); gsl_matrix_free(vectors); gsl_vector_free(values)
            gsl_eigen_symmv_free(UnsafeMutablePointer(workspace))
        }
    }

    /// Which spectrum the root is taken of.
    enum Spectrum {
        /// A⁺: negative eigenvalues set to 0.
        case positivePart
        /// |A|: eigenvalues by absolute value.
        case absolute
        /// A itself, which must be positive semi-definite: an eigenvalue below
        /// −`CovarianceMatrix.tolerance`·max|λ| (or a non-finite entry) writes NaN into S, so
        /// the path using it ends as diverged.
        case semidefinite
    }

    /// Writes S (row-major d×d) for the row-major symmetric `a`; `a` is not modified.
    @inline(__always)
    func positivePartRoot(_ a: UnsafePointer<Double>, into s: UnsafeMutablePointer<Double>) {
        root(a, into: s, spectrum: .positivePart)
    }

    /// The 1×1 case: √a⁺, √|a| or √a (NaN for a < 0).
    @inline(__always)
    static func root1(_ a: Double, spectrum: Spectrum) -> Double {
        switch spectrum {
        case .positivePart: max(a, 0).squareRoot()
        case .absolute: abs(a).squareRoot()
        case .semidefinite: a >= 0 ? a.squareRoot() : .nan
        }
    }

    /// The 2×2 case in closed form. Positive definite (det > 0, trace > 0): the symmetric root
    /// S = (A + √det·I)/√(tr + 2√det), since S² = ((tr + 2√det)A + (det − det)I)/(tr + 2√det)
    /// by Cayley–Hamilton. Otherwise the symmetric Schur decomposition by one Jacobi rotation
    /// (Golub & Van Loan, Matrix Computations, 4th ed., Algorithm 8.5.1): with b = (a₁₂ + a₂₁)/2,
    /// τ = (a₂₂ − a₁₁)/(2b), t = sign(τ)/(|τ| + √(1 + τ²)), c = 1/√(1 + t²), s = t·c, the matrix
    /// J = [[c, s], [−s, c]] gives JᵀAJ = diag(a₁₁ − t·b, a₂₂ + t·b), so S = J·diag(√λ)
    /// (b = 0: J = I). No GSL call: about 20 flops and three square roots.
    @inline(__always)
    private func root2(_ a: UnsafePointer<Double>, into s: UnsafeMutablePointer<Double>, spectrum: Spectrum) {
        SymmetricSquareRoot.root2(a[0], a[1], a[2], a[3], into: s, spectrum: spectrum)
    }

    /// `root2` on the entries a₁₁, a₁₂, a₂₁, a₂₂ (a lane loop calls it without a matrix).
    @inline(__always)
    static func root2(_ a11: Double, _ a12: Double, _ a21: Double, _ a22: Double, into s: UnsafeMutablePointer<Double>,
                      spectrum: Spectrum) {
        let b = 0.5 * (a12 + a21)
        let det = a11 * a22 - b * b, trace = a11 + a22
        if det > 0 && trace > 0 {
            // positive definite: A⁺ = |A| = A and its symmetric root is (A + √det·I)/√(tr A + 2√det)
            // (Cayley–Hamilton: A² = tr A·A − det A·I), two square roots and one division
            let root = det.squareRoot(), inverse = 1 / (trace + 2 * root).squareRoot()
            s[0] = (a11 + root) * inverse; s[1] = b * inverse
            s[2] = b * inverse; s[3] = (a22 + root) * inverse
            return
        }
        var t = 0.0, c = 1.0, sn = 0.0
        if b != 0 {
            let tau = (a22 - a11) / (2 * b)
            t = (tau >= 0 ? 1.0 : -1.0) / (abs(tau) + (1 + tau * tau).squareRoot())
            c = 1 / (1 + t * t).squareRoot()
            sn = t * c
        }
        let l1 = a11 - t * b, l2 = a22 + t * b
        var r1: Double, r2: Double
        switch spectrum {
        case .positivePart: r1 = max(l1, 0).squareRoot(); r2 = max(l2, 0).squareRoot()
        case .absolute: r1 = abs(l1).squareRoot(); r2 = abs(l2).squareRoot()
        case .semidefinite:
            let floor = -CovarianceMatrix.tolerance * max(abs(l1), abs(l2))
            r1 = l1 >= floor ? max(l1, 0).squareRoot() : .nan
            r2 = l2 >= floor ? max(l2, 0).squareRoot() : .nan
        }
        if !(l1.isFinite && l2.isFinite) { r1 = .nan; r2 = .nan }  // surfaces as divergence of the path
        s[0] = c * r1; s[1] = sn * r2
        s[2] = -sn * r1; s[3] = c * r2
    }

    /// S with S Sᵀ = A⁺, |A| or A (`spectrum`) for the row-major symmetric `a` (symmetrised as
    /// (A + Aᵀ)/2 first); `a` is not modified.
    @inline(__always)
    func root(_ a: UnsafePointer<Double>, into s: UnsafeMutablePointer<Double>, spectrum: Spectrum) {
        if d == 1 {
            s[0] = SymmetricSquareRoot.root1(a[0], spectrum: spectrum)
            return
        }
        if d == 2 {
            root2(a, into: s, spectrum: spectrum)
            return
        }
        let m = matrix!
        for r in 0..<d { for c in 0..<d { gsl_matrix_set(m, r, c, 0.5 * (a[r * d + c] + a[c * d + r])) } }
        let status = gsl_eigen_symmv(m, values, vectors, UnsafeMutablePointer(workspace))
        if status != 0 {
            for k in 0..<(d * d) { s[k] = .nan }  // surfaces as divergence of the path
            return
        }
        var floor = 0.0
        if spectrum == .semidefinite {
            var largest = 0.0
            for c in 0..<d { largest = max(largest, abs(gsl_vector_get(values, c))) }
            floor = -CovarianceMatrix.tolerance * largest
        }
        for c in 0..<d {
            let lambda = gsl_vector_get(values, c)
            let root: Double
            switch spectrum {
            case .positivePart: root = max(lambda, 0).squareRoot()
            case .absolute: root = abs(lambda).squareRoot()
            case .semidefinite: root = lambda >= floor ? max(lambda, 0).squareRoot() : .nan
            }
            for r in 0..<d { s[r * d + c] = gsl_matrix_get(vectors, r, c) * root }
        }
    }
}
