import Foundation

/// Finds and classifies critical points (∇L = 0) of any landscape from its exact gradient
/// and Hessian.
///
/// Iteration: Levenberg–Marquardt on the residual `g(θ) = ∇L(θ)` with its exact Jacobian,
/// the Hessian `H`: step `p = −(HᵀH + λI)⁻¹ Hᵀg`, accepted when it lowers `‖g‖` (then
/// `λ ← λ/10`, and `λ = 0` once it is negligible, i.e. the pure Newton step `H p = −g`),
/// rejected otherwise (`λ ← 10λ`). Newton on `∇L` converges to minima, saddles and maxima
/// alike, quadratically near a non-degenerate one (Nocedal & Wright, *Numerical
/// Optimization*, Thm 11.2); the damping only globalises it. Classification by the Hessian's
/// eigenvalues (GSL `gsl_eigen_symm`): all positive → minimum, k negative → index-k saddle,
/// all negative → maximum; eigenvalues within `1e-8·max|λ|` of zero mark the point degenerate.
public enum CriticalPointFinder {
    /// Eigenvalues of the (symmetrised) Hessian at `point`, ascending. NaNs if GSL fails
    /// (only for non-finite Hessians).
    public static func hessianEigenvalues(_ landscape: Landscape, at point: [Double]) -> [Double] {
        let d = landscape.dimension
        let h = landscape.hessian(at: point)
        guard h.allSatisfy(\.isFinite),
              let values = try? TheoryNumerics.symmetricEigenvalues(h, dimension: d) else {
            return [Double](repeating: .nan, count: d)
        }
        return values
    }

    /// Classifies a critical point by its Hessian eigenvalues; label "minimum",
    /// "index-k saddle" or "maximum", prefixed "degenerate " when an eigenvalue is ~0.
    public static func classify(_ landscape: Landscape, at point: [Double]) -> CriticalPoint {
        let d = landscape.dimension
        let eigenvalues = hessianEigenvalues(landscape, at: point)
        let scale = max(eigenvalues.map(abs).max() ?? 0, 1e-300)
        let negative = eigenvalues.filter { $0 < -1e-8 * scale }.count
        let zero = eigenvalues.filter { abs($0) <= 1e-8 * scale }.count
        let kind: CriticalPoint.Kind = negative == 0 ? .minimum : negative == d ? .maximum : .saddle
        var label = kind == .minimum ? "minimum" : kind == .maximum ? "maximum" : "index-\(negative) saddle"
        if zero > 0 { label = "degenerate " + label }
        return CriticalPoint(point: point, value: landscape.value(at: point), kind: kind, label: label)
    }

    /// Runs the damped Newton iteration from `start`. Returns the classified critical point
    /// when `‖∇L‖ ≤ gradientTolerance` at the end, nil when the iteration diverges, stalls
    /// (e.g. at a non-zero local minimum of ‖∇L‖) or runs out of iterations. Near a
    /// non-degenerate critical point the error squares each step, so the result is exact to
    /// a few ulp of the coordinates once it converges.
    public static func find(on landscape: Landscape, near start: [Double],
                            gradientTolerance: Double = 1e-8,
                            maxIterations: Int = 200) throws(TheoryError) -> CriticalPoint? {
        let d = landscape.dimension
        try TheoryNumerics.require(start.count == d, "start has \(start.count) coordinates, landscape has \(d)")
        try TheoryNumerics.require(start.allSatisfy(\.isFinite), "start must be finite")
        var x = start
        var g = landscape.gradient(at: x)
        var norm = euclidean(g)
        guard norm.isFinite else { return nil }
        var lambda = 0.0
        let limit = 1e8 * (1 + euclidean(start))
        for _ in 0..<maxIterations {
            if norm == 0 { break }
            let h = landscape.hessian(at: x)
            guard h.allSatisfy(\.isFinite) else { return nil }
            let hScale = max(h.reduce(0) { $0 + $1 * $1 }, 1e-300)
            var step: [Double]?
            if lambda == 0 {
                step = TheoryNumerics.solve(h, g.map { -$0 }, dimension: d)
                if step == nil { lambda = 1e-8 * hScale; continue }
            } else {
                // HᵀH + λI and −Hᵀg (H symmetric up to rounding: use its transpose literally)
                var normal = [Double](repeating: 0, count: d * d)
                var rhs = [Double](repeating: 0, count: d)
                for r in 0..<d {
                    for c in 0..<d {
                        var s = 0.0
                        for k in 0..<d { s += h[k * d + r] * h[k * d + c] }
                        normal[r * d + c] = s
                    }
                    normal[r * d + r] += lambda
                    var s = 0.0
                    for k in 0..<d { s += h[k * d + r] * g[k] }
                    rhs[r] = -s
                }
                step = TheoryNumerics.solve(normal, rhs, dimension: d)
            }
            guard let p = step else { lambda = max(10 * lambda, 1e-8 * hScale); continue }
            let candidate = zip(x, p).map { $0 + $1 }
            let gCandidate = landscape.gradient(at: candidate)
            let normCandidate = euclidean(gCandidate)
            if normCandidate.isFinite && normCandidate < norm {
                x = candidate
                g = gCandidate
                norm = normCandidate
                lambda = lambda / 10 < 1e-14 * hScale ? 0 : lambda / 10
                if euclidean(x) > limit { return nil }
                if euclidean(p) <= 4 * Double.ulpOfOne * (1 + euclidean(x)) { break }
            } else {
                // no decrease: at the rounding floor this is convergence, otherwise damp harder
                if euclidean(p) <= 1e-12 * (1 + euclidean(x)) { break }
                lambda = max(10 * lambda, 1e-8 * hScale)
                if lambda > 1e30 * hScale { break }
            }
        }
        guard norm <= gradientTolerance else { return nil }
        return classify(landscape, at: x)
    }

    /// Critical points inside the box `[lower, upper]` from `starts` deterministic,
    /// space-filling starting points (the box centre, then the Halton sequence in bases
    /// 2, 3, 5, …). Duplicates (within `1e-6·(1 + ‖θ‖)`) are merged; points outside the box
    /// are dropped. Sorted by value, then coordinates. Minima whose value is within
    /// `1e-9·max(1, |L|)` of the lowest are labelled "global minimum", the others
    /// "local minimum".
    public static func search(on landscape: Landscape, box lower: [Double], upper: [Double],
                              starts: Int) -> [CriticalPoint] {
        let d = landscape.dimension
        precondition(lower.count == d && upper.count == d && zip(lower, upper).allSatisfy { $0 < $1 })
        let primes = firstPrimes(d)
        var found: [CriticalPoint] = []
        for index in 0..<max(starts, 1) {
            let start = (0..<d).map { j -> Double in
                let u = index == 0 ? 0.5 : radicalInverse(index, base: primes[j])
                return lower[j] + u * (upper[j] - lower[j])
            }
            guard let point = try? find(on: landscape, near: start) else { continue }
            let inside = (0..<d).allSatisfy { j in
                let margin = 1e-9 * (upper[j] - lower[j])
                return point.point[j] >= lower[j] - margin && point.point[j] <= upper[j] + margin
            }
            guard inside else { continue }
            let duplicate = found.contains { other in
                euclidean(zip(other.point, point.point).map { $0 - $1 }) <= 1e-6 * (1 + euclidean(point.point))
            }
            if !duplicate { found.append(point) }
        }
        found.sort { a, b in
            if a.value != b.value { return a.value < b.value }
            return a.point.lexicographicallyPrecedes(b.point)
        }
        let lowest = found.filter { $0.kind == .minimum }.map(\.value).min()
        return found.map { p in
            guard p.kind == .minimum, let lowest, !p.label.hasPrefix("degenerate") else { return p }
            let global = p.value - lowest <= 1e-9 * max(1, abs(lowest))
            return CriticalPoint(point: p.point, value: p.value, kind: .minimum,
                                 label: global ? "global minimum" : "local minimum")
        }
    }

    static func euclidean(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    static func radicalInverse(_ index: Int, base: Int) -> Double {
        var i = index, f = 1.0, r = 0.0
        while i > 0 {
            f /= Double(base)
            r += f * Double(i % base)
            i /= base
        }
        return r
    }

    static func firstPrimes(_ count: Int) -> [Int] {
        var primes: [Int] = []
        var candidate = 2
        while primes.count < count {
            if primes.allSatisfy({ candidate % $0 != 0 }) { primes.append(candidate) }
            candidate += 1
        }
        return primes
    }
}
