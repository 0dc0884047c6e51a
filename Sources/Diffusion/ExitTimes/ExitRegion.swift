import Foundation

/// Where a path has left. Each region becomes a list of named terms ("x > 0",
/// "x <= -1", …); a path exits when any term holds and is reported with that term as
/// its exit side.
public enum ExitRegion: Sendable, Equatable {
    /// A boolean expression over the landscape variables; top-level `||` separates sides.
    case condition(String)
    /// Exit when ‖x − center‖ ≥ radius.
    case ball(center: [Double], radius: Double)
    /// Exit when any coordinate leaves [lower, upper].
    case box(lower: [Double], upper: [Double])
    /// 1-D: exit when x ≤ lower or x ≥ upper.
    case interval(lower: Double, upper: Double)
    /// Left the basin of attraction of the start's minimum. 1-D only: the basin is the
    /// interval between the critical points of V neighbouring the minimum.
    case basin
    /// Exit when the loss exceeds a level: L(θ) > c (docs/THEORY.md §1, "Exit regions").
    /// On an expression landscape the term is the potential itself; on a finite sum it reads
    /// L through the exit test's loss row (`ExitProblem.lossVariable`). In 1-D, when the
    /// sublevel set {L ≤ c} is one interval around the start, the term becomes that
    /// interval's ends (exact for every dynamics, and affine for the grid methods).
    case lossAbove(Double)
    /// Exit when ‖θ − θ₀‖ ≥ r, θ₀ the start (Ibayashi & Imaizumi's criterion): a ball about
    /// the start, in 1-D the interval [x₀ − r, x₀ + r].
    case distanceFromStart(Double)
}

extension ExitRegion: CustomStringConvertible {
    /// The region as the spec writes it (for reports).
    public var description: String {
        func v(_ xs: [Double]) -> String { "[" + xs.map { "\($0)" }.joined(separator: ", ") + "]" }
        switch self {
        case .condition(let text): return "when \"\(text)\""
        case .ball(let center, let radius): return "ball: center \(v(center)), radius \(radius)"
        case .box(let lower, let upper): return "box: lower \(v(lower)), upper \(v(upper))"
        case .interval(let lower, let upper): return "interval [\(lower), \(upper)]"
        case .basin: return "basin of the start's minimum"
        case .lossAbove(let c): return "loss above \(c)"
        case .distanceFromStart(let r): return "distance from the start ≥ \(r)"
        }
    }
}

/// An exit region or a spec that cannot be evaluated on the landscape.
public struct ExitRegionError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ExitRegion {
    private static func num(_ x: Double) -> String {
        let s = String(format: "%.17g", x)
        return x < 0 ? "(\(s))" : s
    }

    /// The region as condition terms on `landscape`'s variables. `start` is needed for
    /// `basin`.
    public func terms(on landscape: Landscape, start: [Double]) throws -> [ConditionTerm] {
        let v = landscape.variables
        let d = landscape.dimension
        switch self {
        case .condition(let text):
            return try landscape.parseCondition(text)
        case .interval(let lower, let upper):
            guard d == 1 else { throw ExitRegionError("interval needs a 1-D landscape, this one has dimension \(d); use box") }
            guard lower < upper else { throw ExitRegionError("interval lower must be < upper, got [\(lower), \(upper)]") }
            return try ExpressionParser.parseCondition("\(v[0]) <= \(ExitRegion.num(lower)) || \(v[0]) >= \(ExitRegion.num(upper))", variables: v)
        case .box(let lower, let upper):
            guard lower.count == d, upper.count == d else {
                throw ExitRegionError("box lower and upper need \(d) entries, got \(lower.count) and \(upper.count)")
            }
            var parts: [String] = []
            for j in 0..<d {
                guard lower[j] < upper[j] else { throw ExitRegionError("box lower[\(j)] must be < upper[\(j)], got \(lower[j]) and \(upper[j])") }
                if lower[j].isFinite { parts.append("\(v[j]) <= \(ExitRegion.num(lower[j]))") }
                if upper[j].isFinite { parts.append("\(v[j]) >= \(ExitRegion.num(upper[j]))") }
            }
            guard !parts.isEmpty else { throw ExitRegionError("box has no finite face") }
            return try ExpressionParser.parseCondition(parts.joined(separator: " || "), variables: v)
        case .ball(let center, let radius):
            guard center.count == d else { throw ExitRegionError("ball center needs \(d) entries, got \(center.count)") }
            guard radius > 0 else { throw ExitRegionError("ball radius must be > 0, got \(radius)") }
            let squares = zip(v, center).map { "(\($0.0) - \(ExitRegion.num($0.1)))^2" }.joined(separator: " + ")
            return try ExpressionParser.parseCondition("sqrt(\(squares)) >= \(ExitRegion.num(radius))", variables: v)
        case .distanceFromStart(let radius):
            guard radius > 0, radius.isFinite else { throw ExitRegionError("distance_from_start must be > 0, got \(radius)") }
            guard start.count == d else { throw ExitRegionError("the start needs \(d) coordinates, got \(start.count)") }
            if d == 1 {
                return try ExitRegion.interval(lower: start[0] - radius, upper: start[0] + radius).terms(on: landscape, start: start)
            }
            let ball = try ExitRegion.ball(center: start, radius: radius).terms(on: landscape, start: start)[0]
            return [ConditionTerm(label: "‖θ − θ₀‖ >= \(ExitRegion.label(radius))", expression: ball.expression, level: ball.level,
                                  distance: DistanceCondition(center: start, radius: radius))]
        case .lossAbove(let level):
            guard level.isFinite else { throw ExitRegionError("loss_above must be finite, got \(level)") }
            return try ExitRegion.lossTerms(level, on: landscape, start: start)
        case .basin:
            guard d == 1 else {
                throw ExitRegionError("basin is implemented for 1-D landscapes; for dimension \(d) use when, ball or box")
            }
            let (lower, upper) = try ExitRegion.basinInterval(landscape, start: start[0])
            var parts: [String] = []
            if let lower { parts.append("\(v[0]) <= \(ExitRegion.num(lower))") }
            if let upper { parts.append("\(v[0]) >= \(ExitRegion.num(upper))") }
            guard !parts.isEmpty else { throw ExitRegionError("the start's basin is the whole line: nothing to exit") }
            return try ExpressionParser.parseCondition(parts.joined(separator: " || "), variables: v)
        }
    }

    /// A number as it appears in a term's label (shortest round-trip form).
    static func label(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
    }

    /// The terms of `L > c`. 1-D: the component (a, b) of {L ≤ c} holding the start, found
    /// on a scan and bisected to machine precision; when L > c everywhere outside it (checked
    /// on the same scan out to |x| = 10⁶, as `basin` is), the terms are `x <= a`, `x >= b`,
    /// the same set. Otherwise one term: the potential's `V > c`, or on a finite sum `L > c`
    /// over the loss variable (index d, `ExitProblem.lossVariable`).
    static func lossTerms(_ c: Double, on landscape: Landscape, start: [Double]) throws -> [ConditionTerm] {
        let v = landscape.variables, d = landscape.dimension
        let name = "loss > \(label(c))"
        if d == 1, let (lower, upper) = sublevelInterval(landscape, level: c, start: start[0]) {
            var terms: [ConditionTerm] = []
            for (side, bound) in [("<=", lower), (">=", upper)] {
                guard let bound else { continue }
                let t = try ExpressionParser.parseCondition("\(v[0]) \(side) \(ExitRegion.num(bound))", variables: v)[0]
                terms.append(ConditionTerm(label: "\(name) (\(v[0]) \(side) \(String(format: "%.6g", bound)))", expression: t.expression, level: t.level))
            }
            guard !terms.isEmpty else { throw ExitRegionError("loss_above = \(label(c)): the loss stays ≤ \(label(c)) on the whole line, nothing to exit") }
            return terms
        }
        let loss: Expression = landscape.potential ?? .variable(d)
        return [ConditionTerm(label: name, expression: .binary(.greater, loss, .constant(c)),
                              level: .binary(.subtract, loss, .constant(c)))]
    }

    /// 1-D: the ends of the component of {L ≤ c} that holds `x0` (nil: unbounded within
    /// |x| ≤ 10⁶), when L > c on the rest of the scanned line; nil when {L ≤ c} has another
    /// component there (then the exit set is not the complement of one interval) or when
    /// L(x0) > c.
    static func sublevelInterval(_ landscape: Landscape, level c: Double, start x0: Double) -> (Double?, Double?)? {
        let g = { (x: Double) in landscape.value(at: [x]) - c }
        guard g(x0) <= 0 else { return nil }
        var ends: [Double?] = []
        for dir in [-1.0, 1.0] {
            var a = x0, h = 1e-4 * max(1, abs(x0))
            var end: Double? = nil
            while abs(a) < 1e6 {
                let b = a + dir * h
                if g(b) > 0 { end = bisect(g, a, b); break }
                a = b; h *= 1.02
            }
            guard let e = end else { ends.append(nil); continue }
            // beyond the end: L must stay above c
            var y = e + dir * 1e-9 * max(1, abs(e))
            h = 1e-4 * max(1, abs(e))
            while abs(y) < 1e6 {
                y += dir * h
                if g(y) <= 0 { return nil }
                h *= 1.02
            }
            ends.append(e)
        }
        return (ends[0], ends[1])
    }

    /// The basin of attraction of the minimum reached by gradient flow from `x0` in 1-D:
    /// between the nearest zeros of V' on either side of that minimum (nil = unbounded
    /// within |x| ≤ 1e6). Zeros are bracketed on a fine scan and refined by bisection to
    /// machine precision.
    static func basinInterval(_ landscape: Landscape, start x0: Double) throws -> (Double?, Double?) {
        let dv = { (x: Double) in landscape.gradient(at: [x])[0] }
        // descend to the minimum: follow the sign of −V' with bisection on sign changes
        var x = x0
        var step = 1e-3 * max(1, abs(x0))
        let g = dv(x)
        if g == 0 {
            let h = landscape.hessian(at: [x])[0]
            guard h > 0 else { throw ExitRegionError("basin: the start \(x0) is a critical point that is not a minimum") }
        } else {
            let dir: Double = g > 0 ? -1 : 1
            var prev = x
            while true {
                let next = prev + dir * step
                let gn = dv(next)
                if gn == 0 { x = next; break }
                if (gn > 0) != (g > 0) { x = bisect(dv, prev, next); break }
                prev = next
                step *= 1.05
                if abs(prev) > 1e6 { throw ExitRegionError("basin: gradient flow from \(x0) does not reach a minimum") }
            }
        }
        func scan(_ dir: Double) -> Double? {
            var a = x + dir * 1e-9 * max(1, abs(x))
            var ga = dv(a)
            var h = 1e-4 * max(1, abs(x))
            while abs(a) < 1e6 {
                let b = a + dir * h
                let gb = dv(b)
                if gb == 0 { return b }
                if (gb > 0) != (ga > 0) { return bisect(dv, a, b) }
                a = b; ga = gb; h *= 1.02
            }
            return nil
        }
        return (scan(-1), scan(1))
    }

    private static func bisect(_ f: (Double) -> Double, _ a0: Double, _ b0: Double) -> Double {
        var a = a0, b = b0
        let fa = f(a)
        for _ in 0..<200 {
            let m = 0.5 * (a + b)
            if m == a || m == b { break }
            let fm = f(m)
            if fm == 0 { return m }
            if (fm > 0) == (fa > 0) { a = m } else { b = m }
        }
        return 0.5 * (a + b)
    }
}
