/// How the Euler–Maruyama step of `sgd-sde` on a finite sum draws its noise √v·Σ(θ)^{1/2}·ξ,
/// Σ(θ) = (1/n) Σᵢ (gᵢ − ḡ)(gᵢ − ḡ)ᵀ the per-sample gradient covariance (gᵢ = ∇ℓᵢ(θ),
/// ḡ = ∇L(θ)). Both routes are exact in law: the increment is Gaussian with mean 0 and
/// covariance v·Σ(θ) given the state; they differ in cost and in how many normals they draw.
///
/// - `covariance`: forms Σ (O(n·d²)), takes its positive-part root S by eigendecomposition
///   (O(d³); the closed form √max(Σ, 0) in 1-D) and adds √v·S·ξ with d normals ξ.
/// - `sampleSpace`: with G the d×n matrix of centred per-sample gradients, Σ = (1/n)·G·Gᵀ,
///   so √v·(1/√n)·G·ζ with ζ ∈ ℝⁿ standard normal has covariance v·Σ (the minibatch
///   covariance as a Gram matrix: Hu, Li, Li & Liu 2019, "On the diffusion approximation of
///   nonconvex stochastic gradient descent", Ann. Math. Sci. Appl. 4, §2; Wu et al. 2020,
///   "On the noisy gradient descent that generalizes as SGD", ICML). O(n·d) per
///   lane-step, no eigendecomposition, no d×d buffer (d-sized work vectors), n normals
///   (held as a block's n×64 doubles, so that `advance(count:normals:)` can take them
///   from outside). Computed as
///   Σᵢ gᵢ·(ζᵢ − ζ̄), which equals Σᵢ (gᵢ − ḡ)·ζᵢ because Σᵢ (ζᵢ − ζ̄) = 0, in one pass
///   over the samples (the same pass accumulates ḡ for the drift).
///
/// The rule (`rule(sampleCount:dimension:)`) depends on (n, d) only, so a cell always takes
/// the same route whatever the thread count: `covariance` in 1-D (one normal, O(n)) and
/// where d is small and n large enough that n normals cost more than forming the d×d
/// matrix (measured by `sgd-escape-bench --finite-sum-noise`, Benchmarks/README.md),
/// `sampleSpace` otherwise. The `covariance` route is the one every finite-sum `sgd-sde`
/// cell took before the sample-space route existed (same draws, same bits).
public enum FiniteSumNoiseRoot: String, Sendable, Equatable, CaseIterable {
    case covariance
    case sampleSpace = "sample-space"

    /// The route for n samples in d dimensions: `covariance` when d = 1 (one normal against
    /// n), or d = 2 and n > 32, or d = 3 and n > 128; `sampleSpace` otherwise. Measured
    /// (Benchmarks/README.md, `--finite-sum-noise`, linear regression, ns per lane-step): a
    /// sample costs about 5 ns more by `sampleSpace` (its normal) and about d² ns more by
    /// `covariance` (the outer product), and the eigendecomposition costs about 0.1, 0.45,
    /// 1.3 and 4.8 µs at d = 2, 3, 5, 10, so `covariance` wins only for d ≤ 3 and n past
    /// about 25 (d = 2) or 130 (d = 3), and never from d = 4 on.
    public static func rule(sampleCount n: Int, dimension d: Int) -> FiniteSumNoiseRoot {
        switch d {
        case 1: .covariance
        case 2: n > 32 ? .covariance : .sampleSpace
        case 3: n > 128 ? .covariance : .sampleSpace
        default: .sampleSpace
        }
    }

    /// Standard normals one lane draws per step: d (`covariance`) or n (`sampleSpace`).
    public func normalsPerStep(sampleCount n: Int, dimension d: Int) -> Int {
        self == .covariance ? d : n
    }
}
