/// The per-sample gradient moments of a linear regression, so that its gradient covariance
/// Σ(θ) costs O(d⁴) per evaluation instead of O(n·d²): the SDE of SGD on a regression with many
/// samples then steps about as fast as SGD itself (issue 15).
///
/// With residuals rᵢ(θ) = aᵢᵀθ − yᵢ and gᵢ = rᵢaᵢ (docs/THEORY.md §0), expand about a centre
/// θ_c, u = θ − θ_c, rᵢ(θ) = r̂ᵢ + aᵢᵀu with r̂ᵢ = rᵢ(θ_c). Then exactly
///
///     ḡ(θ) = m + H u,              m = (1/n)Σ r̂ᵢ aᵢ,   H = (1/n)Σ aᵢaᵢᵀ,
///     (1/n)Σ gᵢgᵢᵀ = A + 2B[u] + C[u, u],
///         A_ab = (1/n)Σ r̂ᵢ² a_a a_b,  B_abc = (1/n)Σ r̂ᵢ a_a a_b a_c,  C_abcd = (1/n)Σ a_a a_b a_c a_d,
///     Σ(θ) = (1/n)Σ gᵢgᵢᵀ − ḡḡᵀ,
///
/// the same second-moment-minus-mean form as `FiniteSum.sampledGradientCovariance`. The
/// centre is the least-squares minimizer θ* (zero when the design is rank-deficient): where
/// the data are interpolated, r̂ is rounding (≈ ε|y|), so Σ near θ* is of order ε²|y|², as
/// the sample loop gives, not a difference of O(|y|²) numbers (which expanding about 0 would
/// give). Rounding otherwise differs from the sample loop's (other sums, other order).
public struct RegressionGradientMoments: Sendable {
    /// Moments are kept up to this dimension (C has d⁴ entries).
    public static let dimensionLimit = 4

    public let center: [Double]
    let d: Int
    let m: [Double], h: [Double], a: [Double], b: [Double], c: [Double]

    /// The moments of `regression`, or nil when d exceeds `dimensionLimit` or n ≤ d² (then
    /// the sample loop costs no more).
    init?(_ regression: LinearRegression) {
        let n = regression.sampleCount, d = regression.dimension
        guard d <= RegressionGradientMoments.dimensionLimit, n > d * d else { return nil }
        let center = (try? regression.leastSquaresMinimizer()) ?? nil ?? [Double](repeating: 0, count: d)
        self.center = center
        self.d = d
        var m = [Double](repeating: 0, count: d), h = [Double](repeating: 0, count: d * d)
        var a = h, b = [Double](repeating: 0, count: d * d * d), c = [Double](repeating: 0, count: d * d * d * d)
        let w = 1.0 / Double(n)
        let x = regression.features
        for i in 0..<n {
            var r = -regression.targets[i]
            for j in 0..<d { r += x[i * d + j] * center[j] }
            for p in 0..<d {
                let xp = x[i * d + p]
                m[p] += w * r * xp
                for q in 0..<d {
                    let xpq = xp * x[i * d + q]
                    h[p * d + q] += w * xpq
                    a[p * d + q] += w * r * r * xpq
                    for s in 0..<d {
                        let xpqs = xpq * x[i * d + s]
                        b[(p * d + q) * d + s] += w * r * xpqs
                        for t in 0..<d { c[((p * d + q) * d + s) * d + t] += w * xpqs * x[i * d + t] }
                    }
                }
            }
        }
        self.m = m; self.h = h; self.a = a; self.b = b; self.c = c
    }

    /// Σ(θ) (row-major d×d, exactly symmetric) and ∇L(θ) into `mean`; `scratch` holds d doubles.
    @inline(__always)
    func covariance(at theta: UnsafePointer<Double>, mean: UnsafeMutablePointer<Double>,
                    covariance: UnsafeMutablePointer<Double>, scratch u: UnsafeMutablePointer<Double>) {
        for j in 0..<d { u[j] = theta[j] - center[j] }
        for p in 0..<d {
            var g = m[p]
            for q in 0..<d { g += h[p * d + q] * u[q] }
            mean[p] = g
        }
        for p in 0..<d {
            for q in p..<d {
                var linear = 0.0, quadratic = 0.0
                for s in 0..<d {
                    let base = (p * d + q) * d + s
                    linear += b[base] * u[s]
                    var inner = 0.0
                    for t in 0..<d { inner += c[base * d + t] * u[t] }
                    quadratic += inner * u[s]
                }
                let v = a[p * d + q] + 2 * linear + quadratic - mean[p] * mean[q]
                covariance[p * d + q] = v
                covariance[q * d + p] = v
            }
        }
    }
}
