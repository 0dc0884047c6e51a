import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// Convergence orders of the stepper's Euler–Maruyama step against the orders `EulerMaruyama`
/// declares. Each Brownian path is drawn once on a fine grid (T/2048) and its increments are
/// summed into those of the five nested step sizes h = T/8 … T/128, which the stepper takes
/// through `advance(count:normals:)` (ξ = ΔW/√h): every step size sees the same path.
///
/// Statistic and tolerance: per batch of paths (one seed each), the least-squares slope of
/// log(error) against log h; the estimate is the mean over batches, its standard error the
/// batches' spread / √batches. Where the scheme's expected error is known in closed form at
/// each h, the slope of those exact values over the same h is the estimate's target, and
/// its distance from the asymptotic order is the named pre-asymptotic budget:
/// |ŝ − order| ≤ z·SE + |s_exact − order|, z = 5 (`Statistics.z`).
@Suite struct EulerMaruyamaConvergenceTests {
    static let horizon = 1.0
    static let levels = [8, 16, 32, 64, 128]
    static let fine = 2048
    /// One stream per batch: seeds 1…20, 200 paths each.
    static let seeds: [UInt64] = Array(1...20)
    static let paths = 200

    /// Fine Brownian increments of `paths` paths, `[k*paths + i]` for fine step k of path i.
    static func brownianIncrements(seed: UInt64) -> [Double] {
        let stream = RandomStream(key: StreamKey(seed: seed))
        let hf = horizon / Double(fine)
        var dW = [Double](repeating: 0, count: fine * paths)
        dW.withUnsafeMutableBufferPointer { stream.fillNormals($0.baseAddress!, count: $0.count) }
        for k in dW.indices { dW[k] *= hf.squareRoot() }
        return dW
    }

    /// X_T of each path by `steps` stepper steps on `landscape` under `dynamics`, with the
    /// increments `dW` summed into steps of h = T/steps.
    static func endPoints(_ landscape: Landscape, _ dynamics: Dynamics, start: Double, steps: Int,
                          increments dW: [Double]) throws -> [Double] {
        let h = horizon / Double(steps)
        let problem = try ExitProblem(landscape: landscape, dynamics: dynamics, dt: h, start: [start],
                                      exit: .condition("x > 1e9"), maxSteps: steps)
        let stepper = EulerMaruyamaStepper(simulator: try EnsembleSimulator(problem: problem, integrator: Integrator()),
                                           width: paths)
        for i in 0..<paths { stepper.loadStart(lane: i, start: problem.start) }
        let m = fine / steps
        var xi = [Double](repeating: 0, count: paths)
        for n in 0..<steps {
            for i in 0..<paths {
                var sum = 0.0
                for k in (n * m)..<((n + 1) * m) { sum += dW[k * paths + i] }
                xi[i] = sum / h.squareRoot()
            }
            xi.withUnsafeBufferPointer { stepper.advance(count: paths, normals: $0.baseAddress!) }
        }
        return (0..<paths).map { stepper.x[$0] }
    }

    static func slope(_ errors: [Double]) -> Double {
        let xs = levels.map { log(horizon / Double($0)) }, ys = errors.map { log($0) }
        let mx = Statistics.mean(xs), my = Statistics.mean(ys)
        var sxy = 0.0, sxx = 0.0
        for (x, y) in zip(xs, ys) { sxy += (x - mx) * (y - my); sxx += (x - mx) * (x - mx) }
        return sxy / sxx
    }

    static func rms(_ a: [Double], _ b: [Double]) -> Double {
        (zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(a.count)).squareRoot()
    }

    /// Checks the batch slopes against `order`, the exact finite-h slope being `exact`.
    static func check(_ slopes: [Double], order: Double, exact: Double, _ what: String) {
        let estimate = Statistics.mean(slopes), se = Statistics.standardError(slopes)
        let budget = abs(exact - order)  // pre-asymptotic: the exact errors' own slope over these h
        print("\(what): fitted slope \(estimate) ± \(se) (exact finite-h \(exact), declared \(order))")
        // the levels must be in the asymptotic range for the check to mean anything
        #expect(budget < 0.05, "\(what): exact finite-h slope \(exact) is far from the order \(order)")
        #expect(abs(estimate - exact) <= Statistics.z * se, "\(what): slope \(estimate) ± \(se), exact \(exact)")
        #expect(abs(estimate - order) <= Statistics.z * se + budget,
                "\(what): slope \(estimate) ± \(se) against the declared order \(order)")
    }

    /// Geometric Brownian motion dX = aX dt + bX dW, X_T = X₀ exp((a − b²/2)T + b W_T):
    /// multiplicative noise, strong order `EulerMaruyama.strongOrder`. Built as `sgd-sde` with
    /// loss-proportional noise on L = k x² (drift −2k x, noise √(η dt · 2c L · 2k) = 2k√(cη) |x| ξ
    /// √dt): k = 0.05, c = 25, η = 1 give a = −0.1, b = 0.5 (paths stay positive: a step
    /// would have to draw ξ < −5.3 at h = 1/8). Exact RMS error of EM for GBM:
    /// E(X^h − X)² = X₀²[((1+ah)² + b²h)^N − 2e^{aT}(1 + (a+b²)h)^N + e^{(2a+b²)T}].
    @Test func strongOrderMultiplicativeNoise() throws {
        let a = -0.1, b = 0.5, x0 = 1.0, T = Self.horizon
        let landscape = try Landscape(expression: "0.05*x^2")
        let dynamics = Dynamics.sgdSDE(learningRate: 1, batchSize: 1, noise: .lossProportional(scale: 25),
                                       withReplacement: true)
        var slopes: [Double] = []
        for seed in Self.seeds {
            let dW = Self.brownianIncrements(seed: seed)
            let exact = (0..<Self.paths).map { i -> Double in
                var w = 0.0
                for k in 0..<Self.fine { w += dW[k * Self.paths + i] }
                return x0 * exp((a - b * b / 2) * T + b * w)
            }
            let errors = try Self.levels.map { n in
                Self.rms(try Self.endPoints(landscape, dynamics, start: x0, steps: n, increments: dW), exact)
            }
            slopes.append(Self.slope(errors))
        }
        let exactErrors = Self.levels.map { n -> Double in
            let h = T / Double(n), N = Double(n)
            let m2 = pow((1 + a * h) * (1 + a * h) + b * b * h, N) - 2 * exp(a * T) * pow(1 + (a + b * b) * h, N)
                + exp((2 * a + b * b) * T)
            return x0 * m2.squareRoot()
        }
        Self.check(slopes, order: EulerMaruyama.strongOrder, exact: Self.slope(exactErrors), "GBM strong")
    }

    /// Ornstein–Uhlenbeck dX = −X dt + σ dW (Langevin on V = x²/2, ε = σ²/2 = 1/2): additive
    /// noise, strong order `EulerMaruyama.strongOrderAdditiveNoise`, weak order
    /// `EulerMaruyama.weakOrder`. Reference X_ref = E[X_T | fine increments] = x₀e^{−T} +
    /// σ Σⱼ cⱼ ΔWⱼ, cⱼ the mean of e^{−(T−s)} over fine step j; X − X_ref is orthogonal to
    /// every function of the fine increments, so E(X^h − X_ref)² = μ_h² + Var(X^h − X) −
    /// Var(X − X_ref) with μ_h = x₀((1−h)^N − e^{−T}) the scheme's exact mean error and both
    /// variances integrals of (q − e^{−(T−s)})² in closed form.
    @Test func ornsteinUhlenbeckStrongAndWeakOrder() throws {
        let T = Self.horizon, sigma = 1.0
        let landscape = try Landscape(expression: "x^2/2")
        let dynamics = Dynamics.langevin(epsilon: sigma * sigma / 2)
        let hf = T / Double(Self.fine)
        // ∫_a^b (q − e^{−(T−s)})² ds
        func squareIntegral(_ q: Double, _ lo: Double, _ hi: Double) -> Double {
            q * q * (hi - lo) - 2 * q * (exp(-(T - hi)) - exp(-(T - lo))) + (exp(-2 * (T - hi)) - exp(-2 * (T - lo))) / 2
        }
        let weights = (0..<Self.fine).map { j in (exp(-(T - Double(j + 1) * hf)) - exp(-(T - Double(j) * hf))) / hf }
        let referenceVariance = sigma * sigma * (0..<Self.fine).reduce(0.0) { s, j in
            s + squareIntegral(weights[j], Double(j) * hf, Double(j + 1) * hf)
        }
        func meanError(_ x0: Double, _ n: Int) -> Double { x0 * (pow(1 - T / Double(n), Double(n)) - exp(-T)) }

        // strong: from x₀ = 0, so the error is the noise's alone
        var strong: [Double] = [], weak: [Double] = []
        let weakStart = 4.0
        for seed in Self.seeds {
            let dW = Self.brownianIncrements(seed: seed)
            let noise = (0..<Self.paths).map { i in
                (0..<Self.fine).reduce(0.0) { $0 + sigma * weights[$1] * dW[$1 * Self.paths + i] }
            }
            let errors = try Self.levels.map { n in
                Self.rms(try Self.endPoints(landscape, dynamics, start: 0, steps: n, increments: dW), noise)
            }
            strong.append(Self.slope(errors))
            // weak: |mean of X^h − X_ref| from x₀ = 4 (X_ref a control variate for E X_T)
            let means = try Self.levels.map { n in
                let x = try Self.endPoints(landscape, dynamics, start: weakStart, steps: n, increments: dW)
                return abs(zip(x, noise).reduce(0.0) { $0 + $1.0 - (weakStart * exp(-T) + $1.1) } / Double(Self.paths))
            }
            weak.append(Self.slope(means))
        }
        let exactStrong = Self.levels.map { n -> Double in
            let h = T / Double(n)
            var v = 0.0
            for k in 0..<n { v += squareIntegral(pow(1 - h, Double(n - 1 - k)), Double(k) * h, Double(k + 1) * h) }
            return (sigma * sigma * v - referenceVariance).squareRoot()
        }
        Self.check(strong, order: EulerMaruyama.strongOrderAdditiveNoise, exact: Self.slope(exactStrong), "OU strong")
        let exactWeak = Self.levels.map { abs(meanError(weakStart, $0)) }
        Self.check(weak, order: EulerMaruyama.weakOrder, exact: Self.slope(exactWeak), "OU weak")
    }
}

/// What rare-event splitting needs of the stepper: a lane restarted from a state read after a
/// step (its own stream carried on) continues with the same bits as a lane never stopped —
/// the bridge's boundary distances included, for affine levels (constant gradient) and curved ones.
@Suite struct EulerMaruyamaStepperRestartTests {
    @Test(arguments: ["x > 0", "x > 0 || x^2 + y^2 > 4"])
    func restartFromReadStateContinuesTheSameBits(exit: String) throws {
        let landscape = try Landscape(expression: "x^4/4 - x^2/2 + y^2/2")
        let problem = try ExitProblem(landscape: landscape, dynamics: .langevin(epsilon: 0.3), dt: 0.01,
                                      start: [-1, 0], exit: .condition(exit), maxSteps: 1000)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .bridge))
        let w = 32
        let straight = EulerMaruyamaStepper(simulator: simulator, width: w)
        let first = EulerMaruyamaStepper(simulator: simulator, width: w)
        let restarted = EulerMaruyamaStepper(simulator: simulator, width: w)
        let a = RandomStream(key: StreamKey(seed: 7)), b = RandomStream(key: StreamKey(seed: 7))
        for i in 0..<w {
            straight.loadStart(lane: i, start: problem.start)
            first.loadStart(lane: i, start: problem.start)
        }
        for _ in 0..<20 {
            straight.step(count: w, stream: a)
            first.step(count: w, stream: b)
        }
        for i in 0..<w {
            let point = [first.x[i], first.x[w + i]]
            point.withUnsafeBufferPointer { restarted.load(lane: i, from: $0.baseAddress!) }
        }
        var exits = 0, mismatches = 0
        for _ in 0..<200 {
            straight.step(count: w, stream: a)
            restarted.step(count: w, stream: b)
            for k in 0..<(2 * w) where straight.x[k].bitPattern != restarted.x[k].bitPattern { mismatches += 1 }
            for i in 0..<w {
                if straight.outcome[i] != restarted.outcome[i] { mismatches += 1 }
                if straight.outcome[i] >= 0 { exits += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(exits > 0, "no lane crossed: the bridge test was not exercised")
    }
}
