import Foundation

/// A landscape parameter that is out of range, e.g. "h_sharp must be > 0, got -1".
public struct LandscapeError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Built-in landscapes. Each is generated as an expression (so it shares the exact
/// symbolic derivatives and the compiled evaluator) and reports its critical points in
/// closed form.
extension Landscape {
    private static func text(_ x: Double) -> String {
        // 17 significant digits round-trip every Double exactly.
        let s = String(format: "%.17g", x)
        return x < 0 ? "(\(s))" : s
    }

    private static func require(_ ok: Bool, _ message: @autoclosure () -> String) throws(LandscapeError) {
        if !ok { throw LandscapeError(message()) }
    }

    private static func compile(_ text: String, variables: [String], criticalPoints: [CriticalPoint],
                                summary: String) -> Landscape {
        do {
            return try Landscape(expression: text, variables: variables,
                                 criticalPoints: criticalPoints, summary: summary)
        } catch {
            preconditionFailure("built-in landscape failed to parse: \(error) in \(text)")
        }
    }

    /// `double-well`: `V(x) = ΔV (x⁴ − 2x²)`. Minima at ±1 (V = −ΔV, V'' = 8ΔV), barrier
    /// at 0 (V = 0, V'' = −4ΔV). ΔV = 1/4 gives docs/THEORY.md's `x⁴/4 − x²/2`.
    public static func doubleWell(barrier: Double = 0.25) throws(LandscapeError) -> Landscape {
        try require(barrier > 0 && barrier.isFinite, "barrier must be > 0, got \(barrier)")
        let t = "\(text(barrier))*(x^4 - 2*x^2)"
        return compile(t, variables: ["x"], criticalPoints: [
            CriticalPoint(point: [-1], value: -barrier, kind: .minimum, label: "left minimum"),
            CriticalPoint(point: [0], value: 0, kind: .maximum, label: "barrier"),
            CriticalPoint(point: [1], value: -barrier, kind: .minimum, label: "right minimum"),
        ], summary: "double-well (barrier \(barrier))")
    }

    /// One half of `sharp-flat`: the quartic `W(x) = k (x⁴/4 − (a+c)x³/3 + a c x²/2)`,
    /// `W'(x) = k x (x−a)(x−c)`, with its minimum at `a < 0` of curvature `h` and depth
    /// `−W(a) = ΔV`, and `W''(0) = −κ` at the barrier. Solving: `r = c/|a| = 1/(h/κ − 1)`,
    /// `a² = 12 ΔV (1+r) / (h (1+2r))`, `k = h / (a² (1+r))` (derivation in docs/reference.md, `sharp-flat`).
    static func quarticWell(curvature h: Double, depth: Double, barrierCurvature kappa: Double)
        -> (a: Double, c: Double, k: Double) {
        let r = 1 / (h / kappa - 1)
        let a2 = 12 * depth * (1 + r) / (h * (1 + 2 * r))
        let a = -a2.squareRoot()
        return (a, r * a2.squareRoot(), h / (a2 * (1 + r)))
    }

    /// `sharp-flat`: a 1-D landscape with a sharp minimum (curvature `hSharp`, barrier
    /// `barrierSharp`) left of the barrier top at 0 and a flat one (`hFlat`,
    /// `barrierFlat`) right of it; `V(0) = 0`, `V''(0) = −barrierCurvature` on both
    /// sides, so V is C² (the third derivative jumps at 0). Each side is the quartic of
    /// `quarticWell`, the right one mirrored. Requires `barrierCurvature < min(hSharp, hFlat)`.
    public static func sharpFlat(hSharp: Double, hFlat: Double, barrierSharp: Double, barrierFlat: Double,
                                 barrierCurvature: Double? = nil) throws(LandscapeError) -> Landscape {
        for (name, v) in [("h_sharp", hSharp), ("h_flat", hFlat), ("barrier_sharp", barrierSharp),
                          ("barrier_flat", barrierFlat)] {
            try require(v > 0 && v.isFinite, "\(name) must be > 0, got \(v)")
        }
        let kappa = barrierCurvature ?? 0.5 * min(hSharp, hFlat)
        try require(kappa > 0 && kappa < min(hSharp, hFlat),
                    "barrier_curvature must be in (0, min(h_sharp, h_flat)) = (0, \(min(hSharp, hFlat))), got \(kappa)")
        let s = quarticWell(curvature: hSharp, depth: barrierSharp, barrierCurvature: kappa)
        let f = quarticWell(curvature: hFlat, depth: barrierFlat, barrierCurvature: kappa)
        func piece(_ w: (a: Double, c: Double, k: Double), _ v: String) -> String {
            "\(text(w.k))*(\(v)^4/4 - \(text(w.a + w.c))*\(v)^3/3 + \(text(w.a * w.c))*\(v)^2/2)"
        }
        let t = "if(x < 0, \(piece(s, "x")), \(piece(f, "(-x)")))"
        return compile(t, variables: ["x"], criticalPoints: [
            CriticalPoint(point: [s.a], value: -barrierSharp, kind: .minimum, label: "sharp minimum"),
            CriticalPoint(point: [0], value: 0, kind: .maximum, label: "barrier"),
            CriticalPoint(point: [-f.a], value: -barrierFlat, kind: .minimum, label: "flat minimum"),
        ], summary: "sharp-flat (h_sharp \(hSharp), h_flat \(hFlat), barriers \(barrierSharp)/\(barrierFlat), barrier curvature \(kappa))")
    }

    /// `quadratic`: `V = ½ Σ hᵢ xᵢ²`, minimum at 0.
    public static func quadratic(curvatures: [Double]) throws(LandscapeError) -> Landscape {
        try require(!curvatures.isEmpty, "curvature must have at least one entry")
        let names = variableNames(curvatures.count)
        let t = zip(curvatures, names).map { "\(text($0.0))/2*\($0.1)^2" }.joined(separator: " + ")
        let kind: CriticalPoint.Kind = curvatures.allSatisfy { $0 > 0 } ? .minimum
            : curvatures.allSatisfy { $0 < 0 } ? .maximum : .saddle
        return compile(t, variables: names, criticalPoints: [
            CriticalPoint(point: Array(repeating: 0, count: curvatures.count), value: 0, kind: kind, label: "origin"),
        ], summary: "quadratic (curvatures \(curvatures))")
    }

    /// `saddle`: `V = −(λ/2) x² + (μ/2) y²` (2-D), an index-1 saddle at the origin with
    /// unstable eigenvalue λ (Hu et al.'s saddle escape, docs/THEORY.md §2).
    public static func saddle(lambda: Double, mu: Double) throws(LandscapeError) -> Landscape {
        try require(lambda > 0 && lambda.isFinite, "lambda must be > 0, got \(lambda)")
        try require(mu > 0 && mu.isFinite, "mu must be > 0, got \(mu)")
        let t = "-\(text(lambda))/2*x^2 + \(text(mu))/2*y^2"
        return compile(t, variables: ["x", "y"], criticalPoints: [
            CriticalPoint(point: [0, 0], value: 0, kind: .saddle, label: "saddle"),
        ], summary: "saddle (lambda \(lambda), mu \(mu))")
    }

    /// Roots of the Styblinski–Tang coordinate derivative `2x³ − 16x + 5/2 = 0`, by
    /// Newton from the three brackets, to machine precision.
    static let styblinskiTangRoots: [Double] = [-2.9, 0.15, 2.75].map { start in
        var x = start
        for _ in 0..<60 {
            let f = 2 * x * x * x - 16 * x + 2.5
            let df = 6 * x * x - 16
            let next = x - f / df
            if next == x { break }
            x = next
        }
        return x
    }

    /// `styblinski-tang`: `V_k(x) = k · ½ Σᵢ (xᵢ⁴ − 16xᵢ² + 5xᵢ)` (scale = "value") or
    /// `V_k(x) = ½ Σᵢ ((kxᵢ)⁴ − 16(kxᵢ)² + 5kxᵢ)` (scale = "argument"). The value scaling
    /// multiplies curvatures and barriers by k; the argument scaling multiplies curvatures
    /// by k² at fixed barriers and shrinks basins by 1/k. Ibayashi–Imaizumi scale the
    /// function by a sharpness factor k; which of the two they meant is not in the
    /// abstract (reconstructed). Critical points: per coordinate one of the three roots of
    /// `2x³ − 16x + 5/2`; the global minimum is at x ≈ −2.9035 in every coordinate.
    public static func styblinskiTang(dimension d: Int, sharpness k: Double,
                                      scaleArgument: Bool) throws(LandscapeError) -> Landscape {
        try require(d >= 1 && d <= 8, "dimension must be in 1...8, got \(d)")
        try require(k > 0 && k.isFinite, "k must be > 0, got \(k)")
        let names = variableNames(d)
        let terms = names.map { v -> String in
            let u = scaleArgument ? "(\(text(k))*\(v))" : v
            return "(\(u)^4 - 16*\(u)^2 + 5*\(u))"
        }
        let t = scaleArgument
            ? "0.5*(" + terms.joined(separator: " + ") + ")"
            : "\(text(k))*0.5*(" + terms.joined(separator: " + ") + ")"
        let roots = styblinskiTangRoots
        let perCoordinateValue = roots.map { 0.5 * ($0 * $0 * $0 * $0 - 16 * $0 * $0 + 5 * $0) }
        var points: [CriticalPoint] = []
        // all 3^d combinations (d ≤ 8 ⇒ at most 6561)
        let total = Int(pow(3.0, Double(d)))
        for code in 0..<total {
            var c = code, point: [Double] = [], value = 0.0, maxima = 0
            for _ in 0..<d {
                let r = c % 3
                c /= 3
                point.append(scaleArgument ? roots[r] / k : roots[r])
                value += perCoordinateValue[r]
                if r == 1 { maxima += 1 }
            }
            if !scaleArgument { value *= k }
            let kind: CriticalPoint.Kind = maxima == 0 ? .minimum : maxima == d ? .maximum : .saddle
            let label = maxima == 0
                ? (point.allSatisfy { $0 < 0 } ? "global minimum" : "local minimum")
                : kind == .saddle ? "index-\(maxima) saddle" : "maximum"
            points.append(CriticalPoint(point: point, value: value, kind: kind, label: label))
        }
        return compile(t, variables: names, criticalPoints: points,
                       summary: "styblinski-tang (d = \(d), k = \(k), scale = \(scaleArgument ? "argument" : "value"))")
    }

    static func variableNames(_ d: Int) -> [String] {
        d <= 3 ? Array(["x", "y", "z"].prefix(d)) : (1...d).map { "x\($0)" }
    }
}
