import Foundation
import Testing
@testable import Diffusion

/// Geometric minimum action method (docs/THEORY.md §2) against closed forms. The reported
/// action is that of the spline through the nodes, an upper bound with error O(h⁴) in the
/// spacing h (h ≈ 1/100 here, so ≈ 1e-8 × curvature terms); the 1e-4 relative tolerances
/// the component must meet are therefore loose by orders of magnitude.
@Suite struct MinimumActionTests {
    /// Curved double well: minima (±1, 0.3), index-1 saddle (0, 0), ΔL = 1/4.
    static let curved = "(x^2 - 1)^2/4 + (y - 0.3*x^2)^2"

    static func identity(_ v: Double) -> MinimumAction.Covariance { { _ in [v, 0, 0, v] } }

    static func angle(_ u: [Double], _ v: [Double]) -> Double {
        let dot = zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }
        let nu = u.reduce(0) { $0 + $1 * $1 }.squareRoot(), nv = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return acos(min(1, max(-1, dot / (nu * nv))))
    }

    /// Composite Simpson on [a, b] with `m` (even) intervals: error ≈ (b−a)h⁴ f⁗/180.
    static func simpson(_ a: Double, _ b: Double, _ m: Int = 2000, _ f: (Double) -> Double) -> Double {
        let h = (b - a) / Double(m)
        var s = f(a) + f(b)
        for i in 1..<m { s += (i % 2 == 1 ? 4 : 2) * f(a + Double(i) * h) }
        return s * h / 3
    }

    @Test(arguments: [1.0, 0.5])
    func isotropicActionIsTwiceTheBarrier(sigma2: Double) throws {
        let landscape = try Landscape(expression: Self.curved)
        let p = try MinimumAction.path(on: landscape, from: [-1, 0.3], to: [0, 0],
                                       covariance: Self.identity(sigma2))
        let exact = 2 * 0.25 / sigma2
        // spline action: O(h⁴) upper bound, h ≈ 0.013 (measured 3e-8 relative at 100 nodes, 16× less per doubling)
        #expect(p.converged)
        #expect(abs(p.action - exact) < 1e-4 * exact, "action \(p.action) vs \(exact), \(p.iterations) iterations")
        #expect(p.action > exact - 1e-12, "the spline action is the action of a path: an upper bound")
        // tangent ∥ ∇L: the nodes lie on the heteroclinic orbit to O(h²), so the central-difference
        // tangent is off by O(h) rad near the minimum (where |∇L| ~ h) and O(h²) elsewhere
        let pts = p.points
        var worst = 0.0
        for k in 1..<(pts.count - 1) {
            let tangent = zip(pts[k + 1], pts[k - 1]).map { $0 - $1 }
            worst = max(worst, Self.angle(tangent, landscape.gradient(at: pts[k])))
        }
        #expect(worst < 0.02, "largest angle between tangent and ∇L: \(worst) rad")
    }

    @Test func pathOverTheSaddlePassesThroughIt() throws {
        // minimum → other minimum: uphill to the saddle costs 2ΔL, the downhill half nothing
        let landscape = try Landscape(expression: Self.curved)
        let p = try MinimumAction.path(on: landscape, from: [-1, 0.3], to: [1, 0.3], nodes: 151)
        let spacing = zip(p.points[1], p.points[0]).map { $0 - $1 }.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let closest = p.points.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }.min()!
        #expect(p.converged)
        #expect(abs(p.action - 0.5) < 1e-4 * 0.5, "action \(p.action)")
        #expect(closest <= spacing, "closest node \(closest) from the saddle, spacing \(spacing)")
        #expect(p.maxPoint.reduce(0) { $0 + $1 * $1 }.squareRoot() <= spacing, "max point \(p.maxPoint)")
        // basin barrier over the two saddle-like candidates picks the true saddle
        let b = try MinimumAction.basinBarrier(on: landscape, minimum: [-1, 0.3], saddles: [[0, 0], [-1, 2]])
        #expect(abs(b.action - 0.5) < 1e-4 * 0.5 && b.points.last! == [0, 0])
    }

    @Test func ornsteinUhlenbeckAnisotropicNoise() throws {
        // L = ½xᵀHx, b = −Hx, constant Σ: V(0 → y) = ½ yᵀQ⁻¹y with HQ + QH = Σ (Lyapunov)
        let h = [[2.0, 0.5], [0.5, 1.0]], sigma = [[1.0, 0.3], [0.3, 0.5]]
        let landscape = try Landscape(expression: "x^2 + 0.5*x*y + 0.5*y^2")
        // unknowns (q11, q12, q22): 2(h11 q11 + h12 q12) = s11; h12 q11 + (h11+h22) q12 + h12 q22 = s12;
        // 2(h12 q12 + h22 q22) = s22 — solved by Cramer's rule
        let m = [[2 * h[0][0], 2 * h[0][1], 0], [h[0][1], h[0][0] + h[1][1], h[0][1]], [0, 2 * h[0][1], 2 * h[1][1]]]
        let rhs = [sigma[0][0], sigma[0][1], sigma[1][1]]
        func det(_ a: [[Double]]) -> Double {
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        }
        let q = (0..<3).map { c in det(m.enumerated().map { r, row in row.enumerated().map { $0.offset == c ? rhs[r] : $0.element } }) / det(m) }
        let (q11, q12, q22) = (q[0], q[1], q[2])
        let y = [1.0, -1.0]
        let detQ = q11 * q22 - q12 * q12
        let exact = 0.5 * (q22 * y[0] * y[0] - 2 * q12 * y[0] * y[1] + q11 * y[1] * y[1]) / detQ
        let flat = sigma.flatMap { $0 }
        let p = try MinimumAction.path(on: landscape, from: [0, 0], to: y, covariance: { _ in flat })
        // O(h⁴) spline action, h ≈ 0.015; the path ends at y exactly
        #expect(p.converged)
        #expect(abs(p.action - exact) / exact < 1e-4, "action \(p.action) vs \(exact)")
        #expect(p.points.last! == y && p.points.first! == [0, 0])
        // the path is curved: its middle node is off the chord by far more than the O(h²) error
        let mid = p.points[p.points.count / 2]
        let offChord = abs(mid[0] * y[1] - mid[1] * y[0]) / (y[0] * y[0] + y[1] * y[1]).squareRoot()
        #expect(offChord > 0.05, "distance of the middle node from the chord: \(offChord)")
    }

    @Test func oneDimensionalStateDependentNoise() throws {
        // σ²(x) = 0.5 + 0.2x²: V(−1 → 0) = 2∫_{−1}^{0} L'/σ² (and the downhill part to +1 is free)
        let landscape = try Landscape(expression: "x^4/4 - x^2/2")
        let sigma2: @Sendable (Double) -> Double = { 0.5 + 0.2 * $0 * $0 }
        let exact = Self.simpson(-1, 0) { x in 2 * (x * x * x - x) / sigma2(x) }
        for end in [0.0, 1.0] {
            // 101 nodes put one at the barrier top 0, where the integrand has a kink (uphill → free)
            let p = try MinimumAction.path(on: landscape, from: [-1], to: [end], covariance: { [sigma2($0[0])] },
                                           nodes: end == 0 ? 100 : 101)
            // 5-point Gauss–Legendre per interval of width ≤ 0.02 on a smooth piece: ~1e-14 relative
            #expect(abs(p.action - exact) < 1e-10 * exact, "end \(end): action \(p.action) vs \(exact)")
            #expect(p.converged && p.iterations == 0)
        }
    }

    @Test func finiteSumMultiplicativeNoise() throws {
        // ℓᵢ = ½ aᵢ x²: L' = āx, Σ(x) = Var(a)x², so V(x₀ → x₁) = 2∫ āx/(Var(a)x²) = (2ā/Var a) ln(x₁/x₀)
        let a = [0.5, 1.0, 2.0, 4.0, 8.0]
        let landscape = Landscape(finiteSum: QuadraticSums(matrices: a.map { [$0] }, minimizer: [0]), summary: "test")
        let meanA = a.reduce(0, +) / 5
        let varA = a.reduce(0) { $0 + ($1 - meanA) * ($1 - meanA) } / 5
        let exact = 2 * meanA / varA * log(10)
        let sigma = try MinimumAction.covariance(for: .finiteSum, on: landscape)
        let p = try MinimumAction.path(on: landscape, from: [0.1], to: [1], covariance: sigma)
        // integrand ∝ 1/x on [0.1, 1]: Gauss–Legendre error per interval ~ (h/x)^10, ≪ 1e-10
        #expect(abs(p.action - exact) < 1e-10 * exact, "action \(p.action) vs \(exact)")
    }

    @Test func steepnessOfLinearRegression() throws {
        // 1-D least squares: Σ(θ) = Var_i(aᵢ(aᵢθ − yᵢ)) > 0 everywhere; the steepness to leave
        // (θ* − r, θ* + r) is the smaller of 2∫L'/Σ towards either side
        let features = [0.3, -1.2, 0.8, 1.5, -0.4, 2.0]
        let targets = [0.5, -0.7, 1.1, 0.9, 0.2, 1.6]
        let reg = LinearRegression(features: features.map { [$0] }, targets: targets)
        let landscape = Landscape(finiteSum: reg, summary: "regression")
        let n = Double(features.count)
        let theta = zip(features, targets).reduce(0) { $0 + $1.0 * $1.1 } / features.reduce(0) { $0 + $1 * $1 }
        func slope(_ t: Double) -> Double { zip(features, targets).reduce(0) { $0 + $1.0 * ($1.0 * t - $1.1) } / n }
        func variance(_ t: Double) -> Double {
            let g = zip(features, targets).map { $0 * ($0 * t - $1) }
            let m = g.reduce(0, +) / n
            return g.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n
        }
        let r = 0.7
        let right = Self.simpson(theta, theta + r) { 2 * slope($0) / variance($0) }
        let left = Self.simpson(theta - r, theta) { -2 * slope($0) / variance($0) }
        let s = try MinimumAction.steepness(on: landscape, minimum: [theta], saddles: [[theta - r], [theta + r]])
        // both quadratures are accurate to ~1e-12 on this smooth integrand
        #expect(abs(s - min(left, right)) < 1e-9 * min(left, right), "steepness \(s) vs \(left), \(right)")
    }

    @Test func steepnessUnderGaussianNoiseLaw() throws {
        let landscape = try Landscape(expression: Self.curved)
        let s = try MinimumAction.steepness(on: landscape, minimum: [-1, 0.3], saddles: [[0, 0]],
                                            noise: .gaussian(sigma: 2))
        #expect(abs(s - 2 * 0.25 / 4) < 1e-4 * 0.125, "steepness \(s)")  // 2ΔL/σ², as above
    }

    @Test func badInputThrows() throws {
        let landscape = try Landscape(expression: Self.curved)
        #expect(throws: MinimumActionError.self) { try MinimumAction.path(on: landscape, from: [-1], to: [0, 0]) }
        #expect(throws: MinimumActionError.self) { try MinimumAction.path(on: landscape, from: [0, 0], to: [0, 0]) }
        #expect(throws: MinimumActionError.self) {
            try MinimumAction.path(on: landscape, from: [-1, 0.3], to: [0, 0], covariance: { _ in [1, 2, 2, 1] })
        }
        #expect(throws: MinimumActionError.self) {
            try MinimumAction.path(on: landscape, from: [-1, 0.3], to: [0, 0], covariance: { _ in [1] })
        }
        #expect(throws: MinimumActionError.self) {
            try MinimumAction.steepness(on: landscape, minimum: [-1, 0.3], saddles: [[0, 0]])  // no noise law
        }
        #expect(throws: MinimumActionError.self) {
            try MinimumAction.steepness(on: landscape, minimum: [-1, 0.3], saddles: [[0, 0]], noise: .alphaStable(sigma: 1, alpha: 1.5))
        }
        // Hessian noise is singular at the saddle (H⁺ drops the negative direction)
        #expect(throws: MinimumActionError.self) {
            try MinimumAction.steepness(on: landscape, minimum: [-1, 0.3], saddles: [[0, 0]], noise: .hessian(scale: 1))
        }
    }
}
