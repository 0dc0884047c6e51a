internal import CKernels
import Foundation

/// Which build of the C kernels (`Sources/CKernels`) runs: 2 AVX-512F, 1 AVX2, 0 generic.
/// Every build gives the same bits (they are compiled with −ffp-contract=off and no fast
/// math), so this is a speed choice only, made once per process from the CPU's features.
enum KernelInstructionSet {
    /// The best this CPU runs.
    static let best = Int(sgd_mlp_lanes_best_isa())

    /// The block kernels of the exit ensembles (the lane generator and Euler row, the compiled
    /// programs, the exit and bridge passes): the best present. On the AMD EPYC (Zen 4) this
    /// was measured on, AVX-512 ran the reference workload 4 % faster than AVX2
    /// (327 M against 313 M path-steps/s, alternating runs). `SGD_ESCAPE_KERNEL_ISA` = 0, 1
    /// or 2 lowers it (for comparing builds; a value above `best` is ignored).
    static let blocks: Int = {
        if let text = getenv("SGD_ESCAPE_KERNEL_ISA").map({ String(cString: $0) }), let v = Int(text), (0...best).contains(v) {
            return v
        }
        return best
    }()

    /// The network lanes kernel (`MLP+Lanes.swift`): AVX2 where present. AVX-512F ran it
    /// slower on the same CPU (512-bit operations in two halves): 0.51 against 0.60 M
    /// replica-iterations/s on the small benchmark network, alternating runs.
    static let networks = min(1, best)
}
