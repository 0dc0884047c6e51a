import Foundation

/// Invalid input to the minimum-action solver, e.g. "from has 3 coordinates, the landscape 2".
public struct MinimumActionError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A minimum-action path and its Freidlin–Wentzell action (the quasi-potential between
/// its end points).
public struct MinimumActionPath: Sendable {
    /// The path, start to end, at equal Euclidean arc length.
    public let points: [[Double]]
    /// The quasi-potential barrier: the action of the cubic-spline curve through `points`.
    public let action: Double
    /// Quasi-Newton (BFGS) iterations spent, over all reparametrisation rounds.
    public let iterations: Int
    /// Whether the convergence test (see `MinimumAction`) was met within `maxIterations`.
    public let converged: Bool
    /// The node where L is largest along the path (≈ the saddle for a basin exit).
    public let maxPoint: [Double]
}

/// Geometric minimum action method (gMAM; Heymann & Vanden-Eijnden, "The geometric
/// minimum action method: a least action principle on the space of curves", CPAM 61,
/// 2008) for `dX = b(X) dt + √(ε Σ(X)) dW` with `b = −∇L`.
///
/// The quasi-potential `V(x, y) = inf_{T, φ(0)=x, φ(T)=y} ½∫₀ᵀ (φ̇ − b)ᵀ Σ⁻¹ (φ̇ − b) dt`
/// equals the minimum over curves of the time-free geometric action
/// `S[φ] = ∫₀¹ (|φ'|_A |b|_A − ⟨φ', b⟩_A) ds`, `A = Σ(φ)⁻¹`, `|v|_A² = vᵀAv` (the
/// optimal time parametrisation has been eliminated; curves starting at a fixed point
/// need no infinite time). docs/THEORY.md §2: `lim ε log E τ = V̄`.
///
/// **Scheme.** The curve is `nodes` points with fixed ends, started as the straight line.
/// The discrete action is the midpoint rule on each chord,
/// `S_h = Σₖ |Δₖ|_A |b|_A − ⟨Δₖ, b⟩_A` with `b`, `A` at the chord midpoint, which is
/// second order in the spacing h = ℓ/(nodes − 1). Each round (i) reparametrises the nodes
/// to equal Euclidean arc length by a natural cubic spline in the normalised chord length
/// (GSL `cspline`), (ii) freezes at each interior node an orthonormal basis of the plane
/// normal to the central-difference tangent (a Householder reflection), and (iii)
/// minimises `S_h` over the normal displacements with GSL's BFGS (`vector_bfgs2`), using
/// the exact gradient of `S_h` (∇b = −∇²L from the landscape; ∂Σ by central differences
/// when Σ is a closure). Removing the tangential freedom in (ii) plays the role of the
/// projection in the gMAM flow; the reparametrisation of (i) keeps the nodes spread.
///
/// **Convergence test.** A round ends when the gradient (Euclidean norm, over the normal
/// displacements) falls below `tolerance · S₊ / ℓ` (`S₊ = Σ|Δₖ|_A|b|_A`, the action's scale, still positive for a
/// downhill path where S → 0), when BFGS makes no progress (machine precision), or
/// after a per-round iteration cap; the solve has `converged` when a round that ended by
/// one of the first two leaves `|S_h − S_h(previous round)| ≤ tolerance · S₊`.
///
/// **Reported action.** The action of the cubic-spline curve through the converged nodes,
/// by 5-point Gauss–Legendre on every spline interval: the spline is within O(h²) of the
/// minimiser and S is stationary there, so the reported action is an upper bound on
/// `V` with error O(h⁴) (the raw `S_h` is O(h²)). In 1-D the path is the segment and
/// the action is `2∫ L'/σ²` over its uphill part, to quadrature accuracy.
public enum MinimumAction {
    /// Σ(x) as a row-major d×d matrix.
    public typealias Covariance = @Sendable ([Double]) -> [Double]

    /// Minimum-action path between two points (e.g. minimum → saddle), `nodes` points
    /// (≥ 3); Σ given as row-major d×d at a point (nil = identity).
    public static func path(on landscape: Landscape, from: [Double], to: [Double],
                            covariance: Covariance? = nil, nodes: Int = 100,
                            tolerance: Double = 1e-10, maxIterations: Int = 100_000) throws -> MinimumActionPath {
        let d = landscape.dimension
        try require(from.count == d, "from has \(from.count) coordinates, the landscape \(d)")
        try require(to.count == d, "to has \(to.count) coordinates, the landscape \(d)")
        try require(from.allSatisfy(\.isFinite) && to.allSatisfy(\.isFinite), "end points must be finite")
        try require(from != to, "from and to must differ")
        try require(nodes >= 3, "nodes must be >= 3, got \(nodes)")
        try require(tolerance > 0 && tolerance.isFinite, "tolerance must be > 0, got \(tolerance)")
        try require(maxIterations >= 0, "maxIterations must be >= 0, got \(maxIterations)")
        let solver = try MinimumActionSolver(landscape: landscape, covariance: covariance,
                                             from: from, to: to, nodes: nodes)
        return try solver.solve(tolerance: tolerance, maxIterations: maxIterations)
    }

    /// Barrier to leave the basin of `minimum`: the least-action path among those from
    /// `minimum` to each of `saddles` (index-1 saddles on the basin boundary, or any
    /// sample of boundary points of a region, whose minimum then bounds V̄ from above).
    public static func basinBarrier(on landscape: Landscape, minimum: [Double], saddles: [[Double]],
                                    covariance: Covariance? = nil, nodes: Int = 100,
                                    tolerance: Double = 1e-10, maxIterations: Int = 100_000) throws -> MinimumActionPath {
        try require(!saddles.isEmpty, "saddles must not be empty")
        var best: MinimumActionPath?
        for saddle in saddles {
            let p = try path(on: landscape, from: minimum, to: saddle, covariance: covariance, nodes: nodes,
                             tolerance: tolerance, maxIterations: maxIterations)
            if best == nil || p.action < best!.action { best = p }
        }
        return best!
    }

    /// Steepness in the SGD scaling (docs/THEORY.md §2, reconstructed definition): the basin
    /// barrier under the per-sample covariance Σ₁, so that for `dΘ = −∇L dt + √(ηΣ₁/B) dW`
    /// (ε = η/B) `log E[iterations] ≈ (B/η)·s` (with replacement; without, Σ_B carries the
    /// extra factor (n−B)/(n−1)). Σ₁ is `covariance` when given, else the law `noise`
    /// (`covariance(for:on:)`), else the finite sum's own gradient covariance.
    public static func steepness(on landscape: Landscape, minimum: [Double], saddles: [[Double]],
                                 noise: NoiseLaw? = nil, covariance: Covariance? = nil, nodes: Int = 100,
                                 tolerance: Double = 1e-10, maxIterations: Int = 100_000) throws -> Double {
        let sigma: Covariance
        if let covariance {
            sigma = covariance
        } else {
            sigma = try self.covariance(for: noise ?? .finiteSum, on: landscape)
        }
        return try basinBarrier(on: landscape, minimum: minimum, saddles: saddles, covariance: sigma,
                                nodes: nodes, tolerance: tolerance, maxIterations: maxIterations).action
    }

    /// The per-sample covariance Σ₁(θ) of a noise law (`NoiseLaw`), as `NoiseModel` derives
    /// it: σ²I (Gaussian), σ²ν/(ν−2)·I (Student t, ν > 2), c·H⁺ (Hessian), 2c·L⁺·H⁺
    /// (loss-proportional), or the finite sum's `gradientCovariance`. α-stable noise has no
    /// Gaussian quasi-potential. The Hessian laws are singular where H has a non-positive
    /// eigenvalue (e.g. at a saddle), so a path there throws "not positive definite".
    public static func covariance(for noise: NoiseLaw, on landscape: Landscape) throws -> Covariance {
        try NoiseModel.requireFiniteCovariance(noise, on: landscape)
        return { x in NoiseModel.scaledCovariance(noise, on: landscape, prefactor: 1, at: x) }
    }

    static func require(_ ok: Bool, _ message: @autoclosure () -> String) throws(MinimumActionError) {
        if !ok { throw MinimumActionError(message()) }
    }
}
