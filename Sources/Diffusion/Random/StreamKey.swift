/// Identifies one independent random stream: (master seed, experiment, cell, chunk), and
/// for a chunk's SIMD lane streams (`LaneStreams`) the lane 1…8 (0: the chunk's own scalar
/// stream).
///
/// Every random number in a run comes from exactly one stream, and a stream is a pure
/// function of its key, so results do not depend on thread count or shard split
/// (SciMLBase `generate_sim_seeds` does the same per trajectory).
public struct StreamKey: Hashable, Sendable {
    public var seed: UInt64
    public var experiment: UInt64
    public var cell: UInt64
    public var chunk: UInt64
    /// 0 for a chunk's scalar stream; l + 1 for its SIMD lane l (`LaneStreams`).
    public var lane: UInt64

    public init(seed: UInt64, experiment: Int = 0, cell: Int = 0, chunk: Int = 0, lane: Int = 0) {
        self.seed = seed
        self.experiment = UInt64(experiment)
        self.cell = UInt64(cell)
        self.chunk = UInt64(chunk)
        self.lane = UInt64(lane)
    }

    /// 128 well-mixed bits derived from the key.
    ///
    /// Each component is absorbed by the SplitMix64 finaliser (Steele, Lea & Flood,
    /// OOPSLA 2014), a bijection on 64-bit words, in two lanes with different
    /// constants; distinct keys therefore give independent-looking 128-bit digests and a
    /// collision between any two of N streams has probability about N²/2¹²⁹. A lane ≠ 0 is
    /// absorbed as a fifth word; lane 0 is not absorbed, so the scalar streams' digests are
    /// those of the four-component keys they always were.
    public var digest: (UInt64, UInt64) {
        var a: UInt64 = 0x243F_6A88_85A3_08D3  // π
        var b: UInt64 = 0x1319_8A2E_0370_7344
        for word in lane == 0 ? [seed, experiment, cell, chunk] : [seed, experiment, cell, chunk, lane] {
            a = StreamKey.mix(a ^ word &+ 0x9E37_79B9_7F4A_7C15)
            b = StreamKey.mix(b &+ (word ^ 0xD1B5_4A32_D192_ED03) &* 0xA24B_AED4_963E_E407)
            a ^= b >> 29
            b = StreamKey.mix(b ^ a)
        }
        return (StreamKey.mix(a), StreamKey.mix(b ^ 0x5851_F42D_4C95_7F2D))
    }

    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
