import Foundation
internal import CGSL

/// Arguments a 1-D Fokker–Planck solve cannot use (interval, nodes, start, boundary
/// combination, or a coefficient that is not finite / not positive on the grid).
public struct GridError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    /// For a uniform grid too coarse for the drift (cell Péclet number ≥ 1): a node count with
    /// which the same solve passes that check.
    public let suggestedNodes: Int?
    public init(_ message: String, suggestedNodes: Int? = nil) { self.message = message; self.suggestedNodes = suggestedNodes }
    public var description: String { message }
}

/// Values on the nodes `x` (increasing) of a 1-D grid.
public struct GridFunction1D: Sendable {
    public let x: [Double]
    public let values: [Double]

    public init(x: [Double], values: [Double]) {
        precondition(x.count == values.count && x.count >= 2)
        self.x = x
        self.values = values
    }

    /// Piecewise-linear interpolation: error ≤ h²/8·max|f''| between nodes, second order
    /// like the grid solvers that produce these values (so it does not degrade their
    /// order). NaN outside `[x.first, x.last]`.
    public func callAsFunction(_ at: Double) -> Double {
        guard at >= x[0], at <= x[x.count - 1] else { return .nan }
        var low = 0, high = x.count - 1
        while high - low > 1 {
            let mid = (low + high) / 2
            if x[mid] <= at { low = mid } else { high = mid }
        }
        let t = (at - x[low]) / (x[high] - x[low])
        return (1 - t) * values[low] + t * values[high]
    }
}

/// Exact-in-the-limit solvers for a 1-D diffusion `dX = −V'(X) dt + √(2D(X)) dW` on an
/// interval `[a, b]` (docs/THEORY.md §1), in the Fokker–Planck form the `Diffusion1D` names.
///
/// Grid solvers use n uniform nodes, spacing h = (b − a)/(n − 1), and second-order
/// central differences for `𝓛f = D f'' + β f'` (β = −V' Itô, D' − V' divergence):
///   (𝓛f)_i = D_i (f_{i+1} − 2f_i + f_{i−1})/h² + β_i (f_{i+1} − f_{i−1})/(2h),
/// `f = g` at absorbing ends and `f' = 0` at reflecting ends through the ghost node
/// `f_{−1} = f_1` (second order overall). They need the cell Péclet number
/// |β|h/(2D) < 1 at every unknown node (discrete maximum principle, positive
/// off-diagonals): too few nodes for the drift throws a `GridError` naming a node count
/// that passes (`GridError.suggestedNodes`). Non-uniform nodes (`adaptedNodes`, refined
/// where |β|/D is large, and the overloads taking `nodes: [Double]`) use the three-point
/// non-uniform formulas of `Operator`, an M-matrix while |β|·max(h₋, h₊)/(2D) < 1.
/// Tridiagonal systems are solved by GSL (`gsl_linalg_solve_tridiag`,
/// `gsl_linalg_solve_symm_tridiag`), integrals by GSL QAG/QAGS.
/// Reference: Gardiner, *Handbook of Stochastic Methods*, §5.2 (first passage in 1-D);
/// Karlin & Taylor, *A Second Course in Stochastic Processes*, §15.3 (scale and speed).
public enum Grid1D {

    // MARK: - Quadrature

    /// MFPT `T(x₀)` by nested adaptive quadrature of the closed form, one end reflecting
    /// and the other absorbing. With `Φ(x) = ∫^x V'/D`, scale density `s'` and speed
    /// density `m` (𝓛f = (1/m)(f'/s')'):
    ///   Itô:        s'(x) = exp(∫ V'/D) = e^{Φ},  m = e^{−Φ}/D,
    ///   divergence: s'(x) = exp(∫ (V' − D')/D) = e^{Φ}/D,  m = e^{−Φ};
    /// reflecting a, absorbing b: `T(x₀) = ∫_{x₀}^{b} s'(y) ∫_{a}^{y} m(z) dz dy`;
    /// absorbing a, reflecting b: `T(x₀) = ∫_{a}^{x₀} s'(y) ∫_{y}^{b} m(z) dz dy`
    /// (Gardiner §5.2.7). For constant D both forms give docs/THEORY.md §1's formula. The
    /// exponents are combined as `Φ(y) − Φ(z) = ∫_z^y V'/D` (GSL QAG, Gauss–Kronrod 21,
    /// tolerance 1e-13; exactly `(V(y) − V(z))/ε` for `Diffusion1D.constant`) so nothing
    /// overflows while that difference stays below ≈ 700. Inner integral GSL QAGS (QAGIL /
    /// QAGIU when the reflecting end is infinite), relative tolerance 1e-12; outer QAGS,
    /// 1e-11. Both ends absorbing or both reflecting: use the grid solve (`GridError`).
    public static func meanExitTimeQuadrature(_ p: Diffusion1D, start: Double, lower: Double, upper: Double,
                                              lowerBoundary: Boundary, upperBoundary: Boundary) throws -> Double {
        guard !lower.isNaN, !upper.isNaN, lower < upper else {
            throw GridError("interval must have lower < upper, got [\(lower), \(upper)]")
        }
        guard lowerBoundary != upperBoundary else {
            throw GridError("quadrature MFPT needs one reflecting and one absorbing end, got \(lowerBoundary) and \(upperBoundary); use Grid1D.meanExitTime")
        }
        let reflectingLower = lowerBoundary == .reflecting
        guard (reflectingLower ? upper : lower).isFinite else {
            throw GridError("the absorbing end must be finite, got \(reflectingLower ? upper : lower)")
        }
        guard start.isFinite, start >= lower, start <= upper else {
            throw GridError("start must lie in [\(lower), \(upper)], got \(start)")
        }
        if start == (reflectingLower ? upper : lower) { return 0 }
        GSL.prepare()
        let context = QuadratureContext(p, reflectingLower: reflectingLower, lower: lower, upper: upper)
        let box = Unmanaged.passRetained(context)
        defer { box.release() }
        let outer = gsl_integration_workspace_alloc(4000)
        defer { gsl_integration_workspace_free(outer) }
        var f = gsl_function(function: { y, params in
            let c = Unmanaged<QuadratureContext>.fromOpaque(params!).takeUnretainedValue()
            return c.outerIntegrand(y)
        }, params: box.toOpaque())
        var result = 0.0, error = 0.0
        let (from, to) = reflectingLower ? (start, upper) : (lower, start)
        let ends = [from] + p.breakpoints.filter { $0 > from && $0 < to } + [to]  // split at the jumps of D
        for k in 1..<ends.count {
            var piece = 0.0
            let status = gsl_integration_qags(&f, ends[k - 1], ends[k], 0, 1e-11, 4000, outer, &piece, &error)
            try GSL.check(status, "MFPT quadrature (outer integral)")
            result += piece
        }
        try GSL.check(context.failure, "MFPT quadrature (inner integral or Φ)")
        return result
    }

    /// `Φ(y) − Φ(z) = ∫_z^y V'/D` for one diffusion, with its own GSL workspace.
    final class Exponent {
        let p: Diffusion1D
        let workspace: UnsafeMutablePointer<gsl_integration_workspace>
        var failure: Int32 = 0
        init(_ p: Diffusion1D) {
            self.p = p
            workspace = gsl_integration_workspace_alloc(1000)
        }
        deinit { gsl_integration_workspace_free(workspace) }

        func difference(from z: Double, to y: Double) -> Double {
            if z == y { return 0 }
            if let epsilon = p.constantDiffusion, let v = p.potential { return (v(y) - v(z)) / epsilon }
            let box = Unmanaged.passUnretained(self)
            var g = gsl_function(function: { u, params in
                let c = Unmanaged<Exponent>.fromOpaque(params!).takeUnretainedValue()
                return c.p.slope(u) / c.p.diffusion(u)
            }, params: box.toOpaque())
            // split at the points where D jumps (`Diffusion1D.breakpoints`): each piece is smooth
            let cuts = p.breakpoints.filter { $0 > min(z, y) && $0 < max(z, y) }
            let ends = z < y ? [z] + cuts + [y] : [z] + cuts.reversed() + [y]
            var total = 0.0
            for k in 1..<ends.count {
                var result = 0.0, error = 0.0
                let status = gsl_integration_qag(&g, ends[k - 1], ends[k], 1e-13, 1e-13, 1000, 2 /* GSL_INTEG_GAUSS21 */,
                                                 workspace, &result, &error)
                if status != 0 { failure = status }
                total += result
            }
            return total
        }
    }

    final class QuadratureContext {
        let p: Diffusion1D
        let exponent: Exponent
        let reflectingLower: Bool
        let lower: Double, upper: Double
        let inner: UnsafeMutablePointer<gsl_integration_workspace>
        var y = 0.0
        var innerFailure: Int32 = 0
        var failure: Int32 { innerFailure != 0 ? innerFailure : exponent.failure }

        init(_ p: Diffusion1D, reflectingLower: Bool, lower: Double, upper: Double) {
            self.p = p
            exponent = Exponent(p)
            self.reflectingLower = reflectingLower
            self.lower = lower
            self.upper = upper
            inner = gsl_integration_workspace_alloc(4000)
        }
        deinit { gsl_integration_workspace_free(inner) }

        /// s'(y)·∫ m(z) dz over the reflecting side of y, exponents combined.
        func outerIntegrand(_ y: Double) -> Double {
            self.y = y
            var g = gsl_function(function: { z, params in
                let c = Unmanaged<QuadratureContext>.fromOpaque(params!).takeUnretainedValue()
                let e = exp(c.exponent.difference(from: z, to: c.y))
                return c.p.form == .ito ? e / c.p.diffusion(z) : e
            }, params: Unmanaged.passUnretained(self).toOpaque())
            var result = 0.0, error = 0.0
            var status: Int32
            let (from, to) = reflectingLower ? (lower, y) : (y, upper)
            if from.isFinite && to.isFinite {
                // split at the jumps of D, each piece by QAGS
                let ends = [from] + p.breakpoints.filter { $0 > from && $0 < to } + [to]
                status = 0
                for k in 1..<ends.count {
                    var piece = 0.0
                    let s = gsl_integration_qags(&g, ends[k - 1], ends[k], 0, 1e-12, 4000, inner, &piece, &error)
                    if s != 0 { status = s }
                    result += piece
                }
            } else if reflectingLower {
                status = gsl_integration_qagil(&g, y, 0, 1e-12, 4000, inner, &result, &error)
            } else {
                status = gsl_integration_qagiu(&g, y, 0, 1e-12, 4000, inner, &result, &error)
            }
            if status != 0 { innerFailure = status }
            return p.form == .ito ? result : result / p.diffusion(y)
        }
    }

    // MARK: - Grid solves

    /// MFPT `T` on the grid: `𝓛T = −1` inside, `T = 0` at absorbing ends, `T' = 0` at
    /// reflecting ends (ghost node), second-order central differences (see `Grid1D`),
    /// one GSL tridiagonal solve. Error O(h²); call the result at the start point
    /// (linear interpolation, also O(h²)). Both ends reflecting throws (T = ∞).
    public static func meanExitTime(_ p: Diffusion1D, lower: Double, upper: Double, lowerBoundary: Boundary,
                                    upperBoundary: Boundary, nodes: Int) throws -> GridFunction1D {
        guard lowerBoundary == .absorbing || upperBoundary == .absorbing else {
            throw GridError("MFPT needs at least one absorbing end; both are reflecting")
        }
        return try meanExitTime(Operator(p, lower: lower, upper: upper, lowerBoundary: lowerBoundary,
                                         upperBoundary: upperBoundary, nodes: nodes))
    }

    /// `meanExitTime` on given nodes (increasing; `adaptedNodes` makes them), with the
    /// three-point non-uniform discretisation of `Operator` (second order on the nodes of a
    /// smooth map, M-matrix while the cell Péclet number |β|·max(h₋, h₊)/(2D) < 1).
    public static func meanExitTime(_ p: Diffusion1D, nodes: [Double], lowerBoundary: Boundary,
                                    upperBoundary: Boundary) throws -> GridFunction1D {
        guard lowerBoundary == .absorbing || upperBoundary == .absorbing else {
            throw GridError("MFPT needs at least one absorbing end; both are reflecting")
        }
        return try meanExitTime(Operator(p, nodes: nodes, lowerBoundary: lowerBoundary, upperBoundary: upperBoundary))
    }

    static func meanExitTime(_ op: Operator) throws -> GridFunction1D {
        let m = op.count
        let solution = try solveTridiagonal(diagonal: op.diagonal.map { -$0 }, upper: op.upper.map { -$0 },
                                            lower: op.lower.map { -$0 }, rhs: [Double](repeating: 1, count: m),
                                            context: "MFPT tridiagonal solve")
        return op.gridFunction(solution, lowerValue: 0, upperValue: 0)
    }

    /// Committor (splitting probability) `q(x) = P_x(hit upper before lower)`: `𝓛q = 0`,
    /// `q(lower) = 0`, `q(upper) = 1`, second-order central differences, one GSL
    /// tridiagonal solve. Error O(h²); exact (to rounding) when q is linear, e.g. V' = 0
    /// with constant D.
    public static func committor(_ p: Diffusion1D, lower: Double, upper: Double, nodes: Int) throws -> GridFunction1D {
        try committor(Operator(p, lower: lower, upper: upper, lowerBoundary: .absorbing, upperBoundary: .absorbing, nodes: nodes))
    }

    /// `committor` on given nodes (increasing; see `meanExitTime(_:nodes:lowerBoundary:upperBoundary:)`).
    public static func committor(_ p: Diffusion1D, nodes: [Double]) throws -> GridFunction1D {
        try committor(Operator(p, nodes: nodes, lowerBoundary: .absorbing, upperBoundary: .absorbing))
    }

    static func committor(_ op: Operator) throws -> GridFunction1D {
        let m = op.count
        var rhs = [Double](repeating: 0, count: m)
        rhs[m - 1] = op.upperCoupling  // −(𝓛q)_{last} = 0 with q(upper) = 1 moved across
        let solution = try solveTridiagonal(diagonal: op.diagonal.map { -$0 }, upper: op.upper.map { -$0 },
                                            lower: op.lower.map { -$0 }, rhs: rhs, context: "committor tridiagonal solve")
        return op.gridFunction(solution, lowerValue: 0, upperValue: 1)
    }

    /// Principal eigenvalue λ₁ of `−𝓛` (the escape rate; `1/λ₁ ≈ MFPT` in the metastable
    /// limit, exactly the mean exit time from the quasi-stationary law) and the
    /// quasi-stationary density (normalised, trapezoid rule; zero at absorbing ends).
    ///
    /// The central-difference matrix M = −𝓛_h is tridiagonal with positive off-diagonal
    /// products (Péclet < 1), hence similar, M = Δ⁻¹SΔ with Δ diagonal, to a symmetric S
    /// with off-diagonals √(M_{i,i+1}M_{i+1,i}). λ₁ by Sturm-sequence bisection on S
    /// (absolute accuracy ≈ ε_mach·‖S‖ ≈ 1e-16·4·max D/h²), the eigenvector by inverse
    /// iteration just below λ₁ (GSL `gsl_linalg_solve_symm_tridiag`); the density is the
    /// left eigenvector Δw of M divided by the trapezoid weights (½ at reflecting ends).
    /// Eigenvalue error O(h²). Both ends reflecting: λ₁ = 0 and the density is the
    /// stationary one.
    public static func principalEigenvalue(_ p: Diffusion1D, lower: Double, upper: Double, lowerBoundary: Boundary,
                                           upperBoundary: Boundary, nodes: Int) throws
        -> (rate: Double, quasiStationary: GridFunction1D) {
        try principalEigenvalue(Operator(p, lower: lower, upper: upper, lowerBoundary: lowerBoundary,
                                         upperBoundary: upperBoundary, nodes: nodes),
                                lowerBoundary: lowerBoundary, upperBoundary: upperBoundary)
    }

    /// `principalEigenvalue` on given nodes (increasing; see
    /// `meanExitTime(_:nodes:lowerBoundary:upperBoundary:)`); the density is normalised with the
    /// trapezoid weights of the nodes.
    public static func principalEigenvalue(_ p: Diffusion1D, nodes: [Double], lowerBoundary: Boundary,
                                           upperBoundary: Boundary) throws -> (rate: Double, quasiStationary: GridFunction1D) {
        try principalEigenvalue(Operator(p, nodes: nodes, lowerBoundary: lowerBoundary, upperBoundary: upperBoundary),
                                lowerBoundary: lowerBoundary, upperBoundary: upperBoundary)
    }

    static func principalEigenvalue(_ op: Operator, lowerBoundary: Boundary, upperBoundary: Boundary) throws
        -> (rate: Double, quasiStationary: GridFunction1D) {
        let m = op.count
        let s = op.diagonal.map { -$0 }
        // squared symmetric off-diagonals
        let e2 = (0..<(m - 1)).map { op.upper[$0] * op.lower[$0] }
        let e = e2.map { $0.squareRoot() }
        var vector: [Double]
        let rate: Double
        if m == 1 {
            rate = s[0]
            vector = [1]
        } else {
            var low = Double.infinity, high = -Double.infinity
            for k in 0..<m {
                let radius = (k > 0 ? e[k - 1] : 0) + (k < m - 1 ? e[k] : 0)
                low = min(low, s[k] - radius)
                high = max(high, s[k] + radius)
            }
            let pivotFloor = Double.leastNormalMagnitude * max(1, e2.max()!)
            // eigenvalues of S below x: negative pivots of the LDLᵀ factorisation of S − xI
            func countBelow(_ x: Double) -> Int {
                var count = 0
                var d = s[0] - x
                if d < 0 { count += 1 }
                for k in 1..<m {
                    if abs(d) < pivotFloor { d = -pivotFloor }
                    d = s[k] - x - e2[k - 1] / d
                    if d < 0 { count += 1 }
                }
                return count
            }
            low = min(low, 0) - 1e-14 * abs(high)
            high = high + 1e-14 * abs(high) + Double.leastNormalMagnitude
            for _ in 0..<300 {
                let mid = 0.5 * (low + high)
                if mid <= low || mid >= high { break }
                if countBelow(mid) >= 1 { high = mid } else { low = mid }
            }
            rate = 0.5 * (low + high)
            // inverse iteration with a shift below λ₁: S − σI is positive definite
            let shift = low - (high - low) - 1e-15 * abs(low)
            let shifted = s.map { $0 - shift }
            vector = [Double](repeating: 1, count: m)
            for _ in 0..<20 {
                var next = try solveSymmetricTridiagonal(diagonal: shifted, offDiagonal: e, rhs: vector,
                                                         context: "quasi-stationary inverse iteration")
                let scale = next.map { abs($0) }.max()!
                guard scale > 0, scale.isFinite else {
                    throw GSLError(status: Int32(GSL_ESING), context: "quasi-stationary inverse iteration")
                }
                for k in 0..<m { next[k] = abs(next[k]) / scale }
                var change = 0.0
                for k in 0..<m { change = max(change, abs(next[k] - vector[k])) }
                vector = next
                if change < 1e-14 { break }
            }
        }
        // left eigenvector ρ = Δw, log Δ from (δ_{k+1}/δ_k)² = M_{k,k+1}/M_{k+1,k}
        var logDensity = [Double](repeating: 0, count: m)
        var logDelta = 0.0
        for k in 0..<m {
            if k > 0 { logDelta += 0.5 * log(op.upper[k - 1] / op.lower[k - 1]) }
            logDensity[k] = log(vector[k]) + logDelta
        }
        let top = logDensity.max()!
        var density = logDensity.map { exp($0 - top) }
        if op.uniform {
            if lowerBoundary == .reflecting { density[0] *= 2 }
            if upperBoundary == .reflecting { density[m - 1] *= 2 }
        } else {
            // the left eigenvector holds mass per node: divide by the node's trapezoid weight
            let w = op.trapezoidWeights
            for k in 0..<m { density[k] /= w[op.first + k] }
        }
        let full = op.gridFunction(density, lowerValue: 0, upperValue: 0)
        var mass = 0.0
        for i in 1..<full.values.count { mass += 0.5 * (full.values[i] + full.values[i - 1]) * (op.uniform ? op.h : full.x[i] - full.x[i - 1]) }
        return (rate, GridFunction1D(x: full.x, values: full.values.map { $0 / mass }))
    }

    /// Survival `S(t) = P_{x₀}(τ > t)` at the given times: the backward equation
    /// `∂u/∂t = 𝓛u`, `u(0) = 1` inside, `u = 0` at absorbing ends, `u' = 0` at reflecting
    /// ends, central differences in space, Crank–Nicolson in time (second order in both),
    /// with Rannacher's start-up (four backward-Euler half steps) to damp the initial
    /// discontinuity at absorbing ends. Steps grow with time, Δt = max(Δt₀, (h/(b − a))·t)
    /// with Δt₀ = h²/max D, so the temporal error ∝ (h/(b − a))² matches the spatial one;
    /// each requested time is hit exactly. One GSL tridiagonal solve per step. `S(0) = 1`
    /// unless the start is on an absorbing end.
    public static func survival(_ p: Diffusion1D, start: Double, times: [Double], lower: Double, upper: Double,
                                lowerBoundary: Boundary, upperBoundary: Boundary, nodes: Int) throws -> [Double] {
        let op = try Operator(p, lower: lower, upper: upper, lowerBoundary: lowerBoundary,
                              upperBoundary: upperBoundary, nodes: nodes)
        guard start.isFinite, start >= lower, start <= upper else {
            throw GridError("start must lie in [\(lower), \(upper)], got \(start)")
        }
        for t in times where !(t.isFinite && t >= 0) {
            throw GridError("times must be finite and >= 0, got \(t)")
        }
        let onAbsorbing = (start == lower && lowerBoundary == .absorbing) || (start == upper && upperBoundary == .absorbing)
        if onAbsorbing { return times.map { _ in 0 } }
        GSL.prepare()
        let m = op.count
        let order = times.indices.sorted { times[$0] < times[$1] }
        var output = [Double](repeating: 1, count: times.count)
        let maxD = op.diffusionAtNodes.max()!
        let firstStep = op.h * op.h / maxD
        let growth = op.h / (upper - lower)

        let diagonal = gsl_vector_alloc(m)!, rhs = gsl_vector_alloc(m)!, next = gsl_vector_alloc(m)!
        let above = gsl_vector_alloc(max(m - 1, 1))!, below = gsl_vector_alloc(max(m - 1, 1))!
        defer { [diagonal, rhs, next, above, below].forEach { gsl_vector_free($0) } }
        var u = [Double](repeating: 1, count: m)
        // (I − θΔt𝓛) u⁺ = (I + (1 − θ)Δt𝓛) u
        func step(_ dt: Double, theta: Double) throws(GSLError) {
            let d = diagonal.pointee.data!, r = rhs.pointee.data!, a = above.pointee.data!, b = below.pointee.data!
            for k in 0..<m {
                var lu = op.diagonal[k] * u[k]
                if k > 0 { lu += op.lower[k - 1] * u[k - 1] }
                if k < m - 1 { lu += op.upper[k] * u[k + 1] }
                r[k] = u[k] + (1 - theta) * dt * lu
                d[k] = 1 - theta * dt * op.diagonal[k]
                if k < m - 1 {
                    a[k] = -theta * dt * op.upper[k]
                    b[k] = -theta * dt * op.lower[k]
                }
            }
            if m == 1 {
                u[0] = r[0] / d[0]
                return
            }
            try GSL.check(gsl_linalg_solve_tridiag(diagonal, above, below, rhs, next), "survival Crank–Nicolson solve")
            let x = next.pointee.data!
            for k in 0..<m { u[k] = x[k] }
        }
        var t = 0.0
        var startSteps = 0
        for index in order {
            let target = times[index]
            if target == 0 { output[index] = 1; continue }
            while t < target {
                let rannacher = startSteps < 4
                var dt = rannacher ? 0.5 * firstStep : max(firstStep, growth * t)
                var last = false
                if t + dt >= target * (1 - 1e-13) { dt = target - t; last = true }
                try step(dt, theta: rannacher ? 1 : 0.5)
                if rannacher { startSteps += 1 }
                t = last ? target : t + dt
            }
            output[index] = op.gridFunction(u, lowerValue: 0, upperValue: 0)(start)
        }
        return output
    }

    /// Stationary density on `[lower, upper]` with both ends reflecting, normalised:
    /// Itô `p ∝ e^{−Φ}/D`, divergence `p ∝ e^{−Φ}`, `Φ(x) = ∫^x V'/D` (Gardiner §5.2.2).
    /// Exact at the nodes up to quadrature tolerance (not a grid solve): Φ by GSL QAG
    /// (Gauss–Kronrod 21, tolerance 1e-13) node to node, or `V/ε` for
    /// `Diffusion1D.constant`; normalisation by GSL QAGS, relative tolerance 1e-10.
    public static func stationaryDensity(_ p: Diffusion1D, lower: Double, upper: Double, nodes: Int) throws -> GridFunction1D {
        let op = try Operator(p, lower: lower, upper: upper, lowerBoundary: .reflecting,
                              upperBoundary: .reflecting, nodes: nodes, requirePeclet: false)
        GSL.prepare()
        let context = DensityContext(p, nodes: op.x)
        let box = Unmanaged.passRetained(context)
        defer { box.release() }
        let top = context.phi.min()!  // largest e^{−Φ}
        context.offset = top
        let workspace = gsl_integration_workspace_alloc(4000)
        defer { gsl_integration_workspace_free(workspace) }
        var f = gsl_function(function: { x, params in
            let c = Unmanaged<DensityContext>.fromOpaque(params!).takeUnretainedValue()
            return c.density(x)
        }, params: box.toOpaque())
        var mass = 0.0, error = 0.0
        let status = gsl_integration_qags(&f, lower, upper, 0, 1e-10, 4000, workspace, &mass, &error)
        try GSL.check(status, "stationary density normalisation")
        try GSL.check(context.exponent.failure, "stationary density exponent Φ")
        let values = op.x.indices.map { context.unnormalised(phi: context.phi[$0], at: op.x[$0]) / mass }
        return GridFunction1D(x: op.x, values: values)
    }

    final class DensityContext {
        let p: Diffusion1D
        let exponent: Exponent
        let x: [Double]
        let phi: [Double]
        var offset = 0.0
        init(_ p: Diffusion1D, nodes x: [Double]) {
            self.p = p
            exponent = Exponent(p)
            self.x = x
            var phi = [0.0]
            for i in 1..<x.count { phi.append(phi[i - 1] + exponent.difference(from: x[i - 1], to: x[i])) }
            self.phi = phi
        }
        func unnormalised(phi: Double, at x: Double) -> Double {
            let e = exp(-(phi - offset))
            return p.form == .ito ? e / p.diffusion(x) : e
        }
        func density(_ at: Double) -> Double {
            let h = x[1] - x[0]
            let k = min(max(Int((at - x[0]) / h), 0), x.count - 1)
            return unnormalised(phi: phi[k] + exponent.difference(from: x[k], to: at), at: at)
        }
    }

    // MARK: - Non-uniform nodes

    /// Nodes on [lower, upper] that equidistribute the monitor
    ///   w(x) = 1/(b − a) + |β(x)|/(2D(x)) + κ·√(r/D(x)),   κ = `layerResolution`,
    /// r = max|β'| over [a, b] (from 1001 samples): `count` nodes xᵢ = φ(i/(count − 1)) with
    /// ∫_a^{xᵢ} w = i·W/(count − 1), W = ∫_a^b w (de Boor's equidistribution; Huang & Russell,
    /// *Adaptive Moving Mesh Methods*, §2.2). The second term bounds the cell Péclet number:
    /// h(x)·w(x) ≈ W/(count − 1), so |β|h/(2D) ≤ W/(count − 1) < 1 once count > W + 1 — the
    /// Péclet condition costs ∫|β|/(2D) nodes instead of the uniform grid's (b − a)·max|β|/(2D)
    /// (half as many for the linear saddle drift, far fewer where |β| peaks narrowly). The
    /// third resolves the layers of width √(D/|β'|) around zeros of β (saddles, minima) with
    /// about 4κ·(count − 1)/W nodes per width wherever D is smallest; the first keeps h below
    /// (b − a)·W/(count − 1) everywhere.
    ///
    /// φ is the solution of dx/dξ = W/w(x), x(0) = a, by the explicit midpoint rule with
    /// step 1/(count − 1), rescaled so that x(1) = b: a smooth map (its local error varies
    /// smoothly), so `Operator`'s three-point scheme is second order in 1/(count − 1) and the
    /// nodes with even indices are `adaptedNodes(count: (count + 1)/2)` of the same map up to
    /// that error — Richardson's nested levels (`Richardson.extrapolate`) are every second
    /// and fourth node of the finest grid.
    public static func adaptedNodes(_ p: Diffusion1D, lower a: Double, upper b: Double, count n: Int,
                                    through point: Double? = nil, multiple: Int = 1,
                                    layerResolution kappa: Double = 8) throws -> [Double] {
        guard a.isFinite, b.isFinite, a < b else { throw GridError("interval must be finite with lower < upper, got [\(a), \(b)]") }
        guard n >= 3 else { throw GridError("nodes must be >= 3, got \(n)") }
        guard multiple >= 1, (n - 1) % multiple == 0 else {
            throw GridError("nodes − 1 must be a multiple of \(multiple), got nodes = \(n)")
        }
        let monitor = try Monitor(p, lower: a, upper: b, layerResolution: kappa)
        guard let x0 = point, x0 > a, x0 < b else { return monitor.nodes(from: a, to: b, intervals: n - 1) }
        guard n - 1 >= 2 * multiple else {
            throw GridError("nodes must be >= \(2 * multiple + 1) to hold \(x0) on every level, got \(n)")
        }
        // the piece [a, x₀] gets its share of W, rounded to a multiple: x₀ is a node of every level
        let left = monitor.integral(from: a, to: x0)
        let share = Double(n - 1) * left / (left + monitor.integral(from: x0, to: b))
        let k = min(max(multiple * Int((share / Double(multiple)).rounded()), multiple), n - 1 - multiple)
        let lower = monitor.nodes(from: a, to: x0, intervals: k)
        let upper = monitor.nodes(from: x0, to: b, intervals: n - 1 - k)
        return lower + upper.dropFirst()
    }

    /// W = ∫ w over [a, b] for `adaptedNodes`' monitor: the number of nodes above which every
    /// cell Péclet number of the adapted grid is < 1.
    public static func adaptedMonitorIntegral(_ p: Diffusion1D, lower a: Double, upper b: Double,
                                              layerResolution kappa: Double = 8) throws -> Double {
        try Monitor(p, lower: a, upper: b, layerResolution: kappa).total
    }

    struct Monitor {
        let p: Diffusion1D
        let base: Double, layer: Double
        /// r = max|β'|, sampled.
        let rate: Double
        let total: Double

        init(_ p: Diffusion1D, lower a: Double, upper b: Double, layerResolution kappa: Double) throws(GridError) {
            self.p = p
            base = 1 / (b - a)
            var rate = 0.0
            let samples = 1001
            var previous = p.drift(a)
            for k in 1..<samples {
                let x = a + (b - a) * Double(k) / Double(samples - 1)
                let beta = p.drift(x)
                guard beta.isFinite else { throw GridError("drift must be finite, got \(beta) at x = \(x)") }
                rate = max(rate, abs(beta - previous) * Double(samples - 1) / (b - a))
                previous = beta
            }
            self.rate = rate
            layer = kappa * rate.squareRoot()
            // W by the composite Simpson rule on 2·10⁵ panels (it only sets the node count and
            // the map's step; the rescaling makes x(1) = b exactly)
            let panels = 200_000
            let width = (b - a) / Double(panels)
            var sum = 0.0
            var w = Monitor.value(p, a, base: base, layer: layer)
            for k in 0..<panels {
                let left = a + Double(k) * width
                let mid = Monitor.value(p, left + 0.5 * width, base: base, layer: layer)
                let right = Monitor.value(p, k == panels - 1 ? b : left + width, base: base, layer: layer)
                guard mid.isFinite, right.isFinite else { throw GridError("diffusion D(x) must be finite and > 0 on [\(a), \(b)]") }
                sum += w + 4 * mid + right
                w = right
            }
            total = sum * width / 6
        }

        /// Nodes from `a` to `b` (both included) equidistributing w: dx/dξ = W/w(x) by the
        /// explicit midpoint rule, rescaled to end at `b`.
        /// ∫_a^b w by the composite Simpson rule on 20 000 panels.
        func integral(from a: Double, to b: Double) -> Double {
            var total = 0.0
            let panels = 20_000, width = (b - a) / Double(panels)
            for k in 0..<panels {
                let left = a + Double(k) * width
                total += self(left) + 4 * self(left + 0.5 * width) + self(left + width)
            }
            return total * width / 6
        }

        func nodes(from a: Double, to b: Double, intervals: Int) -> [Double] {
            // the integral sets the step; the rescaling makes the last node b exactly
            let step = integral(from: a, to: b) / Double(intervals)
            var x = [Double](repeating: a, count: intervals + 1)
            var current = a
            for i in 1...intervals {
                let half = min(current + 0.5 * step / self(current), b)
                current += step / self(half)
                x[i] = current
            }
            let stretch = (b - a) / (x[intervals] - a)
            for i in 1..<intervals { x[i] = a + (x[i] - a) * stretch }
            x[intervals] = b
            return x
        }

        static func value(_ p: Diffusion1D, _ x: Double, base: Double, layer: Double) -> Double {
            let d = p.diffusion(x)
            return base + abs(p.drift(x)) / (2 * d) + layer / d.squareRoot()
        }

        func callAsFunction(_ x: Double) -> Double { Monitor.value(p, x, base: base, layer: layer) }
    }

    // MARK: - Discretisation

    /// Rows of 𝓛_h for the unknown nodes (absorbing ends excluded), ghost nodes folded in.
    ///
    /// On nodes x₀ < … < x_{n−1} with spacings h₋ = xᵢ − xᵢ₋₁, h₊ = xᵢ₊₁ − xᵢ (Kálnay de Rivas,
    /// J. Comput. Phys. 10, 1972; LeVeque, *Finite Difference Methods*, §1.5):
    ///   f'' ≈ 2[(fᵢ₊₁ − fᵢ)/h₊ − (fᵢ − fᵢ₋₁)/h₋]/(h₊ + h₋),
    ///   f'  ≈ [h₋²fᵢ₊₁ + (h₊² − h₋²)fᵢ − h₊²fᵢ₋₁]/(h₊h₋(h₊ + h₋)),
    /// so (𝓛_h f)ᵢ = c₊(fᵢ₊₁ − fᵢ) + c₋(fᵢ₋₁ − fᵢ) with c₊ = (2D + βh₋)/(h₊(h₊ + h₋)) and
    /// c₋ = (2D − βh₊)/(h₋(h₊ + h₋)). f' is second order on any grid; f'' is second order where
    /// h₊ − h₋ = O(h²), i.e. on grids xᵢ = φ(i/(n−1)) of a smooth map φ — uniform grids and
    /// `Grid1D.adaptedNodes` — and first order on arbitrary ones. −𝓛_h is a (weakly chained)
    /// diagonally dominant M-matrix iff c₊, c₋ ≥ 0, i.e. iff the cell Péclet number
    /// |β|·max(h₋, h₊)/(2D) ≤ 1 at every unknown node; this throws at ≥ 1, as on uniform grids.
    struct Operator {
        let x: [Double]
        /// The largest spacing (the uniform grid's h).
        let h: Double
        /// Nodes a + i·h (the uniform grid's bits).
        let uniform: Bool
        let first: Int, last: Int
        /// 𝓛_h restricted to the unknowns: diagonal (count), upper/lower (count − 1;
        /// lower[k] multiplies u_k in row k + 1).
        let diagonal: [Double], upper: [Double], lower: [Double]
        /// Coefficient of the upper Dirichlet value in the last row (absorbing upper end).
        let upperCoupling: Double
        let diffusionAtNodes: [Double]
        var count: Int { diagonal.count }

        init(_ p: Diffusion1D, lower a: Double, upper b: Double, lowerBoundary: Boundary, upperBoundary: Boundary,
             nodes n: Int, requirePeclet: Bool = true) throws(GridError) {
            guard a.isFinite, b.isFinite, a < b else {
                throw GridError("interval must be finite with lower < upper, got [\(a), \(b)]")
            }
            guard n >= 3 else { throw GridError("nodes must be >= 3, got \(n)") }
            let h = (b - a) / Double(n - 1)
            try self.init(p, nodes: (0..<n).map { $0 == n - 1 ? b : a + Double($0) * h }, lowerBoundary: lowerBoundary,
                          upperBoundary: upperBoundary, requirePeclet: requirePeclet, uniformSpacing: h)
        }

        /// `uniformSpacing`: the nodes are a + i·h; the coefficients are then computed as
        /// D/h² ± β/(2h) (the same values, with the bits of the uniform solver).
        init(_ p: Diffusion1D, nodes x: [Double], lowerBoundary: Boundary, upperBoundary: Boundary,
             requirePeclet: Bool = true, uniformSpacing: Double? = nil) throws(GridError) {
            let n = x.count
            guard n >= 3 else { throw GridError("nodes must be >= 3, got \(n)") }
            guard x[0].isFinite, x[n - 1].isFinite, x[0] < x[n - 1] else {
                throw GridError("interval must be finite with lower < upper, got [\(x[0]), \(x[n - 1])]")
            }
            for i in 1..<n where !(x[i] > x[i - 1]) {
                throw GridError("grid nodes must increase strictly, got x[\(i - 1)] = \(x[i - 1]), x[\(i)] = \(x[i])")
            }
            let a = x[0], b = x[n - 1]
            let first = lowerBoundary == .absorbing ? 1 : 0
            let last = upperBoundary == .absorbing ? n - 2 : n - 1
            var sub = [Double](repeating: 0, count: n), sup = sub, diag = sub, dAt = sub
            var worstPeclet = 0.0, worstAt = a, worstDrift = 0.0, worstD = 1.0
            var largest = 0.0
            for i in 1..<n { largest = max(largest, x[i] - x[i - 1]) }
            for i in 0..<n {
                let d = p.diffusion(x[i])
                guard d > 0, d.isFinite else { throw GridError("diffusion D(x) must be finite and > 0, got \(d) at x = \(x[i])") }
                dAt[i] = d
                guard i >= first && i <= last else { continue }
                let beta = p.drift(x[i])
                guard beta.isFinite else { throw GridError("drift must be finite, got \(beta) at x = \(x[i])") }
                // a reflecting end mirrors its neighbour (ghost node): h₋ = h₊ there
                let hPlus = i < n - 1 ? x[i + 1] - x[i] : x[i] - x[i - 1]
                let hMinus = i > 0 ? x[i] - x[i - 1] : hPlus
                if let h = uniformSpacing {
                    sub[i] = d / (h * h) - beta / (2 * h)
                    sup[i] = d / (h * h) + beta / (2 * h)
                    diag[i] = -2 * d / (h * h)
                } else {
                    let span = hPlus + hMinus
                    sup[i] = (2 * d + beta * hMinus) / (hPlus * span)
                    sub[i] = (2 * d - beta * hPlus) / (hMinus * span)
                    diag[i] = -(sup[i] + sub[i])
                }
                let boundaryRow = (i == 0) || (i == n - 1)  // ghost node: β drops out
                let peclet = abs(beta) * (uniformSpacing ?? max(hPlus, hMinus)) / (2 * d)
                if !boundaryRow && peclet > worstPeclet {
                    worstPeclet = peclet
                    worstAt = x[i]
                    worstDrift = beta
                    worstD = d
                }
            }
            if requirePeclet && worstPeclet >= 1 {
                if uniformSpacing != nil {
                    let needed = Operator.uniformNodesNeeded(p, lower: a, upper: b, first: first == 1, last: last == n - 2,
                                                             from: Int(((b - a) * abs(worstDrift) / (2 * worstD)).rounded(.up)) + 2)
                    throw GridError("nodes = \(n) too few: cell Péclet number |drift|·h/(2D) = \(worstPeclet) >= 1 at x = \(worstAt); nodes = \(needed) passes",
                                    suggestedNodes: needed)
                }
                throw GridError("\(n) non-uniform nodes too few: cell Péclet number |drift|·max(h₋, h₊)/(2D) = \(worstPeclet) >= 1 at x = \(worstAt); refine there (Grid1D.adaptedNodes with more nodes)")
            }
            if lowerBoundary == .reflecting {
                let e = uniformSpacing ?? (x[1] - x[0])
                sup[0] = 2 * dAt[0] / (e * e); diag[0] = -2 * dAt[0] / (e * e)
            }
            if upperBoundary == .reflecting {
                let e = uniformSpacing ?? (x[n - 1] - x[n - 2])
                sub[n - 1] = 2 * dAt[n - 1] / (e * e); diag[n - 1] = -2 * dAt[n - 1] / (e * e)
            }
            self.x = x
            self.h = uniformSpacing ?? largest
            uniform = uniformSpacing != nil
            self.first = first
            self.last = last
            diagonal = Array(diag[first...last])
            upper = first < last ? Array(sup[first..<last]) : []
            lower = first < last ? Array(sub[(first + 1)...last]) : []
            upperCoupling = upperBoundary == .absorbing ? sup[n - 2] : 0
            diffusionAtNodes = dAt
        }

        /// The smallest uniform node count whose grid passes the Péclet check at its own nodes
        /// (the worst node moves with the grid, so the estimate `start` from one grid's worst node
        /// is checked on the grid it names, raised by 1 % until it passes, then bisected down).
        static func uniformNodesNeeded(_ p: Diffusion1D, lower a: Double, upper b: Double, first skipFirst: Bool,
                                       last skipLast: Bool, from start: Int) -> Int {
            func passes(_ n: Int) -> Bool {
                let h = (b - a) / Double(n - 1)
                for i in (skipFirst ? 1 : 0)...(skipLast ? n - 2 : n - 1) where i > 0 && i < n - 1 {
                    let x = a + Double(i) * h
                    if abs(p.drift(x)) * h / (2 * p.diffusion(x)) >= 1 { return false }
                }
                return true
            }
            var failing = 2, n = max(start, 3)
            for _ in 0..<200 where !passes(n) {
                failing = n
                n += max(1, n / 100)
            }
            // bisect down to the smallest passing count above the last failing one
            while n - failing > 1 {
                let mid = (failing + n) / 2
                if passes(mid) { n = mid } else { failing = mid }
            }
            return n
        }

        /// Trapezoid weights of the nodes, (xᵢ₊₁ − xᵢ₋₁)/2 inside and half a spacing at the ends.
        var trapezoidWeights: [Double] {
            let n = x.count
            return (0..<n).map { i in 0.5 * ((i < n - 1 ? x[i + 1] : x[i]) - (i > 0 ? x[i - 1] : x[i])) }
        }

        /// Unknowns plus the Dirichlet values at absorbing ends, on the full grid.
        func gridFunction(_ unknowns: [Double], lowerValue: Double, upperValue: Double) -> GridFunction1D {
            var values = [Double]()
            values.reserveCapacity(x.count)
            if first == 1 { values.append(lowerValue) }
            values.append(contentsOf: unknowns)
            if last == x.count - 2 { values.append(upperValue) }
            return GridFunction1D(x: x, values: values)
        }
    }

    static func solveTridiagonal(diagonal: [Double], upper: [Double], lower: [Double], rhs: [Double],
                                 context: String) throws(GSLError) -> [Double] {
        let m = diagonal.count
        if m == 1 { return [rhs[0] / diagonal[0]] }
        GSL.prepare()
        var d = diagonal, a = upper, b = lower, r = rhs
        var x = [Double](repeating: 0, count: m)
        let status: Int32 = d.withUnsafeMutableBufferPointer { dp in
            a.withUnsafeMutableBufferPointer { ap in
                b.withUnsafeMutableBufferPointer { bp in
                    r.withUnsafeMutableBufferPointer { rp in
                        x.withUnsafeMutableBufferPointer { xp in
                            var dv = gsl_vector_view_array(dp.baseAddress, m)
                            var av = gsl_vector_view_array(ap.baseAddress, m - 1)
                            var bv = gsl_vector_view_array(bp.baseAddress, m - 1)
                            var rv = gsl_vector_view_array(rp.baseAddress, m)
                            var xv = gsl_vector_view_array(xp.baseAddress, m)
                            return gsl_linalg_solve_tridiag(&dv.vector, &av.vector, &bv.vector, &rv.vector, &xv.vector)
                        }
                    }
                }
            }
        }
        try GSL.check(status, context)
        return x
    }

    static func solveSymmetricTridiagonal(diagonal: [Double], offDiagonal: [Double], rhs: [Double],
                                          context: String) throws(GSLError) -> [Double] {
        let m = diagonal.count
        GSL.prepare()
        var d = diagonal, e = offDiagonal, r = rhs
        var x = [Double](repeating: 0, count: m)
        let status: Int32 = d.withUnsafeMutableBufferPointer { dp in
            e.withUnsafeMutableBufferPointer { ep in
                r.withUnsafeMutableBufferPointer { rp in
                    x.withUnsafeMutableBufferPointer { xp in
                        var dv = gsl_vector_view_array(dp.baseAddress, m)
                        var ev = gsl_vector_view_array(ep.baseAddress, m - 1)
                        var rv = gsl_vector_view_array(rp.baseAddress, m)
                        var xv = gsl_vector_view_array(xp.baseAddress, m)
                        return gsl_linalg_solve_symm_tridiag(&dv.vector, &ev.vector, &rv.vector, &xv.vector)
                    }
                }
            }
        }
        try GSL.check(status, context)
        return x
    }
}
