import Foundation

/// A closed-form prediction of a Monte Carlo problem's mean exit time, in the problem's own
/// time unit (continuous time; `sgd` converts to iterations t/η), with the formula's
/// source and assumptions. Which critical points enter is decided from the problem:
/// the minimum is reached by Newton from the start; in 1-D the barrier is the first
/// maximum of V on the side where the exit region lies; in d ≥ 2 the saddle is given.
public enum TheoryReference {
    public static let names = ["kramers", "eyring-kramers", "getoor", "imkeller-pavlyukevich", "hu-saddle", "xie", "mori", "stability", "sharpness"]

    /// The sharpness of a finite sum at the problem's start — no minimum needed (a network
    /// trained by gradient descent, `start.train`, is near one but not at one): λ_max(H) and
    /// ‖H‖_F of L (Wu, Ma & E 2018; Wu, Wang & Su 2022), L and ‖∇L‖, the largest stable
    /// gradient-descent learning rate 2/λ_max, and, where defined, the Wu–Wang–Su alignment μ
    /// with the bound a stable minimum satisfies at the cell's η and B, ‖H‖_F ≤ 1/(η√(c_B μ))
    /// (= √(B/μ)/η with replacement; `LocalGeometry.hessianBound`). Dense and exact up to
    /// `LocalGeometry.eigenvalueDimensionLimit` parameters; an MLP beyond that is estimated
    /// matrix-free (Lanczos for λ_max with its residual, Hutchinson for ‖H‖_F with its
    /// standard error `hessian_frobenius_norm_se`, μ with `wu_wang_su_alignment_se`; docs/THEORY.md §7).
    public static func sharpness(problem: ExitProblem) throws(TheoryError) -> [(String, Double)] {
        guard let sum = problem.landscape.finiteSum else { throw TheoryError("theory \"sharpness\" needs a finite-sum landscape") }
        let (b, replacement, eta): (Int, Bool, Double)
        switch problem.dynamics {
        case .sgd(let e, let bb, _, let r), .sgdSDE(let e, let bb, _, let r): (b, replacement, eta) = (bb, r, e)
        default: throw TheoryError("theory \"sharpness\" is for dynamics \"sgd\" or \"sgd-sde\"")
        }
        let n = sum.sampleCount, theta = problem.start
        let c = MinibatchCurvature.samplingFactor(batchSize: b, sampleCount: n, withReplacement: replacement)
        var out: [(String, Double)] = []
        if sum.dimension <= LocalGeometry.eigenvalueDimensionLimit {
            let g = sum.localGeometry(at: theta)
            out.append(("loss", g.loss))
            out.append(("gradient_norm", g.gradientNorm))
            if let top = g.hessianTopEigenvalue {
                out.append(("hessian_top_eigenvalue", top))
                if top > 0 { out.append(("gd_max_learning_rate", 2 / top)) }
            }
            out.append(("hessian_frobenius_norm", g.hessianFrobeniusNorm))
            if let mu = g.alignment {
                out.append(("wu_wang_su_alignment", mu))
                if let bound = g.hessianBound(learningRate: eta, batchSize: b, sampleCount: n, withReplacement: replacement) {
                    out.append(("wu_wang_su_hessian_bound", bound))
                }
            }
        } else if let mlp = sum as? MLP {
            let top = mlp.topHessianEigenvalue(at: theta, tolerance: 1e-8, maxIterations: 100, seed: 1)
            let frobenius = mlp.hessianFrobeniusNorm(at: theta, probes: 100, seed: 2)
            let alignment = mlp.alignment(at: theta, tracePoints: min(n, 200), probes: 100, seed: 3)
            out.append(("loss", alignment.loss))
            out.append(("gradient_norm", problem.landscape.gradient(at: theta).reduce(0) { $0 + $1 * $1 }.squareRoot()))
            out.append(("hessian_top_eigenvalue", top.value))
            out.append(("hessian_top_eigenvalue_residual", top.residual))
            if top.value > 0 { out.append(("gd_max_learning_rate", 2 / top.value)) }
            out.append(("hessian_frobenius_norm", frobenius.value))
            out.append(("hessian_frobenius_norm_se", frobenius.standardError))
            if let mu = alignment.alignment, mu > 0 {
                out.append(("wu_wang_su_alignment", mu))
                if let se = alignment.standardError { out.append(("wu_wang_su_alignment_se", se)) }
                if c > 0 { out.append(("wu_wang_su_hessian_bound", 1 / (eta * (c * mu).squareRoot()))) }
            }
        } else {
            throw TheoryError("theory \"sharpness\" needs at most \(LocalGeometry.eigenvalueDimensionLimit) parameters (dense Hessians), or builtin \"mlp\" (matrix-free estimates); the landscape has \(sum.dimension)")
        }
        return out
    }

    /// Linear-stability thresholds of SGD at the minimum reached by Newton from the start of
    /// a finite-sum problem (docs/THEORY.md §3): the largest stable learning rate under each
    /// criterion, for the problem's batch size and sampling, as named quantities; in 1-D every
    /// interval of η where the top Lyapunov exponent Λ(η) is negative
    /// (`almost_sure_interval_K_lower` / `_upper`, K = 1, 2, …) and, when the problem has a
    /// finite learning rate, Λ(η) itself (`lyapunov_exponent`); the Wu–Wang–Su alignment
    /// (`wu_wang_su_alignment`, or at a zero-loss minimum `wu_wang_su_min_alignment`). A
    /// stability cell without `learning_rate` has η = NaN here.
    public static func stability(problem: ExitProblem) throws(TheoryError) -> [(String, Double)] {
        guard let sum = problem.landscape.finiteSum else {
            throw TheoryError("theory \"stability\" needs a finite-sum landscape (quadratic-sums, wu-ma-e, linear-regression, sharp-flat-sum, random-features, two-layer)")
        }
        let (b, replacement, eta): (Int, Bool, Double)
        switch problem.dynamics {
        case .sgd(let e, let bb, _, let r), .sgdSDE(let e, let bb, _, let r): (b, replacement, eta) = (bb, r, e)
        default: throw TheoryError("theory \"stability\" is for dynamics \"sgd\"")
        }
        if !replacement, b > sum.sampleCount {
            throw TheoryError("batch size \(b) exceeds the \(sum.sampleCount) samples, which sampling without replacement needs (with replacement any B ≥ 1 is defined)")
        }
        guard let minimum = try CriticalPointFinder.find(on: problem.landscape, near: problem.start), minimum.kind == .minimum else {
            throw TheoryError("no minimum found by Newton from the start \(problem.start)")
        }
        let t = try StabilityThresholds(finiteSum: sum, minimum: minimum.point, batchSize: b)
        func pick(_ s: StabilityThresholds.Sampled) -> Double { replacement ? s.withReplacement : s.withoutReplacement! }
        var out: [(String, Double)] = [("gd_max_learning_rate", t.gd), ("mean_square_max_learning_rate", pick(t.meanSquare)),
                                       ("wu_ma_e_max_learning_rate", pick(t.wuMaE))]
        if let s = t.sure { out.append(("sure_max_learning_rate", pick(s))) }
        if let a = t.almostSure { out.append(("almost_sure_max_learning_rate", pick(a))) }
        // the sharpness the bounds read: λ_max(H) and ‖H‖_F at the minimum
        out.append(("hessian_top_eigenvalue", t.topEigenvalue))
        out.append(("hessian_frobenius_norm", t.hessianFrobeniusNorm))
        if let w = t.wuWangSu {
            out.append(("wu_wang_su_max_learning_rate", w.learningRate))
            out.append((w.atZeroLoss ? "wu_wang_su_min_alignment" : "wu_wang_su_alignment", w.alignment))
        }
        if let intervals = t.almostSureIntervals, let list = replacement ? intervals.withReplacement : intervals.withoutReplacement {
            out.append(("almost_sure_stable_intervals", Double(list.count)))
            for (k, interval) in list.enumerated() {
                out.append(("almost_sure_interval_\(k + 1)_lower", interval.lower))
                out.append(("almost_sure_interval_\(k + 1)_upper", interval.upper))
            }
        }
        if eta.isFinite, sum.dimension == 1 {
            let curvature = try MinibatchCurvature(finiteSum: sum, at: minimum.point)
            if let distribution = curvature.batchMeanDistribution1D(batchSize: b, withReplacement: replacement) {
                out.append(("lyapunov_exponent", MinibatchCurvature.lyapunovExponent1D(learningRate: eta, distribution: distribution)))
            }
        }
        return out
    }

    /// The Langevin temperature ε of Gaussian dynamics, `NoiseModel.isotropicDiffusion`:
    /// ε for `langevin`, ησ²/(2B) for SGD with isotropic Gaussian noise (docs/THEORY.md §0).
    static func temperature(_ problem: ExitProblem) throws(TheoryError) -> Double {
        switch problem.dynamics {
        case .langevin, .sgd(_, _, .gaussian, _), .sgdSDE(_, _, .gaussian, _):
            let noise: NoiseModel
            do { noise = try NoiseModel(dynamics: problem.dynamics, landscape: problem.landscape) } catch { throw TheoryError(error.message) }
            return noise.isotropicDiffusion!
        default:
            throw TheoryError("this formula needs isotropic Gaussian noise (langevin, or sgd / sgd-sde with a gaussian law)")
        }
    }

    static func require(_ ok: Bool, _ message: @autoclosure () -> String) throws(TheoryError) {
        if !ok { throw TheoryError(message()) }
    }

    /// Exit boundaries of a 1-D problem whose exit sides are `x > b`, `x < a` (affine levels).
    public static func boundaries(_ problem: ExitProblem) throws(TheoryError) -> (lower: Double?, upper: Double?) {
        var lower: Double? = nil, upper: Double? = nil
        for term in problem.exitTerms {
            guard let g = term.level, let c = g.derivative(withRespectTo: 0).constantValue, c != 0 else {
                throw TheoryError("needs exit sides of the form x > b or x < a; '\(term.label)' is not")
            }
            let boundary = -g.evaluate(at: [0]) / c + 0
            if c > 0 { upper = min(upper ?? .infinity, boundary) } else { lower = max(lower ?? -.infinity, boundary) }
        }
        return (lower, upper)
    }

    public static func predict(_ name: String, problem: ExitProblem, saddle: [Double]? = nil) throws(TheoryError) -> TheoryPrediction {
        let landscape = problem.landscape
        let d = landscape.dimension
        let prediction: TheoryPrediction
        switch name {
        case "getoor", "imkeller-pavlyukevich":
            guard case .levy(let eps, let alpha) = problem.dynamics else {
                throw TheoryError("\(name) is a law for dynamics \"levy\"")
            }
            try require(d == 1, "\(name) is 1-D")
            let (lo, hi) = try boundaries(problem)
            guard let lo, let hi else { throw TheoryError("\(name) needs an interval exit (both sides)") }
            if name == "getoor" {
                let flat = stride(from: lo, through: hi, by: (hi - lo) / 16).allSatisfy { landscape.gradient(at: [$0])[0] == 0 }
                try require(flat, "getoor needs a landscape without drift (V' = 0 on the interval)")
                prediction = try EscapeTheory.getoorMeanExitTime(alpha: alpha, halfWidth: (hi - lo) / 2,
                                                                 start: problem.start[0] - (hi + lo) / 2, scale: eps)
            } else {
                guard let m = try CriticalPointFinder.find(on: landscape, near: problem.start), m.kind == .minimum else {
                    throw TheoryError("no minimum found from the start \(problem.start)")
                }
                prediction = try EscapeTheory.imkellerPavlyukevichMeanExitTime(alpha: alpha, epsilon: eps, minimum: m.point[0],
                                                                                lower: lo, upper: hi)
            }
        case "hu-saddle":
            let eps = try temperature(problem)
            let eigen = CriticalPointFinder.hessianEigenvalues(landscape, at: problem.start)
            try require(landscape.gradient(at: problem.start).allSatisfy { abs($0) < 1e-10 } && eigen.first.map { $0 < 0 } == true,
                        "hu-saddle needs the start at a saddle (∇V = 0, one negative Hessian eigenvalue)")
            let (lo, hi) = d == 1 ? try boundaries(problem) : (nil, nil)
            var r: Double
            if let lo, let hi { r = min(problem.start[0] - lo, hi - problem.start[0]) } else {
                guard let s = saddle, s.count == 1 else {
                    throw TheoryError("hu-saddle needs the exit half-width: give saddle = [r] (the half-width of the exit slab along the unstable direction)")
                }
                r = s[0]
            }
            prediction = try EscapeTheory.saddleEscapeTime(unstableEigenvalue: -eigen[0], halfWidth: r, diffusion: eps)
        case "kramers", "eyring-kramers", "xie", "mori":
            guard let minimum = try CriticalPointFinder.find(on: landscape, near: problem.start), minimum.kind == .minimum else {
                throw TheoryError("no minimum found by Newton from the start \(problem.start)")
            }
            let z: [Double]
            if let saddle { z = saddle } else {
                try require(d == 1, "give saddle = [...] (the index-1 saddle the path crosses) for a \(d)-D landscape")
                z = [try barrier1D(problem, minimum: minimum.point[0])]
            }
            try require(z.count == d, "saddle must have \(d) coordinates")
            let full: TheoryPrediction
            let diffusionAtSaddle: Double
            if name == "xie" || name == "mori" {
                try require(d == 1, "\(name) is implemented in 1-D")
                (full, diffusionAtSaddle) = name == "xie"
                    ? try xie(problem, minimum: minimum.point[0], saddle: z[0])
                    : try mori(problem, minimum: minimum.point[0], saddle: z[0])
            } else {
                diffusionAtSaddle = try temperature(problem)
                full = try EscapeTheory.eyringKramers(on: landscape, minimum: minimum.point, saddle: z, epsilon: diffusionAtSaddle)
            }
            // exit through the dividing surface at the saddle: half the transition time
            // (the committor there is ½); exit well beyond it: the whole transition time
            let eigen = CriticalPointFinder.hessianEigenvalues(landscape, at: z)
            let width = (2 * diffusionAtSaddle / abs(eigen[0])).squareRoot()
            let atSaddle = problem.exitTerm(at: z) != nil || isNear(problem, z, width)
            prediction = TheoryPrediction(value: atSaddle ? full.value / 2 : full.value,
                                          formula: (atSaddle ? "½·" : "") + full.formula, reference: full.reference,
                                          timeUnit: full.timeUnit,
                                          assumptions: full.assumptions + (atSaddle
                                            ? "; exit boundary through the saddle: half the transition time (committor ½ there)"
                                            : "; exit boundary beyond the saddle: the full transition time"))
        default:
            throw TheoryError("theory must be one of \(names.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(name)\"")
        }
        return prediction
    }

    /// The SGD dynamics' D(x) = (η/2)·c_B·Σ₁(x) (`NoiseModel`), Σ₁ and the learning rate, for
    /// the state-dependent formulas; throws for other dynamics.
    static func sgdNoise(_ problem: ExitProblem, _ name: String) throws(TheoryError) -> (noise: NoiseModel, law: NoiseLaw, eta: Double) {
        switch problem.dynamics {
        case .sgd(let eta, _, let law, _), .sgdSDE(let eta, _, let law, _):
            let noise: NoiseModel
            do { noise = try NoiseModel(dynamics: problem.dynamics, landscape: problem.landscape) } catch { throw TheoryError(error.message) }
            guard noise.hasDiffusion else { throw TheoryError("\(name) needs noise with a finite covariance, got \(law.kind.quoted)") }
            return (noise, law, eta)
        default:
            throw TheoryError("\(name) is a law for dynamics \"sgd\" or \"sgd-sde\"")
        }
    }

    /// Xie, Sato & Sugiyama's escape time with the problem's own noise profile (1-D): the
    /// divergence-form Laplace asymptotics `EscapeTheory.stateDependentTransitionTime` with
    /// `ΔΦ = ∫_a^b V'/D` (GSL QAGS) written in Xie's variables, `ΔΦ = (2BΔL/(cη))(s/H_a +
    /// (1−s)/|H_b|)`, so that `s` is the path parameter of the actual profile (c the hessian
    /// law's scale, 1 for other laws). Throws where D ≤ 0 on the path (docs/THEORY.md §2).
    static func xie(_ problem: ExitProblem, minimum a: Double, saddle b: Double) throws(TheoryError) -> (TheoryPrediction, Double) {
        let landscape = problem.landscape
        let (noise, law, eta) = try sgdNoise(problem, "xie")
        let d: (Double) -> Double = { noise.diffusionMatrix(at: [$0])[0] }
        let (deltaPhi, dA, dB) = try pathExponent(landscape, d, minimum: a, saddle: b, name: "xie")
        let hA = landscape.hessian(at: [a])[0], hB = landscape.hessian(at: [b])[0]
        let deltaL = landscape.value(at: [b]) - landscape.value(at: [a])
        let t = try EscapeTheory.stateDependentTransitionTime(exponent: deltaPhi, curvatureAtMinimum: hA, curvatureAtSaddle: hB,
                                                             diffusionAtMinimum: dA, diffusionAtSaddle: dB, form: .divergence)
        // Xie's variables: D = (η/2)·c_B·c·h, so ΔΦ = (2/(η·c_B·c))·∫V'/h = (2ΔL/(η·c_B·c))·(s/H_a + (1−s)/|H_b|)
        var c = 1.0
        if case .hessian(let scale, _) = law { c = scale }
        let k = eta * noise.minibatchFactor! * c / 2
        let mean = deltaPhi * k / deltaL  // s/H_a + (1−s)/|H_b|
        let denominator = 1 / hA - 1 / abs(hB)
        let sText = abs(denominator) > 1e-12 * (1 / hA + 1 / abs(hB))
            ? String(format: "%.6g", (mean - 1 / abs(hB)) / denominator) : "any (H_a = |H_b|)"
        return (TheoryPrediction(
            value: t.value,
            formula: "(2π/|H_b|)·√((D_a/H_a)/(D_b/|H_b|))·exp[(2BΔL/(cη))(s/H_a + (1−s)/|H_b|)], s = \(sText) from ∫_a^b L'/h of this noise profile (ΔΦ = \(String(format: "%.6g", deltaPhi)))",
            reference: "Xie, Sato & Sugiyama, ICLR 2021 (exponent and prefactor re-derived by Laplace's method, docs/THEORY.md §2)",
            timeUnit: t.timeUnit,
            assumptions: "1-D, divergence (∇·(D∇P)) Fokker–Planck form as in Xie et al., D = ηΣ₁/(2B) > 0 on the path, ΔΦ ≫ 1 (error O(1/ΔΦ)); the prefactor is Xie's 2π/|H_b| when D_a/D_b = H_a/|H_b| (Σ₁ = c·|H| at the critical points)"),
                dB)
    }

    /// Mori, Ziyin, Liu & Ueda's power law for loss-proportional noise with a fixed Hessian
    /// scale (1-D): Σ₁ = 2c·L·h*, D = η·c_B·c·h*·L, so `ΔΦ = ln(L_b/L_a)/(η·c_B·c·h*)` and the
    /// Itô Laplace asymptotics give `τ = (2π/√(H_a|H_b|))·(L_b/L_a)^{B/(cηh*) + 1/2}`
    /// (docs/THEORY.md §2).
    static func mori(_ problem: ExitProblem, minimum a: Double, saddle b: Double) throws(TheoryError) -> (TheoryPrediction, Double) {
        let landscape = problem.landscape
        let (noise, law, eta) = try sgdNoise(problem, "mori")
        guard case .lossProportional(let c, let hStar?) = law else {
            throw TheoryError("mori needs noise law \"loss-proportional\" with a fixed hessian_scale h* (Σ₁ = 2c·L·h*); with H⁺(θ) the noise vanishes beyond the inflection point")
        }
        let lA = landscape.value(at: [a]), lB = landscape.value(at: [b])
        try require(lA > 0 && lB > lA, "mori needs 0 < L(minimum) < L(barrier), got L = \(lA) and \(lB)")
        let hA = landscape.hessian(at: [a])[0], hB = landscape.hessian(at: [b])[0]
        let k = eta * noise.minibatchFactor! * c * hStar  // D = k·L
        let p = 1 / k + 0.5
        let ratio = lB / lA
        let value = 2 * Double.pi / (hA * abs(hB)).squareRoot() * exp(p * log(ratio))
        try require(hA > 0 && hB < 0, "need V''(a) > 0 at the minimum and V''(b) < 0 at the barrier, got \(hA), \(hB)")
        return (TheoryPrediction(
            value: value,
            formula: "(2π/√(H_a|H_b|))·(L_s/L_min)^p, p = B/(c·η·h*) + 1/2 = \(String(format: "%.6g", p)), log(L_s/L_min) = \(String(format: "%.6g", log(ratio)))",
            reference: "Mori, Ziyin, Liu & Ueda, ICML 2022 (power law; prefactor by Laplace's method, docs/THEORY.md §2)",
            timeUnit: EscapeTheory.continuousTime,
            assumptions: "1-D, Itô SDE (the toolkit's sgd-sde), Σ₁ = 2c·L(θ)·h* with a fixed Hessian scale h*, L > 0, B/(cηh*)·log(L_s/L_min) ≫ 1 (error O(cηh*/B)); the exponent is Mori et al.'s B/(ηh*) + 1 − n/2 at n = 1, c = 1"),
                k * lB)
    }

    /// `ΔΦ = ∫_a^b V'/D` (GSL QAGS), D(a), D(b); throws naming the point where D ≤ 0 or is not
    /// finite on the path (4001 points checked): there the exponent diverges.
    static func pathExponent(_ landscape: Landscape, _ d: (Double) -> Double, minimum a: Double, saddle b: Double,
                             name: String) throws(TheoryError) -> (Double, Double, Double) {
        for i in 0...4000 {
            let x = a + (b - a) * Double(i) / 4000
            let v = d(x)
            try require(v > 0 && v.isFinite, "\(name): the noise vanishes on the escape path: D(\(String(format: "%.6g", x))) = \(v) (D must be > 0 from the minimum to the barrier; |V''| = 0 at an inflection point makes ∫V'/D diverge)")
        }
        let deltaPhi = try TheoryNumerics.integrate({ x in landscape.gradient(at: [x])[0] / d(x) }, from: a, to: b,
                                                    context: "\(name) path integral ∫V'/D")
        return (deltaPhi, d(a), d(b))
    }

    /// True when the exit region is reached within `width` of `point` (a boundary through the saddle).
    static func isNear(_ problem: ExitProblem, _ point: [Double], _ width: Double) -> Bool {
        let d = point.count
        for j in 0..<d {
            for sign in [-1.0, 1.0] {
                var p = point
                p[j] += sign * width
                if problem.exitTerm(at: p) != nil { return true }
            }
        }
        return false
    }

    /// The first maximum of V from the minimum towards the exit region (1-D).
    static func barrier1D(_ problem: ExitProblem, minimum m: Double) throws(TheoryError) -> Double {
        let landscape = problem.landscape
        for direction in [1.0, -1.0] {
            var x = m, step = 1e-4 * max(1, abs(m))
            var previous = landscape.gradient(at: [x])[0]
            var exitSeen = false
            while abs(x - m) < 1e4 {
                let next = x + direction * step
                if problem.exitTerm(at: [next]) != nil { exitSeen = true }
                let g = landscape.gradient(at: [next])[0]
                if direction * g < 0 && direction * previous >= 0 {
                    // V' changed from uphill to downhill: a maximum in (x, next)
                    if let c = try CriticalPointFinder.find(on: landscape, near: [next]), c.kind == .maximum {
                        if exitSeen || exitAhead(problem, from: c.point[0], direction: direction) { return c.point[0] }
                        break
                    }
                }
                if exitSeen { break }
                previous = g; x = next; step *= 1.02
            }
        }
        throw TheoryError("no barrier (maximum of V) found between the minimum \(m) and the exit region")
    }

    static func exitAhead(_ problem: ExitProblem, from x: Double, direction: Double) -> Bool {
        var step = 1e-3
        var y = x
        for _ in 0..<2000 {
            y += direction * step
            if problem.exitTerm(at: [y]) != nil { return true }
            if direction * problem.landscape.gradient(at: [y])[0] > 0 { return false }  // uphill again: another well
            step *= 1.02
        }
        return false
    }
}
