internal import CGSL

/// Eight taus2 generators advanced together, one per SIMD lane.
///
/// Each lane runs L'Ecuyer's three-component Tausworthe recurrence exactly as GSL's
/// `taus_get` does (gsl/rng/taus.c; L'Ecuyer 1996, "Maximally equidistributed combined
/// Tausworthe generators", Math. Comp. 65, 203–213):
///
///     s₁ ← ((s₁ ∧ 0xFFFFFFFE) ≪ 12) ⊕ (((s₁ ≪ 13) ⊕ s₁) ≫ 19)
///     s₂ ← ((s₂ ∧ 0xFFFFFFF8) ≪  4) ⊕ (((s₂ ≪  2) ⊕ s₂) ≫ 25)
///     s₃ ← ((s₃ ∧ 0xFFFFFFF0) ≪ 17) ⊕ (((s₃ ≪  3) ⊕ s₃) ≫ 11)
///     output s₁ ⊕ s₂ ⊕ s₃
///
/// The recurrence is shifts, masks and xors only, with no carries between words, so eight
/// independent states packed in `SIMD8<UInt32>` advance with the same instructions a single
/// one needs: lane l is bit for bit the sequence of a GSL taus2 generator holding lane l's
/// state. Why: one taus2 stream is a serial dependency chain (each word needs the previous
/// one), so a single stream leaves most of a core idle on latency; eight chains in lanes
/// fill it.
struct Taus2Lanes {
    static let count = 8
    var s1: SIMD8<UInt32>, s2: SIMD8<UInt32>, s3: SIMD8<UInt32>

    init(_ states: [Taus2State]) {
        precondition(states.count == Taus2Lanes.count)
        s1 = SIMD8(states.map(\.s1)); s2 = SIMD8(states.map(\.s2)); s3 = SIMD8(states.map(\.s3))
    }

    /// The next 32-bit word of every lane (`gsl_rng_get` on each lane's taus2).
    @inline(__always) mutating func next() -> SIMD8<UInt32> {
        self = advanced()
        return word
    }

    /// Every lane one step on (the state after its next word), leaving `self` as it is.
    @inline(__always) func advanced() -> Taus2Lanes {
        Taus2Lanes(s1: ((s1 & 0xFFFF_FFFE) &<< 12) ^ (((s1 &<< 13) ^ s1) &>> 19),
                   s2: ((s2 & 0xFFFF_FFF8) &<< 4) ^ (((s2 &<< 2) ^ s2) &>> 25),
                   s3: ((s3 & 0xFFFF_FFF0) &<< 17) ^ (((s3 &<< 3) ^ s3) &>> 11))
    }

    /// The output word of the current state (taus2 returns s₁ ⊕ s₂ ⊕ s₃ after advancing).
    @inline(__always) var word: SIMD8<UInt32> { s1 ^ s2 ^ s3 }

    init(s1: SIMD8<UInt32>, s2: SIMD8<UInt32>, s3: SIMD8<UInt32>) { self.s1 = s1; self.s2 = s2; self.s3 = s3 }

    /// Lane l's state as a scalar taus2 state.
    @inline(__always) subscript(lane l: Int) -> Taus2State {
        get { Taus2State(s1: s1[l], s2: s2[l], s3: s3[l]) }
        set { s1[l] = newValue.s1; s2[l] = newValue.s2; s3[l] = newValue.s3 }
    }
}

/// A chunk's eight lane streams of standard normals: lane l is the taus2 stream of the
/// `StreamKey` with `lane = l + 1` (seeded exactly as `RandomStream` seeds any key), and its
/// normals are GSL's ziggurat (`gsl_ran_gaussian_ziggurat`; Marsaglia & Tsang 2000, "The
/// ziggurat method for generating random variables", J. Stat. Softw. 5(8)) on that stream,
/// bit for bit.
///
/// The ziggurat's fast path runs lane-wise: one word per lane (`Taus2Lanes.next`), step
/// index i = word ∧ 0x7F, sign bit 0x80, j = (word ≫ 8) ∧ 0xFFFFFF; a lane whose j is below
/// GSL's k[i] returns ±j·w[i] (the tables of `InlineZiggurat`, read out of GSL itself). The
/// ≈ 1 % of lanes that leave the fast path (wedges and the tail) are handed to GSL one by one
/// from that lane's state before its word, so GSL redoes the draw with its own code and the
/// lane continues from GSL's state after it. Each lane therefore holds exactly GSL's own
/// sequence whatever the other lanes do.
///
/// Slot i of a block (a `width`-lane structure-of-arrays row) draws from lane i mod 8, and a
/// row of n slots consumes one word per lane per group of eight slots (⌈n/8⌉ groups, the
/// last group's unused draws discarded): a function of the block's state only, so a chunk's
/// draws are the same for any thread count or shard split.
///
/// Not `Sendable`: one per thread; `reset(key:)` reseeds it for the next chunk.
final class LaneStreams {
    var lanes: Taus2Lanes
    /// A taus2 `gsl_rng` that redoes the slow draws (its state is overwritten each time).
    private let fallback: RandomStream

    init(key: StreamKey) {
        fallback = RandomStream(key: key)
        lanes = LaneStreams.lanes(key: key)
    }

    /// The eight lane states of the chunk with key `key` (lane l from `key` with `lane = l + 1`).
    static func lanes(key: StreamKey) -> Taus2Lanes {
        Taus2Lanes((0..<Taus2Lanes.count).map { l in
            var k = key
            k.lane = UInt64(l + 1)
            return Taus2State(key: k)
        })
    }

    /// Reseeds every lane for the chunk with key `key`.
    func reset(key: StreamKey) { lanes = LaneStreams.lanes(key: key) }

    /// Writes ⌈count/8⌉·8 standard normals to `buffer` (slot i from lane i mod 8). The caller
    /// owns the rounding-up: `buffer` must hold that many doubles.
    @inline(__always)
    func fillNormals(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        if let tables = InlineZiggurat.tables {
            var state = lanes
            LaneStreams.fill(buffer, count: count, state: &state, tables: tables, fallback: fallback.pointer)
            lanes = state
        } else {
            // GSL's function for every draw, lane by lane (a GSL whose ziggurat differs)
            let rng = fallback.pointer
            var g = 0
            while g < count {
                for l in 0..<Taus2Lanes.count {
                    let s = lanes[lane: l]
                    sgd_taus2_set_state(rng, UInt(s.s1), UInt(s.s2), UInt(s.s3))
                    buffer[g + l] = gsl_ran_gaussian_ziggurat(rng, 1.0)
                    lanes[lane: l] = RandomStream.taus2State(of: rng)
                }
                g += Taus2Lanes.count
            }
        }
    }

    /// The fast path over groups of eight slots. The states stay in local values (the
    /// slow draws go through a function that takes them by value and returns the new ones),
    /// so the loop keeps them in registers.
    @inline(__always)
    static func fill(_ z: UnsafeMutablePointer<Double>, count n: Int, state: inout Taus2Lanes,
                     tables: InlineZiggurat.Tables, fallback rng: UnsafeMutablePointer<gsl_rng>) {
        let k = tables.k, w = tables.w
        var s = state
        var g = 0
        while g < n {
            let t = s.advanced()
            let word = t.word
            // the rest lane by lane in scalar registers: eight independent chains, no stack
            // round trips (building SIMD vectors lane by lane goes through memory)
            var slow: UInt32 = 0
            for l in 0..<8 {
                let u = word[l]
                let i = Int(u & 0x7F), j = (u >> 8) & 0xFF_FFFF
                slow |= j >= k[i] ? 1 << UInt32(l) : 0
                let x = Double(Int32(bitPattern: j)) * w[i]  // j < 2²⁴: exact
                // GSL returns sign·x with sign = +1 when bit 7 is set: flip the sign bit branch-free
                z[g + l] = Double(bitPattern: x.bitPattern ^ (UInt64(~u & 0x80) << 56))
            }
            s = slow != 0 ? slowDraws(before: s, after: t, slow: slow, into: z + g, fallback: rng) : t
            g += 8
        }
        state = s
    }

    /// The lanes that left the fast path (bit l of `slow`), redone by GSL from their states
    /// `before` the word (into `z[l]`); returns the lanes' states after the group: `after`
    /// with each redone lane's state replaced by GSL's. Lanes are addressed by constant
    /// indices and the new states blended in with lane masks, so nothing round-trips through
    /// memory lane by lane (which stalls store forwarding).
    @inline(never)
    static func slowDraws(before: Taus2Lanes, after: Taus2Lanes, slow: UInt32,
                          into z: UnsafeMutablePointer<Double>, fallback rng: UnsafeMutablePointer<gsl_rng>) -> Taus2Lanes {
        var result = after
        if slow & 0x01 != 0 { redo(lane: 0, before: before, into: &result, z, rng) }
        if slow & 0x02 != 0 { redo(lane: 1, before: before, into: &result, z, rng) }
        if slow & 0x04 != 0 { redo(lane: 2, before: before, into: &result, z, rng) }
        if slow & 0x08 != 0 { redo(lane: 3, before: before, into: &result, z, rng) }
        if slow & 0x10 != 0 { redo(lane: 4, before: before, into: &result, z, rng) }
        if slow & 0x20 != 0 { redo(lane: 5, before: before, into: &result, z, rng) }
        if slow & 0x40 != 0 { redo(lane: 6, before: before, into: &result, z, rng) }
        if slow & 0x80 != 0 { redo(lane: 7, before: before, into: &result, z, rng) }
        return result
    }

    @inline(__always)
    private static func redo(lane l: Int, before: Taus2Lanes, into result: inout Taus2Lanes,
                             _ z: UnsafeMutablePointer<Double>, _ rng: UnsafeMutablePointer<gsl_rng>) {
        sgd_taus2_set_state(rng, UInt(before.s1[l]), UInt(before.s2[l]), UInt(before.s3[l]))
        z[l] = gsl_ran_gaussian_ziggurat(rng, 1.0)
        var s1: UInt = 0, s2: UInt = 0, s3: UInt = 0
        sgd_taus2_get_state(rng, &s1, &s2, &s3)
        // all ones in lane l, zero elsewhere: (i − l) is 0 only there
        let offset = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7) &- UInt32(l)
        let mask = ((offset | (0 &- offset)) &>> 31) &- 1
        result.s1 = (result.s1 & ~mask) | (SIMD8(repeating: UInt32(truncatingIfNeeded: s1)) & mask)
        result.s2 = (result.s2 & ~mask) | (SIMD8(repeating: UInt32(truncatingIfNeeded: s2)) & mask)
        result.s3 = (result.s3 & ~mask) | (SIMD8(repeating: UInt32(truncatingIfNeeded: s3)) & mask)
    }
}

extension RandomStream {
    /// Fills `buffer` with `count` standard normals (count a multiple of 8) from the eight lane
    /// streams of `key` (`LaneStreams`; slot i from lane i mod 8): the generator the exit
    /// ensembles draw additive Gaussian noise from, on its own (benchmarks).
    public static func fillLaneNormals(key: StreamKey, _ buffer: UnsafeMutablePointer<Double>, count: Int) {
        precondition(count % Taus2Lanes.count == 0)
        LaneStreams(key: key).fillNormals(buffer, count: count)
    }
}
