import Foundation

/// One tick of an axis, in data units.
struct AxisTick: Equatable {
    var value: Double
    /// nil: an unlabelled (minor) tick.
    var label: String?
    /// Major ticks are longer and carry a grid line.
    var isMajor: Bool
    /// An integer that says which labels to keep when they must be thinned: labels whose
    /// rank is a multiple of n survive (0 and whole decades stay labelled).
    var rank: Int
}

/// Tick positions and labels, as matplotlib would choose them for a plain axis.
///
/// Linear axes: the step is s = m·10ᵉ. It is the largest step with m ∈ {1, 2, 5} that puts
/// 4 to 8 ticks in [lower, upper]; if no such step exists (e.g. [0.1, 19.9]: step 2 gives 9,
/// step 5 gives 3), the largest with m ∈ {1, 2, 2.5, 5} and at least 4 ticks, which then has
/// at most 8 (consecutive steps differ by at most a factor 2). Tick values are computed as
/// i·m / 10⁻ᵉ, the double nearest the decimal, so labels never read 0.30000000000000004.
///
/// Log axes (base 10): majors at the decades 10ᵏ in range, minors at 2…9·10ᵏ. With fewer
/// than two decades in range some minors are labelled too: m ∈ {2, 5}, {2, 3, 5} or 2…9,
/// the first set that gives three labels, else the first that gives two; with no two at all
/// (e.g. [3.1, 3.9]) the linear ticks of the range.
enum AxisTicks {
    // MARK: Linear

    /// The step as `units·10^exponent`, units ∈ {1, 2, 5, 25}.
    struct Step: Equatable {
        var units: Int
        var exponent: Int

        func value(_ i: Int) -> Double {
            let n = Double(i * units)
            return exponent >= 0 ? n * pow(10, Double(exponent)) : n / pow(10, Double(-exponent))
        }
        var size: Double { value(1) }
        /// Decimals that a plain label needs to show every multiple of the step exactly.
        var decimals: Int { max(0, -exponent) }
    }

    /// Tick indices i (ticks at i·step) inside [lower, upper], with a relative slack so that a
    /// bound that is itself a multiple of the step (0.8 for step 0.2) counts as inside.
    static func indices(_ step: Step, lower: Double, upper: Double) -> ClosedRange<Int>? {
        let s = step.size
        guard s > 0, s.isFinite else { return nil }
        let first = (lower / s - 1e-9).rounded(.up), last = (upper / s + 1e-9).rounded(.down)
        guard first.isFinite, last.isFinite, abs(first) < 1e15, abs(last) < 1e15, first <= last else { return nil }
        return Int(first)...Int(last)
    }

    static func linearStep(lower: Double, upper: Double) -> Step? {
        let span = upper - lower
        guard span > 0, span.isFinite else { return nil }
        let top = Int((log10(span)).rounded(.down)) + 1
        func largest(units: [Int], accept: (Int) -> Bool) -> Step? {
            for exponent in stride(from: top, through: top - 3, by: -1) {
                for u in units.reversed() {
                    let step = u == 25 ? Step(units: 25, exponent: exponent - 1) : Step(units: u, exponent: exponent)
                    if let r = indices(step, lower: lower, upper: upper), accept(r.count) { return step }
                }
            }
            return nil
        }
        return largest(units: [1, 2, 5]) { (4...8).contains($0) } ?? largest(units: [1, 2, 25, 5]) { $0 >= 4 }
    }

    /// The nice tick values of [lower, upper] (see the type's comment); empty if the range is
    /// empty, not finite, or too narrow for its magnitude.
    static func linearValues(lower: Double, upper: Double) -> [Double] {
        guard let step = linearStep(lower: lower, upper: upper),
              let r = indices(step, lower: lower, upper: upper) else { return [] }
        return r.map(step.value)
    }

    static func linear(lower: Double, upper: Double) -> [AxisTick] {
        guard let step = linearStep(lower: lower, upper: upper),
              let r = indices(step, lower: lower, upper: upper) else {
            // A range too narrow for nice ticks: label its two ends.
            return [lower, upper].map { AxisTick(value: $0, label: label($0, significant: 6), isMajor: true, rank: 0) }
        }
        let values = r.map(step.value)
        let largest = values.map(abs).max() ?? 0
        let scientific = largest >= 1e5 || (largest > 0 && largest < 1e-3)
        return zip(r, values).map { i, v in
            let text = scientific ? scientificLabel(v, stepExponent: step.exponent) : decimal(v, decimals: step.decimals)
            return AxisTick(value: v, label: text, isMajor: true, rank: i)
        }
    }

    // MARK: Log

    /// Ticks of a base-10 log axis over [lower, upper], both > 0.
    static func log(lower: Double, upper: Double) -> [AxisTick] {
        guard lower > 0, upper > lower, upper.isFinite else { return [] }
        let a = log10(lower), b = log10(upper)
        let firstDecade = Int((a - 1e-9).rounded(.up)), lastDecade = Int((b + 1e-9).rounded(.down))
        let decades = firstDecade <= lastDecade ? Array(firstDecade...lastDecade) : []
        let inRange = { (v: Double) in v >= lower * (1 - 1e-9) && v <= upper * (1 + 1e-9) }

        var minors: [(m: Int, k: Int)] = []
        if b - a <= 12 {
            for k in Int(a.rounded(.down))...Int(b.rounded(.down)) {
                for m in 2...9 where inRange(decimalValue(m, k)) { minors.append((m, k)) }
            }
        }

        if decades.count >= 2 {
            // Thin the decade labels to at most 8.
            let every = [1, 2, 3, 5, 10, 20, 25, 50, 100].first { n in decades.filter { $0 % n == 0 }.count <= 8 } ?? 100
            var ticks = decades.map { k in
                AxisTick(value: power10(k), label: k % every == 0 ? decadeLabel(k) : nil, isMajor: k % every == 0, rank: k / every)
            }
            ticks += minors.map { AxisTick(value: decimalValue($0.m, $0.k), label: nil, isMajor: false, rank: 0) }
            return ticks.sorted { $0.value < $1.value }
        }

        // Well under a decade (e.g. ratios in [0.78, 1.3]): decade and minor ticks leave
        // stretches unlabelled, so use the linear ticks of the range on the log scale.
        if b - a < 0.6 { return linear(lower: lower, upper: upper) }

        // Less than two decades in range: label some minors too.
        let choices = [[2, 5], [2, 3, 5], Array(2...9)]
        let counts = choices.map { set in decades.count + minors.filter { set.contains($0.m) }.count }
        // The first set with 3 labels, else the first with 2.
        if let choice = counts.firstIndex(where: { $0 >= 3 }) ?? counts.firstIndex(where: { $0 >= 2 }) {
            let labelled = choices[choice]
            let chosen = minors.filter { labelled.contains($0.m) }
            let ks = decades + chosen.map(\.k)
            let plain = ks.allSatisfy { (-3...3).contains($0) }
            var ticks = decades.map { k in
                let text = plain ? decimal(power10(k), decimals: max(0, -k)) : decadeLabel(k)
                return AxisTick(value: power10(k), label: text, isMajor: true, rank: 0)
            }
            for (m, k) in minors {
                let v = decimalValue(m, k)
                let isLabelled = labelled.contains(m)
                let text = plain ? decimal(v, decimals: max(0, -k)) : "\(m)×\(decadeLabel(k))"
                ticks.append(AxisTick(value: v, label: isLabelled ? text : nil, isMajor: isLabelled, rank: 0))
            }
            ticks.sort { $0.value < $1.value }
            var rank = 0
            for i in ticks.indices where ticks[i].label != nil { ticks[i].rank = rank; rank += 1 }
            return ticks
        }
        // Not even two minors (e.g. [3.1, 3.9]): the linear ticks of the range.
        return linear(lower: lower, upper: upper)
    }

    // MARK: Labels

    static func power10(_ k: Int) -> Double { decimalValue(1, k) }

    /// m·10ᵏ as the double nearest the decimal (3·10⁻⁴ is 3e-4, not 3 × 1e-4).
    static func decimalValue(_ m: Int, _ k: Int) -> Double {
        k >= 0 ? Double(m) * pow(10, Double(k)) : Double(m) / pow(10, Double(-k))
    }

    static func superscript(_ k: Int) -> String {
        let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        return (k < 0 ? "⁻" : "") + String(String(abs(k)).map { digits[Int(String($0))!] })
    }

    /// "10⁻³".
    static func decadeLabel(_ k: Int) -> String { "10" + superscript(k) }

    /// A plain decimal with a typographic minus, "−0.25".
    static func decimal(_ v: Double, decimals: Int) -> String {
        let text = String(format: "%.\(min(decimals, 17))f", abs(v))
        let isZero = text.allSatisfy { $0 == "0" || $0 == "." }
        return (v < 0 && !isZero ? "−" : "") + text
    }

    /// "2.5×10⁻⁵", "10⁻⁵" for a tick of a linear axis with the given step exponent.
    static func scientificLabel(_ v: Double, stepExponent: Int) -> String {
        guard v != 0 else { return "0" }
        var k = Int(log10(abs(v)).rounded(.down))
        var digits = max(0, k - stepExponent)
        var mantissa = decimal(v / power10(k), decimals: digits)
        if mantissa.hasPrefix("10") || mantissa.hasPrefix("−10") {  // rounding carried into the next decade
            k += 1; digits = max(0, k - stepExponent)
            mantissa = decimal(v / power10(k), decimals: digits)
        }
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        switch mantissa {
        case "1": return decadeLabel(k)
        case "−1": return "−" + decadeLabel(k)
        default: return mantissa + "×" + decadeLabel(k)
        }
    }

    /// A %g-like label with the given significant digits, for ranges without nice ticks.
    static func label(_ v: Double, significant: Int) -> String {
        let text = String(format: "%.\(significant)g", abs(v))
        return (v < 0 ? "−" : "") + text
    }
}
