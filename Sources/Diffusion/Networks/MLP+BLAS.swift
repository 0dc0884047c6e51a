import Foundation

/// A finite sum whose weighted minibatch gradient is computed in one pass over the batch —
/// the layers as matrix–matrix products — rather than sample by sample.
///
/// Two uses: discrete SGD's minibatch gradient (weights 1/B), and the SDE of SGD in its
/// sample-space form, whose whole step Σᵢ wᵢ∇ℓᵢ is one weighted gradient over all n samples
/// (`EulerMaruyamaStepper`, docs/THEORY.md §7).
public protocol BatchedFiniteSum: FiniteSum {
    /// Doubles of workspace `addWeightedBatchGradient` needs (for any `count`).
    var batchWorkspaceCount: Int { get }
    /// g += scale · Σ_{k<count} w_k ∇ℓ_{i_k}(θ) with i_k = indices[k] (k when `indices` is nil)
    /// and w_k = weights[k] (1 when nil). Allocation-free; `workspace` holds
    /// `batchWorkspaceCount` doubles.
    func addWeightedBatchGradient(indices: UnsafePointer<Int>?, weights: UnsafePointer<Double>?, count: Int,
                                  at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>, workspace: UnsafeMutablePointer<Double>)
}

extension MLP: BatchedFiniteSum {
    /// Samples per block of matrix products (a batch of more is done in blocks of this many).
    public static let batchBlock = 128

    /// m·(p + 2Σ_{l<L} n_l + n_L + 2·max n_l) for blocks of m = `batchBlock` samples: the
    /// gathered inputs, each hidden layer's pre-activations and activations, the outputs,
    /// and two back-propagated deltas.
    public var batchWorkspaceCount: Int {
        let sizes = layerSizes, m = MLP.batchBlock
        var total = sizes[0] + 2 * (sizes.max() ?? 0) + sizes[sizes.count - 1]
        for l in 1..<(sizes.count - 1) { total += 2 * sizes[l] }
        return m * total
    }

    /// Backpropagation on a block of samples with the layer products through OpenBLAS
    /// (`OpenBLAS.gemm`, one thread), for the layout and the sharpness knob of `MLP`
    /// (z_l = √k(W_l a_{l−1} + b_l)): forward Z_l = √k·A_{l−1}W_lᵀ (+ √k b_l), then
    /// ∂/∂W_l += scale·√k·Δ_lᵀA_{l−1}, ∂/∂b_l += scale·√k·Σ_rows Δ_l and
    /// Δ_{l−1} = √k·(Δ_l W_l) ⊙ σ'(Z_{l−1}), from Δ_L = w ⊙ ∂ℓ/∂u (u − y for square loss,
    /// softmax(u) − e_y for cross-entropy). Exact: the same derivative as
    /// `addSampleGradient`, summed in another order.
    public func addWeightedBatchGradient(indices: UnsafePointer<Int>?, weights: UnsafePointer<Double>?, count: Int,
                                         at theta: UnsafePointer<Double>, scale: Double,
                                         into g: UnsafeMutablePointer<Double>, workspace: UnsafeMutablePointer<Double>) {
        var first = 0
        while first < count {
            let m = min(MLP.batchBlock, count - first)
            batchBlock(indices: indices.map { $0 + first }, first: first, weights: weights.map { $0 + first }, count: m,
                       at: theta, scale: scale, into: g, workspace: workspace)
            first += m
        }
    }

    private func batchBlock(indices: UnsafePointer<Int>?, first: Int, weights: UnsafePointer<Double>?, count m: Int,
                            at theta: UnsafePointer<Double>, scale: Double,
                            into g: UnsafeMutablePointer<Double>, workspace: UnsafeMutablePointer<Double>) {
        let sizes = layerSizes
        let layers = sizes.count - 1
        let p = sizes[0], outputs = sizes[layers]
        let root = sharpness.squareRoot()
        let widest = sizes.max() ?? 0
        // workspace: A0 | (Z_l, A_l) for hidden l | Z_L | delta | delta2
        let a0 = workspace
        let x = inputs
        x.withUnsafeBufferPointer { xb in
            let xs = xb.baseAddress!
            for r in 0..<m {
                let i = indices?[r] ?? (first + r)
                for j in 0..<p { a0[r * p + j] = xs[i * p + j] }
            }
        }
        // forward: the pre-activations and activations of layer l start at z(l), a(l)
        func z(_ l: Int) -> UnsafeMutablePointer<Double> {
            var off = m * p
            for k in 1..<l { off += 2 * m * sizes[k] }
            return workspace + off
        }
        func a(_ l: Int) -> UnsafeMutablePointer<Double> { l == 0 ? a0 : z(l) + m * sizes[l] }
        var weightOffset = 0
        for l in 1...layers {
            let nIn = sizes[l - 1], nOut = sizes[l]
            let zl = z(l)
            OpenBLAS.gemm(transposeA: false, transposeB: true, m: m, n: nOut, k: nIn, alpha: root,
                          a: a(l - 1), lda: nIn, b: theta + weightOffset, ldb: nIn, beta: 0, c: zl, ldc: nOut)
            weightOffset += nOut * nIn
            if bias {
                let b = theta + weightOffset
                for r in 0..<m { for c in 0..<nOut { zl[r * nOut + c] += root * b[c] } }
                weightOffset += nOut
            }
            if l < layers {
                let al = a(l)
                for e in 0..<(m * nOut) { al[e] = activation.evaluate(zl[e]).0 }
            }
        }
        let delta = workspace + (z(layers) - workspace) + m * outputs
        let delta2 = delta + m * widest
        // Δ_L = w ⊙ ∂ℓ/∂u
        let u = z(layers)
        targets.withUnsafeBufferPointer { tb in
            let t = tb.baseAddress!
            for r in 0..<m {
                let i = indices?[r] ?? (first + r)
                let w = weights?[r] ?? 1
                let row = u + r * outputs, d = delta + r * outputs
                switch loss {
                case .square:
                    for c in 0..<outputs { d[c] = w * (row[c] - t[i * outputs + c]) }
                case .crossEntropy:
                    var top = row[0]
                    for c in 1..<outputs { top = max(top, row[c]) }
                    var sum = 0.0
                    for c in 0..<outputs { d[c] = Foundation.exp(row[c] - top); sum += d[c] }
                    let label = Int(t[i])
                    for c in 0..<outputs { d[c] = w * (d[c] / sum - (c == label ? 1 : 0)) }
                }
            }
        }
        // backward, layer L down to 1
        var current = delta, spare = delta2
        var offset = weightOffset
        for l in stride(from: layers, through: 1, by: -1) {
            let nIn = sizes[l - 1], nOut = sizes[l]
            if bias {
                offset -= nOut
                let gb = g + offset
                for r in 0..<m { for c in 0..<nOut { gb[c] += scale * root * current[r * nOut + c] } }
            }
            offset -= nOut * nIn
            OpenBLAS.gemm(transposeA: true, transposeB: false, m: nOut, n: nIn, k: m, alpha: scale * root,
                          a: current, lda: nOut, b: a(l - 1), ldb: nIn, beta: 1, c: g + offset, ldc: nIn)
            if l > 1 {
                OpenBLAS.gemm(transposeA: false, transposeB: false, m: m, n: nIn, k: nOut, alpha: root,
                              a: current, lda: nOut, b: theta + offset, ldb: nIn, beta: 0, c: spare, ldc: nIn)
                let zPrev = z(l - 1)
                for e in 0..<(m * nIn) { spare[e] *= activation.evaluate(zPrev[e]).1 }
                swap(&current, &spare)
            }
        }
    }
}
