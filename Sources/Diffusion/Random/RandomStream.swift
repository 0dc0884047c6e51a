internal import CGSL

/// A random stream over GSL's `taus2` generator, owning its `gsl_rng`.
///
/// Why taus2 (L'Ecuyer 1996, "Maximally equidistributed combined Tausworthe generators",
/// Math. Comp. 65, with GSL's improved seeding): period ≈ 2⁸⁸, maximally
/// equidistributed, and the fastest GSL generator measured on this machine (≈ 415 M
/// uniforms/s; mt19937 ≈ half as fast in the ziggurat normal, ranlxd1 ≈ 30× slower).
/// Like every F₂-linear generator it fails only TestU01's linear-complexity and
/// matrix-rank tests, which no Monte Carlo here is sensitive to.
///
/// GSL seeds taus2 from a 32-bit value, so thousands of streams seeded that way would
/// collide by the birthday bound. Instead the state (three 32-bit words with 31, 29 and
/// 28 significant bits) is set directly from the 128-bit digest of a `StreamKey`, 85 of
/// its bits free (the top bit of each word is forced to 1 to keep the state valid), then
/// warmed up as GSL's own `taus_set` does. Two of N streams coincide with probability
/// about N²/2⁸⁶.
///
/// Not `Sendable`: a stream belongs to one task at a time.
public final class RandomStream {
    let rng: OpaquePointer

    public init(key: StreamKey) {
        GSL.prepare()
        guard let r = gsl_rng_alloc(sgd_gsl_rng_taus2()) else {
            preconditionFailure("gsl_rng_alloc failed (out of memory)")
        }
        rng = OpaquePointer(r)
        let s = Taus2State(key: key)
        sgd_taus2_set_state(r, UInt(s.s1), UInt(s.s2), UInt(s.s3))
    }

    deinit { gsl_rng_free(UnsafeMutablePointer(rng)) }

    @inline(__always) var pointer: UnsafeMutablePointer<gsl_rng> { UnsafeMutablePointer(rng) }

    /// Uniform on [0, 1) with 32-bit resolution (`gsl_rng_uniform`).
    @inline(__always) public func uniform() -> Double { gsl_rng_uniform(pointer) }

    /// Uniform on (0, 1): never 0, so `u < p` is impossible for p < 2⁻³² (`gsl_rng_uniform_pos`).
    @inline(__always) public func uniformPositive() -> Double { gsl_rng_uniform_pos(pointer) }

    /// Uniform integer in 0..<n, unbiased (`gsl_rng_uniform_int`, rejection). n ≤ 2³².
    @inline(__always) public func index(below n: Int) -> Int {
        Int(gsl_rng_uniform_int(pointer, UInt(n)))
    }

    /// Standard normal by the Marsaglia–Tsang ziggurat (`gsl_ran_gaussian_ziggurat`).
    @inline(__always) public func normal() -> Double { gsl_ran_gaussian_ziggurat(pointer, 1.0) }

    /// Fills `buffer[0..<count]` with standard normals (ziggurat).
    @inline(__always)
    public func fillNormals(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        let r = pointer
        for i in 0..<count { buffer[i] = gsl_ran_gaussian_ziggurat(r, 1.0) }
    }

    /// Student-t with ν degrees of freedom (`gsl_ran_tdist`); variance ν/(ν−2) for ν > 2.
    @inline(__always) public func studentT(degreesOfFreedom nu: Double) -> Double {
        gsl_ran_tdist(pointer, nu)
    }

    /// Symmetric α-stable with scale c: E e^{itX} = exp(−|ct|^α), 0 < α ≤ 2
    /// (`gsl_ran_levy`, Chambers–Mallows–Stuck). α = 2 is Gaussian with variance 2c².
    @inline(__always) public func symmetricStable(alpha: Double, scale: Double = 1) -> Double {
        gsl_ran_levy(pointer, scale, alpha)
    }

    /// Skewed α-stable (`gsl_ran_levy_skew`): E e^{itX} = exp(−|ct|^α (1 − iβ sign(t) tan(πα/2)))
    /// for α ≠ 1, skewness β ∈ [−1, 1].
    @inline(__always) public func skewedStable(alpha: Double, beta: Double, scale: Double = 1) -> Double {
        gsl_ran_levy_skew(pointer, scale, alpha, beta)
    }
}
