import Foundation
import Testing
@testable import Diffusion

/// Backward-Kolmogorov grid solves in 3-D (Grid3D, docs/THEORY.md §1) against exact
/// references: the separable double well V = x⁴/4 − x²/2 + y²/2 + z²/2, whose exit time
/// through x = 0 is the 1-D MFPT of V₁ = x⁴/4 − x²/2 (reflecting at x = −2.5); a problem
/// constant in z, whose discrete solution is the 2-D solver's; a sphere exit of pure diffusion.
@Suite struct Grid3DTests {
    static let separable = try! Landscape(expression: "x^4/4 - x^2/2 + y^2/2 + z^2/2", variables: ["x", "y", "z"])
    static let box = Grid3D.Box(x0: -2.5, x1: 0, y0: -2, y1: 2, z0: -2, z1: 2)

    /// The 1-D MFPT by quadrature of its formula on [−2.5, 0], reflecting at −2.5.
    static func reference(epsilon: Double = 0.1) throws -> Double {
        try Grid1D.meanExitTimeQuadrature(try Diffusion1D.constant(landscape: Landscape(expression: "x^4/4 - x^2/2"), epsilon: epsilon),
                                          start: -1, lower: -2.5, upper: 0, lowerBoundary: .reflecting, upperBoundary: .absorbing)
    }

    /// nx − 1 = 80·m puts x = −1 on a node of every level (h = 1/(32m)); 17 nodes in y and z
    /// (h = 0.25, upwinded near the faces: Péclet 2·0.25/0.2 = 2.5). The discrete solution is
    /// exactly (y, z)-independent — the 1-D scheme's values satisfy every row — whatever the
    /// y, z weights, so the Richardson triple in x carries its own error estimate.
    @Test func separableMatchesOneDimensionalMFPT() throws {
        let exact = try Self.reference()
        var levels: [Double] = []
        for m in [4, 2, 1] {
            let p = Grid3D.Problem(landscape: Self.separable, d11: 0.1, d22: 0.1, d33: 0.1, advection: .hybrid,
                                   box: Self.box, nx: 80 * m + 1, ny: 17, nz: 17)
            let s = try Grid3D.solveDetailed(p, exit: { x, _, _ in x >= 0 })
            let t = s.function
            levels.append(t(-1, 0, 0))
            // (y, z)-independence: rounding only (the refined solve's estimate, times the values' size, ×10)
            let scale = t.values.reduce(0) { max($0, abs($1)) }
            var spread = 0.0
            for k in 0..<t.nz { for j in 0..<t.ny { for i in 0..<t.nx { spread = max(spread, abs(t[i, j, k] - t[i, 8, 8])) } } }
            #expect(spread <= 10 * max(s.roundingError, Double.ulpOfOne) * scale, "spread \(spread) at m = \(m)")
        }
        let r = Richardson.extrapolate(levels)
        #expect(abs(r.value - exact) <= r.error, "R = \(r.value) ± \(r.error), exact \(exact), levels \(levels)")
    }

    /// A problem constant in z (V without z, D₃₃ constant, the exit a cylinder around a disk
    /// not aligned with the grid) has, on reflecting z-faces, exactly the 2-D discrete
    /// solution on every z-layer: the z-differences vanish and the ghost fractions θ are
    /// bisected along the same x–y segments. Divergence form with a state-dependent diagonal D
    /// exercises ∇·D. Both are the same discrete solution, so only LU rounding differs: the
    /// refined solves estimate theirs at ≈ 1e-16 relative; allow 1e-9 (Grid2DTests' decoupling bound).
    @Test func zIndependentProblemIsTheTwoDimensionalSolution() throws {
        let planar = try Landscape(expression: "x^4/4 - x^2/2 + y^2/2 + 0*z", variables: ["x", "y", "z"])
        let plane = try Landscape(expression: "x^4/4 - x^2/2 + y^2/2")
        let d11: @Sendable (Double) -> Double = { 0.1 * (1 + $0 * $0 / 4) }
        let d22: @Sendable (Double) -> Double = { 0.1 * (1 + $0 * $0 / 8) }
        let n = 61
        let p3 = Grid3D.Problem(landscape: planar, diffusion: { x, y, _ in Grid3D.Matrix(d11: d11(x), d22: d22(y), d33: 0.2) },
                                form: .divergence, advection: .hybrid,
                                box: Grid3D.Box(x0: -2, x1: 2, y0: -2, y1: 2, z0: -1, z1: 1), nx: n, ny: n, nz: 5)
        let p2 = Grid2D.Problem(landscape: plane, diffusion: { q in (d11(q[0]), 0, d22(q[1])) }, form: .divergence,
                                advection: .hybrid, box: Grid2D.Box(x0: -2, x1: 2, y0: -2, y1: 2), nx: n, ny: n)
        let t3 = try Grid3D.meanExitTime(p3, exit: { x, y, _ in (x - 1) * (x - 1) + y * y <= 0.09 })
        let t2 = try Grid2D.meanExitTime(p2, exit: { x, y in (x - 1) * (x - 1) + y * y <= 0.09 })
        let scale = t2.values.reduce(0) { max($0, abs($1)) }
        var worst = 0.0
        for k in 0..<t3.nz { for j in 0..<n { for i in 0..<n { worst = max(worst, abs(t3[i, j, k] - t2[i, j])) } } }
        #expect(worst <= 1e-9 * scale, "max |T3 − T2| = \(worst), max T = \(scale)")
        #expect(t2(-1, 0) > 1)  // a real exit problem, not a trivial one
    }

    /// Pure diffusion (V = 0, D = 0.5) leaving a sphere of radius R = 0.83 whose centre c is off
    /// the nodes: T(x) = (R² − |x − c|²)/(6D) (docs/THEORY.md §1). The sphere is not aligned with
    /// the grid, so this checks the ghost-boundary treatment in 3-D. For a scheme of order p the
    /// finer solve's error is ≈ |T_h − T_{h/2}|/(2^p − 1), at most |T_h − T_{h/2}| for any p ≥ 1:
    /// the bound used (as Grid2DTests' rotated problem). On grids this coarse the irregular
    /// boundary fractions θ keep the observed order below 2, so the p = 2 estimate would not do.
    @Test func sphereExitOfPureDiffusionIsTheClosedForm() throws {
        let flat = try Landscape(expression: "0*x + 0*y + 0*z", variables: ["x", "y", "z"])
        let c = (0.03, -0.02, 0.01), radius = 0.83, d = 0.5
        let exit: Grid3D.Exit = { x, y, z in
            (x - c.0) * (x - c.0) + (y - c.1) * (y - c.1) + (z - c.2) * (z - c.2) >= radius * radius
        }
        let points = [(c.0, c.1, c.2), (0.4, 0.1, -0.2)]
        var values: [[Double]] = []
        for n in [21, 41] {
            let p = Grid3D.Problem(landscape: flat, d11: d, d22: d, d33: d,
                                   box: Grid3D.Box(x0: -1, x1: 1, y0: -1, y1: 1, z0: -1, z1: 1), nx: n, ny: n, nz: n)
            let t = try Grid3D.meanExitTime(p, exit: exit)
            values.append(points.map { t($0.0, $0.1, $0.2) })
        }
        for (q, point) in points.enumerated() {
            let r2 = (point.0 - c.0) * (point.0 - c.0) + (point.1 - c.1) * (point.1 - c.1) + (point.2 - c.2) * (point.2 - c.2)
            let exact = (radius * radius - r2) / (6 * d)
            let gridError = abs(values[0][q] - values[1][q])
            #expect(abs(values[1][q] - exact) <= gridError, "T = \(values.map { $0[q] }), exact \(exact) at \(point)")
        }
    }

    @Test func offDiagonalDiffusionIsRefused() throws {
        let p = Grid3D.Problem(landscape: Self.separable, diffusion: { _, _, _ in Grid3D.Matrix(d11: 0.1, d22: 0.1, d33: 0.1, d13: 0.02) },
                               advection: .hybrid, box: Self.box, nx: 9, ny: 9, nz: 9)
        let error = #expect(throws: GridError.self) { try Grid3D.meanExitTime(p, exit: { x, _, _ in x >= 0 }) }
        #expect(error?.message.contains("off-diagonal") == true && error?.message.contains("D13 = 0.02") == true, "\(String(describing: error))")
        #expect(error?.message.contains("\n") == false)
    }

    /// An artificial 1 MB bound (nothing is allocated): 33³ nodes are estimated at ≈ 0.23 GB.
    @Test func memoryRefusalNamesNodesEstimateAndWhatFits() throws {
        let p = Grid3D.Problem(landscape: Self.separable, d11: 0.1, d22: 0.1, d33: 0.1, advection: .hybrid,
                               box: Self.box, nx: 33, ny: 33, nz: 33)
        let bound = 1e6
        let error = #expect(throws: GridError.self) { try Grid3D.solveDetailed(p, exit: { x, _, _ in x >= 0 }, memoryBound: bound) }
        let fits = Grid3D.largestNodes(within: bound)
        #expect(Grid3D.estimatedFactorBytes(nodes: fits) <= bound && Grid3D.estimatedFactorBytes(nodes: fits + 1) > bound)
        let message = error?.message ?? ""
        #expect(message.contains("35937 nodes") && message.contains("at most \(fits) nodes") && !message.contains("\n"), "\(message)")
        // the default bound: half the physical memory
        #expect(Grid3D.memoryBound == Grid3D.physicalMemory / 2 && Grid3D.memoryBound > 0)
    }

    @Test func wrongDimensionAndTooFewNodesAreRefused() throws {
        let plane = try Landscape(expression: "x^2 + y^2")
        let p = Grid3D.Problem(landscape: plane, d11: 0.1, d22: 0.1, d33: 0.1, box: Self.box, nx: 9, ny: 9, nz: 9)
        #expect(throws: GridError.self) { try Grid3D.meanExitTime(p, exit: { x, _, _ in x >= 0 }) }
        let few = Grid3D.Problem(landscape: Self.separable, d11: 0.1, d22: 0.1, d33: 0.1, box: Self.box, nx: 2, ny: 9, nz: 9)
        #expect(throws: GridError.self) { try Grid3D.meanExitTime(few, exit: { x, _, _ in x >= 0 }) }
        // h = 2.5/32: cell Péclet 13.1·0.078/0.2 ≈ 5 at x = −2.5 with central advection
        let coarse = Grid3D.Problem(landscape: Self.separable, d11: 0.1, d22: 0.1, d33: 0.1, box: Self.box, nx: 33, ny: 9, nz: 9)
        let error = #expect(throws: GridError.self) { try Grid3D.meanExitTime(coarse, exit: { x, _, _ in x >= 0 }) }
        #expect(error?.message.contains("Péclet") == true)
    }

    /// The reference's Richardson triple 33, 17, 9 on the cube: within its own error estimate of
    /// the 1-D MFPT (start (−1, 0, 0) is a node of no level: trilinear interpolation included).
    @Test func referenceOnTheCubeMeetsItsErrorEstimate() throws {
        let problem = try ExitProblem(landscape: Self.separable, dynamics: .langevin(epsilon: 0.1), dt: 1e-3,
                                      start: [-1, 0, 0], exit: .condition("x >= 0"), maxSteps: 1)
        let r = try BackwardKolmogorovReference(problem: problem, form: .ito, domain: Self.box, nodes: 33)
        let exact = try Self.reference()
        #expect(abs(r.time - exact) <= r.timeError, "T = \(r.time) ± \(r.timeError), exact \(exact)")
        #expect(throws: GridError.self) {
            try BackwardKolmogorovReference.check(problem: problem, domain: Self.box, nodes: 129)  // 2.1e6 nodes: past the memory bound
        }
    }
}
