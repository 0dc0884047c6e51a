import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// `RegressionGradientMoments` (Σ(θ) of a linear regression in O(d⁴)) against the sample loop
/// `FiniteSum.sampledGradientCovariance`.
@Suite struct RegressionMomentsTests {
    /// d = 1…4, n = 40 noisy samples, 20 points up to 3 away from θ*: every entry of Σ and ḡ
    /// agrees with the sample loop to 1e-12 of the second moments' scale (1/n)Σ|gᵢ|² (both are
    /// second-moment-minus-mean forms; their rounding is a few ε of that scale).
    @Test(arguments: 1...4)
    func momentsEqualTheSampleLoop(_ d: Int) throws {
        let regression = LinearRegression.synthetic(samples: 40, dimension: d, noise: 0.5, seed: UInt64(d))
        let moments = try #require(regression.moments)
        var rng = SplitMix64(seed: 9)
        for _ in 0..<20 {
            let theta = moments.center.map { $0 + rng.uniform(-3, 3) }
            var m1 = [Double](repeating: 0, count: d), m2 = m1, s = m1
            var c1 = [Double](repeating: 0, count: d * d), c2 = c1
            theta.withUnsafeBufferPointer { t in
                regression.gradientCovariance(at: t.baseAddress!, mean: &m1, covariance: &c1, scratch: &s)
                regression.sampledGradientCovariance(at: t.baseAddress!, mean: &m2, covariance: &c2, scratch: &s)
            }
            let scale = (0..<d).reduce(0.0) { $0 + c2[$1 * d + $1] + m2[$1] * m2[$1] }
            for k in 0..<(d * d) { #expect(abs(c1[k] - c2[k]) <= 1e-12 * scale, "Σ entry \(k): \(c1[k]) against \(c2[k])") }
            for j in 0..<d { #expect(abs(m1[j] - m2[j]) <= 1e-12 * scale.squareRoot(), "ḡ \(j)") }
        }
    }

    /// Interpolated data (no noise): at θ* the moments give Σ of the order of the residuals'
    /// rounding, ≤ 1e-20 of (1/n)Σ|aᵢ|²|yᵢ|², where an expansion about 0 would leave ~1e-16.
    @Test func interpolatedDataHaveNoNoiseAtTheMinimum() throws {
        let regression = LinearRegression.synthetic(samples: 30, dimension: 3, noise: 0, seed: 4)
        let moments = try #require(regression.moments)
        var mean = [Double](repeating: 0, count: 3), scratch = mean
        var sigma = [Double](repeating: 0, count: 9)
        moments.center.withUnsafeBufferPointer {
            regression.gradientCovariance(at: $0.baseAddress!, mean: &mean, covariance: &sigma, scratch: &scratch)
        }
        var scale = 0.0
        for i in 0..<30 {
            let a2 = (0..<3).reduce(0.0) { $0 + pow(regression.features[i * 3 + $1], 2) }
            scale += a2 * pow(regression.targets[i], 2) / 30
        }
        #expect(sigma.allSatisfy { abs($0) <= 1e-20 * scale }, "\(sigma) against \(scale)")
    }

    /// No moments past d = 4 or with n ≤ d².
    @Test func momentsOnlyWhereTheyPay() {
        #expect(LinearRegression.synthetic(samples: 100, dimension: 5, noise: 1, seed: 1).moments == nil)
        #expect(LinearRegression.synthetic(samples: 9, dimension: 3, noise: 1, seed: 1).moments == nil)
        #expect(LinearRegression.synthetic(samples: 10, dimension: 3, noise: 1, seed: 1).moments != nil)
    }
}

/// The 2×2 closed-form root (`SymmetricSquareRoot`, Golub & Van Loan 8.5.1): S Sᵀ equals A⁺,
/// |A| or A to 1e-14 of max|A| on random symmetric matrices, both signs of eigenvalues and
/// diagonal ones; a non-finite entry gives NaN, an eigenvalue below the semidefinite floor
/// NaN in its column (as the GSL route: the path then ends as diverged).
@Suite struct SquareRootTests {
    @Test func twoByTwoRootReproducesTheMatrix() {
        let root = SymmetricSquareRoot(dimension: 2)
        var rng = SplitMix64(seed: 2)
        var cases: [[Double]] = [[2, 0, 0, 3], [1, 0, 0, -1], [0, 0, 0, 0], [1e-300, 1e-310, 1e-310, 2e-300]]
        for _ in 0..<200 { let b = rng.uniform(-2, 2); cases.append([rng.uniform(-2, 2), b, b, rng.uniform(-2, 2)]) }
        for a in cases {
            let l = (a[0] + a[3]) / 2, r = (pow((a[0] - a[3]) / 2, 2) + a[1] * a[1]).squareRoot()
            let eigen = [l - r, l + r]
            let top = max(a.map(abs).max()!, Double.leastNormalMagnitude)
            for spectrum in [SymmetricSquareRoot.Spectrum.positivePart, .absolute] {
                var s = [Double](repeating: 0, count: 4)
                root.root(a, into: &s, spectrum: spectrum)
                // the target: the same eigenvectors with the spectrum's eigenvalues
                let f: (Double) -> Double = spectrum == .positivePart ? { max($0, 0) } : { abs($0) }
                let sst = [s[0] * s[0] + s[1] * s[1], s[0] * s[2] + s[1] * s[3], s[2] * s[2] + s[3] * s[3]]
                // S Sᵀ has eigenvalues f(λ): check its trace and determinant
                let trace = sst[0] + sst[2], det = sst[0] * sst[2] - sst[1] * sst[1]
                #expect(abs(trace - (f(eigen[0]) + f(eigen[1]))) <= 1e-13 * top, "\(a) \(spectrum)")
                #expect(abs(det - f(eigen[0]) * f(eigen[1])) <= 1e-13 * top * top, "\(a) \(spectrum)")
                if spectrum == .absolute || eigen[0] >= 0 {
                    // then S Sᵀ = |A| or A: compare entries where A is semidefinite
                    if eigen[0] >= 0 { #expect(abs(sst[0] - a[0]) + abs(sst[1] - a[1]) + abs(sst[2] - a[3]) <= 1e-13 * top, "\(a)") }
                }
            }
            var s = [Double](repeating: 0, count: 4)
            root.root(a, into: &s, spectrum: .semidefinite)
            if eigen[0] < -1e-9 * top { #expect(s.contains { $0.isNaN }, "\(a)") }
        }
        var s = [Double](repeating: 0, count: 4)
        root.root([Double.nan, 0, 0, 1], into: &s, spectrum: .positivePart)
        #expect(s.allSatisfy { $0.isNaN })
    }
}
