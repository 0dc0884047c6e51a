internal import CGSL

/// taus2's state held in registers: L'Ecuyer's three-component Tausworthe recurrence
/// exactly as GSL's `taus_get` (gsl/rng/taus.c; L'Ecuyer 1996, Math. Comp. 65, 203–213).
struct Taus2State {
    var s1: UInt32, s2: UInt32, s3: UInt32

    @inline(__always) mutating func next() -> UInt32 {
        s1 = ((s1 & 0xFFFF_FFFE) << 12) ^ (((s1 << 13) ^ s1) >> 19)
        s2 = ((s2 & 0xFFFF_FFF8) << 4) ^ (((s2 << 2) ^ s2) >> 25)
        s3 = ((s3 & 0xFFFF_FFF0) << 17) ^ (((s3 << 3) ^ s3) >> 11)
        return s1 ^ s2 ^ s3
    }

    /// The state of `key`'s stream (see `RandomStream`): three words from the key's digest,
    /// bit 31 forced (taus2 requires s1 > 1, s2 > 7, s3 > 15, its low bits being discarded;
    /// forcing the top bit keeps every word valid without biasing the others), then six
    /// draws of warm-up as GSL's `taus_set` does.
    init(key: StreamKey) {
        let (a, b) = key.digest
        self.init(s1: UInt32(truncatingIfNeeded: a) | 0x8000_0000,
                  s2: UInt32(truncatingIfNeeded: a >> 32) | 0x8000_0000,
                  s3: UInt32(truncatingIfNeeded: b) | 0x8000_0000)
        for _ in 0..<6 { _ = next() }
    }

    init(s1: UInt32, s2: UInt32, s3: UInt32) { self.s1 = s1; self.s2 = s2; self.s3 = s3 }

    /// `gsl_rng_uniform_int(r, n)` for taus2 (gsl_rng.h): with scale = ⌊(2³² − 1)/n⌋, draw
    /// k = ⌊word/scale⌋ until k < n. The same words and the same results as GSL; 1 ≤ n < 2³².
    @inline(__always) mutating func uniformInt(below n: UInt32) -> Int {
        let scale = 0xFFFF_FFFF / n
        while true {
            let k = next() / scale
            if k < n { return Int(k) }
        }
    }

    /// `gsl_rng_uniform_pos` for taus2: k/2³² redrawn while 0.
    @inline(__always) mutating func uniformPositive() -> Double {
        while true {
            let k = next()
            if k != 0 { return Double(k) * (1.0 / 4_294_967_296.0) }
        }
    }
}

/// GSL's ziggurat normal (`gsl_ran_gaussian_ziggurat`, Marsaglia & Tsang 2000, J. Stat.
/// Softw. 5(8), 128 steps), with its fast path inlined on a register-held taus2.
///
/// Why: through libgsl each normal costs a call plus an indirect call to the generator;
/// inlined, the fast path (j < k[i]: one 32-bit draw, a multiply, a compare) taken by
/// ≈ 99 % of draws runs several times faster. The result is the same bits as GSL: the
/// step tables k[i] and w[i] are read out of GSL itself at start-up by probing
/// `gsl_ran_gaussian_ziggurat` with a generator that returns chosen words (w[i] = the
/// value returned for j = 1; k[i] = the least j that leaves the fast path, by bisection);
/// every draw that leaves the fast path is handed to GSL from the state before that draw,
/// so GSL redoes it and runs its own tail and wedge code. A self-check against GSL on
/// 10⁵ draws runs once; if it ever failed (a GSL whose ziggurat differs), `tables` is
/// nil and callers use GSL's function for every draw.
enum InlineZiggurat {
    struct Tables: @unchecked Sendable {
        let k: UnsafeMutablePointer<UInt32>
        let w: UnsafeMutablePointer<Double>
    }

    static let tables: Tables? = build()

    private static func build() -> Tables? {
        GSL.prepare()
        guard let probe = gsl_rng_alloc(sgd_gsl_rng_probe()) else { return nil }
        defer { gsl_rng_free(probe) }
        let k = UnsafeMutablePointer<UInt32>.allocate(capacity: 128)
        let w = UnsafeMutablePointer<Double>.allocate(capacity: 128)
        func fast(_ step: UInt32, _ j: UInt32) -> (Bool, Double) {
            sgd_probe_arm(probe, UInt((j << 8) | 0x80 | step))
            let x = gsl_ran_gaussian_ziggurat(probe, 1.0)
            return (sgd_probe_calls(probe) == 1, x)
        }
        for i in 0..<UInt32(128) {
            var lo: UInt32 = 0, hi: UInt32 = 1 << 24  // fast(lo) holds, fast(hi) would not
            guard fast(i, 0).0 else { k[Int(i)] = 0; w[Int(i)] = 0; continue }
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if fast(i, mid).0 { lo = mid } else { hi = mid }
            }
            k[Int(i)] = hi
            let (accepted, value) = fast(i, 1)
            w[Int(i)] = accepted ? value : 0
            if !accepted { k[Int(i)] = 0 }  // never take the inline path for this step
        }
        let tables = Tables(k: k, w: w)
        return selfCheck(tables) ? tables : nil
    }

    private static func selfCheck(_ tables: Tables) -> Bool {
        let a = RandomStream(key: StreamKey(seed: 0x5E1F_C4EC))
        let b = RandomStream(key: StreamKey(seed: 0x5E1F_C4EC))
        var state = a.taus2State
        for _ in 0..<100_000 {
            let x = normal(&state, tables: tables, fallback: a.pointer)
            if x.bitPattern != b.normal().bitPattern { return false }
        }
        return true
    }

    /// One standard normal; `fallback` is the stream's gsl_rng, used (and resynchronised)
    /// when the draw leaves the fast path.
    @inline(__always)
    static func normal(_ state: inout Taus2State, tables: Tables, fallback rng: UnsafeMutablePointer<gsl_rng>) -> Double {
        let before = state
        let word = state.next()
        let i = Int(word & 0x7F)
        let j = (word >> 8) & 0xFF_FFFF
        if j < tables.k[i] {
            let x = Double(j) * tables.w[i]
            // GSL returns sign·x with sign = +1 when bit 7 is set: flip the sign bit
            // branch-free (a 50 % branch would mispredict on every other draw)
            return Double(bitPattern: x.bitPattern ^ (UInt64(~word & 0x80) << 56))
        }
        sgd_taus2_set_state(rng, UInt(before.s1), UInt(before.s2), UInt(before.s3))
        let x = gsl_ran_gaussian_ziggurat(rng, 1.0)
        state = RandomStream.taus2State(of: rng)
        return x
    }
}

extension RandomStream {
    /// The generator's current state, for register-held inline draws.
    var taus2State: Taus2State { RandomStream.taus2State(of: pointer) }

    static func taus2State(of rng: UnsafeMutablePointer<gsl_rng>) -> Taus2State {
        var s1: UInt = 0, s2: UInt = 0, s3: UInt = 0
        sgd_taus2_get_state(rng, &s1, &s2, &s3)
        return Taus2State(s1: UInt32(truncatingIfNeeded: s1), s2: UInt32(truncatingIfNeeded: s2),
                          s3: UInt32(truncatingIfNeeded: s3))
    }

    /// Writes an inline state back so GSL draws continue the same sequence.
    func store(_ state: Taus2State) {
        sgd_taus2_set_state(pointer, UInt(state.s1), UInt(state.s2), UInt(state.s3))
    }

    /// Fills `buffer` with standard normals, the same bits as `fillNormals` (GSL's
    /// ziggurat), through the inlined fast path.
    public func fillNormalsInline(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        guard let tables = InlineZiggurat.tables else { fillNormals(buffer, count: count); return }
        var state = taus2State
        let r = pointer
        for i in 0..<count { buffer[i] = InlineZiggurat.normal(&state, tables: tables, fallback: r) }
        store(state)
    }

    /// True when the inline ziggurat passed its self-check against GSL.
    public static var inlineNormalsAvailable: Bool { InlineZiggurat.tables != nil }
}
