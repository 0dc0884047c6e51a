import Foundation
internal import CGSL

/// One theoretical number with everything needed to report it honestly: the formula as
/// evaluated, where it comes from, the unit of `value`, and the assumptions under which it
/// holds (docs/THEORY.md §0 conventions; "reconstructed" / "recalled" where docs/THEORY.md says so).
public struct TheoryPrediction: Sendable, Equatable, CustomStringConvertible {
    public let value: Double
    public let formula: String
    public let reference: String
    public let timeUnit: String
    public let assumptions: String

    public init(value: Double, formula: String, reference: String, timeUnit: String, assumptions: String) {
        self.value = value
        self.formula = formula
        self.reference = reference
        self.timeUnit = timeUnit
        self.assumptions = assumptions
    }

    public var description: String { "\(value) [\(timeUnit)] = \(formula) (\(reference); \(assumptions))" }
}

/// Escape-time formulas of docs/THEORY.md §2 (Gaussian noise) and §4 (heavy tails), each a
/// `TheoryPrediction`. Unless a function says otherwise the convention is the physics one,
/// `dX = −∇V(X) dt + √(2ε) dW` (docs/THEORY.md §0), and times are in SDE continuous time
/// (iterations of SGD = t/η).
public enum EscapeTheory {
    static let continuousTime = "continuous time (SDE; SGD iterations = t/η)"

    static func positive(_ name: String, _ v: Double) throws(TheoryError) {
        try TheoryNumerics.require(v > 0 && v.isFinite, "\(name) must be > 0 and finite, got \(v)")
    }

    // MARK: - Kramers (1-D) and Eyring–Kramers (d-dim)

    /// Kramers rate `k = √(V''(a)|V''(b)|)/(2π) · e^{−ΔV/ε}` for `dX = −V'(X)dt + √(2ε)dW`,
    /// minimum `a`, barrier top `b`, `ΔV = V(b) − V(a)` (Kramers 1940; Hänggi, Talkner &
    /// Borkovec, Rev. Mod. Phys. 62 (1990) §IV). Unit: 1/continuous time.
    public static func kramersRate(curvatureAtMinimum hA: Double, curvatureAtBarrier hB: Double,
                                   barrier deltaV: Double, epsilon: Double) throws(TheoryError) -> TheoryPrediction {
        try positive("curvature at the minimum", hA)
        try TheoryNumerics.require(hB < 0 && hB.isFinite, "curvature at the barrier must be < 0, got \(hB)")
        try positive("barrier", deltaV)
        try positive("epsilon", epsilon)
        let k = (hA * abs(hB)).squareRoot() / (2 * Double.pi) * exp(-deltaV / epsilon)
        return TheoryPrediction(value: k, formula: "k = √(V''(a)|V''(b)|)/(2π)·exp(−ΔV/ε)",
                                reference: "Kramers (1940); Hänggi–Talkner–Borkovec (1990) §IV",
                                timeUnit: "1/continuous time",
                                assumptions: "1-D, dX = −V'dt + √(2ε)dW, ΔV/ε ≫ 1, non-degenerate minimum and barrier")
    }

    /// Kramers mean transition time `1/k = 2π/√(V''(a)|V''(b)|) · e^{ΔV/ε}` (into the
    /// neighbouring well). Unit: continuous time.
    public static func kramersTransitionTime(curvatureAtMinimum hA: Double, curvatureAtBarrier hB: Double,
                                             barrier deltaV: Double, epsilon: Double) throws(TheoryError) -> TheoryPrediction {
        let k = try kramersRate(curvatureAtMinimum: hA, curvatureAtBarrier: hB, barrier: deltaV, epsilon: epsilon)
        return TheoryPrediction(value: 1 / k.value, formula: "1/k = 2π/√(V''(a)|V''(b)|)·exp(ΔV/ε)",
                                reference: k.reference, timeUnit: continuousTime,
                                assumptions: k.assumptions + "; mean time to reach the other well")
    }

    /// Mean first-passage time to the barrier top itself, asymptotically `1/(2k)` (a path at the top
    /// falls back or crosses with probability ½; Gardiner, *Handbook of Stochastic Methods*, ch. 5).
    /// Compare with `MeanFirstPassage1D` (docs/THEORY.md §1: 30.8213 vs this 27.06 at ε = 0.1).
    public static func kramersFirstPassageToBarrier(curvatureAtMinimum hA: Double, curvatureAtBarrier hB: Double,
                                                    barrier deltaV: Double, epsilon: Double) throws(TheoryError) -> TheoryPrediction {
        let k = try kramersRate(curvatureAtMinimum: hA, curvatureAtBarrier: hB, barrier: deltaV, epsilon: epsilon)
        return TheoryPrediction(value: 0.5 / k.value, formula: "1/(2k) = π/√(V''(a)|V''(b)|)·exp(ΔV/ε)",
                                reference: k.reference + "; Gardiner, Handbook of Stochastic Methods ch. 5",
                                timeUnit: continuousTime,
                                assumptions: k.assumptions + "; absorbing exactly at the barrier top; O(ε/ΔV) corrections")
    }

    /// Eyring–Kramers law `E τ = (2π/|λ₁(z)|) √(|det ∇²V(z)| / det ∇²V(x)) · e^{(V(z)−V(x))/ε}`
    /// from a minimum `x` over an index-1 saddle `z` (Bovier, Eckhoff, Gayrard & Klein, JEMS 6
    /// (2004); Berglund, Markov Proc. Rel. Fields 19 (2013)). Hessians row-major d×d.
    public static func eyringKramers(hessianAtMinimum hx: [Double], hessianAtSaddle hz: [Double],
                                     dimension d: Int, barrier deltaV: Double,
                                     epsilon: Double) throws(TheoryError) -> TheoryPrediction {
        try TheoryNumerics.require(d >= 1 && hx.count == d * d && hz.count == d * d, "Hessians must be \(d)×\(d)")
        try positive("barrier", deltaV)
        try positive("epsilon", epsilon)
        let ex: [Double], ez: [Double]
        do {
            ex = try TheoryNumerics.symmetricEigenvalues(hx, dimension: d)
            ez = try TheoryNumerics.symmetricEigenvalues(hz, dimension: d)
        } catch { throw TheoryNumerics.wrap(error) }
        try TheoryNumerics.require(ex.allSatisfy { $0 > 0 }, "Hessian at the minimum must be positive definite, eigenvalues \(ex)")
        try TheoryNumerics.require(ez[0] < 0 && (d == 1 || ez[1] > 0),
                                   "Hessian at the saddle must have exactly one negative eigenvalue, eigenvalues \(ez)")
        // √(|det Hz| / det Hx) as a product of eigenvalue ratios (no overflow in high d)
        var ratio = 1.0
        for i in 0..<d { ratio *= abs(ez[i]) / ex[i] }
        let value = 2 * Double.pi / abs(ez[0]) * ratio.squareRoot() * exp(deltaV / epsilon)
        return TheoryPrediction(value: value,
                                formula: "(2π/|λ₁(z)|)·√(|det ∇²V(z)|/det ∇²V(x))·exp((V(z)−V(x))/ε)",
                                reference: "Eyring (1935); Kramers (1940); Bovier–Eckhoff–Gayrard–Klein (2004)",
                                timeUnit: continuousTime,
                                assumptions: "dX = −∇V dt + √(2ε)dW, ε → 0, non-degenerate minimum and index-1 saddle; mean time to reach the next well through z")
    }

    /// Eyring–Kramers for a landscape: Hessians and the barrier `V(z) − V(x)` evaluated exactly.
    public static func eyringKramers(on landscape: Landscape, minimum: [Double], saddle: [Double],
                                     epsilon: Double) throws(TheoryError) -> TheoryPrediction {
        try eyringKramers(hessianAtMinimum: landscape.hessian(at: minimum), hessianAtSaddle: landscape.hessian(at: saddle),
                          dimension: landscape.dimension,
                          barrier: landscape.value(at: saddle) - landscape.value(at: minimum), epsilon: epsilon)
    }

    // MARK: - Freidlin–Wentzell / Hu et al.

    /// Isotropic quasi-potential barrier `V̄ = 2ΔL/σ²` for `dΘ = −∇L dt + √(η σ²) dW`
    /// (Σ = σ²I; Freidlin & Wentzell, *Random Perturbations*, ch. 4; Hu, Li, Li & Liu 2019,
    /// seed 002): `lim η log E τ = V̄`. Unit: dimensionless (the exponent per unit 1/η).
    public static func freidlinWentzellIsotropicBarrier(lossBarrier deltaL: Double,
                                                        noiseVariance sigma2: Double) throws(TheoryError) -> TheoryPrediction {
        try positive("loss barrier", deltaL)
        try positive("noise variance σ²", sigma2)
        return TheoryPrediction(value: 2 * deltaL / sigma2, formula: "V̄ = 2ΔL/σ²",
                                reference: "Freidlin–Wentzell (1984) ch. 4; Hu et al. (2019)",
                                timeUnit: "dimensionless (log E τ ≈ V̄/η)",
                                assumptions: "gradient drift, isotropic noise covariance σ²I per unit η, η → 0")
    }

    /// 1-D state-dependent quasi-potential `V̄ = 2 ∫_{x*}^{b} L'(u)/σ²(u) du` for
    /// `dΘ = −L'dt + √(η σ²(Θ)) dW` (the minimising path is the time-reversed gradient flow,
    /// whose action ½∫(2L')²/σ² dt equals the integral). GSL QAGS quadrature. `b` may lie on
    /// either side of the minimum `x*`.
    public static func freidlinWentzellBarrier1D(derivative: (Double) -> Double,
                                                 noiseVariance: (Double) -> Double,
                                                 minimum: Double, boundary: Double) throws(TheoryError) -> TheoryPrediction {
        try TheoryNumerics.require(minimum != boundary, "boundary must differ from the minimum")
        let integral = try TheoryNumerics.integrate({ u in derivative(u) / noiseVariance(u) },
                                                    from: minimum, to: boundary, context: "Freidlin–Wentzell quadrature")
        return TheoryPrediction(value: 2 * integral, formula: "V̄ = 2∫_{x*}^{b} L'(u)/σ²(u) du",
                                reference: "Freidlin–Wentzell (1984); Hu et al. (2019)",
                                timeUnit: "dimensionless (log E τ ≈ V̄/η)",
                                assumptions: "1-D, σ²(u) > 0 on the path, η → 0")
    }

    /// SGD iterations to escape, `N ≈ η⁻¹ exp(B·V̄₁/η)`, with `V̄₁` the quasi-potential for
    /// batch size 1 (`Σ_B = Σ/B` multiplies the barrier by B): the Arrhenius law in `B/η`
    /// (docs/THEORY.md §2). Unit: iterations; leading exponential order only (prefactor 1).
    public static func sgdArrheniusIterations(quasiPotential v1: Double, learningRate eta: Double,
                                              batchSize b: Int) throws(TheoryError) -> TheoryPrediction {
        try positive("quasi-potential", v1)
        try positive("learning rate", eta)
        try TheoryNumerics.require(b >= 1, "batch size must be ≥ 1, got \(b)")
        return TheoryPrediction(value: exp(Double(b) * v1 / eta) / eta, formula: "N ≈ η⁻¹·exp(B·V̄₁/η)",
                                reference: "Hu et al. (2019), seed 002; docs/THEORY.md §2",
                                timeUnit: "iterations",
                                assumptions: "log-asymptotics only (unknown sub-exponential prefactor), Σ_B = Σ/B, η → 0")
    }

    // MARK: - Saddle escape

    /// Escape from an unstable direction: for `dX = λX dt + √(2D) dW` on `(−r, r)` from 0,
    /// `E τ = (1/(2λ))[ln(2λr²/D) + γ_E] + O(D)` *(reconstructed constant, docs/THEORY.md §2)*; with
    /// SGD noise `D = ησ²/(2B)` this is `≈ (1/(2λ)) ln(1/η)`. Unit: continuous time.
    public static func saddleEscapeTime(unstableEigenvalue lambda: Double, halfWidth r: Double,
                                        diffusion d: Double) throws(TheoryError) -> TheoryPrediction {
        try positive("unstable eigenvalue λ", lambda)
        try positive("half-width r", r)
        try positive("diffusion D", d)
        let eulerGamma = 0.57721566490153286061
        let value = (log(2 * lambda * r * r / d) + eulerGamma) / (2 * lambda)
        return TheoryPrediction(value: value, formula: "(1/(2λ))·[ln(2λr²/D) + γ_E]",
                                reference: "Hu et al. (2019) saddle escape; constant reconstructed (docs/THEORY.md §2)",
                                timeUnit: continuousTime,
                                assumptions: "reconstructed; linear unstable direction, exit from (−r, r) started at 0, D → 0 (error O(D))")
    }

    // MARK: - Xie, Sato & Sugiyama (Hessian-shaped noise)

    /// The path parameter `s` of Xie–Sato–Sugiyama (ICLR 2021) defined by
    /// `∫_a^b L'(θ)/h(θ) dθ = ΔL (s/H_a + (1−s)/|H_b|)`, solved for `s`, with `h > 0` the noise
    /// curvature along the path (`D(θ) = η h(θ)/(2B)`). Quadrature by GSL QAGS; `breakpoint`
    /// (e.g. where `h` switches) splits the integral. Throws when `H_a = |H_b|` (then every
    /// `s` solves it) or `s ∉ [0, 1]` (the profile does not interpolate the end curvatures).
    /// *(recalled; exponent re-derived — docs/THEORY.md §2)*
    public static func xieSatoSugiyamaPathParameter(derivative: (Double) -> Double, noiseCurvature: (Double) -> Double,
                                                    minimum a: Double, saddle b: Double, lossBarrier deltaL: Double,
                                                    curvatureAtMinimum hA: Double, curvatureAtSaddle hB: Double,
                                                    breakpoint: Double? = nil) throws(TheoryError) -> Double {
        try positive("loss barrier", deltaL)
        try positive("curvature at the minimum", hA)
        try TheoryNumerics.require(hB < 0, "curvature at the saddle must be < 0, got \(hB)")
        let denominator = 1 / hA - 1 / abs(hB)
        try TheoryNumerics.require(abs(denominator) > 1e-12 * (1 / hA + 1 / abs(hB)),
                                   "H_a = |H_b|: every s solves the defining equation")
        let f: (Double) -> Double = { derivative($0) / noiseCurvature($0) }
        var integral: Double
        if let c = breakpoint, (min(a, b)...max(a, b)).contains(c) {
            integral = try TheoryNumerics.integrate(f, from: a, to: c, context: "Xie path integral")
            integral += try TheoryNumerics.integrate(f, from: c, to: b, context: "Xie path integral")
        } else {
            integral = try TheoryNumerics.integrate(f, from: a, to: b, context: "Xie path integral")
        }
        let s = (integral / deltaL - 1 / abs(hB)) / denominator
        try TheoryNumerics.require(s >= -1e-9 && s <= 1 + 1e-9, "path parameter s = \(s) outside [0, 1]")
        return min(max(s, 0), 1)
    }

    /// `s` along a 1-D landscape from minimum `a` to barrier top `b` with the toolkit's noise
    /// profile: `h = H_a` from `a` to the inflection point `c` (`L''(c) = 0`, GSL Brent), `h = |H_b|`
    /// from `c` to `b` — each critical point's Hessian governs the noise in its own half
    /// (Xie et al.'s near-critical approximation `Σ ≈ H/B`). The defining integral then
    /// evaluates to `(L(c)−L(a))/H_a + (L(b)−L(c))/|H_b|`, so `s = (L(c) − L(a))/ΔL ∈ [0, 1]`,
    /// also when `H_a = |H_b|` (the limit). *(reconstructed profile)* `theory = "xie"` no longer
    /// uses it: it takes s from the experiment's own noise profile (`TheoryReference.xie`).
    public static func xieSatoSugiyamaPathParameter(on landscape: Landscape, minimum a: Double,
                                                    saddle b: Double) throws(TheoryError) -> Double {
        try TheoryNumerics.require(landscape.dimension == 1, "the 1-D path parameter needs a 1-D landscape")
        let curvature: (Double) -> Double = { landscape.hessian(at: [$0])[0] }
        try TheoryNumerics.require(curvature(a) > 0 && curvature(b) < 0,
                                   "need L''(a) > 0 at the minimum and L''(b) < 0 at the barrier")
        let c = try TheoryNumerics.brentRoot(curvature, lo: min(a, b), hi: max(a, b), context: "inflection point")
        let la = landscape.value(at: [a])
        let deltaL = landscape.value(at: [b]) - la
        try positive("loss barrier", deltaL)
        let s = (landscape.value(at: [c]) - la) / deltaL
        try TheoryNumerics.require(s >= 0 && s <= 1, "path parameter s = \(s) outside [0, 1]: L is not monotone on the path")
        return s
    }

    /// Xie–Sato–Sugiyama escape time with Hessian-shaped noise `D = ηH/(2B)`:
    /// `τ = (2π/|H_b|) · exp[(2BΔL/η)(s/H_a + (1−s)/|H_b|)]` (ICLR 2021, in the
    /// `∇·(D∇P)` Fokker–Planck form). Sharp minima (large `H_a`) escape exponentially faster.
    /// Unit: continuous time. *(recalled; exponent re-derived — docs/THEORY.md §2)*
    public static func xieSatoSugiyamaEscapeTime(lossBarrier deltaL: Double, curvatureAtMinimum hA: Double,
                                                 curvatureAtSaddle hB: Double, pathParameter s: Double,
                                                 learningRate eta: Double, batchSize b: Int) throws(TheoryError) -> TheoryPrediction {
        try positive("loss barrier", deltaL)
        try positive("curvature at the minimum", hA)
        try TheoryNumerics.require(hB < 0, "curvature at the saddle must be < 0, got \(hB)")
        try TheoryNumerics.require((0...1).contains(s), "path parameter must be in [0, 1], got \(s)")
        try positive("learning rate", eta)
        try TheoryNumerics.require(b >= 1, "batch size must be ≥ 1, got \(b)")
        let exponent = 2 * Double(b) * deltaL / eta * (s / hA + (1 - s) / abs(hB))
        return TheoryPrediction(value: 2 * Double.pi / abs(hB) * exp(exponent),
                                formula: "(2π/|H_b|)·exp[(2BΔL/η)(s/H_a + (1−s)/|H_b|)]",
                                reference: "Xie, Sato & Sugiyama, ICLR 2021 (recalled; exponent re-derived)",
                                timeUnit: continuousTime,
                                assumptions: "Σ ≈ H/B near critical points, D = ηH/(2B), ∇·(D∇P) Fokker–Planck form, ΔL·B/η ≫ 1")
    }

    // MARK: - State-dependent diffusion in 1-D

    /// Laplace asymptotics of the 1-D mean transition time over a barrier for
    /// `dX = −V'dt + √(2D(X))dW` with D > 0 (docs/THEORY.md §2): from the MFPT quadrature
    /// `T = ∫ s'(y) ∫ m(z) dz dy` (Gardiner §5.2.7) with `Φ = ∫V'/D`, the inner integral
    /// peaked at the minimum a (`Φ'' = H_a/D_a`) and the outer at the barrier b
    /// (`Φ'' = H_b/D_b`):
    ///   Itô (s' = e^Φ, m = e^{−Φ}/D):        τ = 2π·√(D_b/(D_a·H_a·|H_b|))·e^{ΔΦ},
    ///   divergence (s' = e^Φ/D, m = e^{−Φ}):  τ = 2π·√(D_a/(D_b·H_a·|H_b|))·e^{ΔΦ},
    /// `ΔΦ = Φ(b) − Φ(a)`; both give Kramers' `2π/√(H_a|H_b|)·e^{ΔV/ε}` for D ≡ ε. Relative
    /// error O(1/ΔΦ). Mean time to cross into the next basin. Unit: continuous time.
    public static func stateDependentTransitionTime(exponent deltaPhi: Double, curvatureAtMinimum hA: Double,
                                                    curvatureAtSaddle hB: Double, diffusionAtMinimum dA: Double,
                                                    diffusionAtSaddle dB: Double,
                                                    form: FokkerPlanckForm) throws(TheoryError) -> TheoryPrediction {
        try positive("curvature at the minimum", hA)
        try TheoryNumerics.require(hB < 0 && hB.isFinite, "curvature at the barrier must be < 0, got \(hB)")
        try positive("D at the minimum", dA)
        try positive("D at the barrier", dB)
        try positive("exponent ΔΦ", deltaPhi)
        let ratio = form == .ito ? dB / dA : dA / dB
        let value = 2 * Double.pi * (ratio / (hA * abs(hB))).squareRoot() * exp(deltaPhi)
        return TheoryPrediction(value: value,
                                formula: form == .ito ? "2π·√(D_b/(D_a·H_a·|H_b|))·exp(ΔΦ)" : "2π·√(D_a/(D_b·H_a·|H_b|))·exp(ΔΦ)",
                                reference: "Laplace's method on Gardiner §5.2.7 (docs/THEORY.md §2)",
                                timeUnit: continuousTime,
                                assumptions: "1-D, \(form.rawValue) form, D > 0 on the path, ΔΦ = ∫V'/D ≫ 1 (relative error O(1/ΔΦ))")
    }

    // MARK: - Mori et al. (multiplicative noise)

    /// Power-law escape rate for square loss with `Σ_B ≈ 2L(θ)H(θ)/B` (Mori, Liu, Ueda &
    /// Ziyin, ICML 2022): `κ ∝ (L(θ*)/L(θ_s))^{p}`, `p = B/(η h*) + 1 − n/2`, `h*` the
    /// curvature at the minimum, `n` the dimension. Returns the exponent `p`.
    /// *(reconstructed exponent, docs/THEORY.md §2)*
    public static func moriRateExponent(batchSize b: Int, learningRate eta: Double, curvatureAtMinimum hStar: Double,
                                        dimension n: Int) throws(TheoryError) -> TheoryPrediction {
        try TheoryNumerics.require(b >= 1 && n >= 1, "batch size and dimension must be ≥ 1")
        try positive("learning rate", eta)
        try positive("curvature at the minimum", hStar)
        return TheoryPrediction(value: Double(b) / (eta * hStar) + 1 - Double(n) / 2,
                                formula: "p = B/(η h*) + 1 − n/2 in κ ∝ (L(θ*)/L(θ_s))^p",
                                reference: "Mori et al., ICML 2022 (exponent reconstructed)",
                                timeUnit: "dimensionless exponent",
                                assumptions: "reconstructed; square loss, Σ_B ≈ 2LH/B, escape rate up to a constant")
    }

    /// The Mori et al. escape rate up to its unknown constant: `(L(θ*)/L(θ_s))^p`.
    /// Unit: 1/continuous time, relative (multiply by an unknown constant).
    public static func moriRelativeRate(lossAtMinimum lStar: Double, lossAtSaddle lS: Double, batchSize b: Int,
                                        learningRate eta: Double, curvatureAtMinimum hStar: Double,
                                        dimension n: Int) throws(TheoryError) -> TheoryPrediction {
        try positive("loss at the minimum", lStar)
        try TheoryNumerics.require(lS > lStar, "loss at the saddle must exceed the loss at the minimum")
        let p = try moriRateExponent(batchSize: b, learningRate: eta, curvatureAtMinimum: hStar, dimension: n)
        return TheoryPrediction(value: pow(lStar / lS, p.value), formula: "κ/C = (L(θ*)/L(θ_s))^p, " + p.formula,
                                reference: p.reference, timeUnit: "1/continuous time, up to a constant factor",
                                assumptions: p.assumptions)
    }

    // MARK: - Heavy tails (α-stable)

    /// `c_α = Γ(1+α) sin(πα/2)/π`, the Lévy-measure density constant of standard SαS
    /// (`E e^{iuL₁} = e^{−|u|^α}`, GSL `gsl_ran_levy` with c = 1): `ν(dy) = c_α |y|^{−1−α} dy`.
    public static func stableJumpConstant(alpha: Double) -> Double {
        GSL.prepare()
        return gsl_sf_gamma(1 + alpha) * sin(Double.pi * alpha / 2) / Double.pi
    }

    /// Imkeller–Pavlyukevich mean exit time for `dX = −U'(X)dt + ε dL^α` from a single well
    /// at `minimum` inside `(lower, upper)`:
    /// `E τ ≈ α ε^{−α} / (c₊ b₊^{−α} + c₋ |b₋|^{−α})`, `b± = boundary − minimum`,
    /// `c± = Γ(1+α) sin(πα/2)/π` (Imkeller & Pavlyukevich, Stoch. Proc. Appl. 116 (2006)):
    /// one big jump, polynomial in the basin width, independent of its depth. Unit: continuous time.
    public static func imkellerPavlyukevichMeanExitTime(alpha: Double, epsilon: Double, minimum m: Double = 0,
                                                        lower: Double, upper: Double) throws(TheoryError) -> TheoryPrediction {
        try TheoryNumerics.require(alpha > 0 && alpha < 2, "alpha must be in (0, 2), got \(alpha)")
        try positive("epsilon", epsilon)
        try TheoryNumerics.require(lower < m && m < upper, "need lower < minimum < upper")
        let c = stableJumpConstant(alpha: alpha)
        let bPlus = upper - m, bMinus = m - lower
        let value = alpha * pow(epsilon, -alpha) / (c * pow(bPlus, -alpha) + c * pow(bMinus, -alpha))
        return TheoryPrediction(value: value, formula: "α ε^{−α}/(c₊ b₊^{−α} + c₋|b₋|^{−α}), c± = Γ(1+α) sin(πα/2)/π",
                                reference: "Imkeller & Pavlyukevich (2006)",
                                timeUnit: continuousTime,
                                assumptions: "symmetric standard α-stable noise (e^{−|u|^α}), one stable well, ε → 0")
    }

    /// Getoor's exact mean exit time of `x + ε L^α_t` (no drift) from `(−r, r)`:
    /// `E_x τ = (r² − x²)^{α/2} / (ε^α Γ(1+α))` (Getoor, Trans. AMS 101 (1961), d = 1; the
    /// `ε^{−α}` from self-similarity). At α = 2 it is Brownian motion with D = ε²:
    /// `(r² − x²)/(2ε²)`. Unit: continuous time.
    public static func getoorMeanExitTime(alpha: Double, halfWidth r: Double, start x: Double,
                                          scale epsilon: Double = 1) throws(TheoryError) -> TheoryPrediction {
        try TheoryNumerics.require(alpha > 0 && alpha <= 2, "alpha must be in (0, 2], got \(alpha)")
        try positive("half-width r", r)
        try positive("scale ε", epsilon)
        try TheoryNumerics.require(abs(x) < r, "start must lie in (−r, r)")
        GSL.prepare()
        let value = pow(r * r - x * x, alpha / 2) / (pow(epsilon, alpha) * gsl_sf_gamma(1 + alpha))
        return TheoryPrediction(value: value, formula: "(r² − x²)^{α/2}/(ε^α Γ(1+α))",
                                reference: "Getoor (1961)", timeUnit: continuousTime,
                                assumptions: "exact; symmetric standard α-stable motion scaled by ε, no drift")
    }
}
