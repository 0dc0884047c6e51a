import Foundation

/// Number formatting for reports: enough digits to carry the information, no more, and the
/// same text on every machine (POSIX formatting through `String(format:)` with fixed widths).
public enum Format {
    /// A number with `significant` significant digits, in fixed notation between 10⁻³ and
    /// 10⁶, otherwise as `1.23e+07`.
    public static func number(_ x: Double, significant: Int = 4) -> String {
        guard x.isFinite else { return x.isNaN ? "—" : (x > 0 ? "∞" : "−∞") }
        if x == 0 { return "0" }
        let a = abs(x)
        if a >= 1e6 || a < 1e-3 { return String(format: "%.\(max(significant - 1, 0))e", x) }
        let digits = max(significant - 1 - Int(floor(log10(a))), 0)
        return String(format: "%.\(digits)f", x)
    }

    /// `value ± error` with the error to 2 significant digits and the value to the same
    /// decimal place (Particle Data Group convention, simplified).
    public static func value(_ x: Double, error: Double?) -> String {
        guard let e = error, e.isFinite, e > 0, x.isFinite else { return number(x) }
        // an error at rounding level (a deterministic value, an exact line) carries no information
        if e <= abs(x) * 1e-9 { return number(x, significant: 6) }
        let a = max(abs(x), e)
        if a >= 1e6 || a < 1e-3 {
            let k = Int(floor(log10(a)))
            let scale = pow(10, Double(k))
            let decimals = max(1 - Int(floor(log10(e / scale))), 0)
            return String(format: "(%.\(decimals)f ± %.\(decimals)f)e%+03d", x / scale, e / scale, k)
        }
        let decimals = max(1 - Int(floor(log10(e))), 0)
        return String(format: "%.\(decimals)f ± %.\(decimals)f", x, e)
    }

    /// `[lo, hi]`, each to `significant` digits.
    public static func interval(_ ci: [Double]?, significant: Int = 3) -> String {
        guard let ci, ci.count == 2 else { return "—" }
        return "[\(number(ci[0], significant: significant)), \(number(ci[1], significant: significant))]"
    }

    public static func percent(_ f: Double) -> String {
        guard f.isFinite else { return "—" }
        return String(format: f < 0.01 && f > 0 ? "%.2f %%" : "%.1f %%", 100 * f)
    }

    /// Parameter names as users write them in reports.
    public static func parameterName(_ key: String) -> String {
        switch key {
        case "learning_rate": return "η"
        case "batch_size": return "B"
        case "epsilon": return "ε"
        case "alpha": return "α"
        case "sigma": return "σ"
        case "dt": return "dt"
        case "1/epsilon": return "1/ε"
        case "1/eta": return "1/η"
        case "B/eta": return "B/η"
        default: return key
        }
    }

    /// A parameter value as users write it: up to 4 significant digits, trailing zeros dropped
    /// (0.05, 2, 1.5e-05).
    public static func compact(_ x: Double) -> String {
        guard x.isFinite else { return number(x) }
        var s = String(format: "%.4g", x)
        if let e = s.firstIndex(where: { $0 == "e" }) {
            var mantissa = String(s[..<e]); let exponent = String(s[e...])
            if mantissa.contains(".") { while mantissa.hasSuffix("0") { mantissa.removeLast() }; if mantissa.hasSuffix(".") { mantissa.removeLast() } }
            s = mantissa + exponent
        }
        return s
    }

    public static func parameters(_ p: [(key: String, value: Double)]) -> String {
        p.map { "\(parameterName($0.key)) = \(compact($0.value))" }.joined(separator: ", ")
    }
}
