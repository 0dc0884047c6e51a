import Foundation

/// Which Fokker–Planck equation a state-dependent diffusion coefficient enters
/// (docs/THEORY.md §0). The two share the exponent of escape times and differ in the prefactor.
public enum FokkerPlanckForm: String, Sendable, CaseIterable {
    /// Itô: `∂P/∂t = (V'P)' + (D P)''`, backward generator `𝓛f = D f'' − V' f'`: the law of
    /// `dX = −V'(X) dt + √(2D(X)) dW` read in the Itô sense.
    case ito
    /// Divergence (Xie et al.): `∂P/∂t = (V'P)' + (D P')'`, generator
    /// `𝓛f = D f'' + (D' − V') f'`: the Itô SDE with the extra drift `D'(X)`.
    case divergence
}

/// Boundary condition at one end of an interval.
public enum Boundary: Sendable {
    /// The process is killed on reaching the end (`f = 0` for the MFPT, `P = 0`).
    case absorbing
    /// The process is reflected (zero flux; `f' = 0` for the backward equation).
    case reflecting
}

/// A one-dimensional diffusion `dX = −V'(X) dt + √(2D(X)) dW` with an explicit
/// Fokker–Planck convention (`FokkerPlanckForm`), the problem `Grid1D` solves.
///
/// Generator `𝓛f = D f'' + b f'` with drift `b = −V'` (Itô) or `b = D' − V'` (divergence);
/// scale density `s'(x) = exp(−∫ b/D)` and speed density `m = 1/(D s')`, so with
/// `Φ(x) = ∫^x V'/D`:
///   Itô:        s' = e^{Φ},     m = e^{−Φ}/D   (stationary density ∝ e^{−Φ}/D),
///   divergence: s' = e^{Φ}/D,   m = e^{−Φ}     (stationary density ∝ e^{−Φ}).
/// (Gardiner, *Handbook of Stochastic Methods*, §5.2; Karlin & Taylor, *A Second Course in
/// Stochastic Processes*, §15.3.)
public struct Diffusion1D: Sendable {
    /// `V'(x)`.
    public let slope: @Sendable (Double) -> Double
    /// `D(x)`, required > 0 wherever the solvers evaluate it (checked; a `GridError` otherwise).
    public let diffusion: @Sendable (Double) -> Double
    /// `D'(x)`: as given, or a central difference of `D` with step `ε_mach^{1/3}·max(1, |x|)`
    /// (error ≈ 1e-11·|D'''| relative) when none was given.
    public let diffusionSlope: @Sendable (Double) -> Double
    /// `V(x)` when known. Used by the quadrature and the stationary density only when the
    /// diffusion is known to be constant (`constant(landscape:epsilon:)`), where
    /// `Φ = V/ε` exactly; otherwise `Φ` is integrated from `V'/D`.
    public let potential: (@Sendable (Double) -> Double)?
    public let form: FokkerPlanckForm
    /// Set by `constant(landscape:epsilon:)`: D ≡ this value.
    let constantDiffusion: Double?
    /// Points where D jumps (sorted): the MFPT quadrature splits its integrals there, so each
    /// piece is smooth (`Grid1D.meanExitTimeQuadrature`). The grid solvers ignore them.
    public var breakpoints: [Double] = []

    public init(slope: @escaping @Sendable (Double) -> Double,
                diffusion: @escaping @Sendable (Double) -> Double,
                diffusionSlope: (@Sendable (Double) -> Double)? = nil,
                potential: (@Sendable (Double) -> Double)? = nil,
                form: FokkerPlanckForm) {
        self.slope = slope
        self.diffusion = diffusion
        self.diffusionSlope = diffusionSlope ?? { x in
            let step = 6.0554544523933395e-06 * max(1, abs(x))  // ε_mach^{1/3}
            return (diffusion(x + step) - diffusion(x - step)) / (2 * step)
        }
        self.potential = potential
        self.form = form
        self.constantDiffusion = nil
    }

    private init(slope: @escaping @Sendable (Double) -> Double, potential: @escaping @Sendable (Double) -> Double,
                 epsilon: Double) {
        self.slope = slope
        self.diffusion = { _ in epsilon }
        self.diffusionSlope = { _ in 0 }
        self.potential = potential
        self.form = .ito  // the two forms coincide for constant D
        self.constantDiffusion = epsilon
    }

    /// Langevin dynamics `dX = −V'(X) dt + √(2ε) dW` on a 1-D landscape: `D ≡ ε`, for which
    /// the Itô and divergence forms coincide. Throws unless the landscape is 1-D and ε > 0.
    public static func constant(landscape: Landscape, epsilon: Double) throws(GridError) -> Diffusion1D {
        guard landscape.dimension == 1 else {
            throw GridError("landscape must be 1-D for Diffusion1D, got dimension \(landscape.dimension)")
        }
        guard epsilon > 0, epsilon.isFinite else { throw GridError("epsilon must be finite and > 0, got \(epsilon)") }
        return Diffusion1D(slope: { landscape.gradient(at: [$0])[0] }, potential: { landscape.value(at: [$0]) },
                           epsilon: epsilon)
    }

    /// Drift `b(x)` of the generator `𝓛f = D f'' + b f'` in this form.
    func drift(_ x: Double) -> Double {
        switch form {
        case .ito: -slope(x)
        case .divergence: diffusionSlope(x) - slope(x)
        }
    }
}
