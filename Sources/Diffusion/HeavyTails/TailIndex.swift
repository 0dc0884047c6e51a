import Foundation

/// The tail index α of symmetric α-stable samples by the block-sum estimator of Mohammadi,
/// Mohammadpour & Ohta (2015, "On estimating the tail index and the spectral measure of
/// multivariate α-stable distributions", Metrika 78), as used on gradient noise by Şimşekli,
/// Sagun & Gürbüzbalaban (ICML 2019, "A tail-index analysis of stochastic gradient noise in
/// deep neural networks") — docs/THEORY.md §4:
///
/// for K = m·n samples Xⱼ and block sums `Yᵢ = Σ_{j=1}^{m} X_{(i−1)m+j}`,
/// `1/α̂ = ((1/n) Σᵢ log|Yᵢ| − (1/K) Σⱼ log|Xⱼ|) / log m`.
///
/// Why it works: for i.i.d. SαS samples `Yᵢ =ᵈ m^{1/α} X`, so `E log|Y| − E log|X| = log(m)/α`
/// exactly; `1/α̂` is therefore **unbiased for 1/α** at every K (α̂ itself carries the
/// Jensen bias `≈ α³ Var(1/α̂)`). Writing `Zᵢ = log|Yᵢ| − (1/m) Σ_{j∈block i} log|Xⱼ|`,
/// `1/α̂ = mean(Zᵢ)/log m` with the Zᵢ i.i.d. across blocks, so its standard error is
/// `sd(Z)/(√n · log m)`, and α̂'s is `α̂²` times that (delta method).
///
/// Samples beyond the last whole block (K − m·n of them) are not used. Zeros (log 0) are
/// impossible for continuous laws; a sample that is exactly 0 makes the estimate undefined.
/// For finite-variance noise (α = 2, e.g. Gaussian or bounded minibatch noise) the block sums
/// are only approximately stable at finite m, so α̂ approaches 2 as m grows.
public struct TailIndexEstimate: Sendable, Equatable {
    /// α̂ = 1 / (1/α̂).
    public let alpha: Double
    /// Delta-method standard error of α̂: α̂² · SE(1/α̂).
    public let alphaStandardError: Double
    /// 1/α̂, unbiased for 1/α on SαS samples.
    public let inverseAlpha: Double
    /// sd(Zᵢ)/(√n log m), from the n i.i.d. block statistics.
    public let inverseAlphaStandardError: Double
    /// m, samples per block.
    public let blockSize: Int
    /// n, blocks used (K = m·n samples).
    public let blocks: Int
}

/// How d-dimensional noise vectors are turned into scalar samples for the estimator.
public enum TailIndexPooling: String, Sendable, CaseIterable {
    /// All coordinates of all vectors as one sample (vector-major order, so a block sums m
    /// consecutive coordinates): Şimşekli et al. (2019) pool the coordinates of the
    /// gradient noise, assuming one common α. Coordinates of different scale break the
    /// i.i.d. premise (a sum of SαS of scales cₖ is SαS of scale (Σcₖ^α)^{1/α}, not m^{1/α}c).
    case flattened
    /// One estimate per coordinate over the K vectors; `estimate` is their mean α̂ with the
    /// mean's standard error over the coordinates' own SEs (coordinates treated as
    /// independent), and `perCoordinate` keeps each.
    case perCoordinate = "per-coordinate"
}

public enum TailIndex {
    /// The default block size: ⌊√K⌋ (at least 2), balancing the variance of the block means
    /// (n blocks) against the lever arm log m.
    public static func defaultBlockSize(sampleCount k: Int) -> Int {
        max(2, Int(Double(k).squareRoot()))
    }

    /// The estimate from scalar samples; nil when fewer than two whole blocks of size ≥ 2
    /// fit, or a sample is 0 or not finite.
    public static func estimate(_ samples: [Double], blockSize: Int? = nil) -> TailIndexEstimate? {
        samples.withUnsafeBufferPointer { estimate($0, blockSize: blockSize) }
    }

    public static func estimate(_ samples: UnsafeBufferPointer<Double>, blockSize: Int? = nil) -> TailIndexEstimate? {
        let m = blockSize ?? defaultBlockSize(sampleCount: samples.count)
        guard m >= 2 else { return nil }
        let n = samples.count / m
        guard n >= 2 else { return nil }
        var sum = 0.0, sumSquares = 0.0
        for i in 0..<n {
            var block = 0.0, logs = 0.0
            for j in (i * m)..<((i + 1) * m) {
                let x = samples[j]
                guard x != 0, x.isFinite else { return nil }
                block += x
                logs += log(abs(x))
            }
            guard block != 0, block.isFinite else { return nil }
            let z = log(abs(block)) - logs / Double(m)
            sum += z; sumSquares += z * z
        }
        let mean = sum / Double(n)
        let variance = max(sumSquares - Double(n) * mean * mean, 0) / Double(n - 1)
        let logM = log(Double(m))
        let inverse = mean / logM
        let inverseSE = (variance / Double(n)).squareRoot() / logM
        let alpha = 1 / inverse
        return TailIndexEstimate(alpha: alpha, alphaStandardError: alpha * alpha * inverseSE,
                                 inverseAlpha: inverse, inverseAlphaStandardError: inverseSE,
                                 blockSize: m, blocks: n)
    }

    /// The estimate from `vectors` (count × dimension, row-major: vector k at
    /// `vectors[k*d ..< (k+1)*d]`), pooled as `pooling` says. `blockSize` defaults to
    /// ⌊√(samples per estimate)⌋.
    public static func estimate(vectors: [Double], dimension d: Int, pooling: TailIndexPooling,
                                blockSize: Int? = nil) -> (estimate: TailIndexEstimate, perCoordinate: [TailIndexEstimate])? {
        precondition(d >= 1 && vectors.count % d == 0)
        switch pooling {
        case .flattened:
            guard let e = estimate(vectors, blockSize: blockSize) else { return nil }
            return (e, [])
        case .perCoordinate:
            let k = vectors.count / d
            var each: [TailIndexEstimate] = []
            var column = [Double](repeating: 0, count: k)
            for j in 0..<d {
                for i in 0..<k { column[i] = vectors[i * d + j] }
                guard let e = estimate(column, blockSize: blockSize) else { return nil }
                each.append(e)
            }
            let count = Double(d)
            let alpha = each.reduce(0) { $0 + $1.alpha } / count
            let inverse = each.reduce(0) { $0 + $1.inverseAlpha } / count
            let alphaSE = each.reduce(0) { $0 + $1.alphaStandardError * $1.alphaStandardError }.squareRoot() / count
            let inverseSE = each.reduce(0) { $0 + $1.inverseAlphaStandardError * $1.inverseAlphaStandardError }.squareRoot() / count
            let pooled = TailIndexEstimate(alpha: alpha, alphaStandardError: alphaSE, inverseAlpha: inverse,
                                           inverseAlphaStandardError: inverseSE,
                                           blockSize: each[0].blockSize, blocks: each[0].blocks)
            return (pooled, each)
        }
    }
}
