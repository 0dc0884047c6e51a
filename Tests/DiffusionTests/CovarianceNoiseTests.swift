import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// The `covariance` noise law, `hessian` with `curvature = .absolute` and `loss-proportional`
/// with a fixed `hessianScale` (docs/THEORY.md §0, §2): the covariance each law gives, the
/// backward-Kolmogorov grid (both Fokker–Planck forms) against an independent quadrature of
/// the 1-D MFPT formula, the `xie` and `mori` formulas against those exact values as B/η
/// grows, and Monte Carlo of the SDE against the grid.
@Suite struct CovarianceNoiseTests {
    static let doubleWell = "x^4/4 - x^2/2"
    static func slope(_ x: Double) -> Double { x * x * x - x }

    /// The MFPT `T(x₀)` of `dX = −V'dt + √(2D)dW` on [lo, b], b absorbing, lo reflecting or
    /// absorbing (Gardiner §5.2.7), written independently of `Grid1D`: with Φ' = V'/D,
    /// scale density s' (Itô e^Φ, divergence e^Φ/D) and speed density m (Itô e^{−Φ}/D,
    /// divergence e^{−Φ}), M(y) = ∫_lo^y m, S(y) = ∫_lo^y s', K(y) = ∫_lo^y s'·M, the solution
    /// of (1/m)(T'/s')' = −1 has T' = s'(C − M), with C = 0 (reflecting lo: T'(lo) = 0) or
    /// C = K(b)/S(b) (absorbing lo: T(lo) = 0), and T(b) = 0. The ODE system (Φ, M, S, K)
    /// is integrated by classical fourth-order Runge–Kutta from lo through x₀ to b in `steps`
    /// steps per segment; the caller checks convergence by halving the step.
    static func quadratureMFPT(slope: (Double) -> Double, diffusion: (Double) -> Double, form: FokkerPlanckForm,
                               lower lo: Double, upper b: Double, start x0: Double, reflectingLower: Bool,
                               steps: Int, breakpoints: [Double] = []) -> Double {
        func rhs(_ y: Double, _ u: [Double]) -> [Double] {
            let d = diffusion(y), phi = u[0]
            let m = form == .ito ? exp(-phi) / d : exp(-phi)
            let sp = form == .ito ? exp(phi) : exp(phi) / d
            return [slope(y) / d, m, sp, sp * u[1]]
        }
        func integrate(_ u0: [Double], from a: Double, to c: Double) -> [Double] {
            var u = u0
            let h = (c - a) / Double(steps)
            for k in 0..<steps {
                let y = a + Double(k) * h
                let k1 = rhs(y, u)
                let k2 = rhs(y + h / 2, zip(u, k1).map { $0 + h / 2 * $1 })
                let k3 = rhs(y + h / 2, zip(u, k2).map { $0 + h / 2 * $1 })
                let k4 = rhs(y + h, zip(u, k3).map { $0 + h * $1 })
                for i in 0..<4 { u[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) }
            }
            return u
        }
        // segment ends at x₀ and at the breakpoints (where D jumps, so that no step straddles a jump)
        let points = Array(Set([lo, x0, b] + breakpoints.filter { $0 > lo && $0 < b })).sorted()
        var u = [0.0, 0, 0, 0], atStart = u
        for k in 1..<points.count {
            u = integrate(u, from: points[k - 1], to: points[k])
            if points[k] == x0 { atStart = u }
        }
        let atEnd = u
        // T'(y) = s'(y)(C − M(y)), T(b) = 0: T(x₀) = K(b) − K(x₀) − C(S(b) − S(x₀))
        let c = reflectingLower ? 0 : atEnd[3] / atEnd[2]
        return (atEnd[3] - atStart[3]) - c * (atEnd[2] - atStart[2])
    }

    /// The grid's MFPT against `quadratureMFPT` for one problem, in both forms: relative 1e-6
    /// (the grid's Richardson-extrapolated error is ≈ 1e-9 here; the quadrature's is checked
    /// by halving its step, below 1e-10).
    static func checkAgainstQuadrature(_ problem: ExitProblem, diffusion: @escaping (Double) -> Double,
                                       reflectingLower: Bool, breakpoints: [Double] = [], slope: @escaping (Double) -> Double = slope,
                                       _ what: String) throws {
        for form in FokkerPlanckForm.allCases {
            let grid = try BackwardKolmogorovReference(problem: problem, form: form)
            var t = grid.time
            if case .sgd(let eta, _, _, _) = problem.dynamics { t *= eta }
            let q = { (steps: Int) in
                quadratureMFPT(slope: slope, diffusion: diffusion, form: form, lower: grid.lower, upper: grid.upper,
                               start: problem.start[0], reflectingLower: reflectingLower, steps: steps, breakpoints: breakpoints)
            }
            let coarse = q(20_000), fine = q(40_000)
            print("\(what) \(form.rawValue): grid \(t) (± \(grid.timeError)), quadrature \(fine) (halving changed it by \(abs(fine - coarse) / fine))")
            #expect(abs(fine - coarse) < 1e-10 * fine, "\(what) \(form): quadrature not converged")
            #expect(abs(t - fine) < 1e-6 * fine, "\(what) \(form): grid \(t), quadrature \(fine)")
        }
    }

    // MARK: - The covariance each law gives

    @Test func lawsGiveTheirCovariance() throws {
        let landscape = try Landscape(expression: Self.doubleWell)
        // at x = 0.2, V'' = 3·0.04 − 1 = −0.88 < 0: H⁺ = 0, |H| = 0.88
        let x = [0.2]
        #expect(NoiseModel.scaledCovariance(.hessian(scale: 2), on: landscape, prefactor: 1, at: x) == [0])
        let absolute = NoiseModel.scaledCovariance(.hessian(scale: 2, curvature: .absolute), on: landscape, prefactor: 1, at: x)
        #expect(abs(absolute[0] - 2 * 0.88) < 1e-14)
        let l = 0.2 * 0.2 * 0.2 * 0.2 / 4 - 0.2 * 0.2 / 2  // < 0: L⁺ = 0
        #expect(l < 0)
        let shifted = try Landscape(expression: "1 + " + Self.doubleWell)
        let mori = NoiseModel.scaledCovariance(.lossProportional(scale: 0.5, hessianScale: 3), on: shifted, prefactor: 1, at: x)
        #expect(abs(mori[0] - 2 * 0.5 * (1 + l) * 3) < 1e-14)
        let matrix = try CovarianceMatrix(rows: [["1 + x^2"]], variables: ["x"])
        #expect(NoiseModel.scaledCovariance(.covariance(matrix), on: landscape, prefactor: 2, at: x) == [2 * (1 + 0.04)])
        // 2-D: |H| of the saddle Hessian diag(−2, 1) rotated; a user matrix symmetrised
        let plane = try Landscape(expression: "x*y + (x^2 + y^2)/4", variables: ["x", "y"])  // H = [[0.5, 1], [1, 0.5]], eigenvalues 1.5, −0.5
        let h = NoiseModel.scaledCovariance(.hessian(scale: 1, curvature: .absolute), on: plane, prefactor: 1, at: [0, 0])
        // |H| = Q diag(1.5, 0.5) Qᵀ = [[1, 0.5], [0.5, 1]]
        for (a, b) in zip(h, [1, 0.5, 0.5, 1]) { #expect(abs(a - b) < 1e-12) }
        let m2 = try CovarianceMatrix(rows: [["1 + x^2", "x*y"], ["x*y", "2"]], variables: ["x", "y"])
        #expect(m2.evaluate(at: [1, 0.5]) == [2, 0.5, 0.5, 2])
        #expect(m2.violation(at: [1, 0.5]) == nil)
    }

    @Test func badMatricesAreNamed() throws {
        #expect(throws: CovarianceMatrixError.self) { try CovarianceMatrix(rows: [["1", "0"]], variables: ["x"]) }
        #expect(throws: CovarianceMatrixError.self) { try CovarianceMatrix(rows: [["1", "0"], ["0"]], variables: ["x", "y"]) }
        do {
            _ = try CovarianceMatrix(rows: [["1", "0"], ["0", "1 + z"]], variables: ["x", "y"])
            Issue.record("an unknown variable parsed")
        } catch {
            #expect(error.message.contains("entry [2][2]") && error.message.contains("1 + z"), "\(error)")
        }
        let negative = try CovarianceMatrix(rows: [["1 - x^2"]], variables: ["x"])
        let why = try #require(negative.violation(at: [2]))
        #expect(why.contains("θ = [2]") && why.contains("1 - x^2") && why.contains("-3"), "\(why)")
        let indefinite = try CovarianceMatrix(rows: [["1", "2"], ["2", "1"]], variables: ["x", "y"])
        let why2 = try #require(indefinite.violation(at: [0, 0]))
        #expect(why2.contains("not positive semi-definite") && why2.contains("smallest eigenvalue -1"), "\(why2)")
        let asymmetric = try CovarianceMatrix(rows: [["1", "x"], ["0", "1"]], variables: ["x", "y"])
        #expect(asymmetric.violation(at: [0.5, 0])?.contains("not symmetric") == true)
    }

    /// A non-PSD Σ₁ where a path goes ends that path as diverged (not a crash); the grid refuses
    /// it before solving, naming the point and the expression.
    @Test func notSemidefiniteIsAnOutcomeAndAGridError() throws {
        let landscape = try Landscape(expression: Self.doubleWell)
        let matrix = try CovarianceMatrix(rows: [["0.5 - x^2"]], variables: ["x"])  // < 0 for |x| > 0.707
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgdSDE(learningRate: 0.5, batchSize: 1, noise: .covariance(matrix), withReplacement: true),
                                      dt: 0.01, start: [0], exit: .condition("x < -2 || x > 2"), maxSteps: 100_000)
        let samples = try EnsembleSimulator(problem: problem, integrator: Integrator()).run(paths: 64, seed: 3)
        let estimate = ExitTimeEstimate(samples: samples, termCount: 2, timeScale: 0.01)
        #expect(estimate.diverged == 64, "diverged \(estimate.diverged) of 64")
        do {
            _ = try BackwardKolmogorovReference(problem: problem, form: .ito)
            Issue.record("the grid accepted a negative variance")
        } catch let error as GridError {
            #expect(error.message.contains("0.5 - x^2") && error.message.contains("θ = ["), "\(error)")
        }
    }

    // MARK: - Backward Kolmogorov against quadrature

    /// Mori et al.'s profile: loss-proportional noise with a fixed Hessian scale on a double
    /// well lifted to L > 0, across the barrier (D = η·c·h*·L/B > 0 everywhere).
    @Test func moriProfileGridMatchesQuadrature() throws {
        let landscape = try Landscape(expression: "0.5 + " + Self.doubleWell)
        let (eta, c, hStar) = (0.05, 1.0, 2.0)
        for exit in ["x > 0", "x > 0.5"] {
            let problem = try ExitProblem(landscape: landscape,
                                          dynamics: .sgdSDE(learningRate: eta, batchSize: 1,
                                                            noise: .lossProportional(scale: c, hessianScale: hStar), withReplacement: true),
                                          dt: 0.01, start: [-1], exit: .condition(exit), maxSteps: 1)
            try Self.checkAgainstQuadrature(problem, diffusion: { x in eta * c * hStar * (0.5 + x * x * x * x / 4 - x * x / 2) },
                                            reflectingLower: true, "mori \(exit)")
        }
    }

    /// Xie et al.'s profile (Σ₁ = H_a = 2 at the minimum, |H_b| = 1 at the barrier) as a
    /// covariance law `1 + x^2`, across the barrier; `sgd` reports iterations.
    @Test func xieProfileCovarianceGridMatchesQuadrature() throws {
        let landscape = try Landscape(expression: Self.doubleWell)
        let matrix = try CovarianceMatrix(rows: [["1 + x^2"]], variables: ["x"])
        let eta = 0.05
        for dynamics in [Dynamics.sgdSDE(learningRate: eta, batchSize: 1, noise: .covariance(matrix), withReplacement: true),
                         .sgd(learningRate: eta, batchSize: 1, noise: .covariance(matrix), withReplacement: true)] {
            let problem = try ExitProblem(landscape: landscape, dynamics: dynamics, dt: 0.01, start: [-1],
                                          exit: .condition("x > 0.5"), maxSteps: 1)
            try Self.checkAgainstQuadrature(problem, diffusion: { x in eta * (1 + x * x) / 2 }, reflectingLower: true,
                                            "xie covariance \(dynamics.name)")
        }
    }

    /// Hessian noise |H| at the barrier top (where H⁺ = 0 and the grid used to refuse): escape
    /// from the top of the double well through |x| = 0.3, both ends absorbing.
    @Test func absoluteHessianAtTheBarrierGridMatchesQuadrature() throws {
        let landscape = try Landscape(expression: Self.doubleWell)
        let (eta, c) = (0.05, 1.5)
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .hessian(scale: c, curvature: .absolute),
                                                        withReplacement: true),
                                      dt: 0.01, start: [0.05], exit: .condition("x < -0.3 || x > 0.3"), maxSteps: 1)
        try Self.checkAgainstQuadrature(problem, diffusion: { x in eta * c * abs(3 * x * x - 1) / 2 }, reflectingLower: false,
                                        "hessian |H| at the top")
        // across the barrier from the minimum |V''| vanishes at the inflection point: refused, named
        let across = try ExitProblem(landscape: landscape,
                                     dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .hessian(scale: c, curvature: .absolute),
                                                       withReplacement: true),
                                     dt: 0.01, start: [-1], exit: .condition("x > 0"), maxSteps: 1)
        do {
            _ = try BackwardKolmogorovReference(problem: across, form: .divergence)
            Issue.record("the grid accepted a diffusion that vanishes at the inflection point")
        } catch let error as GridError {
            #expect(error.message.contains("vanishes at x ≈ -0.57") && error.message.contains("absolute"), "\(error)")
        }
    }

    /// Xie et al.'s own setting: Hessian noise abs(H) across a barrier whose curvature never
    /// vanishes — the C¹ piecewise-quadratic well V = x² (x < 1/3), 1/3 − (x − 1)²/2 (x ≥ 1/3),
    /// H_a = 2 at the minimum 0, H_b = −1 at the barrier 1, ΔL = 1/3, so abs(V'') is exactly
    /// their near-critical profile (2, then 1) and s = (L(c) − L(a))/ΔL = 1/3. D jumps at
    /// c = 1/3: the grid hands over to the quadrature of the MFPT formula (no D'), compared
    /// with the RK4 quadrature broken at c. Then `xie` against the RK4 values as B/η grows: ΔΦ =
    /// (2B/(cη))·ΔL·(s/H_a + (1−s)/|H_b|) = (B/(cη))·(5/9).
    @Test func xieOwnSettingAbsoluteHessianAcrossAPiecewiseBarrier() throws {
        let landscape = try Landscape(expression: Self.piecewise)
        let slope: (Double) -> Double = { $0 < 1.0 / 3 ? 2 * $0 : -($0 - 1) }
        let c = 1.5, eta = 0.1
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .hessian(scale: c, curvature: .absolute),
                                                        withReplacement: true),
                                      dt: 0.01, start: [0], exit: .condition("x > 1.5"), maxSteps: 1)
        let grid = try BackwardKolmogorovReference(problem: problem, form: .divergence)
        #expect(grid.jumps.map { $0.count == 1 && abs($0[0] - 1.0 / 3) < 1e-3 } == true, "\(String(describing: grid.jumps))")
        try Self.checkAgainstQuadrature(problem, diffusion: { x in eta * c * (x < 1.0 / 3 ? 2 : 1) / 2 }, reflectingLower: true,
                                        breakpoints: [1.0 / 3], slope: slope, "xie piecewise abs(H)")
        // both ends absorbing: the quadrature does not apply and the grid cannot resolve the jump
        let twoSided = try ExitProblem(landscape: landscape, dynamics: problem.dynamics, dt: 0.01, start: [0],
                                       exit: .condition("x < -0.5 || x > 1.5"), maxSteps: 1)
        #expect(throws: GridError.self) { try BackwardKolmogorovReference(problem: twoSided, form: .ito) }
        // xie against the exact values
        let exponents = [10.0, 20, 40, 80]
        var errors: [Double] = []
        for deltaPhi in exponents {
            let eta = 5.0 / 9 / (c * deltaPhi)
            let p = try ExitProblem(landscape: landscape,
                                    dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .hessian(scale: c, curvature: .absolute),
                                                      withReplacement: true),
                                    dt: 0.01, start: [0], exit: .condition("x > 1.5"), maxSteps: 1)
            let d: (Double) -> Double = { x in eta * c * (x < 1.0 / 3 ? 2 : 1) / 2 }
            let exact = Self.quadratureMFPT(slope: slope, diffusion: d, form: .divergence, lower: -1, upper: 1.5, start: 0,
                                            reflectingLower: true, steps: 40_000, breakpoints: [1.0 / 3])
            let prediction = try TheoryReference.predict("xie", problem: p)
            #expect(prediction.formula.contains("s = 0.333333"), "\(prediction.formula)")
            errors.append(abs(prediction.value / exact - 1))
        }
        print("xie (own setting) relative errors \(errors) at ΔΦ = \(exponents)")
        // on quadratic pieces Laplace's method is exact up to the Gaussian tails cut at c: the
        // error falls faster than 1/ΔΦ; checked: decreasing, and below 3/ΔΦ at the largest
        for k in 1..<errors.count { #expect(errors[k] < errors[k - 1], "xie: error grew at ΔΦ = \(exponents[k])") }
        #expect(errors[3] < 3 / exponents[3])
    }

    static let piecewise = "if(x < 1/3, x^2, 1/3 - (x - 1)^2/2)"

    // MARK: - Theory against the exact values

    /// Relative errors of a formula against the exact MFPT over growing B/η (exit at 0.5,
    /// beyond the barrier; reflecting at −2, where e^{−Φ} is below e^{−30} of its peak in
    /// every case — e^{−3ΔΦ} for these profiles — and e^{±Φ} stays representable). The
    /// exact value is `quadratureMFPT` (converged to 1e-10 by halving), which the grid matches
    /// to 1e-6 above; the grid itself loses accuracy once e^{ΔΦ} exceeds ≈ 1e9 (its
    /// tridiagonal solve spans that range), so the largest B/η here is beyond it. Checked: the
    /// error decreases at every step, and Laplace's O(1/ΔΦ) shows — each doubling of ΔΦ
    /// divides the error by 1.5 to 2.5 in the last step, and the last error is below 3/ΔΦ
    /// (a stated bound of the form c₁/ΔΦ with c₁ = 3, not a fitted one).
    static func checkConvergence(_ name: String, form: FokkerPlanckForm, problems: [ExitProblem], exponents: [Double],
                                 diffusion: [(Double) -> Double]) throws {
        var errors: [Double] = []
        for (k, problem) in problems.enumerated() {
            let exact = quadratureMFPT(slope: Self.slope, diffusion: diffusion[k], form: form, lower: -2, upper: 0.5,
                                       start: problem.start[0], reflectingLower: true, steps: 40_000)
            let check = quadratureMFPT(slope: Self.slope, diffusion: diffusion[k], form: form, lower: -2, upper: 0.5,
                                       start: problem.start[0], reflectingLower: true, steps: 20_000)
            #expect(abs(check / exact - 1) < 1e-10, "\(name): quadrature not converged at ΔΦ = \(exponents[k])")
            let theory = try TheoryReference.predict(name, problem: problem).value
            errors.append(abs(theory / exact - 1))
        }
        print("\(name) relative errors \(errors) at ΔΦ = \(exponents)")
        for k in 1..<errors.count { #expect(errors[k] < errors[k - 1], "\(name): error grew at ΔΦ = \(exponents[k])") }
        let n = errors.count
        #expect((1.5...2.5).contains(errors[n - 2] / errors[n - 1]), "\(name): not O(1/ΔΦ): \(errors)")
        #expect(errors[n - 1] < 3 / exponents[n - 1])
    }

    /// Mori: D = η·c·h*·L/B on L = 0.5 + x⁴/4 − x²/2, c = 1, h* = 2, B = 1: ΔΦ = ln(L_s/L_min)/(η·h*)
    /// = ln 2/(2η), chosen 10, 20, 40, 80.
    @Test func moriApproachesExactAsBatchOverEtaGrows() throws {
        let landscape = try Landscape(expression: "0.5 + " + Self.doubleWell)
        let exponents = [10.0, 20, 40, 80]
        let etas = exponents.map { log(2) / (2 * $0) }
        let problems = try etas.map { eta in
            try ExitProblem(landscape: landscape,
                            dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .lossProportional(scale: 1, hessianScale: 2),
                                              withReplacement: true),
                            dt: 0.01, start: [-1], exit: .condition("x > 0.5"), maxSteps: 1)
        }
        try Self.checkConvergence("mori", form: .ito, problems: problems, exponents: exponents,
                                  diffusion: etas.map { eta in { x in 2 * eta * (0.5 + x * x * x * x / 4 - x * x / 2) } })
    }

    /// Xie: Σ₁ = 1 + x² on x⁴/4 − x²/2, B = 1: ΔΦ = (2B/η)·∫_{−1}^{0} V'/(1 + x²) = (2/η)(ln 2 − ½),
    /// chosen 10, 20, 40, 80; divergence form, as Xie et al.
    @Test func xieApproachesExactAsBatchOverEtaGrows() throws {
        let landscape = try Landscape(expression: Self.doubleWell)
        let matrix = try CovarianceMatrix(rows: [["1 + x^2"]], variables: ["x"])
        let exponents = [10.0, 20, 40, 80]
        let etas = exponents.map { 2 * (log(2) - 0.5) / $0 }
        let problems = try etas.map { eta in
            try ExitProblem(landscape: landscape,
                            dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .covariance(matrix), withReplacement: true),
                            dt: 0.01, start: [-1], exit: .condition("x > 0.5"), maxSteps: 1)
        }
        try Self.checkConvergence("xie", form: .divergence, problems: problems, exponents: exponents,
                                  diffusion: etas.map { eta in { x in eta * (1 + x * x) / 2 } })
        // the path parameter of this profile, in the formula text: ∫V'/h = ΔL(s/H_a + (1−s)/|H_b|)
        let s = ((log(2) - 0.5) / 0.25 - 1) / (0.5 - 1)
        let text = try TheoryReference.predict("xie", problem: problems[0]).formula
        #expect(text.contains(String(format: "s = %.6g", s)), "\(text)")
        // the Hessian law with |H| has no finite exponent across a smooth barrier
        let absolute = try ExitProblem(landscape: landscape,
                                       dynamics: .sgdSDE(learningRate: 0.05, batchSize: 1, noise: .hessian(scale: 1, curvature: .absolute),
                                                         withReplacement: true),
                                       dt: 0.01, start: [-1], exit: .condition("x > 0.5"), maxSteps: 1)
        #expect(throws: TheoryError.self) { try TheoryReference.predict("xie", problem: absolute) }
    }
}

/// Minimum action under the covariance law (docs/THEORY.md §2): in 1-D the quasi-potential is
/// exactly 2∫_a^b V'/Σ₁ (the path is the time-reversed gradient flow), here
/// 2∫_{−1}^{0} (x³ − x)/(1 + x²) dx = 2(ln 2 − ½); in 2-D with Σ₁ = diag(1 + x², 1) on
/// x⁴/4 − x²/2 + y²/2 the path stays on y = 0 and the action is the same.
@Suite struct CovarianceMinimumActionTests {
    @Test func quasiPotentialUnderACovarianceLaw() throws {
        let exact = 2 * (log(2) - 0.5)
        let line = try Landscape(expression: CovarianceNoiseTests.doubleWell)
        let matrix = try CovarianceMatrix(rows: [["1 + x^2"]], variables: ["x"])
        let oneD = try MinimumAction.steepness(on: line, minimum: [-1], saddles: [[0]], noise: .covariance(matrix))
        #expect(abs(oneD - exact) < 1e-10 * exact, "1-D action \(oneD) vs \(exact)")
        let plane = try Landscape(expression: "x^4/4 - x^2/2 + y^2/2", variables: ["x", "y"])
        let diagonal = try CovarianceMatrix(rows: [["1 + x^2", "0"], ["0", "1"]], variables: ["x", "y"])
        let twoD = try MinimumAction.steepness(on: plane, minimum: [-1, 0], saddles: [[0, 0]], noise: .covariance(diagonal))
        // the string method's spline action: 1e-4 relative, as MinimumActionTests' 2-D cases
        #expect(abs(twoD - exact) < 1e-4 * exact, "2-D action \(twoD) vs \(exact)")
    }
}
