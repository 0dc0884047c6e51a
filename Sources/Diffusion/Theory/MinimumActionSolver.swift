import Foundation
internal import CGSL

/// The gMAM iteration behind `MinimumAction.path` (scheme and convergence test documented
/// there). Nodes are stored flat: coordinate j of node k at `k*d + j`.
final class MinimumActionSolver {
    let landscape: Landscape
    let covariance: MinimumAction.Covariance?
    let d: Int
    let n: Int
    /// Current nodes (ends fixed).
    var nodes: [Double]
    /// Orthonormal normal bases, node k (interior) column c at `(k*d + r)*(d-1) + c`.
    var frames: [Double]
    /// First failure inside a GSL callback (thrown after the call returns).
    var failure: MinimumActionError?

    init(landscape: Landscape, covariance: MinimumAction.Covariance?, from: [Double], to: [Double], nodes n: Int) throws {
        self.landscape = landscape
        self.covariance = covariance
        self.d = landscape.dimension
        self.n = n
        var path = [Double](repeating: 0, count: n * landscape.dimension)
        for k in 0..<n {
            let t = Double(k) / Double(n - 1)
            for j in 0..<landscape.dimension { path[k * landscape.dimension + j] = from[j] + t * (to[j] - from[j]) }
        }
        self.nodes = path
        self.frames = [Double](repeating: 0, count: n * landscape.dimension * max(landscape.dimension - 1, 1))
        // validate Σ at both ends up front, so a bad closure fails with a clear message
        _ = try metric(at: from, derivatives: false)
        _ = try metric(at: to, derivatives: false)
    }

    // MARK: - Local geometry

    /// A = Σ(x)⁻¹ and, when Σ is a closure and `derivatives`, ∂A/∂x_l = −A (∂Σ/∂x_l) A
    /// (central differences of Σ, step ε^{1/3}·max(1, |x_l|)).
    func metric(at x: [Double], derivatives: Bool) throws(MinimumActionError) -> (a: [Double], da: [[Double]]) {
        guard let covariance else {
            return ((0..<(d * d)).map { $0 % (d + 1) == 0 ? 1 : 0 }, [])
        }
        let sigma = covariance(x)
        guard sigma.count == d * d else {
            throw MinimumActionError("covariance returned \(sigma.count) entries, expected \(d)x\(d) = \(d * d)")
        }
        guard let a = Self.inverseSPD(sigma, d) else {
            throw MinimumActionError("covariance is not positive definite at \(x): \(sigma)")
        }
        guard derivatives else { return (a, []) }
        var da: [[Double]] = []
        for l in 0..<d {
            let step = cbrt(Double.ulpOfOne) * max(1, abs(x[l]))
            var plus = x, minus = x
            plus[l] += step
            minus[l] -= step
            let sp = covariance(plus), sm = covariance(minus)
            guard sp.count == d * d, sm.count == d * d else {
                throw MinimumActionError("covariance returned a matrix of the wrong size near \(x)")
            }
            let ds = (0..<(d * d)).map { (sp[$0] - sm[$0]) / (2 * step) }
            // −A dΣ A (dΣ symmetrised)
            var tmp = [Double](repeating: 0, count: d * d)
            for r in 0..<d { for c in 0..<d {
                var s = 0.0
                for k in 0..<d { s += a[r * d + k] * 0.5 * (ds[k * d + c] + ds[c * d + k]) }
                tmp[r * d + c] = s
            } }
            var out = [Double](repeating: 0, count: d * d)
            for r in 0..<d { for c in 0..<d {
                var s = 0.0
                for k in 0..<d { s += tmp[r * d + k] * a[k * d + c] }
                out[r * d + c] = -s
            } }
            da.append(out)
        }
        return (a, da)
    }

    /// Inverse of a symmetric positive-definite matrix by Cholesky; nil when a pivot is not
    /// positive and finite (the symmetric part is used).
    static func inverseSPD(_ m: [Double], _ d: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0...i {
                var s = 0.5 * (m[i * d + j] + m[j * d + i])
                for k in 0..<j { s -= l[i * d + k] * l[j * d + k] }
                if i == j {
                    guard s > 0, s.isFinite else { return nil }
                    l[i * d + i] = s.squareRoot()
                } else {
                    l[i * d + j] = s / l[j * d + j]
                }
            }
        }
        // columns of L⁻¹ by forward substitution, then A = L⁻ᵀ L⁻¹
        var li = [Double](repeating: 0, count: d * d)
        for c in 0..<d {
            for i in c..<d {
                var s = i == c ? 1.0 : 0.0
                for k in c..<i { s -= l[i * d + k] * li[k * d + c] }
                li[i * d + c] = s / l[i * d + i]
            }
        }
        var a = [Double](repeating: 0, count: d * d)
        for r in 0..<d { for c in 0..<d {
            var s = 0.0
            for k in max(r, c)..<d { s += li[k * d + r] * li[k * d + c] }
            a[r * d + c] = s
        } }
        return a
    }

    /// One chord's midpoint-rule action `|Δ|_A|b|_A − ⟨Δ, b⟩_A` (A, b at the midpoint
    /// m), its positive part `|Δ|_A|b|_A`, and optionally the gradients in Δ and m.
    func chord(_ delta: [Double], midpoint m: [Double], gradient: Bool) throws(MinimumActionError)
        -> (value: Double, scale: Double, gDelta: [Double], gMid: [Double]) {
        let b = landscape.gradient(at: m).map { -$0 }
        let (a, da) = try metric(at: m, derivatives: gradient && covariance != nil)
        var aDelta = [Double](repeating: 0, count: d), aB = [Double](repeating: 0, count: d)
        for r in 0..<d {
            for c in 0..<d {
                aDelta[r] += a[r * d + c] * delta[c]
                aB[r] += a[r * d + c] * b[c]
            }
        }
        var dd = 0.0, bb = 0.0, db = 0.0
        for r in 0..<d {
            dd += delta[r] * aDelta[r]
            bb += b[r] * aB[r]
            db += delta[r] * aB[r]
        }
        let nDelta = max(dd, 0).squareRoot(), nB = max(bb, 0).squareRoot()
        let value = nDelta * nB - db
        guard gradient else { return (value, nDelta * nB, [], []) }
        // at |b| = 0 (a critical point) or |Δ| = 0 the norm is not differentiable: use 0
        let rDelta = nDelta > 0 ? nB / nDelta : 0
        let rB = nB > 0 ? nDelta / nB : 0
        let gDelta = (0..<d).map { rDelta * aDelta[$0] - aB[$0] }
        let gB = (0..<d).map { rB * aB[$0] - aDelta[$0] }
        // ∂b/∂m = −∇²L (symmetric)
        let h = landscape.hessian(at: m)
        var gMid = [Double](repeating: 0, count: d)
        for i in 0..<d {
            var s = 0.0
            for j in 0..<d { s -= h[j * d + i] * gB[j] }
            gMid[i] = s
        }
        for l in 0..<da.count {
            var s = 0.0
            for i in 0..<d {
                for j in 0..<d {
                    let gA = 0.5 * rDelta * delta[i] * delta[j] + 0.5 * rB * b[i] * b[j] - delta[i] * b[j]
                    s += gA * da[l][i * d + j]
                }
            }
            gMid[l] += s
        }
        return (value, nDelta * nB, gDelta, gMid)
    }

    /// The discrete action S_h of `points`, its scale S₊, and optionally ∂S_h/∂(every node).
    func action(of points: [Double], gradient: Bool) throws(MinimumActionError)
        -> (value: Double, scale: Double, gradient: [Double]) {
        var total = 0.0, scale = 0.0
        var g = [Double](repeating: 0, count: gradient ? n * d : 0)
        for k in 0..<(n - 1) {
            let delta = (0..<d).map { points[(k + 1) * d + $0] - points[k * d + $0] }
            let m = (0..<d).map { 0.5 * (points[(k + 1) * d + $0] + points[k * d + $0]) }
            let c = try chord(delta, midpoint: m, gradient: gradient)
            total += c.value
            scale += c.scale
            if gradient {
                for j in 0..<d {
                    g[(k + 1) * d + j] += c.gDelta[j] + 0.5 * c.gMid[j]
                    g[k * d + j] += -c.gDelta[j] + 0.5 * c.gMid[j]
                }
            }
        }
        return (total, scale, g)
    }

    // MARK: - Reparametrisation and frames

    /// Normalised cumulative chord length of `points`.
    func arcParameters(_ points: [Double]) -> [Double] {
        var s = [Double](repeating: 0, count: n)
        for k in 1..<n {
            var l2 = 0.0
            for j in 0..<d { let e = points[k * d + j] - points[(k - 1) * d + j]; l2 += e * e }
            s[k] = s[k - 1] + l2.squareRoot()
        }
        let total = s[n - 1]
        return s.map { $0 / total }
    }

    func length(_ points: [Double]) -> Double {
        var total = 0.0
        for k in 1..<n {
            var l2 = 0.0
            for j in 0..<d { let e = points[k * d + j] - points[(k - 1) * d + j]; l2 += e * e }
            total += l2.squareRoot()
        }
        return total
    }

    /// Nodes at equal arc length on the natural cubic spline through the current nodes.
    func reparametrise() throws(MinimumActionError) {
        let s = arcParameters(nodes)
        guard s.allSatisfy(\.isFinite), zip(s, s.dropFirst()).allSatisfy({ $0.0 < $0.1 }) else {
            throw MinimumActionError("path nodes coincide; cannot reparametrise (is from = to?)")
        }
        let curve = SplineCurve(parameters: s, points: nodes, dimension: d)
        var next = nodes
        for k in 1..<(n - 1) {
            let p = curve.point(at: Double(k) / Double(n - 1))
            for j in 0..<d { next[k * d + j] = p[j] }
        }
        nodes = next
    }

    /// Orthonormal bases of the normal planes to the central-difference tangents: the
    /// columns ≠ i of the Householder reflection P = I − 2vvᵀ/vᵀv, v = τ + sign(τᵢ)eᵢ,
    /// i = argmax|τᵢ| (P eᵢ = −sign(τᵢ) τ).
    func buildFrames() {
        let m = d - 1
        for k in 1..<(n - 1) {
            var tau = (0..<d).map { nodes[(k + 1) * d + $0] - nodes[(k - 1) * d + $0] }
            let norm = tau.reduce(0) { $0 + $1 * $1 }.squareRoot()
            tau = tau.map { $0 / norm }
            let i = tau.indices.max { abs(tau[$0]) < abs(tau[$1]) }!
            var v = tau
            v[i] += tau[i] >= 0 ? 1 : -1
            let vv = v.reduce(0) { $0 + $1 * $1 }
            var column = 0
            for c in 0..<d where c != i {
                for r in 0..<d {
                    frames[(k * d + r) * m + column] = (r == c ? 1 : 0) - 2 * v[r] * v[c] / vv
                }
                column += 1
            }
        }
    }

    /// Nodes displaced along the frames by ξ (interior node k has ξ at `(k-1)*(d-1) ...`).
    func displaced(_ xi: UnsafePointer<gsl_vector>) -> [Double] {
        let m = d - 1
        var p = nodes
        for k in 1..<(n - 1) {
            for c in 0..<m {
                let t = gsl_vector_get(xi, (k - 1) * m + c)
                for r in 0..<d { p[k * d + r] += frames[(k * d + r) * m + c] * t }
            }
        }
        return p
    }

    /// ∂S_h/∂ξ from the node gradient: Eₖᵀ ∂S_h/∂φₖ.
    func project(_ g: [Double], into out: UnsafeMutablePointer<gsl_vector>) {
        let m = d - 1
        for k in 1..<(n - 1) {
            for c in 0..<m {
                var s = 0.0
                for r in 0..<d { s += frames[(k * d + r) * m + c] * g[k * d + r] }
                gsl_vector_set(out, (k - 1) * m + c, s)
            }
        }
    }

    // MARK: - Objective for GSL (errors recorded, NaN returned)

    func objective(_ xi: UnsafePointer<gsl_vector>) -> Double {
        do { return try action(of: displaced(xi), gradient: false).value } catch {
            if failure == nil { failure = error }
            return .nan
        }
    }

    func objectiveAndGradient(_ xi: UnsafePointer<gsl_vector>, _ g: UnsafeMutablePointer<gsl_vector>) -> Double {
        do {
            let r = try action(of: displaced(xi), gradient: true)
            project(r.gradient, into: g)
            return r.value
        } catch {
            if failure == nil { failure = error }
            gsl_vector_set_all(g, .nan)
            return .nan
        }
    }

    // MARK: - Solve

    func solve(tolerance: Double, maxIterations: Int) throws -> MinimumActionPath {
        var iterations = 0
        var converged = false
        GSL.prepare()
        if d == 1 {
            converged = true  // the path is the segment itself
        } else {
            let count = (n - 2) * (d - 1)
            let roundCap = max(200, 4 * count)
            let box = Unmanaged.passRetained(self)
            defer { box.release() }
            var function = gsl_multimin_function_fdf(
                f: { x, p in Unmanaged<MinimumActionSolver>.fromOpaque(p!).takeUnretainedValue().objective(x!) },
                df: { x, p, g in
                    _ = Unmanaged<MinimumActionSolver>.fromOpaque(p!).takeUnretainedValue().objectiveAndGradient(x!, g!)
                },
                fdf: { x, p, f, g in
                    f!.pointee = Unmanaged<MinimumActionSolver>.fromOpaque(p!).takeUnretainedValue().objectiveAndGradient(x!, g!)
                },
                n: count, params: box.toOpaque())
            guard let minimizer = gsl_multimin_fdfminimizer_alloc(sgd_gsl_multimin_bfgs2(), count),
                  let start = gsl_vector_alloc(count) else {
                throw MinimumActionError("could not allocate the BFGS minimiser for \(count) variables")
            }
            defer { gsl_multimin_fdfminimizer_free(minimizer); gsl_vector_free(start) }
            var previous = Double.infinity
            while iterations < maxIterations {
                try reparametrise()
                buildFrames()
                let before = try action(of: nodes, gradient: false)
                let stepSize = 0.1 * length(nodes) / Double(n - 1)
                gsl_vector_set_zero(start)
                try GSL.check(gsl_multimin_fdfminimizer_set(minimizer, &function, start, stepSize, 0.1),
                              "minimum action: BFGS set-up")
                if let failure { throw failure }
                let gradientBound = tolerance * before.scale / length(nodes)
                var settled = gsl_multimin_test_gradient(minimizer.pointee.gradient, gradientBound) == 0
                var round = 0
                while !settled && round < roundCap && iterations < maxIterations {
                    let status = gsl_multimin_fdfminimizer_iterate(minimizer)
                    iterations += 1
                    round += 1
                    if let failure { throw failure }
                    if status != 0 { settled = true; break }  // GSL_ENOPROG: no further decrease possible
                    settled = gsl_multimin_test_gradient(minimizer.pointee.gradient, gradientBound) == 0
                }
                let value = minimizer.pointee.f
                if value.isFinite && value <= before.value {
                    nodes = displaced(minimizer.pointee.x)
                }
                let current = try action(of: nodes, gradient: false)
                if settled && abs(current.value - previous) <= tolerance * current.scale {
                    converged = true
                    break
                }
                previous = current.value
            }
        }
        let final = try splineAction()
        var best = 0
        var bestValue = -Double.infinity
        let points = (0..<n).map { k in Array(nodes[(k * d)..<((k + 1) * d)]) }
        for (k, p) in points.enumerated() {
            let v = landscape.value(at: p)
            if v > bestValue { bestValue = v; best = k }
        }
        return MinimumActionPath(points: points, action: final, iterations: iterations,
                                 converged: converged, maxPoint: points[best])
    }

    /// Action of the natural cubic spline through the nodes (parameter: normalised chord
    /// length), 5-point Gauss–Legendre per interval.
    func splineAction() throws(MinimumActionError) -> Double {
        let s = arcParameters(nodes)
        let curve = SplineCurve(parameters: s, points: nodes, dimension: d)
        // nodes and weights on [−1, 1] (Abramowitz & Stegun 25.4.30)
        let x0 = 0.0, x1 = 0.538469310105683091, x2 = 0.906179845938663993
        let w0 = 0.568888888888888889, w1 = 0.478628670499366468, w2 = 0.236926885056189088
        let gauss = [(-x2, w2), (-x1, w1), (x0, w0), (x1, w1), (x2, w2)]
        var total = 0.0
        for k in 0..<(n - 1) {
            let half = 0.5 * (s[k + 1] - s[k]), mid = 0.5 * (s[k + 1] + s[k])
            for (x, w) in gauss {
                let t = mid + half * x
                let p = curve.point(at: t)
                let tangent = curve.derivative(at: t)
                let c = try chord(tangent, midpoint: p, gradient: false)
                total += w * half * c.value
            }
        }
        return total
    }
}

/// Natural cubic splines (GSL `cspline`) of each coordinate against one parameter.
final class SplineCurve {
    let d: Int
    let count: Int
    let parameters: UnsafeMutablePointer<Double>
    let values: UnsafeMutablePointer<Double>
    var interpolants: [UnsafeMutablePointer<gsl_interp>] = []
    let accelerator: UnsafeMutablePointer<gsl_interp_accel>

    init(parameters s: [Double], points: [Double], dimension d: Int) {
        self.d = d
        count = s.count
        parameters = .allocate(capacity: count)
        values = .allocate(capacity: count * d)
        for k in 0..<count {
            parameters[k] = s[k]
            for j in 0..<d { values[j * count + k] = points[k * d + j] }
        }
        accelerator = gsl_interp_accel_alloc()
        for j in 0..<d {
            let interp = gsl_interp_alloc(sgd_gsl_interp_cspline(), count)!
            gsl_interp_init(interp, parameters, values + j * count, count)
            interpolants.append(interp)
        }
    }

    deinit {
        for i in interpolants { gsl_interp_free(i) }
        gsl_interp_accel_free(accelerator)
        parameters.deallocate()
        values.deallocate()
    }

    func point(at t: Double) -> [Double] {
        (0..<d).map { gsl_interp_eval(interpolants[$0], parameters, values + $0 * count, t, accelerator) }
    }

    func derivative(at t: Double) -> [Double] {
        (0..<d).map { gsl_interp_eval_deriv(interpolants[$0], parameters, values + $0 * count, t, accelerator) }
    }
}
