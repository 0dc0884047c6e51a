import Foundation
internal import CGSL

/// A weighted linear least-squares fit `y = Σⱼ cⱼ·φⱼ(x)` with known per-point errors
/// (GSL `gsl_multifit_wlinear`, weights 1/σᵢ²), covariance (XᵀWX)⁻¹ inflated by the Birge
/// ratio χ²/(n−p) when it exceeds 1, 95 % intervals with z = 1.96 and a χ² goodness of fit
/// (Bevington & Robinson ch. 7). Used for the Arrhenius law with its first-order prefactor
/// correction, `log τ = a + S·x + c/x` (Kramers' series τ = τ_K(1 + c₁ε + …), docs/THEORY.md §2).
public struct MultiLinearFit: Sendable, Equatable {
    public let coefficients: [Double]
    public let standardErrors: [Double]
    public let chiSquared: Double
    public let degreesOfFreedom: Int
    public let goodnessOfFit: Double
    public let inflated: Bool

    public func ci95(_ j: Int) -> [Double] {
        [coefficients[j] - 1.96 * standardErrors[j], coefficients[j] + 1.96 * standardErrors[j]]
    }

    /// `design[i]` is the row (φ₁(xᵢ), …, φₚ(xᵢ)).
    /// `errorsKnown: false`: ordinary least squares, covariance always scaled by χ²/(n−p).
    public init(design: [[Double]], y: [Double], standardErrors sigma: [Double], errorsKnown: Bool = true) throws {
        let n = y.count
        guard let p = design.first?.count, p > 0, design.count == n, design.allSatisfy({ $0.count == p }) else {
            throw FitError("the design matrix must have one row of equal length per point")
        }
        guard n > p else { throw FitError("\(p) parameters need more than \(p) points, got \(n)") }
        guard sigma.count == n, sigma.allSatisfy({ $0 > 0 && $0.isFinite }), y.allSatisfy(\.isFinite),
              design.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw FitError("points must be finite and standard errors > 0")
        }
        let X = gsl_matrix_alloc(n, p)!, Y = gsl_vector_alloc(n)!, W = gsl_vector_alloc(n)!
        let c = gsl_vector_alloc(p)!, cov = gsl_matrix_alloc(p, p)!
        let work = gsl_multifit_linear_alloc(n, p)!
        defer {
            gsl_matrix_free(X); gsl_vector_free(Y); gsl_vector_free(W); gsl_vector_free(c); gsl_matrix_free(cov)
            gsl_multifit_linear_free(work)
        }
        for i in 0..<n {
            for j in 0..<p { gsl_matrix_set(X, i, j, design[i][j]) }
            gsl_vector_set(Y, i, y[i])
            gsl_vector_set(W, i, 1 / (sigma[i] * sigma[i]))
        }
        var chisq = 0.0
        let status = gsl_multifit_wlinear(X, W, Y, c, cov, &chisq, work)
        guard status == 0 else { throw FitError("gsl_multifit_wlinear failed with status \(status)") }
        let dof = n - p
        let scale = errorsKnown ? max(chisq / Double(dof), 1) : chisq / Double(dof)
        coefficients = (0..<p).map { gsl_vector_get(c, $0) }
        standardErrors = (0..<p).map { (gsl_matrix_get(cov, $0, $0) * scale).squareRoot() }
        guard standardErrors.allSatisfy(\.isFinite) else { throw FitError("the fit is singular (the points do not determine \(p) parameters)") }
        chiSquared = chisq
        degreesOfFreedom = dof
        goodnessOfFit = gsl_cdf_chisq_Q(chisq, Double(dof))
        inflated = errorsKnown && chisq / Double(dof) > 1
    }
}
