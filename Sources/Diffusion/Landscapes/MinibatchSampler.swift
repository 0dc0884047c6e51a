/// Draws SGD minibatches of a finite sum and their gradient `∇L_B(θ) = (1/B) Σ_{i∈B} ∇ℓᵢ(θ)`
/// (docs/THEORY.md §0) with the same draws as the ensemble engine: with replacement B indices
/// `gsl_rng_uniform_int(n)`; without, a partial Fisher–Yates shuffle of a permutation that
/// persists between batches (positions 0..<B become a uniform B-subset whatever the
/// permutation's current order). Minibatch covariance `c_B·Σ`, `c_B` = 1/B with
/// replacement, (n−B)/(B(n−1)) without (`NoiseModel.minibatchFactor`).
///
/// Not `Sendable` in spirit: one sampler per path or per thread (it owns its permutation).
public struct MinibatchSampler {
    public let sampleCount: Int
    public let batchSize: Int
    public let withReplacement: Bool
    var permutation: [Int]

    public init(sampleCount n: Int, batchSize b: Int, withReplacement: Bool) {
        precondition(n >= 1 && b >= 1 && (withReplacement || b <= n),
                     "batch size \(b) must be ≥ 1 and, without replacement, ≤ the \(n) samples")
        sampleCount = n
        batchSize = b
        self.withReplacement = withReplacement
        permutation = Array(0..<n)
    }

    /// The next minibatch's indices, written to `indices[0..<batchSize]`.
    @inline(__always)
    public mutating func draw(into indices: UnsafeMutablePointer<Int>, stream: RandomStream) {
        let n = sampleCount
        if withReplacement {
            for k in 0..<batchSize { indices[k] = stream.index(below: n) }
            return
        }
        permutation.withUnsafeMutableBufferPointer { p in
            for k in 0..<batchSize {
                let r = k + stream.index(below: n - k)
                p.swapAt(k, r)
                indices[k] = p[k]
            }
        }
    }

    /// `g = ∇L_B(θ)` for a freshly drawn minibatch (`g` holds d doubles, overwritten).
    @inline(__always)
    public mutating func gradient(of sum: any FiniteSum, at theta: UnsafePointer<Double>,
                                  into g: UnsafeMutablePointer<Double>, stream: RandomStream) {
        let d = sum.dimension, n = sampleCount
        for j in 0..<d { g[j] = 0 }
        let inverse = 1.0 / Double(batchSize)
        if withReplacement {
            for _ in 0..<batchSize { sum.addSampleGradient(stream.index(below: n), at: theta, scale: inverse, into: g) }
            return
        }
        permutation.withUnsafeMutableBufferPointer { p in
            for k in 0..<batchSize {
                let r = k + stream.index(below: n - k)
                p.swapAt(k, r)
                sum.addSampleGradient(p[k], at: theta, scale: inverse, into: g)
            }
        }
    }
}

extension FiniteSum {
    /// `count` independent draws of the minibatch gradient noise `ζ = ∇L_B(θ) − ∇L(θ)` at
    /// `point` (docs/THEORY.md §0: mean 0, covariance `c_B·Σ(θ)`, `NoiseModel.minibatchFactor`),
    /// as `count × d` row-major values — e.g. for the tail-index
    /// estimator (docs/THEORY.md §4; Şimşekli et al. 2019 apply it to exactly this noise).
    public func minibatchGradientNoise(at point: [Double], batchSize: Int, withReplacement: Bool,
                                       count: Int, stream: RandomStream) -> [Double] {
        let d = dimension
        precondition(point.count == d && count >= 0)
        var sampler = MinibatchSampler(sampleCount: sampleCount, batchSize: batchSize, withReplacement: withReplacement)
        var out = [Double](repeating: 0, count: count * d)
        var full = [Double](repeating: 0, count: d)
        point.withUnsafeBufferPointer { p in
            full.withUnsafeMutableBufferPointer { gradient(at: p.baseAddress!, into: $0.baseAddress!) }
            out.withUnsafeMutableBufferPointer { o in
                for k in 0..<count {
                    let row = o.baseAddress! + k * d
                    sampler.gradient(of: self, at: p.baseAddress!, into: row, stream: stream)
                    for j in 0..<d { row[j] -= full[j] }
                }
            }
        }
        return out
    }
}
