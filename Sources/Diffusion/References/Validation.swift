import Foundation

/// `sgd-escape validate`: the built-in battery. Each solver against a closed form, and each
/// Monte Carlo against an exact solver of the same scheme, with the z-score (Monte Carlo)
/// or relative error (deterministic) and the pass criterion stated per row. Fixed seeds.
public enum Validation {
    public struct Check: Sendable {
        public let name: String
        public let estimate: Double
        public let reference: Double
        /// z = (estimate − reference)/SE for Monte Carlo, nil for deterministic checks.
        public let z: Double?
        public let relativeError: Double
        public let criterion: String
        public let passed: Bool
    }

    static func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }

    static func deterministic(_ name: String, _ estimate: Double, _ reference: Double, tolerance: Double) -> Check {
        let r = relative(estimate, reference)
        return Check(name: name, estimate: estimate, reference: reference, z: nil, relativeError: r,
                     criterion: "relative error < \(tolerance)", passed: r < tolerance)
    }

    /// |z| < 5 after removing a named bias budget from the difference.
    static func monteCarlo(_ name: String, _ e: ExitTimeEstimate, reference: Double, budget: Double, budgetName: String) -> Check {
        let mean = e.mean ?? .nan, se = e.standardError ?? .nan
        let excess = max(abs(mean - reference) - budget, 0)
        let z = (mean - reference) / se
        return Check(name: name, estimate: mean, reference: reference, z: z, relativeError: relative(mean, reference),
                     criterion: budget > 0 ? "|Δ| − \(budgetName) < 5 SE" : "|z| < 5", passed: excess < 5 * se)
    }

    public static func run(threads: Int) throws -> [Check] {
        var checks: [Check] = []
        let well = try Landscape(expression: "x^4/4 - x^2/2")
        let v: @Sendable (Double) -> Double = { $0 * $0 * $0 * $0 / 4 - $0 * $0 / 2 }
        let slope: @Sendable (Double) -> Double = { $0 * $0 * $0 - $0 }

        // 1. quadrature against docs/THEORY.md's value
        let t01 = try MeanFirstPassage1D.meanExitTime(potential: v, epsilon: 0.1, start: -1, barrier: 0)
        checks.append(deterministic("MFPT quadrature, double well ε=0.1 vs 30.8213 (docs/THEORY.md)", t01, 30.8213, tolerance: 2e-6))

        // 2. grid backward Kolmogorov against quadrature, several ε
        for eps in [0.25, 0.1, 0.05] {
            let q = try MeanFirstPassage1D.meanExitTime(potential: v, epsilon: eps, start: -1, barrier: 0)
            let p = try Diffusion1D.constant(landscape: well, epsilon: eps)
            let nodes = max(4001, Int(400 / eps) + 1)
            let g = try Grid1D.meanExitTime(p, lower: -3, upper: 0, lowerBoundary: .reflecting, upperBoundary: .absorbing, nodes: nodes)(-1)
            checks.append(deterministic("grid MFPT (\(nodes) nodes) vs quadrature, ε=\(eps)", g, q, tolerance: 1e-5))
        }

        // 3. Eyring–Kramers → exact as ε → 0
        var previous = Double.infinity
        for eps in [0.1, 0.05, 0.025] {
            let q = try MeanFirstPassage1D.meanExitTime(potential: v, epsilon: eps, start: -1, barrier: 0)
            let k = try EscapeTheory.kramersFirstPassageToBarrier(curvatureAtMinimum: 2, curvatureAtBarrier: -1, barrier: 0.25, epsilon: eps).value
            let gap = relative(k, q)
            checks.append(Check(name: "Kramers 1/(2k) vs exact, ε=\(eps)", estimate: k, reference: q, z: nil, relativeError: gap,
                                criterion: "relative gap shrinks as ε ↓", passed: gap < previous))
            previous = gap
        }

        // 4. minimum action: isotropic barrier 2ΔL/σ²
        let curved = try Landscape(expression: "(x^2 - 1)^2/4 + (y - 0.3*x^2)^2")
        let path = try MinimumAction.path(on: curved, from: [-1, 0.3], to: [0, 0])
        checks.append(deterministic("minimum action, isotropic: 2ΔL/σ² (σ²=1)", path.action, 2 * 0.25, tolerance: 1e-4))

        // 5. Monte Carlo against exact references
        func estimate(_ landscape: Landscape, _ dynamics: Dynamics, dt: Double, start: [Double], exit: ExitRegion,
                      test: ExitTestKind, paths: Int, seed: UInt64, scale: Double) throws -> ExitTimeEstimate {
            let problem = try ExitProblem(landscape: landscape, dynamics: dynamics, dt: dt, start: start, exit: exit, maxSteps: 100_000_000)
            var sums = ExitTimeAccumulator(termCount: problem.exitTerms.count)
            try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: test))
                .run(paths: paths, seed: seed, threads: threads) { sums.add($0.samples) }
            return ExitTimeEstimate(sums, timeScale: scale)
        }
        let bridge = try estimate(well, .langevin(epsilon: 0.1), dt: 1e-3, start: [-1], exit: .condition("x > 0"),
                                  test: .bridge, paths: 10_000, seed: 1, scale: 1e-3)
        checks.append(monteCarlo("Langevin MC, bridge exit test, dt=1e-3 vs exact MFPT", bridge, reference: t01,
                                 budget: t01 * 1e-3 * 5.75, budgetName: "O(dt) EM bias T·dt·max|V''|"))
        let eta = 0.01, sigma = 20.0.squareRoot()
        let chain = try DiscreteChain1D.meanExitSteps(slope: slope, stepSize: eta, noise: eta * sigma, start: -1, barrier: 0,
                                                      lower: -2.6, nodes: 1201)
        let sgd = try estimate(well, .sgd(learningRate: eta, batchSize: 1, noise: .gaussian(sigma: sigma), withReplacement: true),
                               dt: eta, start: [-1], exit: .condition("x > 0"), test: .step, paths: 10_000, seed: 2, scale: 1)
        checks.append(monteCarlo("discrete SGD MC (η=0.01, σ²=20) vs its exact chain", sgd, reference: chain.extrapolated,
                                 budget: chain.errorEstimate, budgetName: "grid error"))
        checks.append(Check(name: "SGD chain − SDE MFPT (iterations): the finite-η bias, > 0", estimate: chain.extrapolated - t01 / eta,
                            reference: 0, z: nil, relativeError: .nan, criterion: "positive (late discrete exit)",
                            passed: chain.extrapolated - t01 / eta > 0))
        let flat = try Landscape(expression: "0*x", variables: ["x"])
        let alpha = 1.5, dt = 1e-4
        let levy = try estimate(flat, .levy(epsilon: 1, alpha: alpha), dt: dt, start: [0], exit: .interval(lower: -1, upper: 1),
                                test: .step, paths: 10_000, seed: 3, scale: dt)
        let getoor = try EscapeTheory.getoorMeanExitTime(alpha: alpha, halfWidth: 1, start: 0).value
        checks.append(monteCarlo("Lévy MC α=1.5 vs Getoor 1/Γ(1+α)", levy, reference: getoor,
                                 budget: getoor * alpha * pow(dt, 1 / alpha), budgetName: "monitoring bias α·dt^{1/α}·T"))

        // 6. the inline normal generator is GSL's
        let a = RandomStream(key: StreamKey(seed: 5)), b = RandomStream(key: StreamKey(seed: 5))
        var x = [Double](repeating: 0, count: 100_000), y = x
        x.withUnsafeMutableBufferPointer { a.fillNormalsInline($0.baseAddress!, count: 100_000) }
        y.withUnsafeMutableBufferPointer { b.fillNormals($0.baseAddress!, count: 100_000) }
        let mismatches = zip(x, y).filter { $0.0.bitPattern != $0.1.bitPattern }.count
        checks.append(Check(name: "inline ziggurat = gsl_ran_gaussian_ziggurat bits (10⁵ draws)", estimate: Double(mismatches),
                            reference: 0, z: nil, relativeError: Double(mismatches), criterion: "0 mismatches", passed: mismatches == 0))
        return checks
    }
}
