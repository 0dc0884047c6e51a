import Foundation

/// A closed-form prediction of a Monte Carlo problem's mean exit time, in the problem's own
/// time unit (continuous time; `sgd` converts to iterations t/η), with the formula's
/// source and assumptions. Which critical points enter is decided from the problem:
/// the minimum is reached by Newton from the start; in 1-D the barrier is the first
/// maximum of V on the side where the exit region lies; in d ≥ 2 the saddle is given.
public enum TheoryReference {
    public static let names = ["kramers", "eyring-kramers", "getoor", "imkeller-pavlyukevich", "hu-saddle", "xie", "stability"]

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
        case "kramers", "eyring-kramers", "xie":
            guard let minimum = try CriticalPointFinder.find(on: landscape, near: problem.start), minimum.kind == .minimum else {
                throw TheoryError("no minimum found by Newton from the start \(problem.start)")
            }
            let z: [Double]
            if let saddle { z = saddle } else {
                try require(d == 1, "give saddle = [...] (the index-1 saddle the path crosses) for a \(d)-D landscape")
                z = [try barrier1D(problem, minimum: minimum.point[0])]
            }
            try require(z.count == d, "saddle must have \(d) coordinates")
            if name == "xie" {
                try require(d == 1, "xie is implemented in 1-D")
                let (eta, b, c): (Double, Int, Double)
                switch problem.dynamics {
                case .sgd(let e, let bb, .hessian(let cc), _), .sgdSDE(let e, let bb, .hessian(let cc), _): (eta, b, c) = (e, bb, cc)
                default: throw TheoryError("xie needs sgd or sgd-sde with noise law \"hessian\"")
                }
                let s = try EscapeTheory.xieSatoSugiyamaPathParameter(on: landscape, minimum: minimum.point[0], saddle: z[0])
                // Σ₁ = c·H: the formula's B/η becomes B/(cη)
                let t = try EscapeTheory.xieSatoSugiyamaEscapeTime(
                    lossBarrier: landscape.value(at: z) - minimum.value,
                    curvatureAtMinimum: landscape.hessian(at: minimum.point)[0], curvatureAtSaddle: landscape.hessian(at: z)[0],
                    pathParameter: s, learningRate: eta * c, batchSize: b)
                prediction = t
            } else {
                let eps = try temperature(problem)
                let full = try EscapeTheory.eyringKramers(on: landscape, minimum: minimum.point, saddle: z, epsilon: eps)
                // exit through the dividing surface at the saddle: half the transition time
                // (the committor there is ½); exit well beyond it: the whole transition time
                let eigen = CriticalPointFinder.hessianEigenvalues(landscape, at: z)
                let width = (2 * eps / abs(eigen[0])).squareRoot()
                let atSaddle = problem.exitTerm(at: z) != nil || isNear(problem, z, width)
                prediction = TheoryPrediction(value: atSaddle ? full.value / 2 : full.value,
                                              formula: (atSaddle ? "½·" : "") + full.formula, reference: full.reference,
                                              timeUnit: full.timeUnit,
                                              assumptions: full.assumptions + (atSaddle
                                                ? "; exit boundary through the saddle: half the transition time (committor ½ there)"
                                                : "; exit boundary beyond the saddle: the full transition time"))
            }
        default:
            throw TheoryError("theory must be one of \(names.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(name)\"")
        }
        return prediction
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
