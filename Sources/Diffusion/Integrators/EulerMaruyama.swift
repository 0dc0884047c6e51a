/// How a path's exit is detected inside a step.
public enum ExitTestKind: String, Sendable, CaseIterable, Codable {
    /// Checked at step ends only: what a discrete chain does. For Euler–Maruyama this
    /// makes the mean exit time late by O(√dt) (docs/THEORY.md §1).
    case step
    /// Also tests, inside each step, whether the Brownian bridge between the two step
    /// ends crossed the boundary: probability `exp(−2 d₀ d₁ / (nᵀCn))` for a half-space
    /// at distances d₀, d₁ with unit normal n and step covariance C (exact for a
    /// half-space and frozen coefficients; curved boundaries use the tangent plane of
    /// the level function). Removes the O(√dt) bias, leaving the scheme's O(dt) weak
    /// error (Gobet 2000, "Weak approximation of killed diffusion using Euler schemes",
    /// Stoch. Proc. Appl. 87).
    case bridge
}

/// Euler–Maruyama: `X_{k+1} = X_k + b(X_k) h + σ(X_k) ΔW_k` (Kloeden & Platen 1992,
/// §10.2); for α-stable noise the increment is `ε h^{1/α} ζ_k` (Euler scheme for Lévy
/// SDEs, Protter & Talay 1997). Strong order 1/2 (1 for additive noise), weak order 1.
/// Discrete `sgd` is this map with h = η by definition, not an approximation.
/// `EulerMaruyamaStepper` takes the steps (a block of paths at a time).
public enum EulerMaruyama {
    public static let strongOrder = 0.5
    public static let strongOrderAdditiveNoise = 1.0
    public static let weakOrder = 1.0
}
