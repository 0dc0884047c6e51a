internal import CGSL
internal import CKernels
import Foundation

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

/// GSL's ziggurat normal (`gsl_ran_gaussian_ziggurat`, gsl/randist/gausszig.c: Marsaglia &
/// Tsang 2000, "The ziggurat method for generating random variables", J. Stat. Softw. 5(8),
/// with 128 steps, GSL's own tables and R = 3.44428647676), computed inline on a
/// register-held taus2, the same bits as GSL for every draw.
///
/// Why: through libgsl each normal costs a call plus an indirect call to the generator;
/// inlined, the fast path (j < k[i]: one 32-bit draw, a multiply, a compare) taken by
/// ≈ 97 % of draws runs several times faster. The ≈ 2.8 % of slow draws (the wedges and the
/// tail) run GSL's slow path in C (`sgd_ziggurat_slow_taus2`, CKernels/normal_lanes.c, one
/// body shared with the SIMD lanes kernel `sgd_lane_normals`), with no state round trip
/// through GSL.
///
/// The algorithm, per draw: word u; step i = u ∧ 0x7F, sign + when u ∧ 0x80, j = (u ≫ 8) ∧
/// 0xFFFFFF; x = j·w[i]; accept at once when j < k[i]. Otherwise, for i < 127 (a wedge)
/// y = y[i+1] + (y[i] − y[i+1])·U₁, and for i = 127 (the tail) x = R − ln(1 − U₁)/R and
/// y = exp(−R(x − R/2))·U₂, the U's being `gsl_rng_uniform` (next word / 2³²); accept when
/// y < exp(−x²/2), else start over with a new word. The result is sign·x.
///
/// The tables are GSL's own, never typed here:
/// - k[i] and w[i] are read out of GSL by probing `gsl_ran_gaussian_ziggurat` with a
///   generator that returns chosen words (w[i] = the value returned for j = 1, through the
///   wedge with U₁ = 0 where the fast path is empty; k[i] = the least j that leaves the fast
///   path, by bisection);
/// - y[i] (the step heights) is found in the loaded libgsl's file as the one run of 128
///   doubles that starts at 1 and falls strictly to below 0.01;
/// - then every branch is checked against GSL word for word: for each step, slow j's with
///   U₁ at its extremes and on both sides of the acceptance threshold (found by bisection
///   with GSL as the oracle), the tail's U₁ × U₂ grid and its U₂ thresholds, 20,000 random
///   four-word sequences that reject and start over, and 10⁵ draws of a real stream.
/// If anything disagrees (a GSL whose ziggurat differs), `tables` is nil and callers use
/// GSL's function for every draw.
enum InlineZiggurat {
    struct Tables: @unchecked Sendable {
        let k: UnsafeMutablePointer<UInt32>
        let w: UnsafeMutablePointer<Double>
        let y: UnsafeMutablePointer<Double>
        /// The same tables for the C kernels.
        let c: UnsafeMutablePointer<sgd_ziggurat_tables>
    }

    /// GSL's PARAM_R, the start of the tail (checked with the rest).
    static let tailStart = 3.44428647676

    static let tables: Tables? = build()

    /// Up to four words armed into GSL's probe generator, then 0x81 (step 1, j = 0: accepted at once).
    private struct ProbeWords {
        var words: (UInt32, UInt32, UInt32, UInt32)
        var count: Int
    }

    private static func build() -> Tables? {
        GSL.prepare()
        guard let probe = gsl_rng_alloc(sgd_gsl_rng_probe()) else { return nil }
        defer { gsl_rng_free(probe) }
        func gsl(_ words: ProbeWords) -> (x: Double, calls: Int) {
            let w = words.words
            sgd_probe_arm4(probe, UInt(words.count), UInt(w.0), UInt(w.1), UInt(w.2), UInt(w.3))
            let x = gsl_ran_gaussian_ziggurat(probe, 1.0)
            return (x, Int(sgd_probe_calls(probe)))
        }
        func word(step: UInt32, j: UInt32, positive: Bool = true) -> UInt32 { (j << 8) | (positive ? 0x80 : 0) | step }
        let k = UnsafeMutablePointer<UInt32>.allocate(capacity: 128)
        let w = UnsafeMutablePointer<Double>.allocate(capacity: 128)
        let y = UnsafeMutablePointer<Double>.allocate(capacity: 128)
        let c = UnsafeMutablePointer<sgd_ziggurat_tables>.allocate(capacity: 1)
        c.initialize(to: sgd_ziggurat_tables(k: k, w: w, y: y, r: tailStart))
        let tables = Tables(k: k, w: w, y: y, c: c)
        func release() -> Tables? { k.deallocate(); w.deallocate(); y.deallocate(); c.deallocate(); return nil }
        for i in 0..<UInt32(128) {
            let fast = { (j: UInt32) in gsl(ProbeWords(words: (word(step: i, j: j), 0, 0, 0), count: 1)).calls == 1 }
            if fast(0) {
                var lo: UInt32 = 0, hi: UInt32 = 1 << 24  // fast(lo) holds; fast(hi) would not
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2
                    if fast(mid) { lo = mid } else { hi = mid }
                }
                k[Int(i)] = hi
            } else {
                k[Int(i)] = 0
            }
            // j = 1: the fast path, or a wedge with U₁ = 0 (y = y[i+1] < 1 = exp(−0²/2) nearly)
            let (value, calls) = gsl(ProbeWords(words: (word(step: i, j: 1), 0, 0, 0), count: 2))
            guard calls == (k[Int(i)] > 1 ? 1 : 2), value > 0 else { print("DBG w", i, calls, value, k[Int(i)]); return release() }
            w[Int(i)] = value
        }
        guard let heights = stepHeights() else { print("DBG heights"); return release() }
        for i in 0..<128 { y[i] = heights[i] }
        return agreesWithGSL(tables, gsl: gsl, word: { word(step: $0, j: $1, positive: $2) }) && selfCheck(tables)
            ? tables : release()
    }

    /// GSL's ytab, found in the loaded libgsl's file (its path from /proc/self/maps): the one
    /// run of 128 aligned doubles that starts at exactly 1 and falls strictly to below 0.01.
    /// Checked afterwards, branch by branch, against GSL itself.
    private static func stepHeights() -> [Double]? {
        // /proc files report size 0: read to the end in pieces
        guard let file = fopen("/proc/self/maps", "r") else { return nil }
        var bytes: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 65_536)
        while true {
            let got = piece.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if got <= 0 { break }
            bytes += piece[0..<got]
        }
        fclose(file)
        let maps = String(decoding: bytes, as: UTF8.self)
        guard let line = maps.split(separator: "\n").first(where: { $0.contains("/libgsl.so") }),
              let slash = line.firstIndex(of: "/"),
              let data = FileManager.default.contents(atPath: String(line[slash...])) else { return nil }
        var found: [[Double]] = []
        data.withUnsafeBytes { raw in
            let count = raw.count / 8
            let one = (1.0).bitPattern
            var i = 0
            while i + 128 <= count {
                defer { i += 1 }
                guard raw.load(fromByteOffset: i * 8, as: UInt64.self) == one else { continue }
                var run = [1.0]
                for m in 1..<128 {
                    let v = raw.load(fromByteOffset: (i + m) * 8, as: Double.self)
                    guard v > 0, v < run[m - 1] else { break }
                    run.append(v)
                }
                if run.count == 128 && run[127] < 0.01 { found.append(run) }
            }
        }
        return found.count == 1 ? found[0] : nil
    }

    /// Every branch of the slow path against GSL, word for word (see the type's comment).
    private static func agreesWithGSL(_ t: Tables, gsl: (ProbeWords) -> (x: Double, calls: Int),
                                      word: (UInt32, UInt32, Bool) -> UInt32) -> Bool {
        func same(_ words: ProbeWords) -> Bool {
            let reference = gsl(words)
            let first = words.count > 0 ? words.words.0 : 0x81
            let i = Int(first & 0x7F), j = (first >> 8) & 0xFF_FFFF
            if j < t.k[i] { return reference.calls == 1 && signed(Double(j) * t.w[i], word: first).bitPattern == reference.x.bitPattern }
            var rest = [words.words.1, words.words.2, words.words.3]
            var used = 0
            let x = sgd_ziggurat_slow_words(first, &rest, max(words.count - 1, 0), t.c, &used)
            return x.bitPattern == reference.x.bitPattern && 1 + used == reference.calls
        }
        func accepts(_ words: ProbeWords) -> Bool { gsl(words).calls == words.count }
        // a fixed generator for the sampled cases
        var rng = Taus2State(s1: 0x8765_4321, s2: 0x9ABC_DEF0, s3: 0xF0E1_D2C3)
        let top: UInt32 = 1 << 24
        for i in UInt32(0)..<128 {
            let k = t.k[Int(i)]
            guard k < top else { continue }  // no slow draws in this step
            var js: [UInt32] = [k, top - 1]
            for _ in 0..<6 { js.append(k + rng.next() % (top - k)) }
            for (n, j) in js.enumerated() {
                let first = word(i, j, n % 2 == 0)
                if i < 127 {
                    // the wedge: y rises with U₁, so acceptance flips once; check both sides
                    var us: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, rng.next(), rng.next()]
                    let w0 = ProbeWords(words: (first, 0, 0, 0), count: 2)
                    let w1 = ProbeWords(words: (first, 0xFFFF_FFFF, 0, 0), count: 2)
                    if accepts(w0) != accepts(w1) {
                        var lo: UInt32 = 0, hi: UInt32 = 0xFFFF_FFFF  // accepts(lo) != accepts(hi)
                        let atLow = accepts(w0)
                        while hi - lo > 1 {
                            let mid = lo + (hi - lo) / 2
                            if accepts(ProbeWords(words: (first, mid, 0, 0), count: 2)) == atLow { lo = mid } else { hi = mid }
                        }
                        us += [lo, hi]
                    }
                    for u in us where !same(ProbeWords(words: (first, u, 0, 0), count: 2)) { print("DBG wedge", i, j, u); return false }
                } else {
                    // the tail: a U₁ × U₂ grid, and the U₂ threshold for each U₁
                    var u1s: [UInt32] = [0, 1, 0xFFFF_FFFF, 0x8000_0000]
                    for _ in 0..<4 { u1s.append(rng.next()) }
                    for u1 in u1s {
                        var u2s: [UInt32] = [0, 1, 0xFFFF_FFFF, rng.next(), rng.next()]
                        let a = ProbeWords(words: (first, u1, 0, 0), count: 3)
                        let b = ProbeWords(words: (first, u1, 0xFFFF_FFFF, 0), count: 3)
                        if accepts(a) != accepts(b) {
                            var lo: UInt32 = 0, hi: UInt32 = 0xFFFF_FFFF
                            let atLow = accepts(a)
                            while hi - lo > 1 {
                                let mid = lo + (hi - lo) / 2
                                if accepts(ProbeWords(words: (first, u1, mid, 0), count: 3)) == atLow { lo = mid } else { hi = mid }
                            }
                            u2s += [lo, hi]
                        }
                        for u2 in u2s where !same(ProbeWords(words: (first, u1, u2, 0), count: 3)) { print("DBG tail", u1, u2); return false }
                    }
                }
            }
        }
        // random sequences whose first word leaves the fast path: rejections start over
        var checked = 0
        while checked < 20_000 {
            let u = rng.next()
            let i = Int(u & 0x7F), j = (u >> 8) & 0xFF_FFFF
            guard j >= t.k[i] else { continue }
            checked += 1
            if !same(ProbeWords(words: (u, rng.next(), rng.next(), rng.next()), count: 4)) { print("DBG random"); return false }
        }
        return true
    }

    private static func selfCheck(_ tables: Tables) -> Bool {
        let a = RandomStream(key: StreamKey(seed: 0x5E1F_C4EC))
        let b = RandomStream(key: StreamKey(seed: 0x5E1F_C4EC))
        var state = a.taus2State
        for _ in 0..<100_000 {
            let x = normal(&state, tables: tables)
            if x.bitPattern != b.normal().bitPattern { return false }
        }
        return true
    }

    /// One standard normal from `state`: the fast path inline, the rest in C.
    @inline(__always)
    static func normal(_ state: inout Taus2State, tables: Tables) -> Double {
        let word = state.next()
        let i = Int(word & 0x7F)
        let j = (word >> 8) & 0xFF_FFFF
        if j < tables.k[i] { return signed(Double(j) * tables.w[i], word: word) }
        return slow(word: word, &state, tables: tables)
    }

    /// sign·x for GSL's sign (+ when bit 7 of the word is set), by flipping the sign bit
    /// branch-free: the same bits as GSL's `sign * sigma * x` with sigma = 1.
    @inline(__always)
    static func signed(_ x: Double, word: UInt32) -> Double {
        Double(bitPattern: x.bitPattern ^ (UInt64(~word & 0x80) << 56))
    }

    /// The draw whose first word `word` left the fast path (GSL's wedge and tail code, in C),
    /// further words from `state`.
    @inline(never)
    static func slow(word first: UInt32, _ state: inout Taus2State, tables: Tables) -> Double {
        var s = (state.s1, state.s2, state.s3)
        let x = withUnsafeMutablePointer(to: &s) {
            $0.withMemoryRebound(to: UInt32.self, capacity: 3) { sgd_ziggurat_slow_taus2(first, $0, tables.c) }
        }
        state = Taus2State(s1: s.0, s2: s.1, s3: s.2)
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
        for i in 0..<count { buffer[i] = InlineZiggurat.normal(&state, tables: tables) }
        store(state)
    }

    /// True when the inline ziggurat passed its self-check against GSL.
    public static var inlineNormalsAvailable: Bool { InlineZiggurat.tables != nil }
}
