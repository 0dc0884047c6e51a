internal import CGSL
internal import CKernels

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

    /// The three state vectors as word pointers (eight words each), for the C kernels.
    @inline(__always)
    mutating func withWords<R>(_ body: (UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<UInt32>,
                                        UnsafeMutablePointer<UInt32>) -> R) -> R {
        withUnsafeMutableBytes(of: &s1) { a in
            withUnsafeMutableBytes(of: &s2) { b in
                withUnsafeMutableBytes(of: &s3) { c in
                    body(a.baseAddress!.assumingMemoryBound(to: UInt32.self), b.baseAddress!.assumingMemoryBound(to: UInt32.self),
                         c.baseAddress!.assumingMemoryBound(to: UInt32.self))
                }
            }
        }
    }

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
/// ≈ 2.8 % of lanes that leave the fast path (wedges and the tail) finish their draw one by one
/// with `InlineZiggurat.slow` (GSL's slow path, checked against GSL word for word) on that
/// lane's own state. Each lane therefore holds exactly GSL's own sequence whatever the other
/// lanes do.
///
/// Slot i of a block (a `width`-lane structure-of-arrays row) draws from lane i mod 8, and a
/// row of n slots consumes one word per lane per group of eight slots (⌈n/8⌉ groups, the
/// last group's unused draws discarded): a function of the block's state only, so a chunk's
/// draws are the same for any thread count or shard split.
///
/// Not `Sendable`: one per thread; `reset(key:)` reseeds it for the next chunk.
final class LaneStreams {
    var lanes: Taus2Lanes
    /// A taus2 `gsl_rng` for GSL's function on every draw, where the inline ziggurat is
    /// unavailable (its state is overwritten each time).
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
            LaneStreams.fill(buffer, count: count, state: &state, tables: tables)
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

    /// ⌈n/8⌉ groups of eight slots by the C kernel (`sgd_lane_normals`: the fast path in SIMD
    /// lanes, GSL's slow path lane by lane on the lane's own state).
    @inline(__always)
    static func fill(_ z: UnsafeMutablePointer<Double>, count n: Int, state: inout Taus2Lanes,
                     tables: InlineZiggurat.Tables) {
        state.withWords { s1, s2, s3 in
            sgd_lane_normals(s1, s2, s3, tables.c, z, (n + 7) / 8, LaneStreams.instructionSet)
        }
    }

    /// One row of an Euler–Maruyama step with additive noise, its normals drawn as
    /// `fillNormals` draws them and used at once: x[i] ← (x[i] − h·g[i]) + s·z_i for
    /// i < count (`sgd_lane_euler_row`; the same draws and bits as `fillNormals` followed by
    /// that loop). False, with nothing drawn, where the inline ziggurat is unavailable.
    @inline(__always)
    func eulerRow(x: UnsafeMutablePointer<Double>, gradient g: UnsafePointer<Double>, step h: Double,
                  scale s: Double, count n: Int) -> Bool {
        guard let tables = InlineZiggurat.tables else { return false }
        lanes.withWords { s1, s2, s3 in
            sgd_lane_euler_row(s1, s2, s3, tables.c, x, g, h, s, n, LaneStreams.instructionSet)
        }
        return true
    }

    /// The instruction set of the lanes kernel.
    static var instructionSet: Int { KernelInstructionSet.blocks }
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
