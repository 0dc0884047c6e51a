import Foundation

/// The exact mean exit time of a 1-D problem's diffusion — `langevin`, or the SDE of
/// `sgd`/`sgd-sde` (`D(x) = η Σ_B(x)/2`, docs/THEORY.md §0) — by the second-order grid solve
/// of 𝓛T = −1 (`Grid1D.meanExitTime`), Richardson-extrapolated over grids of n, (n+1)/2
/// and (n+3)/4 nodes with the error estimate of `Richardson.extrapolate` — uniform while the
/// coarsest passes the Péclet check, else non-uniform (`Grid1D.adaptedNodes`, every second
/// and fourth node, the start a node of each). For `sgd` this is the SDE's prediction converted to
/// iterations t/η: what the discrete chain would do if the diffusion approximation held.
/// Exit sides must be `x > b` / `x < a`; an open side becomes a reflecting end where the
/// diffusion never goes (V − V(start) above 40·max D).
public struct BackwardKolmogorovReference: Sendable {
    public let time: Double
    public let timeError: Double
    public let nodes: Int
    public let lower: Double
    public let upper: Double
    /// 1-D: principal eigenvalue of −𝓛 with the same boundaries (the escape rate; 1/rate ≈
    /// the MFPT in the metastable regime), in the problem's time unit⁻¹.
    public var escapeRate: Double? = nil
    /// 1-D with exits on both sides: P(leave through the upper side first) from the start.
    public var splittingUpper: Double? = nil
    /// 1-D: where D jumps, when the MFPT came from the quadrature of its formula instead of
    /// the grid (`checkDiffusion`); nil for a grid solve.
    public var jumps: [Double]? = nil
    /// 1-D: whether the grid was non-uniform (`Grid1D.adaptedNodes`: the uniform grid of
    /// `nodes` would have failed the Péclet check on its coarsest Richardson level).
    public var adapted = false

    /// 2-D: the grid solve of `Grid2D` on the reflecting `domain` (nodes per side), the exit
    /// region absorbing, Richardson-extrapolated from the grid of half the resolution.
    /// Advection is `.hybrid`: central (second order) wherever the cell Péclet number is
    /// below 1, upwind only where it is not (far up the walls, where the density is nil).
    public init(problem: ExitProblem, form: FokkerPlanckForm, domain: Grid2D.Box, nodes: Int = 257) throws {
        let landscape = problem.landscape
        guard landscape.dimension == 2 else { throw GridError("a domain box applies to 2-D landscapes") }
        let x0 = problem.start
        guard (domain.x0...domain.x1).contains(x0[0]), (domain.y0...domain.y1).contains(x0[1]) else {
            throw GridError("the start \(x0) must lie inside the domain box")
        }
        let field = try BackwardKolmogorovReference.diffusionField(problem)
        let exit: @Sendable (Double, Double) -> Bool = { x, y in problem.exitTerm(at: [x, y]) != nil }
        let gridForm: Grid2D.Form = form == .ito ? .ito : .divergence
        func solve(_ n: Int) throws -> (value: Double, rounding: Double) {
            let p = Grid2D.Problem(landscape: landscape, diffusion: field, form: gridForm, advection: .hybrid, box: domain, nx: n, ny: n)
            let s = try Grid2D.solveDetailed(p, exit: exit)
            let value = s.function(x0[0], x0[1])
            return (value, s.roundingError * s.function.values.reduce(0) { max($0, abs($1)) })
        }
        (time, timeError, self.nodes) = try BackwardKolmogorovReference.extrapolated(nodes: nodes, dynamics: problem.dynamics, solve: solve)
        lower = domain.x0; upper = domain.x1
    }

    /// A 2-D or 3-D grid's result: the solves on m = `nodes` | 1, (m + 1)/2 and ((m + 1)/2 + 1)/2
    /// nodes per side Richardson-extrapolated (`Richardson.extrapolate`), the error estimate
    /// plus the rounding of R(h) = (4T_h − T_2h)/3 (each solve's `roundingError` in ‖·‖∞), and
    /// for `sgd` both converted to iterations t/η. Returns (T, its error, m).
    static func extrapolated(nodes: Int, dynamics: Dynamics,
                             solve: (Int) throws -> (value: Double, rounding: Double)) throws -> (Double, Double, Int) {
        let m = nodes | 1
        let levels = try [m, (m + 1) / 2, ((m + 1) / 2 + 1) / 2].map(solve)
        let (value, estimate) = Richardson.extrapolate(levels.map(\.value))
        var t = value, error = estimate + (4 * levels[0].rounding + levels[1].rounding) / 3
        if case .sgd(let eta, _, _, _) = dynamics { t /= eta; error /= eta }
        return (t, error, m)
    }

    /// 2-D: the committor q(x) = P(reach the exit before the set `a`) of the diffusion on the
    /// reflecting `domain`, by the same grid operator (`Grid2D.committor`, `nodes` per side, no
    /// extrapolation): the optimal reaction coordinate for splitting (docs/THEORY.md §6).
    public static func committor(problem: ExitProblem, form: FokkerPlanckForm = .ito, domain: Grid2D.Box, nodes: Int = 257,
                                 a: @escaping @Sendable (Double, Double) -> Bool) throws -> GridFunction2D {
        guard problem.landscape.dimension == 2 else { throw GridError("a committor grid applies to 2-D landscapes") }
        let field = try diffusionField(problem)
        let exit: @Sendable (Double, Double) -> Bool = { x, y in problem.exitTerm(at: [x, y]) != nil }
        let p = Grid2D.Problem(landscape: problem.landscape, diffusion: field, form: form == .ito ? .ito : .divergence,
                               advection: .hybrid, box: domain, nx: nodes | 1, ny: nodes | 1)
        return try Grid2D.committor(p, a: { x, y in a(x, y) && !exit(x, y) }, b: exit)
    }

    /// The 2-D diffusion matrix field `D(θ)` of `NoiseModel` (D₁₂ the mean of the two
    /// off-diagonal entries).
    static func diffusionField(_ problem: ExitProblem) throws -> Grid2D.DiffusionField {
        let noise = try gaussianNoise(problem)
        if case .finiteSum = noise.law, case .sgdSDE = problem.dynamics {
            throw GridError("2-D backward-kolmogorov with a finite sum: use dynamics \"sgd\" (the SDE's prediction in iterations)")
        }
        if let d = noise.isotropicDiffusion { return { _ in (d, 0, d) } }
        return Grid2D.field(noise)
    }

    /// The problem's `NoiseModel`, checked to have a diffusion (Gaussian noise or SGD's
    /// diffusion approximation).
    static func gaussianNoise(_ problem: ExitProblem) throws -> NoiseModel {
        let noise = try NoiseModel(dynamics: problem.dynamics, landscape: problem.landscape)
        guard noise.hasDiffusion else {
            switch noise.law {
            case nil: throw GridError("method \"backward-kolmogorov\" needs Gaussian noise; levy dynamics have a non-local generator")
            case .alphaStable: throw GridError("method \"backward-kolmogorov\" needs Gaussian noise; alpha-stable noise has a non-local generator")
            default: throw GridError("student-t noise needs nu > 2 for a diffusion approximation")
            }
        }
        return noise
    }

    public init(problem: ExitProblem, form: FokkerPlanckForm, nodes: Int = 4001) throws {
        let landscape = problem.landscape
        guard landscape.dimension == 1 else {
            throw GridError("method \"backward-kolmogorov\" in \(landscape.dimension)-D needs domain = { lower = [...], upper = [...] } (the reflecting box of the 2-D grid)")
        }
        let diffusion = try BackwardKolmogorovReference.diffusion(problem)
        let (lower, upper) = try TheoryReference.boundaries(problem)
        guard lower != nil || upper != nil else { throw GridError("method \"backward-kolmogorov\" needs an exit boundary") }
        let x0 = problem.start[0]
        let temperature = max(diffusion(x0), diffusion(lower ?? x0), diffusion(upper ?? x0), 1e-12)
        let lo = try lower ?? problem.truncation(direction: -1, temperature: temperature)
        let hi = try upper ?? problem.truncation(direction: 1, temperature: temperature)
        guard lo < x0, x0 < hi else { throw GridError("the start must lie strictly inside the exit boundaries") }
        let jumps = try BackwardKolmogorovReference.checkDiffusion(problem, diffusion, lower: lo, upper: hi, nodes: nodes | 1,
                                                                   oneSided: (lower == nil) != (upper == nil))
        var p = Diffusion1D(slope: { landscape.gradient(at: [$0])[0] }, diffusion: diffusion,
                            potential: { landscape.value(at: [$0]) }, form: form)
        let m = nodes | 1
        if !jumps.isEmpty {
            p.breakpoints = try jumps.map { x throws(GridError) in try BackwardKolmogorovReference.locateJump(diffusion, near: x, spacing: (hi - lo) / Double(m - 1)) }
            // D jumps: the MFPT formula (scale and speed densities, no D') by nested GSL quadrature
            var t = try Grid1D.meanExitTimeQuadrature(p, start: x0, lower: lo, upper: hi,
                                                      lowerBoundary: lower == nil ? .reflecting : .absorbing,
                                                      upperBoundary: upper == nil ? .reflecting : .absorbing)
            if case .sgd(let eta, _, _, _) = problem.dynamics { t /= eta }
            time = t
            timeError = BackwardKolmogorovReference.quadratureTolerance * t
            self.nodes = m
            self.lower = lo
            self.upper = hi
            self.jumps = p.breakpoints
            return
        }
        let lowerBoundary: Boundary = lower == nil ? .reflecting : .absorbing
        let upperBoundary: Boundary = upper == nil ? .reflecting : .absorbing
        // uniform grids while the coarsest Richardson level passes the Péclet check (these results
        // keep their bits); otherwise nodes equidistributing Grid1D.adaptedNodes' monitor, with
        // x₀ a node of every level and the coarsest level's cell Péclet number ≤ 1/1.1
        var values: [Double]
        var finest: [Double]? = nil
        do {
            values = try [m, (m + 1) / 2, ((m + 1) / 2 + 1) / 2].map { n in
                try Grid1D.meanExitTime(p, lower: lo, upper: hi, lowerBoundary: lowerBoundary, upperBoundary: upperBoundary, nodes: n)(x0)
            }
        } catch let e as GridError where e.suggestedNodes != nil {
            let w = try Grid1D.adaptedMonitorIntegral(p, lower: lo, upper: hi)
            let intervals = max(m - 1, 4 * Int((1.1 * w).rounded(.up)))
            guard intervals <= BackwardKolmogorovReference.adaptedNodeLimit else {
                throw GridError("the non-uniform grid for this drift and diffusion needs \(intervals + 1) nodes (∫|drift|/(2D) dx ≈ \(Int(w)) on [\(lo), \(hi)]), above the limit \(BackwardKolmogorovReference.adaptedNodeLimit + 1); the diffusion is too small for a grid solve here")
            }
            let x = try Grid1D.adaptedNodes(p, lower: lo, upper: hi, count: 4 * ((intervals + 3) / 4) + 1, through: x0, multiple: 4)
            values = try [1, 2, 4].map { stride in
                try Grid1D.meanExitTime(p, nodes: Swift.stride(from: 0, to: x.count, by: stride).map { x[$0] },
                                        lowerBoundary: lowerBoundary, upperBoundary: upperBoundary)(x0)
            }
            finest = x
        }
        let (value, estimate) = Richardson.extrapolate(values)
        var t = value, error = estimate
        if case .sgd(let eta, _, _, _) = problem.dynamics { t /= eta; error /= eta }
        time = t
        timeError = error
        self.nodes = finest?.count ?? m
        adapted = finest != nil
        self.lower = lo
        self.upper = hi
        var rate: Double
        if let finest {
            rate = try Grid1D.principalEigenvalue(p, nodes: finest, lowerBoundary: lowerBoundary, upperBoundary: upperBoundary).rate
        } else {
            rate = try Grid1D.principalEigenvalue(p, lower: lo, upper: hi, lowerBoundary: lowerBoundary,
                                                  upperBoundary: upperBoundary, nodes: m).rate
        }
        if case .sgd(let eta, _, _, _) = problem.dynamics { rate *= eta }  // per iteration
        escapeRate = rate
        if lower != nil, upper != nil {
            splittingUpper = try finest.map { try Grid1D.committor(p, nodes: $0)(x0) } ?? Grid1D.committor(p, lower: lo, upper: hi, nodes: m)(x0)
        }
    }

    /// Most intervals of a 1-D non-uniform grid (memory: about ten doubles per node).
    static let adaptedNodeLimit = 20_000_000

    /// Checks a state-dependent D(x) at the finest grid's nodes before solving; returns the
    /// points where D jumps. A covariance law must give Σ₁ ≥ 0 (`CovarianceMatrix.violation`,
    /// naming x and the expression). Between neighbouring nodes D may not change by more than
    /// a quarter of its larger value (a smooth D changes by O(h) there) unless it jumps between two levels: where the smaller of the two
    /// is below 1 % of max D it counts as vanishing (D ∝ |x − c| near a zero c, e.g. |V''| = 0
    /// at an inflection point for the `hessian` law) and this throws naming the point — the
    /// noise vanishes against the drift there, the point is unattainable for small noise
    /// (Feller's boundary test, Karlin & Taylor §15.6) and no grid resolves the exit time.
    /// Otherwise it is a jump (e.g. abs(V'') of a piecewise-quadratic landscape), which central
    /// differences do not resolve (the divergence form's D' is a delta there): the caller
    /// uses the quadrature instead.
    static func checkDiffusion(_ problem: ExitProblem, _ diffusion: (Double) -> Double,
                               lower: Double, upper: Double, nodes m: Int, oneSided: Bool) throws(GridError) -> [Double] {
        guard let law = problem.dynamics.noiseLaw, law.isStateDependent else { return [] }
        var d = [Double](repeating: 0, count: m)
        func node(_ i: Int) -> Double { lower + (upper - lower) * Double(i) / Double(m - 1) }
        for i in 0..<m {
            if case .covariance(let matrix) = law, let why = matrix.violation(at: [node(i)]) {
                throw GridError("\(why): the backward-Kolmogorov grid needs Σ₁ > 0 on [\(lower), \(upper)]")
            }
            d[i] = diffusion(node(i))
            guard d[i].isFinite else { throw GridError("diffusion D(x) = \(d[i]) is not finite at x = \(node(i)) (noise law \(law.kind.quoted))") }
        }
        let largest = d.max()!
        func vanishing(_ i: Int) -> GridError {
            GridError("diffusion D(x) = \(d[i]) vanishes at x ≈ \(node(i)) on [\(lower), \(upper)] (noise law \(law.kind.quoted)\(law.curvatureNote)): where the noise vanishes against the drift the point is unattainable for small noise (Feller's test) and no grid resolves the exit time; give a noise that stays > 0 on the way out (e.g. loss-proportional with hessian_scale, or a covariance matrix)")
        }
        var jumps: [Double] = []
        for i in 0..<m {
            if !(d[i] > 0) { throw vanishing(i) }
            guard i < m - 1, abs(d[i + 1] - d[i]) > 0.25 * max(d[i], d[i + 1]) else { continue }
            let low = d[i] < d[i + 1] ? i : i + 1
            if d[low] < 0.01 * largest { throw vanishing(low) }
            jumps.append(0.5 * (node(i) + node(i + 1)))
        }
        if !jumps.isEmpty && !oneSided {
            throw GridError("diffusion D(x) jumps at x ≈ \(jumps.map { String(format: "%.6g", $0) }.joined(separator: ", ")): central differences do not resolve a jump; with exits on one side only, the quadrature of the MFPT formula does")
        }
        return jumps
    }

    /// The point where D jumps between x − h/2 and x + h/2, by bisection to rounding (60 halvings).
    static func locateJump(_ d: (Double) -> Double, near x: Double, spacing h: Double) throws(GridError) -> Double {
        var a = x - h / 2, b = x + h / 2
        let da = d(a)
        for _ in 0..<60 {
            let mid = 0.5 * (a + b)
            if mid <= a || mid >= b { break }
            if abs(d(mid) - da) < 0.5 * abs(d(b) - da) { a = mid } else { b = mid }
        }
        return 0.5 * (a + b)
    }

    /// Relative error budget of the MFPT quadrature used where D jumps: GSL's requested
    /// tolerances (outer 1e-11, inner 1e-12, exponent 1e-13; `Grid1D.meanExitTimeQuadrature`)
    /// with a factor 10 for their composition.
    static let quadratureTolerance = 1e-10

    /// D(x) of the problem's diffusion (`NoiseModel.diffusionMatrix`, docs/THEORY.md §0): ε for
    /// Langevin; η Σ_B(x)/2 for SGD's SDE.
    static func diffusion(_ problem: ExitProblem) throws -> @Sendable (Double) -> Double {
        let noise = try gaussianNoise(problem)
        if let d = noise.isotropicDiffusion { return { _ in d } }
        return { x in noise.diffusionMatrix(at: [x])[0] }
    }
}
