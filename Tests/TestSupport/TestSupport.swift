import Foundation
import Diffusion

/// Statistical expectations shared by the tests. Tolerances are derived, never tuned:
/// a Monte Carlo estimate passes when it lies within `z` standard errors of the exact
/// value plus a named bias budget (STYLE.md).
public enum Statistics {
    /// z for a two-sided check at family-wise level ≈ 6e-7 per check (5σ).
    public static let z = 5.0

    public static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    public static func variance(_ xs: [Double]) -> Double {
        let m = mean(xs)
        return xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
    }

    public static func standardError(_ xs: [Double]) -> Double { (variance(xs) / Double(xs.count)).squareRoot() }

    /// Kolmogorov–Smirnov statistic √n·D_n of `samples` against `cdf`.
    public static func kolmogorovSmirnov(_ samples: [Double], cdf: (Double) -> Double) -> Double {
        let sorted = samples.sorted()
        let n = Double(sorted.count)
        var d = 0.0
        for (i, x) in sorted.enumerated() {
            let f = cdf(x)
            d = max(d, abs(f - Double(i) / n), abs(Double(i + 1) / n - f))
        }
        return d * n.squareRoot()
    }

    /// The 0.999 quantile of the Kolmogorov distribution (asymptotic √n·D_n): a correct
    /// sampler fails a KS check against it with probability 0.001.
    public static let kolmogorov999 = 1.9495
}

/// References exact for the schemes the tests run.
public enum References {
    /// V = x⁴/4 − x²/2, ε = 0.1, from −1 to 0 (docs/THEORY.md §1): 30.8213.
    public static let doubleWellMFPT = 30.8213
}

/// Fixed-seed SplitMix64 (Steele, Lea & Flood 2014) for fuzz and property tests: the same
/// sequence on every platform and run, independent of the system generator.
public struct SplitMix64 {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Job-spec text shared by tests.
public enum SpecFixtures {
    /// The header of a job on the double well V = x⁴/4 − x²/2 (docs/THEORY.md §1), started at the
    /// left minimum and stopped at the barrier top: name, optional seed, landscape, start, exit.
    /// Append `[[experiment]]` tables.
    public static func doubleWell(name: String, seed: Int? = nil) -> String {
        """
        name = "\(name)"
        \(seed.map { "seed = \($0)\n" } ?? "")[landscape]
        potential = "x^4/4 - x^2/2"
        [start]
        point = [-1.0]
        [exit]
        when = "x > 0"
        """
    }
}
