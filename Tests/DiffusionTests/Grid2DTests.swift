import Foundation
import Testing
@testable import Diffusion

/// Backward-Kolmogorov grid solves (Grid2D) against exact references: the separable
/// double well V = x⁴/4 − x²/2 + y²/2, whose exit time through x = 0 is the 1-D quadrature
/// (docs/THEORY.md §1, T(−1) = 30.8213 at ε = 0.1), and symmetry / linearity identities.
@Suite struct Grid2DTests {
    static let quartic: @Sendable (Double) -> Double = { $0 * $0 * $0 * $0 / 4 - $0 * $0 / 2 }
    static func reference(epsilon: Double = 0.1) throws -> Double {
        try MeanFirstPassage1D.meanExitTime(potential: quartic, epsilon: epsilon, start: -1, barrier: 0)
    }
    static let separable = try! Landscape(expression: "x^4/4 - x^2/2 + y^2/2")
    /// Reflecting box; its right edge x = 0 is the exit line (`x >= 0` marks exactly those nodes;
    /// for continuous paths hitting x = 0 is the same event as entering x > 0).
    static let box = Grid2D.Box(x0: -2.5, x1: 0, y0: -2, y1: 2)

    /// nx − 1 = 320·m puts x = −1 on a node (h = 1/(128m)) and keeps the cell Péclet number
    /// |V'(−2.5)|·h/(2ε) = 13.1h/0.2 < 1; ny = 81 (hy = 0.05) does the same in y. The discrete
    /// solution is exactly y-independent, so ny only has to satisfy the Péclet bound.
    func separableExitTime(m: Int, d11: Double = 0.1, d22: Double = 0.1) throws -> Double {
        let p = Grid2D.Problem(landscape: Self.separable, d11: d11, d22: d22, box: Self.box, nx: 320 * m + 1, ny: 81)
        return try Grid2D.meanExitTime(p, exit: { x, _ in x >= 0 })(-1, 0)
    }

    @Test func separableMatchesOneDimensionalQuadrature() throws {
        let reference = try Self.reference()
        #expect(abs(reference - 30.8213) < 1e-4)
        let t = try separableExitTime(m: 4)  // h = 1/512, no extrapolation
        // observed error 6.6e-6 relative at this h (C·h² with C from the convergence test); spec bound 1e-4
        #expect(abs(t - reference) / reference < 1e-4, "T = \(t), reference \(reference)")
    }

    @Test func secondOrderConvergence() throws {
        let reference = try Self.reference()
        let errors = try [1, 2, 4].map { try separableExitTime(m: $0) - reference }
        let orders = [log2(errors[0] / errors[1]), log2(errors[1] / errors[2])]
        // central differences + second-order ghost boundaries: error ∝ h², so ratios ≈ 4
        for order in orders { #expect(order >= 1.8 && order <= 2.2, "errors \(errors), orders \(orders)") }
        // Richardson on h/2, h/4 removes the h² term: what remains is O(h⁴), far below 1e-6
        let richardson = try (4 * separableExitTime(m: 4) - separableExitTime(m: 2)) / 3
        #expect(abs(richardson - reference) / reference < 1e-6, "Richardson \(richardson) vs \(reference)")
    }

    @Test func anisotropicDiagonalDiffusionDecouples() throws {
        let isotropic = try separableExitTime(m: 2)
        let anisotropic = try separableExitTime(m: 2, d11: 0.1, d22: 0.5)
        // the discrete T is exactly y-independent for any D₂₂: only LU rounding differs
        #expect(abs(anisotropic - isotropic) / isotropic < 1e-9, "\(anisotropic) vs \(isotropic)")
    }

    /// The separable problem with D = diag(0.1, 0.5) in its own axes (u, v), rotated by 30°:
    /// V(x, y) = V₀(u, v) with (u, v) = Rᵀ(x, y), D = R·diag(0.1, 0.5)·Rᵀ (D₁₂ = −0.173, so the
    /// 9-point cross stencil is exercised), exit u ≥ 0 — a line not aligned with the grid,
    /// located by bisection. Start R(−1, 0).
    @Test func rotatedAnisotropicProblemReproducesTheReference() throws {
        let reference = try Self.reference()
        let c = cos(Double.pi / 6), s = sin(Double.pi / 6)
        let u = "(\(c)*x + \(s)*y)", v = "(\(-s)*x + \(c)*y)"
        let landscape = try Landscape(expression: "\(u)^4/4 - \(u)^2/2 + \(v)^2/2", variables: ["x", "y"])
        let a = 0.1, b = 0.5
        // the bounding box of u ∈ [−1.8, 0.2], v ∈ [−2.5, 2.5] (beyond it e^{−ΔV/ε}, e^{−v²} < 4e-6);
        // its corners climb the quartic steeply, so those (negligible-density) nodes are upwinded
        let box = Grid2D.Box(x0: -2.85, x1: 1.45, y0: -3.1, y1: 2.3)
        var values: [Double] = []
        for h in [0.025, 0.0125] {
            let p = Grid2D.Problem(landscape: landscape, d11: a * c * c + b * s * s, d12: (a - b) * c * s,
                                   d22: a * s * s + b * c * c, advection: .hybrid, box: box,
                                   nx: Int((4.3 / h).rounded()) + 1, ny: Int((5.4 / h).rounded()) + 1)
            values.append(try Grid2D.meanExitTime(p, exit: { x, y in c * x + s * y >= 0 })(-c, -s))
        }
        // grid error of the finer solve ≈ |T_h − T_{h/2}|/3 for a second-order scheme; allow 3× that
        let gridError = abs(values[0] - values[1])
        #expect(abs(values[1] - reference) < gridError, "T(h) = \(values), reference \(reference)")
        #expect(gridError / reference < 2e-3, "grid error \(gridError)")
    }

    @Test func committorOfPureDiffusionBetweenParallelLinesIsLinear() throws {
        // V = 0, constant anisotropic D with D₁₂ ≠ 0; a: x ≤ −0.93, b: x ≥ 0.87 (off the nodes);
        // walls y = ±1 perpendicular to the lines. The exact committor (x + 0.93)/1.8 is linear,
        // which the stencil and the linear ghost extrapolation reproduce exactly: rounding only.
        let flat = try Landscape(expression: "0*x + 0*y", variables: ["x", "y"])
        let p = Grid2D.Problem(landscape: flat, d11: 0.3, d12: 0.1, d22: 0.2,
                               box: Grid2D.Box(x0: -1, x1: 1, y0: -1, y1: 1), nx: 41, ny: 33)
        let q = try Grid2D.committor(p, a: { x, _ in x <= -0.93 }, b: { x, _ in x >= 0.87 })
        var worst = 0.0
        for j in 0..<q.ny {
            for i in 0..<q.nx {
                let x = q.x(i)
                let exact = x <= -0.93 ? 0 : x >= 0.87 ? 1 : (x + 0.93) / 1.8
                worst = max(worst, abs(q[i, j] - exact))
            }
        }
        #expect(worst < 1e-10, "max deviation \(worst)")
    }

    @Test func symmetricDoubleWellCommittorIsOneHalfAtTheSaddle() throws {
        // a, b: disks of radius 0.2 around the minima (∓1, 0); the grid, the sets and the
        // operator are mirror-symmetric under x → −x, so u(0, 0) = 1/2 up to LU rounding.
        let box = Grid2D.Box(x0: -2, x1: 2, y0: -2, y1: 2)
        let itô = Grid2D.Problem(landscape: Self.separable, d11: 0.1, d22: 0.1, box: box, nx: 161, ny: 161)
        // state-dependent, mirror-symmetric diffusion in divergence form exercises ∇·D
        let divergence = Grid2D.Problem(landscape: Self.separable,
                                        diffusion: { p in (0.1 * (1 + p[0] * p[0] / 4), 0, 0.1 * (1 + p[1] * p[1] / 8)) },
                                        form: .divergence, box: box, nx: 161, ny: 161)
        for p in [itô, divergence] {
            let q = try Grid2D.committor(p, a: { x, y in (x + 1) * (x + 1) + y * y <= 0.04 },
                                         b: { x, y in (x - 1) * (x - 1) + y * y <= 0.04 })
            #expect(abs(q(0, 0) - 0.5) < 1e-9, "u(saddle) = \(q(0, 0))")
            #expect(q(-0.5, 0.3) < 0.5 && q(0.5, 0.3) > 0.5)
            #expect(abs(q(-0.5, 0.3) + q(0.5, 0.3) - 1) < 1e-9)
        }
    }

    @Test func principalEigenvalueIsTheInverseExitTimeWhenMetastable() throws {
        // ε = 0.05 (ΔV/ε = 5): T(−1) = Σₖ cₖ uₖ(−1)/λₖ is dominated by k = 1 with c₁u₁(−1) = 1 + O(λ₁/λ₂),
        // λ₂ ≈ V''(−1) = 2 the in-well relaxation rate, so λ₁·T − 1 = O(λ₁/λ₂) ≈ 1/(2T) ≈ 1e-3;
        // tolerance 5/(2T) covers the constant. At ε = 0.1 (T ≈ 31) the deviation is larger, as it should be.
        let p = Grid2D.Problem(landscape: Self.separable, d11: 0.05, d22: 0.05, box: Self.box, nx: 641, ny: 101)
        let exit: @Sendable (Double, Double) -> Bool = { x, _ in x >= 0 }
        let lambda = try Grid2D.principalEigenvalue(p, exit: exit)
        let t = try Grid2D.meanExitTime(p, exit: exit)(-1, 0)
        let reference = try Self.reference(epsilon: 0.05)
        // h = 1/256 at ε = 0.05: second-order error ~ (0.1/0.05)² × 2.6e-5 (the ε = 0.1 value), so 1e-3
        #expect(abs(t - reference) / reference < 1e-3, "T = \(t), reference \(reference)")
        #expect(abs(lambda * t - 1) < 5 / (2 * t), "λ₁ = \(lambda), T = \(t), λ₁T = \(lambda * t)")
        // from the well bottom the exit takes longer than from the QSD, which has mass nearer the exit
        #expect(lambda * t > 1)
    }

    @Test func finiteSumDiffusionIsHalfEtaTimesTheBatchCovariance() throws {
        let data = LinearRegression.synthetic(samples: 20, dimension: 2, noise: 0.5, seed: 3)
        let landscape = Landscape(finiteSum: data, summary: "regression")
        let p = Grid2D.Problem(finiteSumLandscape: landscape, learningRate: 0.1, batchSize: 4,
                               box: Grid2D.Box(x0: -1, x1: 1, y0: -1, y1: 1), nx: 5, ny: 5)
        let theta = [0.3, -0.2]
        var mean = [0.0, 0.0], cov = [0.0, 0.0, 0.0, 0.0], scratch = [0.0, 0.0]
        theta.withUnsafeBufferPointer { data.gradientCovariance(at: $0.baseAddress!, mean: &mean, covariance: &cov, scratch: &scratch) }
        let d = p.diffusion(theta)
        let scale = 0.1 / 2 / 4  // η/(2B), with replacement
        // same arithmetic on both sides up to one rounding
        #expect(abs(d.d11 - scale * cov[0]) <= 1e-14 * abs(cov[0]) && abs(d.d12 - scale * cov[1]) <= 1e-14 * abs(cov[1])
                && abs(d.d22 - scale * cov[3]) <= 1e-14 * abs(cov[3]))
    }

    /// Metastable problems are ill-conditioned: a factorised solve's relative error is about
    /// ε_mach·(8D/h²)·T (the rounded diagonal acts as a spurious rate ε_mach·8D/h² against the
    /// escape rate 1/T); band LU without refinement gave leading-digit errors (and once a
    /// negative mean) at 513². On the separable double well (T independent of y), Richardson
    /// over 321, 641, 1281 nodes in x must meet its own error estimate against the 1-D MFPT
    /// quadrature at ε = 0.03 (T ≈ 1e4) and ε = 0.01 (T ≈ 1.6e11, where the a-priori bound ε_mach·(8ε/h²)·T is ≈ 1 at 1281
    /// nodes: the refinement's difference-form residuals keep the digits); at
    /// ε ≤ 0.008 (T ≥ 1e14) some level is past ε_mach·cond ≈ 1 and the solve must throw, not
    /// return a number.
    @Test(arguments: [(0.03, true), (0.01, true), (0.008, false), (0.006, false), (0.005, false)])
    func illConditionedSolvesAreRefinedOrRefused(epsilon: Double, solvable: Bool) throws {
        let box = Grid2D.Box(x0: -1.5, x1: 0, y0: -1, y1: 1)
        let exact = try Grid1D.meanExitTimeQuadrature(try Diffusion1D.constant(landscape: Landscape(expression: "x^4/4 - x^2/2"), epsilon: epsilon),
                                                      start: -1, lower: -1.5, upper: 0, lowerBoundary: .reflecting, upperBoundary: .absorbing)
        func level(_ m: Int) throws -> Double {
            let p = Grid2D.Problem(landscape: Self.separable, d11: epsilon, d22: epsilon, advection: .hybrid, box: box, nx: 160 * m + 1, ny: 41)
            return try Grid2D.meanExitTime(p, exit: { x, _ in x >= 0 })(-1, 0)
        }
        if solvable {
            let r = Richardson.extrapolate(try [8, 4, 2].map(level))
            #expect(abs(r.value - exact) <= r.error, "R = \(r.value) ± \(r.error), exact \(exact)")
        } else {
            #expect(throws: Grid2DError.self) { _ = try [8, 4, 2].map(level) }
        }
    }

    @Test func clearErrors() throws {
        // h = 2.5/64: cell Péclet 13.1·0.039/0.2 ≈ 2.6 at x = −2.5
        let coarse = Grid2D.Problem(landscape: Self.separable, d11: 0.1, d22: 0.1, box: Self.box, nx: 65, ny: 81)
        #expect(throws: Grid2DError.self) { try Grid2D.meanExitTime(coarse, exit: { x, _ in x >= 0 }) }
        let fine = Grid2D.Problem(landscape: Self.separable, d11: 0.1, d22: 0.1, box: Self.box, nx: 321, ny: 81)
        #expect(throws: Grid2DError.noAbsorbingNodes) { try Grid2D.meanExitTime(fine, exit: { x, _ in x > 0 }) }
    }
}
