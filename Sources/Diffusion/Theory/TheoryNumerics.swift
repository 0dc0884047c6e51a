import Foundation
internal import CGSL

/// An argument outside a formula's domain, a non-convergent numerical step, or a GSL
/// failure, e.g. "epsilon must be > 0, got -1".
public struct TheoryError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Small dense linear algebra, quadrature and root bracketing for the theory module, all
/// through GSL (`gsl_eigen_symm`, `gsl_linalg_LU_*`, `gsl_integration_qags`,
/// `gsl_root_fsolver_brent`). Matrices are row-major `[Double]`.
enum TheoryNumerics {
    static func require(_ ok: Bool, _ message: @autoclosure () -> String) throws(TheoryError) {
        if !ok { throw TheoryError(message()) }
    }

    static func wrap(_ error: GSLError) -> TheoryError { TheoryError(error.description) }

    static func check(_ status: Int32, _ context: String) throws(TheoryError) {
        if status != 0 { throw TheoryError(GSLError(status: status, context: context).description) }
    }

    /// Eigenvalues of the symmetric part of the d×d matrix `a`, ascending
    /// (`gsl_eigen_symm`, symmetric QR; Golub & Van Loan §8.3).
    static func symmetricEigenvalues(_ a: [Double], dimension d: Int) throws(GSLError) -> [Double] {
        precondition(a.count == d * d && d > 0)
        if d == 1 { return [a[0]] }
        GSL.prepare()
        let m = gsl_matrix_alloc(d, d)!
        let values = gsl_vector_alloc(d)!
        let work = gsl_eigen_symm_alloc(d)!
        defer { gsl_matrix_free(m); gsl_vector_free(values); gsl_eigen_symm_free(work) }
        for r in 0..<d { for c in 0..<d { gsl_matrix_set(m, r, c, 0.5 * (a[r * d + c] + a[c * d + r])) } }
        try GSL.check(gsl_eigen_symm(m, values, work), "symmetric eigenvalues (\(d)×\(d))")
        return (0..<d).map { gsl_vector_get(values, $0) }.sorted()
    }

    /// Solves `a x = b` by LU with partial pivoting (`gsl_linalg_LU_decomp/solve`); nil when
    /// `a` is singular to working precision.
    static func solve(_ a: [Double], _ b: [Double], dimension d: Int) -> [Double]? {
        precondition(a.count == d * d && b.count == d)
        GSL.prepare()
        let m = gsl_matrix_alloc(d, d)!
        let rhs = gsl_vector_alloc(d)!
        let x = gsl_vector_alloc(d)!
        let p = gsl_permutation_alloc(d)!
        defer { gsl_matrix_free(m); gsl_vector_free(rhs); gsl_vector_free(x); gsl_permutation_free(p) }
        for r in 0..<d {
            gsl_vector_set(rhs, r, b[r])
            for c in 0..<d { gsl_matrix_set(m, r, c, a[r * d + c]) }
        }
        var signum: Int32 = 0
        guard gsl_linalg_LU_decomp(m, p, &signum) == 0 else { return nil }
        var smallest = Double.infinity, largest = 0.0
        for r in 0..<d { let u = abs(gsl_matrix_get(m, r, r)); smallest = min(smallest, u); largest = max(largest, u) }
        guard largest > 0, smallest > 1e-14 * largest else { return nil }
        guard gsl_linalg_LU_solve(m, p, rhs, x) == 0 else { return nil }
        let result = (0..<d).map { gsl_vector_get(x, $0) }
        return result.allSatisfy(\.isFinite) ? result : nil
    }

    private final class FunctionBox {
        let f: (Double) -> Double
        init(_ f: @escaping (Double) -> Double) { self.f = f }
    }

    private static func withGSLFunction<R>(_ f: (Double) -> Double,
                                           _ body: (inout gsl_function) throws(TheoryError) -> R) throws(TheoryError) -> R {
        GSL.prepare()
        return try withoutActuallyEscaping(f) { (escapable) throws(TheoryError) -> R in
            let box = Unmanaged.passRetained(FunctionBox(escapable))
            defer { box.release() }
            var function = gsl_function(function: { x, params in
                Unmanaged<FunctionBox>.fromOpaque(params!).takeUnretainedValue().f(x)
            }, params: box.toOpaque())
            return try body(&function)
        }
    }

    /// ∫_a^b f by adaptive Gauss–Kronrod with extrapolation (`gsl_integration_qags`),
    /// relative tolerance 1e-11.
    static func integrate(_ f: (Double) -> Double, from a: Double, to b: Double,
                          context: String) throws(TheoryError) -> Double {
        if a == b { return 0 }
        return try withGSLFunction(f) { (function) throws(TheoryError) -> Double in
            let work = gsl_integration_workspace_alloc(4000)!
            defer { gsl_integration_workspace_free(work) }
            var result = 0.0, error = 0.0
            let status = gsl_integration_qags(&function, min(a, b), max(a, b), 0, 1e-11, 4000, work, &result, &error)
            try check(status, context)
            return a < b ? result : -result
        }
    }

    /// A root of `f` in `[lo, hi]` (opposite signs at the ends) by Brent's method
    /// (`gsl_root_fsolver_brent`), to |Δx| ≤ 4 ulp.
    static func brentRoot(_ f: (Double) -> Double, lo: Double, hi: Double,
                          context: String) throws(TheoryError) -> Double {
        let flo = f(lo), fhi = f(hi)
        if flo == 0 { return lo }
        if fhi == 0 { return hi }
        try require(flo.sign != fhi.sign, "\(context): no sign change on [\(lo), \(hi)]")
        return try withGSLFunction(f) { (function) throws(TheoryError) -> Double in
            let solver = gsl_root_fsolver_alloc(sgd_gsl_root_brent())!
            defer { gsl_root_fsolver_free(solver) }
            try check(gsl_root_fsolver_set(solver, &function, lo, hi), context)
            for _ in 0..<500 {
                try check(gsl_root_fsolver_iterate(solver), context)
                let a = gsl_root_fsolver_x_lower(solver), b = gsl_root_fsolver_x_upper(solver)
                if Int(gsl_root_test_interval(a, b, 0, 4 * Double.ulpOfOne)) != Int(GSL_CONTINUE) { break }
            }
            return gsl_root_fsolver_root(solver)
        }
    }

    /// Largest `x` in `[lo, hi]` with `stable(x)` true, given `stable(lo)` and `!stable(hi)`
    /// and a set `{stable}` that is an interval containing `lo`: bisection to adjacent doubles.
    static func bisectBoundary(lo: Double, hi: Double, _ stable: (Double) throws(TheoryError) -> Bool) throws(TheoryError) -> Double {
        var a = lo, b = hi
        for _ in 0..<2000 {
            let mid = 0.5 * (a + b)
            if mid <= a || mid >= b { break }
            if try stable(mid) { a = mid } else { b = mid }
        }
        return a
    }
}
