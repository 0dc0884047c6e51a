internal import CKernels

/// A batched finite sum that also computes the gradients of a whole block of chains at once,
/// the chains in SIMD lanes (`EulerMaruyamaStepper`'s structure-of-arrays block layout).
public protocol LaneBatchedFiniteSum: BatchedFiniteSum {
    /// Whether `addLaneGradients` serves blocks of `width` lanes.
    func servesLanes(width: Int) -> Bool

    /// The same gradient g_i (summed from zero) applied in place: θ_i ← θ_i − `step`·g_i for
    /// lanes i < `count`, without a block-wide gradient buffer.
    func stepLanes(indices: UnsafePointer<Int>?, first: Int, weights: UnsafePointer<Double>?, batch: Int, count: Int,
                   stride: Int, theta: UnsafeMutablePointer<Double>, scale: Double, step: Double)

    /// `out[i] = L(θ_i)` for lanes i < `count` of a block (θ_i[j] = `theta[j·stride + i]`).
    func laneLosses(count: Int, stride: Int, theta: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>)

    /// For lanes i < `count` of a block (θ_i[j] = `theta[j·stride + i]`):
    /// `g[j·stride + i] += scale · Σ_{r<batch} w_{r,i} ∂ℓ_{s(r,i)}/∂θ_j(θ_i)`, with
    /// s(r, i) = `indices[r·stride + i]` (`first + r` when nil) and w_{r,i} =
    /// `weights[r·stride + i]` (1 when nil). Lanes ≥ `count` are not written.
    func addLaneGradients(indices: UnsafePointer<Int>?, first: Int, weights: UnsafePointer<Double>?, batch: Int,
                          count: Int, stride: Int, theta: UnsafePointer<Double>, scale: Double,
                          into g: UnsafeMutablePointer<Double>)
}

/// The lanes kernel (Sources/CKernels/mlp_lanes.c): backpropagation for 8 chains at a time,
/// every scalar operation of `MLP`'s per-sample recursions (docs/THEORY.md §7) done once for
/// 8 parameter vectors in one SIMD register, over chunks of 16 samples per pass over the
/// weights (4 samples held in registers per weight load).
///
/// Why: a small network's per-chain matrix products are too small for BLAS (a 13–40–3
/// network with B = 8 is 8×13 times 13×40; OpenBLAS's call overhead dominates), whereas the
/// chains of one block share every shape. The same operations, in the same order, run in
/// 8-wide vectors whatever the instruction set (AVX-512F, AVX2 or generic x86-64, chosen at
/// run time: `laneInstructionSet`), with no fused multiply-adds: the bits do not depend on the CPU. They differ
/// from the BLAS route's (another summation order), by rounding only.
///
/// Order of each sum: over the inputs of a unit in index order, then + b, then × c; over
/// the samples of a chunk in order, each chunk's total added to g.
extension MLP: LaneBatchedFiniteSum {
    /// Lanes per SIMD group.
    public static let laneGroup = Int(SGD_MLP_LANE_GROUP)

    /// The best instruction set this CPU runs the kernels with: 2 AVX-512F, 1 AVX2, 0 generic.
    public static var bestLaneInstructionSet: Int { KernelInstructionSet.best }

    /// The instruction set the network kernels run with (`KernelInstructionSet.networks`).
    public static var laneInstructionSet: Int { KernelInstructionSet.networks }

    /// Blocks whose width is a multiple of 8 (every block of a network with d ≤ 1024: 64 lanes).
    public func servesLanes(width: Int) -> Bool { width >= MLP.laneGroup && width % MLP.laneGroup == 0 }

    public func addLaneGradients(indices: UnsafePointer<Int>?, first: Int, weights: UnsafePointer<Double>?, batch: Int,
                                 count: Int, stride: Int, theta: UnsafePointer<Double>, scale: Double,
                                 into g: UnsafeMutablePointer<Double>) {
        addLaneGradients(indices: indices, first: first, weights: weights, batch: batch, count: count, stride: stride,
                         theta: theta, scale: scale, into: g, instructionSet: MLP.laneInstructionSet)
    }

    /// As `addLaneGradients`, on a chosen instruction set (≤ `bestLaneInstructionSet`; the
    /// tests compare them).
    public func addLaneGradients(indices: UnsafePointer<Int>?, first: Int, weights: UnsafePointer<Double>?, batch: Int,
                                 count: Int, stride: Int, theta: UnsafePointer<Double>, scale: Double,
                                 into g: UnsafeMutablePointer<Double>, instructionSet: Int) {
        precondition(servesLanes(width: stride) && count >= 0 && count <= stride && batch >= 0)
        precondition(instructionSet >= 0 && instructionSet <= MLP.bestLaneInstructionSet)
        guard count > 0, batch > 0 else { return }
        withLaneNetwork { net, work in
            sgd_mlp_lanes_gradient(net, theta, stride, count, indices, first, weights, batch, scale, g, work,
                                   instructionSet)
        }
    }

    public func stepLanes(indices: UnsafePointer<Int>?, first: Int, weights: UnsafePointer<Double>?, batch: Int, count: Int,
                          stride: Int, theta: UnsafeMutablePointer<Double>, scale: Double, step: Double) {
        precondition(servesLanes(width: stride) && count >= 0 && count <= stride && batch >= 0)
        guard count > 0, batch > 0 else { return }
        withLaneNetwork { net, work in
            sgd_mlp_lanes_step(net, theta, stride, count, indices, first, weights, batch, scale, step, work,
                               MLP.laneInstructionSet)
        }
    }

    public func laneLosses(count: Int, stride: Int, theta: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        precondition(servesLanes(width: stride) && count >= 0 && count <= stride)
        guard count > 0 else { return }
        withLaneNetwork { net, work in
            sgd_mlp_lanes_loss(net, theta, stride, count, sampleCount, out, work, MLP.laneInstructionSet)
        }
    }

    /// The kernel's view of this network and this thread's work space for it.
    private func withLaneNetwork(_ body: (UnsafePointer<sgd_mlp_lanes_net>, UnsafeMutablePointer<Double>) -> Void) {
        layerSizes.withUnsafeBufferPointer { sizes in
            weightOffsets.withUnsafeBufferPointer { wo in
                biasOffsets.withUnsafeBufferPointer { bo in
                    inputs.withUnsafeBufferPointer { x in
                        targets.withUnsafeBufferPointer { y in
                            var net = sgd_mlp_lanes_net(
                                layers: layerCount, sizes: sizes.baseAddress, weight_offsets: wo.baseAddress,
                                bias_offsets: bo.baseAddress, bias: bias ? 1 : 0,
                                activation: activation == .linear ? 0 : activation == .relu ? 1 : 2,
                                loss: loss == .square ? 0 : 1, scale: self.scale, inputs: x.baseAddress,
                                targets: y.baseAddress, total_units: totalUnits, dimension: dimension)
                            let work = sgd_mlp_lanes_work_size(&net)
                            ThreadScratch.with(count: work) { base in body(&net, base) }
                        }
                    }
                }
            }
        }
    }
}
