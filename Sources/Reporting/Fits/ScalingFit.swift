import Foundation
internal import CGSL

/// A straight-line fit `y = a + b·x` by weighted least squares (GSL `gsl_fit_wlinear`),
/// weights 1/σᵢ² from each point's standard error, with a 95 % confidence interval for the
/// slope and intercept and a χ² goodness-of-fit test.
///
/// The errors σᵢ are treated as known (Monte Carlo standard errors), so the parameter
/// covariance is (XᵀWX)⁻¹ and the intervals use z = 1.96 (Bevington & Robinson,
/// *Data Reduction and Error Analysis*, ch. 6). When χ²/(n−2) > 1 — scatter larger than the
/// stated errors, e.g. a discretisation bias or a law that is not exactly linear — the
/// covariance is inflated by χ²/(n−2) (Birge ratio) and `inflated` says so.
public struct LinearFit: Sendable, Equatable {
    public let intercept: Double
    public let slope: Double
    public let interceptStandardError: Double
    public let slopeStandardError: Double
    public let covariance: Double
    public let chiSquared: Double
    public let degreesOfFreedom: Int
    /// P(χ²_{n−2} ≥ observed): small values mean the line does not describe the points.
    public let goodnessOfFit: Double
    public let inflated: Bool

    public var slopeCI95: [Double] { [slope - 1.96 * slopeStandardError, slope + 1.96 * slopeStandardError] }
    public var interceptCI95: [Double] { [intercept - 1.96 * interceptStandardError, intercept + 1.96 * interceptStandardError] }

    /// `errorsKnown: false` treats the σᵢ as relative weights only (ordinary least squares
    /// for deterministic values): the covariance is then always scaled by χ²/(n−2), the
    /// residual variance, so a perfect line has a zero-width interval.
    public init(x: [Double], y: [Double], standardErrors: [Double], errorsKnown: Bool = true) throws {
        guard x.count == y.count, y.count == standardErrors.count else {
            throw FitError("x, y and standard errors must have the same length, got \(x.count), \(y.count), \(standardErrors.count)")
        }
        guard x.count >= 3 else { throw FitError("a line with error bars needs at least 3 points, got \(x.count)") }
        guard standardErrors.allSatisfy({ $0 > 0 && $0.isFinite }), x.allSatisfy(\.isFinite), y.allSatisfy(\.isFinite) else {
            throw FitError("points must be finite and standard errors > 0")
        }
        guard Set(x).count >= 2 else { throw FitError("x must take at least two distinct values") }
        let w = standardErrors.map { 1 / ($0 * $0) }
        var c0 = 0.0, c1 = 0.0, cov00 = 0.0, cov01 = 0.0, cov11 = 0.0, chisq = 0.0
        let n = x.count
        let status = x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                w.withUnsafeBufferPointer { wp in
                    gsl_fit_wlinear(xp.baseAddress, 1, wp.baseAddress, 1, yp.baseAddress, 1, n,
                                    &c0, &c1, &cov00, &cov01, &cov11, &chisq)
                }
            }
        }
        guard status == 0 else { throw FitError("gsl_fit_wlinear failed with status \(status)") }
        let dof = n - 2
        let birge = chisq / Double(dof)
        let scale = errorsKnown ? max(birge, 1) : birge
        intercept = c0
        slope = c1
        interceptStandardError = (cov00 * scale).squareRoot()
        slopeStandardError = (cov11 * scale).squareRoot()
        covariance = cov01 * scale
        chiSquared = chisq
        degreesOfFreedom = dof
        goodnessOfFit = gsl_cdf_chisq_Q(chisq, Double(dof))
        inflated = errorsKnown && birge > 1
    }
}

public struct FitError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Scaling laws of mean exit times (docs/THEORY.md §5): Arrhenius `log E τ = a + S·x` with
/// x = 1/ε, 1/η or B/η, and power laws `log E τ = a + p·log x`. Points carry the Monte Carlo
/// standard error of E τ; on the log scale σ_{log τ} = SE/τ (delta method, first order — its
/// bias is O((SE/τ)²), below 10⁻⁴ for the ≥ 10³-path cells these fits are meant for).
public enum ScalingFit {
    public static func arrhenius(x: [Double], meanTimes: [Double], standardErrors: [Double]) throws -> LinearFit {
        guard meanTimes.allSatisfy({ $0 > 0 }) else { throw FitError("mean exit times must be > 0 for a log fit") }
        return try LinearFit(x: x, y: meanTimes.map { log($0) },
                             standardErrors: zip(standardErrors, meanTimes).map { $0.0 / $0.1 })
    }

    public static func powerLaw(x: [Double], meanTimes: [Double], standardErrors: [Double]) throws -> LinearFit {
        guard x.allSatisfy({ $0 > 0 }) else { throw FitError("x must be > 0 for a power-law fit") }
        return try arrhenius(x: x.map { log($0) }, meanTimes: meanTimes, standardErrors: standardErrors)
    }
}
