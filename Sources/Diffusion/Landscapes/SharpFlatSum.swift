/// A one-dimensional finite sum with a sharp and a flat minimum shared by every sample —
/// the nonconvex analogue of Patel's quadratic sums (seeds 000/003; docs/THEORY.md §3) for
/// asking which minimum SGD ends in as η and B vary:
///
/// `ℓᵢ(x) = (x−s)²(x−t)² [hᵢˢ (x−t)² + hᵢᶠ (x−s)²] / (2Δ⁴)`, `Δ = t − s`,
///
/// a degree-6 polynomial per sample (construction of this toolkit, not from a paper). Every
/// ℓᵢ ≥ 0 vanishes to second order at the sharp minimum `s` and the flat minimum `t`, with
/// `ℓᵢ''(s) = hᵢˢ` and `ℓᵢ''(t) = hᵢᶠ` exactly, so at either minimum the gradient noise is
/// zero and SGD's linearisation there is Patel's `e_{k+1} = (1 − η m_k) e_k` with `m_k` the
/// minibatch mean of the hᵢˢ (or hᵢᶠ): stability at each minimum is the deterministic
/// function of (η, B, {hᵢ}) that `StabilityThresholds` computes. L = (1/n)Σℓᵢ has exactly
/// three critical points: the two minima (L = 0) and one barrier between them (the one root
/// in (s, t) of the cubic factor of L'; outside [s, t] that factor has the sign of L', so no
/// other root). The tails grow like x⁶: a large enough overshoot diverges.
///
/// With `a = x − s`, `b = x − t`:
/// `ℓᵢ = (hˢ a²b⁴ + hᶠ a⁴b²)/(2Δ⁴)`, `ℓᵢ' = ab[hˢ b²(b+2a) + hᶠ a²(2b+a)]/Δ⁴`,
/// `ℓᵢ'' = [hˢ(b⁴ + 8ab³ + 6a²b²) + hᶠ(a⁴ + 8a³b + 6a²b²)]/Δ⁴`.
public struct SharpFlatSum: FiniteSum {
    public let dimension = 1
    public let sampleCount: Int
    /// hᵢˢ: per-sample curvatures at the sharp minimum.
    public let sharpCurvatures: [Double]
    /// hᵢᶠ: per-sample curvatures at the flat minimum.
    public let flatCurvatures: [Double]
    /// s and t.
    public let sharpMinimum: Double
    public let flatMinimum: Double
    let scale: Double  // 1/Δ⁴

    /// Curvatures must be > 0 (each sample then has both minima strict), one pair per sample.
    public init(sharpCurvatures: [Double], flatCurvatures: [Double],
                sharpMinimum: Double = -1, flatMinimum: Double = 1) throws(LandscapeError) {
        guard !sharpCurvatures.isEmpty, sharpCurvatures.count == flatCurvatures.count else {
            throw LandscapeError("sharp_curvatures and flat_curvatures must be non-empty and of equal length (one pair per sample), got \(sharpCurvatures.count) and \(flatCurvatures.count)")
        }
        guard (sharpCurvatures + flatCurvatures).allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LandscapeError("sharp_curvatures and flat_curvatures must all be > 0")
        }
        guard sharpMinimum.isFinite, flatMinimum.isFinite, sharpMinimum != flatMinimum else {
            throw LandscapeError("sharp_minimum and flat_minimum must be finite and different, got \(sharpMinimum) and \(flatMinimum)")
        }
        sampleCount = sharpCurvatures.count
        self.sharpCurvatures = sharpCurvatures
        self.flatCurvatures = flatCurvatures
        self.sharpMinimum = sharpMinimum
        self.flatMinimum = flatMinimum
        let delta = flatMinimum - sharpMinimum
        scale = 1 / (delta * delta * delta * delta)
    }

    /// Mean curvatures L''(s) and L''(t).
    public var meanSharpCurvature: Double { sharpCurvatures.reduce(0, +) / Double(sampleCount) }
    public var meanFlatCurvature: Double { flatCurvatures.reduce(0, +) / Double(sampleCount) }

    /// The barrier: the root in (s, t) of `c(x) = h̄ˢ b²(b+2a) + h̄ᶠ a²(2b+a)` (L' = ab·c/Δ⁴),
    /// by bisection to adjacent doubles (c has opposite signs at s and t).
    public var barrier: Double {
        let hs = meanSharpCurvature, hf = meanFlatCurvature, s = sharpMinimum, t = flatMinimum
        func c(_ x: Double) -> Double {
            let a = x - s, b = x - t
            return hs * b * b * (b + 2 * a) + hf * a * a * (2 * b + a)
        }
        var lo = s, hi = t
        let signLo = c(lo) < 0
        while true {
            let mid = 0.5 * (lo + hi)
            if mid == lo || mid == hi { break }
            if (c(mid) < 0) == signLo { lo = mid } else { hi = mid }
        }
        return 0.5 * (lo + hi)
    }

    /// The three critical points: "sharp minimum", "barrier", "flat minimum".
    public var criticalPoints: [CriticalPoint] {
        let x = barrier
        let value = [x].withUnsafeBufferPointer { loss(at: $0.baseAddress!) }
        return [
            CriticalPoint(point: [sharpMinimum], value: 0, kind: .minimum, label: "sharp minimum"),
            CriticalPoint(point: [x], value: value, kind: .maximum, label: "barrier"),
            CriticalPoint(point: [flatMinimum], value: 0, kind: .minimum, label: "flat minimum"),
        ]
    }

    public func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        let a = theta[0] - sharpMinimum, b = theta[0] - flatMinimum
        let a2 = a * a, b2 = b * b
        return 0.5 * scale * a2 * b2 * (sharpCurvatures[i] * b2 + flatCurvatures[i] * a2)
    }

    public func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale weight: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        let a = theta[0] - sharpMinimum, b = theta[0] - flatMinimum
        let cubic = sharpCurvatures[i] * b * b * (b + 2 * a) + flatCurvatures[i] * a * a * (2 * b + a)
        g[0] += weight * scale * a * b * cubic
    }

    public func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale weight: Double,
                                 into h: UnsafeMutablePointer<Double>) {
        let a = theta[0] - sharpMinimum, b = theta[0] - flatMinimum
        let a2 = a * a, b2 = b * b, ab = a * b
        let sharp = b2 * b2 + 8 * ab * b2 + 6 * a2 * b2
        let flat = a2 * a2 + 8 * ab * a2 + 6 * a2 * b2
        h[0] += weight * scale * (sharpCurvatures[i] * sharp + flatCurvatures[i] * flat)
    }
}
