import Foundation

/// Sharpness and SGD-noise alignment of a finite sum at a point (docs/THEORY.md §3).
///
/// - Sharpness: `‖H‖_F` (Wu, Wang & Su 2022, seed 001) and `λ_max(H)` (Wu, Ma & E 2018).
/// - Alignment factor (Wu, Wang & Su 2022, as docs/THEORY.md §3 reconstructs it):
///   `μ(θ) = Tr(Σ(θ) G(θ)) / (2 L(θ) ‖G(θ)‖²_F)`, Σ the per-sample gradient covariance
///   `(1/n) Σ ∇ℓᵢ∇ℓᵢᵀ − ∇L∇Lᵀ` (docs/THEORY.md §0) and G the Gauss–Newton matrix
///   `(1/n) Σ ∇uᵢ∇uᵢᵀ` of a square loss `ℓᵢ = ½(uᵢ − yᵢ)²` (`SquareLossFiniteSum`); for
///   other finite sums G := H (stated in `gaussNewtonIsHessian`). For square loss the noise is
///   `Σ ≈ 2L·G`-shaped when residuals and output gradients decouple, giving `μ ≈ 1`; the
///   paper proves `μ` bounded below for linear and random-feature models.
/// - Linear-stability bound: a minimum that SGD stays at has `‖H‖_F ≤ √(B/μ)/η`
///   (with replacement; here in general `1/(η√(c_B μ))` with the minibatch factor
///   `c_B` = 1/B with replacement, (n−B)/(B(n−1)) without — the same substitution
///   docs/THEORY.md §0 makes for Σ_B) — `hessianBound(learningRate:batchSize:withReplacement:)`.
///
/// μ is undefined where L = 0 (an interpolating minimum: Σ = 0 there too); it is then nil,
/// and also where L < `alignmentLossFloor` = 1e-24: residuals below ~1e-12 are dominated by
/// the rounding of uᵢ − yᵢ for O(1) targets, so the ratio would be noise. The paper evaluates
/// μ near the minimum, along the trajectory.
public struct LocalGeometry: Sendable, Equatable {
    public let loss: Double
    /// ‖∇L‖₂.
    public let gradientNorm: Double
    public let hessianFrobeniusNorm: Double
    /// λ_max(H); nil above `LocalGeometry.eigenvalueDimensionLimit` (cost O(d³)).
    public let hessianTopEigenvalue: Double?
    /// ‖G‖_F (= ‖H‖_F when G := H).
    public let gaussNewtonFrobeniusNorm: Double
    /// Tr(ΣG).
    public let noiseCurvatureTrace: Double
    /// μ; nil when L < 1e-24, ‖G‖ = 0 or the ratio is not finite.
    public let alignment: Double?
    /// True when the finite sum exposes no model output, so G := H.
    public let gaussNewtonIsHessian: Bool

    public static let eigenvalueDimensionLimit = 256
    public static let alignmentLossFloor = 1e-24

    /// The bound on ‖H‖_F implied by linear stability at learning rate η, batch size B:
    /// `1/(η √(c_B μ))` (= `√(B/μ)/η` with replacement); nil without μ, ∞ when c_B = 0 (B = n
    /// without replacement: no noise).
    public func hessianBound(learningRate eta: Double, batchSize b: Int, sampleCount n: Int,
                             withReplacement: Bool) -> Double? {
        guard let mu = alignment else { return nil }
        let c = MinibatchCurvature.samplingFactor(batchSize: b, sampleCount: n, withReplacement: withReplacement)
        return c == 0 ? .infinity : 1 / (eta * (c * mu).squareRoot())
    }
}

extension FiniteSum {
    /// Loss, gradient norm, Hessian norms, Gauss–Newton matrix and alignment at `point`,
    /// all exact (O(n d²) plus O(d³) for λ_max).
    public func localGeometry(at point: [Double]) -> LocalGeometry {
        let d = dimension, n = sampleCount
        precondition(point.count == d)
        var hessian = [Double](repeating: 0, count: d * d)
        var gn = [Double](repeating: 0, count: d * d)
        var mean = [Double](repeating: 0, count: d)
        var gi = [Double](repeating: 0, count: n * d)
        var loss = 0.0
        let square = self as? any SquareLossFiniteSum
        point.withUnsafeBufferPointer { pb in
            let p = pb.baseAddress!
            hessian.withUnsafeMutableBufferPointer { self.hessian(at: p, into: $0.baseAddress!) }
            gi.withUnsafeMutableBufferPointer { g in
                for i in 0..<n {
                    addSampleGradient(i, at: p, scale: 1, into: g.baseAddress! + i * d)
                    loss += sampleLoss(i, at: p)
                }
            }
            if let square {
                var grad = [Double](repeating: 0, count: d)
                let w = 1 / Double(n)
                for i in 0..<n {
                    for k in 0..<d { grad[k] = 0 }
                    grad.withUnsafeMutableBufferPointer { square.addOutputGradient(i, at: p, scale: 1, into: $0.baseAddress!) }
                    for r in 0..<d where grad[r] != 0 {
                        let gr = w * grad[r]
                        for c in 0..<d { gn[r * d + c] += gr * grad[c] }
                    }
                }
            } else {
                gn = hessian
            }
        }
        loss /= Double(n)
        for i in 0..<n { for k in 0..<d { mean[k] += gi[i * d + k] } }
        for k in 0..<d { mean[k] /= Double(n) }
        // Tr(ΣG) = (1/n) Σ gᵢᵀGgᵢ − ḡᵀGḡ
        func quadratic(_ v: ArraySlice<Double>) -> Double {
            let base = v.startIndex
            var s = 0.0
            for r in 0..<d where v[base + r] != 0 {
                var row = 0.0
                for c in 0..<d { row += gn[r * d + c] * v[base + c] }
                s += v[base + r] * row
            }
            return s
        }
        var trace = 0.0
        for i in 0..<n { trace += quadratic(gi[(i * d)..<((i + 1) * d)]) }
        trace = trace / Double(n) - quadratic(mean[0..<d])
        let frobenius = hessian.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let gnNorm2 = gn.reduce(0) { $0 + $1 * $1 }
        let mu = trace / (2 * loss * gnNorm2)
        let top: Double? = d <= LocalGeometry.eigenvalueDimensionLimit && hessian.allSatisfy(\.isFinite)
            ? (try? TheoryNumerics.symmetricEigenvalues(hessian, dimension: d))?.last : nil
        return LocalGeometry(loss: loss, gradientNorm: mean.reduce(0) { $0 + $1 * $1 }.squareRoot(),
                             hessianFrobeniusNorm: frobenius, hessianTopEigenvalue: top,
                             gaussNewtonFrobeniusNorm: gnNorm2.squareRoot(), noiseCurvatureTrace: trace,
                             alignment: loss >= LocalGeometry.alignmentLossFloor && gnNorm2 > 0 && mu.isFinite ? mu : nil,
                             gaussNewtonIsHessian: square == nil)
    }
}
