import Foundation
internal import CGSL

/// The per-sample Hessians `Aᵢ = ∇²ℓᵢ(θ*)` of a finite sum at a minimum: the linearisation
/// of SGD there is `e_{k+1} = (I − ηM_k) e_k`, `M_k = (1/B) Σ_{i∈B_k} Aᵢ` the minibatch mean
/// (exact for Patel's quadratic sums, docs/THEORY.md §3). Everything below is a deterministic
/// function of `(η, B, {Aᵢ})`.
///
/// Minibatch covariance (derivation, used by the mean-square and Wu–Ma–E criteria): with
/// `Dᵢ = Aᵢ − Ā` and `S = (1/n) Σ Dᵢ⊗Dᵢ`, `E[(M−Ā)⊗(M−Ā)] = c_B S` exactly, for any n, where
/// `c_B = 1/B` with replacement (B i.i.d. draws) and `c_B = (n−B)/(B(n−1))` without: with
/// inclusion indicators ξᵢ, `E ξᵢ = B/n`, `E ξᵢξⱼ = B(B−1)/(n(n−1))` (i ≠ j), and
/// `Σ_{i≠j} Dᵢ⊗Dⱼ = −nS` because `Σ Dᵢ = 0`, so
/// `E = B⁻²[B S − B(B−1)/(n−1) S] = (n−B)/(B(n−1)) S`. Hence no enumeration is needed for
/// second moments; the tests check it against enumeration.
public struct MinibatchCurvature: Sendable {
    public let dimension: Int
    public let sampleCount: Int
    /// n row-major d×d matrices (symmetrised).
    public let sampleHessians: [[Double]]
    /// Ā = (1/n) Σ Aᵢ = ∇²L(θ*).
    public let meanHessian: [Double]

    public init(sampleHessians: [[Double]], dimension d: Int) throws(TheoryError) {
        try TheoryNumerics.require(d >= 1 && !sampleHessians.isEmpty, "need at least one d×d sample Hessian")
        try TheoryNumerics.require(sampleHessians.allSatisfy { $0.count == d * d && $0.allSatisfy(\.isFinite) },
                                   "every sample Hessian must be \(d)×\(d) and finite")
        dimension = d
        sampleCount = sampleHessians.count
        let symmetric = sampleHessians.map { a in
            (0..<(d * d)).map { k in 0.5 * (a[k] + a[(k % d) * d + k / d]) }
        }
        self.sampleHessians = symmetric
        var mean = [Double](repeating: 0, count: d * d)
        for a in symmetric { for k in 0..<(d * d) { mean[k] += a[k] } }
        meanHessian = mean.map { $0 / Double(symmetric.count) }
    }

    /// The per-sample Hessians of `finiteSum` at `point` (exact).
    public init(finiteSum: any FiniteSum, at point: [Double]) throws(TheoryError) {
        let d = finiteSum.dimension
        try TheoryNumerics.require(point.count == d, "point has \(point.count) coordinates, finite sum has \(d)")
        let hessians = (0..<finiteSum.sampleCount).map { i -> [Double] in
            var h = [Double](repeating: 0, count: d * d)
            point.withUnsafeBufferPointer { p in
                h.withUnsafeMutableBufferPointer { finiteSum.addSampleHessian(i, at: p.baseAddress!, scale: 1, into: $0.baseAddress!) }
            }
            return h
        }
        try self.init(sampleHessians: hessians, dimension: d)
    }

    /// `c_B`: 1/B with replacement, (n−B)/(B(n−1)) without (0 for n = 1); `NoiseModel.minibatchFactor`.
    public static func samplingFactor(batchSize b: Int, sampleCount n: Int, withReplacement: Bool) -> Double {
        NoiseModel.minibatchFactor(batchSize: b, sampleCount: n, withReplacement: withReplacement)
    }

    func checkBatch(_ b: Int, _ withReplacement: Bool) throws(TheoryError) {
        try TheoryNumerics.require(b >= 1 && (withReplacement || b <= sampleCount),
                                   "batch size must be in 1...\(withReplacement ? "∞" : String(sampleCount)), got \(b)")
    }

    /// `E[(I−ηM)⊗(I−ηM)] = I⊗I − η(Ā⊗I + I⊗Ā) + η²(Ā⊗Ā + c_B S)`, d²×d² row-major, index
    /// `(i·d + k, j·d + l)` for `(X⊗Y)[(i,k),(j,l)] = X_ij Y_kl`. Symmetric.
    public func meanSquareOperator(learningRate eta: Double, batchSize b: Int,
                                   withReplacement: Bool) throws(TheoryError) -> [Double] {
        try checkBatch(b, withReplacement)
        let d = dimension, dd = d * d
        let c = Self.samplingFactor(batchSize: b, sampleCount: sampleCount, withReplacement: withReplacement)
        let a = meanHessian
        var t = [Double](repeating: 0, count: dd * dd)
        let invN = 1 / Double(sampleCount)
        for i in 0..<d { for k in 0..<d { for j in 0..<d { for l in 0..<d {
            let identityI = i == j ? 1.0 : 0, identityK = k == l ? 1.0 : 0
            var s = 0.0
            for m in sampleHessians { s += (m[i * d + j] - a[i * d + j]) * (m[k * d + l] - a[k * d + l]) }
            let second = a[i * d + j] * a[k * d + l] + c * s * invN
            t[(i * d + k) * dd + j * d + l] = identityI * identityK
                - eta * (a[i * d + j] * identityK + identityI * a[k * d + l]) + eta * eta * second
        } } } }
        return t
    }

    /// Spectral radius of the mean-square operator; SGD's error is mean-square stable iff < 1.
    public func meanSquareSpectralRadius(learningRate eta: Double, batchSize b: Int,
                                         withReplacement: Bool) throws(TheoryError) -> Double {
        let t = try meanSquareOperator(learningRate: eta, batchSize: b, withReplacement: withReplacement)
        do {
            let e = try TheoryNumerics.symmetricEigenvalues(t, dimension: dimension * dimension)
            return max(abs(e.first!), abs(e.last!))
        } catch { throw TheoryNumerics.wrap(error) }
    }

    /// Wu–Ma–E's `λ_max{(I−ηH)² + η² c_B Σ_H}`, `Σ_H = (1/n) Σ Hᵢ² − H²` (= `λ_max E[(I−ηM)²]`);
    /// the minimum is linearly stable for SGD when ≤ 1 (Wu, Ma & E, NeurIPS 2018).
    public func wuMaEValue(learningRate eta: Double, batchSize b: Int, withReplacement: Bool) throws(TheoryError) -> Double {
        try checkBatch(b, withReplacement)
        let d = dimension
        let c = Self.samplingFactor(batchSize: b, sampleCount: sampleCount, withReplacement: withReplacement)
        let h = meanHessian
        var m = [Double](repeating: 0, count: d * d)
        for r in 0..<d { for col in 0..<d {
            var hh = 0.0, mean2 = 0.0
            for k in 0..<d { hh += h[r * d + k] * h[k * d + col] }
            for a in sampleHessians { for k in 0..<d { mean2 += a[r * d + k] * a[k * d + col] } }
            mean2 /= Double(sampleCount)
            let identity = r == col ? 1.0 : 0
            let gdPart = identity - 2 * eta * h[r * d + col] + eta * eta * hh  // (I − ηH)²
            m[r * d + col] = gdPart + eta * eta * c * (mean2 - hh)
        } }
        do { return try TheoryNumerics.symmetricEigenvalues(m, dimension: d).last! } catch { throw TheoryNumerics.wrap(error) }
    }

    /// The exact distribution of the 1-D minibatch mean `m`: distinct values with
    /// probabilities, by enumerating multisets (with replacement, multinomial weights) or
    /// subsets (without). nil when d > 1 or there are more than `limit` batches.
    public func batchMeanDistribution1D(batchSize b: Int, withReplacement: Bool,
                                        limit: Int = 2_000_000) -> [(value: Double, probability: Double)]? {
        guard dimension == 1, b >= 1, withReplacement || b <= sampleCount else { return nil }
        let n = sampleCount
        let a = sampleHessians.map { $0[0] }
        let count = withReplacement ? Self.binomial(n + b - 1, b) : Self.binomial(n, b)
        guard count <= Double(limit) else { return nil }
        var out: [(Double, Double)] = []
        out.reserveCapacity(Int(count))
        let logFactorialB = gsl_sf_lngamma(Double(b) + 1)
        // recursive enumeration of index choices i₁ ≤ i₂ ≤ … (strict for subsets)
        func visit(_ start: Int, _ left: Int, _ sum: Double, _ logWeight: Double, _ last: Int, _ run: Int) {
            if left == 0 {
                if withReplacement {
                    let w = exp(logFactorialB + logWeight - Double(b) * log(Double(n)))
                    out.append((sum / Double(b), w))
                } else {
                    out.append((sum / Double(b), 1 / count))
                }
                return
            }
            guard start < n else { return }
            for i in start..<n {
                if withReplacement {
                    let newRun = i == last ? run + 1 : 1
                    visit(i, left - 1, sum + a[i], logWeight - log(Double(newRun)), i, newRun)
                } else {
                    if n - i < left { break }
                    visit(i + 1, left - 1, sum + a[i], 0, i, 0)
                }
            }
        }
        visit(0, b, 0, 0, -1, 0)
        out.sort { $0.0 < $1.0 }
        var merged: [(value: Double, probability: Double)] = []
        for (v, w) in out {
            if let lastValue = merged.last?.value, lastValue == v { merged[merged.count - 1].probability += w }
            else { merged.append((v, w)) }
        }
        return merged
    }

    static func binomial(_ n: Int, _ k: Int) -> Double {
        guard k >= 0 && k <= n else { return 0 }
        return exp(gsl_sf_lngamma(Double(n) + 1) - gsl_sf_lngamma(Double(k) + 1) - gsl_sf_lngamma(Double(n - k) + 1)).rounded()
    }

    /// The 1-D top Lyapunov exponent `Λ(η) = E log|1 − ηm|` of the linearised SGD chain,
    /// exact over the minibatch distribution (−∞ when some batch lands exactly on 0).
    public static func lyapunovExponent1D(learningRate eta: Double,
                                          distribution: [(value: Double, probability: Double)]) -> Double {
        distribution.reduce(0) { $0 + $1.probability * log(abs(1 - eta * $1.value)) }
    }
}

/// Linear-stability learning-rate thresholds of SGD at a minimum of a finite sum
/// (docs/THEORY.md §3): SGD's linearised error `e_{k+1} = (I − ηM_k) e_k` is stable in the
/// respective sense for `η` below each threshold. Computed from the exact per-sample
/// Hessians (`MinibatchCurvature`). Criteria *(reconstructed, Patel seeds 000/003)*:
///
/// - `gd`: `η < 2/λ_max(Ā)`.
/// - `meanSquare`: `ρ(E[(I−ηM)⊗(I−ηM)]) < 1`; in 1-D the closed form `η < 2E[m]/E[m²]`,
///   `E[m²] = ā² + c_B σ_a²`; for d > 1 the largest η by bisection (ρ(η) is convex with
///   ρ(0) = 1: the positive operator's spectral radius is its top eigenvalue, attained at a
///   PSD X, and `⟨X, T(η)X⟩ = E‖X^{½}(I−ηM)X^{½}‖²_F` is convex in η).
/// - `almostSure` (1-D only): the end of the first stability interval of the top Lyapunov
///   exponent, the first root `η > 0` of `Λ(η) = E log|1−ηm|` (Λ(0) = 0, Λ'(0) = −ā < 0, so
///   `Λ < 0` on `(0, η_as)`). `almostSureIntervals` holds every interval of `{Λ < 0}`: a
///   4096-point grid on `(0, 2/m_min]` (beyond it every |1 − ηm| ≥ 1) plus the singular
///   points `η = 1/m` is scanned, and each sign change is bisected to adjacent doubles.
///   Beyond the first interval Λ can be negative again — curvatures [0.1 ×8, 1, 5] with
///   B = 1 are stable again on (3.94, 14.26) — and around each `η = 1/m`, where some batch
///   sets the error to 0 (Λ = −∞), in a window of width ~e^{−c/p_m}. Intervals narrower
///   than the grid spacing are found only at these singular points. By Jensen
///   (`Λ ≤ ½ log E(1−ηm)²`), `almostSure ≥ meanSquare`.
/// - `sure`: every minibatch contracts: `η < 2/max_M λ_max(M)` (0 if some batch has a
///   non-positive eigenvalue). With replacement `max = max_i λ_max(Aᵢ)`; without, the batch
///   of the B largest in 1-D, by enumeration in d > 1.
/// - `wuMaE`: `λ_max{(I−ηH)² + η² c_B Σ_H} ≤ 1`, largest η by bisection (convex, as above).
/// - `wuWangSu`: square loss only (`SquareLossFiniteSum`: linear regression, random features,
///   two-layer networks). Where L > 0 at the point, μ there; at a zero-loss (interpolating)
///   minimum, where μ(θ*) is 0/0, the minimal alignment over the directions of approach
///   (`minimalAlignment`).
///
/// With replacement any B ≥ 1 is allowed (c_B = 1/B); the without-replacement values are nil
/// when B > n.
public struct StabilityThresholds: Sendable {
    /// A threshold under both minibatch samplings.
    public struct Sampled: Sendable, Equatable {
        public let withReplacement: Double
        /// nil when B > n (no sampling without replacement).
        public let withoutReplacement: Double?
    }

    /// An interval of learning rates (lower, upper) on which a criterion holds.
    public struct Interval: Sendable, Equatable {
        public let lower: Double
        public let upper: Double
    }

    /// Wu, Wang & Su (2022, seed 001): alignment `μ = Tr(ΣG)/(2L‖G‖²_F)` *(reconstructed)* at
    /// a point with `L > 0`; linear stability needs `‖H(θ*)‖_F ≤ √(B/μ)/η`, i.e.
    /// `η ≤ √(B/μ)/‖H‖_F` (`learningRate`).
    public struct WuWangSu: Sendable, Equatable {
        public let alignment: Double
        public let hessianFrobeniusNorm: Double
        public let batchSize: Int
        /// True at a zero-loss minimum: `alignment` is then μ_min, the least alignment over the
        /// directions of approach (`StabilityThresholds.zeroLossWuWangSu`).
        public var atZeroLoss = false
        public var learningRate: Double { (Double(batchSize) / alignment).squareRoot() / hessianFrobeniusNorm }
        /// The bound `√(B/μ)/η` on `‖H‖_F` at learning rate `η`.
        public func hessianBound(learningRate eta: Double) -> Double { (Double(batchSize) / alignment).squareRoot() / eta }
    }

    public let batchSize: Int
    public let gd: Double
    /// λ_max and ‖H‖_F of the mean Hessian at the minimum (the sharpness the bounds read).
    public let topEigenvalue: Double
    public let hessianFrobeniusNorm: Double
    public let meanSquare: Sampled
    /// nil for d > 1 or too many minibatches to enumerate.
    public let almostSure: Sampled?
    /// Every interval of η where Λ(η) < 0, with replacement and (B ≤ n) without; nil as
    /// `almostSure`.
    public let almostSureIntervals: (withReplacement: [Interval], withoutReplacement: [Interval]?)?
    /// nil for d > 1 when the subsets of size B are too many to enumerate.
    public let sure: Sampled?
    public let wuMaE: Sampled
    /// nil unless the finite sum is a square loss with positive loss at the point.
    public let wuWangSu: WuWangSu?

    public init(finiteSum: any FiniteSum, minimum: [Double], batchSize b: Int) throws(TheoryError) {
        let curvature = try MinibatchCurvature(finiteSum: finiteSum, at: minimum)
        var wws: WuWangSu? = nil
        if let square = finiteSum as? any SquareLossFiniteSum,
           finiteSum.localGeometry(at: minimum).loss < LocalGeometry.alignmentLossFloor {
            wws = try Self.zeroLossWuWangSu(square, at: minimum, batchSize: b)
        } else if let regression = finiteSum as? LinearRegression {
            wws = Self.wuWangSu(regression, at: minimum, batchSize: b)
        } else if finiteSum is any SquareLossFiniteSum {
            // any other square loss (e.g. TwoLayerNetwork): μ with its Gauss–Newton G
            let geometry = finiteSum.localGeometry(at: minimum)
            if let mu = geometry.alignment {
                wws = WuWangSu(alignment: mu, hessianFrobeniusNorm: geometry.hessianFrobeniusNorm, batchSize: b)
            }
        }
        try self.init(curvature: curvature, batchSize: b, wuWangSu: wws)
    }

    public init(curvature: MinibatchCurvature, batchSize b: Int, wuWangSu: WuWangSu? = nil) throws(TheoryError) {
        try curvature.checkBatch(b, true)
        let d = curvature.dimension, n = curvature.sampleCount
        let without = b <= n  // sampling without replacement exists
        let eigen: [Double]
        do { eigen = try TheoryNumerics.symmetricEigenvalues(curvature.meanHessian, dimension: d) }
        catch { throw TheoryNumerics.wrap(error) }
        try TheoryNumerics.require(eigen[0] > 0, "the mean Hessian must be positive definite (a strict minimum), eigenvalues \(eigen)")
        batchSize = b
        self.wuWangSu = wuWangSu
        let gd = 2 / eigen.last!
        self.gd = gd
        topEigenvalue = eigen.last!
        hessianFrobeniusNorm = curvature.meanHessian.reduce(0) { $0 + $1 * $1 }.squareRoot()

        func threshold(_ value: (Double) throws(TheoryError) -> Double, strict: Bool) throws(TheoryError) -> Double {
            try TheoryNumerics.bisectBoundary(lo: 0, hi: gd) { (eta) throws(TheoryError) -> Bool in
                let v = try value(eta)
                return strict ? v < 1 : v <= 1
            }
        }
        if d == 1 {
            let a = curvature.sampleHessians.map { $0[0] }
            let mean = a.reduce(0, +) / Double(n)
            let variance = a.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            func closed(_ replacement: Bool) -> Double {
                let c = MinibatchCurvature.samplingFactor(batchSize: b, sampleCount: n, withReplacement: replacement)
                return 2 * mean / (mean * mean + c * variance)
            }
            meanSquare = Sampled(withReplacement: closed(true), withoutReplacement: without ? closed(false) : nil)
            wuMaE = meanSquare  // in 1-D the two criteria coincide: (1−ηh)² + η²c σ² ≤ 1
            let sorted = a.sorted()
            let topB = sorted.suffix(b).reduce(0, +) / Double(b)
            let lowB = sorted.prefix(b).reduce(0, +) / Double(b)
            sure = Sampled(withReplacement: sorted.first! > 0 ? 2 / sorted.last! : 0,
                           withoutReplacement: without ? (lowB > 0 ? 2 / topB : 0) : nil)
            let withDistribution = curvature.batchMeanDistribution1D(batchSize: b, withReplacement: true)
            let withoutDistribution = without ? curvature.batchMeanDistribution1D(batchSize: b, withReplacement: false) : nil
            if let withDistribution, !without || withoutDistribution != nil {
                let with = try Self.almostSureStableIntervals(withDistribution)
                let other = try withoutDistribution.map { (d) throws(TheoryError) in try Self.almostSureStableIntervals(d) }
                almostSure = Sampled(withReplacement: with[0].upper, withoutReplacement: other?[0].upper)
                almostSureIntervals = (with, other)
            } else {
                almostSure = nil
                almostSureIntervals = nil
            }
        } else {
            meanSquare = Sampled(
                withReplacement: try threshold({ (eta) throws(TheoryError) in try curvature.meanSquareSpectralRadius(learningRate: eta, batchSize: b, withReplacement: true) }, strict: true),
                withoutReplacement: without ? try threshold({ (eta) throws(TheoryError) in try curvature.meanSquareSpectralRadius(learningRate: eta, batchSize: b, withReplacement: false) }, strict: true) : nil)
            wuMaE = Sampled(
                withReplacement: try threshold({ (eta) throws(TheoryError) in try curvature.wuMaEValue(learningRate: eta, batchSize: b, withReplacement: true) }, strict: false),
                withoutReplacement: without ? try threshold({ (eta) throws(TheoryError) in try curvature.wuMaEValue(learningRate: eta, batchSize: b, withReplacement: false) }, strict: false) : nil)
            almostSure = nil
            almostSureIntervals = nil
            sure = try Self.sureThreshold(curvature, batchSize: b)
        }
    }

    static func sureThreshold(_ curvature: MinibatchCurvature, batchSize b: Int) throws(TheoryError) -> Sampled? {
        let d = curvature.dimension, n = curvature.sampleCount
        func extremes(_ m: [Double]) throws(TheoryError) -> (Double, Double) {
            do { let e = try TheoryNumerics.symmetricEigenvalues(m, dimension: d); return (e.first!, e.last!) }
            catch { throw TheoryNumerics.wrap(error) }
        }
        var lowest = Double.infinity, highest = -Double.infinity
        for a in curvature.sampleHessians { let (lo, hi) = try extremes(a); lowest = min(lowest, lo); highest = max(highest, hi) }
        let with = lowest > 0 ? 2 / highest : 0
        guard b <= n else { return Sampled(withReplacement: with, withoutReplacement: nil) }
        guard MinibatchCurvature.binomial(n, b) <= 200_000 else { return nil }
        var subsetLowest = Double.infinity, subsetHighest = -Double.infinity
        var indices = Array(0..<b)
        while true {
            var m = [Double](repeating: 0, count: d * d)
            for i in indices { for k in 0..<(d * d) { m[k] += curvature.sampleHessians[i][k] / Double(b) } }
            let (lo, hi) = try extremes(m)
            subsetLowest = min(subsetLowest, lo); subsetHighest = max(subsetHighest, hi)
            // next combination in lexicographic order
            var j = b - 1
            while j >= 0 && indices[j] == n - b + j { j -= 1 }
            if j < 0 { break }
            indices[j] += 1
            for k in (j + 1)..<b { indices[k] = indices[k - 1] + 1 }
        }
        return Sampled(withReplacement: with, withoutReplacement: subsetLowest > 0 ? 2 / subsetHighest : 0)
    }

    /// First root of `E log|1−ηm|` above 0 (see the type's documentation).
    static func almostSureThreshold(_ distribution: [(value: Double, probability: Double)]) throws(TheoryError) -> Double {
        try almostSureStableIntervals(distribution)[0].upper
    }

    /// Every interval of η > 0 where `Λ(η) = E log|1−ηm| < 0` (see the type's documentation),
    /// in increasing order; the first starts at 0.
    static func almostSureStableIntervals(_ distribution: [(value: Double, probability: Double)]) throws(TheoryError) -> [Interval] {
        let lambda = { (eta: Double) in MinibatchCurvature.lyapunovExponent1D(learningRate: eta, distribution: distribution) }
        let smallest = distribution.first!.value
        var hi: Double
        if smallest > 0 {
            hi = 2 / smallest  // |1 − ηm| ≥ ηm_min − 1 ≥ 1 for every batch beyond this
        } else {
            hi = 2 / max(distribution.reduce(0) { $0 + $1.probability * $1.value }, 1e-300)
            var doublings = 0
            while !(lambda(hi) > 0) {
                hi *= 2; doublings += 1
                try TheoryNumerics.require(doublings < 200, "almost-sure threshold: the Lyapunov exponent stays negative")
            }
        }
        var grid = (1...4096).map { hi * Double($0) / 4096 }
        grid += distribution.compactMap { $0.value > 0 && 1 / $0.value < hi ? 1 / $0.value : nil }
        grid.sort()
        // Λ < 0 just above 0 (slope −ā); each grid step where the sign of Λ changes holds an
        // end, bisected: the stable side is Λ < 0
        let stable = grid.map { lambda($0) < 0 }
        guard stable.contains(false) else {
            throw TheoryError("almost-sure threshold: E log|1 − ηm| < 0 on the whole grid up to \(hi)")
        }
        var intervals: [Interval] = []
        var lower: Double? = 0
        for k in grid.indices {
            let previous = k == 0 ? true : stable[k - 1]
            let a = k == 0 ? 0 : grid[k - 1]
            if previous && !stable[k], let l = lower {
                let upper = try TheoryNumerics.bisectBoundary(lo: a, hi: grid[k]) { $0 == 0 || lambda($0) < 0 }
                intervals.append(Interval(lower: l, upper: upper))
                lower = nil
            } else if !previous && stable[k] {
                // the last η with Λ ≥ 0 below grid[k]: the open interval starts there
                lower = try TheoryNumerics.bisectBoundary(lo: a, hi: grid[k]) { !(lambda($0) < 0) }
            }
        }
        return intervals
    }

    /// Wu–Wang–Su alignment for least squares at `point`: `G = (1/n) Σ aᵢaᵢᵀ` (= H),
    /// Σ the per-sample gradient covariance, `L` the loss. nil when `L = 0`.
    public static func wuWangSu(_ regression: LinearRegression, at point: [Double], batchSize b: Int) -> WuWangSu? {
        let d = regression.dimension
        guard point.count == d else { return nil }
        var mean = [Double](repeating: 0, count: d), sigma = [Double](repeating: 0, count: d * d)
        var scratch = [Double](repeating: 0, count: d), g = [Double](repeating: 0, count: d * d)
        let loss = point.withUnsafeBufferPointer { p -> Double in
            regression.sampledGradientCovariance(at: p.baseAddress!, mean: &mean, covariance: &sigma, scratch: &scratch)
            regression.hessian(at: p.baseAddress!, into: &g)
            return regression.loss(at: p.baseAddress!)
        }
        return wuWangSu(loss: loss, gradientCovariance: sigma, gaussNewton: g, hessian: g, dimension: d, batchSize: b)
    }

    /// `μ = Tr(ΣG)/(2L‖G‖²_F)` from its ingredients (row-major d×d); nil when L ≤ 0 or μ ≤ 0.
    public static func wuWangSu(loss: Double, gradientCovariance sigma: [Double], gaussNewton g: [Double],
                                hessian h: [Double], dimension d: Int, batchSize b: Int) -> WuWangSu? {
        guard loss > 0, sigma.count == d * d, g.count == d * d, h.count == d * d else { return nil }
        var trace = 0.0
        for r in 0..<d { for c in 0..<d { trace += sigma[r * d + c] * g[c * d + r] } }
        let gNorm2 = g.reduce(0) { $0 + $1 * $1 }
        let mu = trace / (2 * loss * gNorm2)
        guard mu > 0, mu.isFinite else { return nil }
        return WuWangSu(alignment: mu, hessianFrobeniusNorm: h.reduce(0) { $0 + $1 * $1 }.squareRoot(), batchSize: b)
    }
}
