import Foundation

/// A finite sum whose weighted gradient over a batch of samples is computed in one pass —
/// the layers as matrix–matrix products — rather than sample by sample.
///
/// Two uses: discrete SGD's minibatch gradient (weights 1, scale 1/B), and the SDE of SGD in
/// its sample-space form, whose whole step Σᵢ wᵢ∇ℓᵢ is one weighted gradient over all n
/// samples (`EulerMaruyamaStepper`, docs/THEORY.md §7).
public protocol BatchedFiniteSum: FiniteSum {
    /// g += scale · Σ_{r<count} w_r ∇ℓ_{i_r}(θ), with i_r = indices[r] (r when `indices` is
    /// nil) and w_r = weights[r] (1 when nil). Repeated indices count with multiplicity.
    /// Allocation-free in steady state.
    func addWeightedBatchGradient(indices: UnsafePointer<Int>?, weights: UnsafePointer<Double>?, count: Int,
                                  at theta: UnsafePointer<Double>, scale: Double, into g: UnsafeMutablePointer<Double>)
}

extension MLP: BatchedFiniteSum {
    /// Samples per block of matrix products: a larger batch (a full-batch SDE step over n
    /// samples) is done in blocks of this many, so the work space stays 3·block·Σ_l n_l.
    public static let batchBlock = 256

    /// The minibatch mean's sum `g += scale · Σ_{r<count} ∇ℓ_{indices[r]}(θ)`.
    public func addBatchGradient(indices: UnsafePointer<Int>, count b: Int, at theta: UnsafePointer<Double>,
                                 scale s: Double, into g: UnsafeMutablePointer<Double>) {
        addWeightedBatchGradient(indices: indices, weights: nil, count: b, at: theta, scale: s, into: g)
    }

    /// Backpropagation on blocks of samples, the per-sample recursions of `MLP` stacked:
    /// with `A_l` the block's activations (rows = samples) and c = √k, forward
    /// `Z_l = c(A_{l−1}W_lᵀ + 1b_lᵀ)`; from `Δ_L = w ⊙ ∂ℓ/∂u` (u − y for square loss,
    /// softmax(u) − e_y for cross-entropy), backward `∂W_l += scale·c·Δ_lᵀA_{l−1}`,
    /// `∂b_l += scale·c·1ᵀΔ_l`, `Δ_{l−1} = σ'(Z_{l−1}) ⊙ c·Δ_l W_l`. The three products go
    /// through OpenBLAS's `dgemm` (one thread, `OpenBLAS`); without OpenBLAS, through plain
    /// loops (the same derivative summed in another order: other last bits). Cost O(count·d);
    /// work space from this thread's reusable buffer (`ThreadScratch`).
    public func addWeightedBatchGradient(indices: UnsafePointer<Int>?, weights: UnsafePointer<Double>?, count: Int,
                                         at theta: UnsafePointer<Double>, scale s: Double, into g: UnsafeMutablePointer<Double>) {
        precondition(count >= 0)
        let block = min(count, MLP.batchBlock)
        guard block > 0 else { return }
        ThreadScratch.with(count: 3 * block * totalUnits) { base in
            var first = 0
            while first < count {
                let b = min(MLP.batchBlock, count - first)
                gradientBlock(indices: indices.map { $0 + first }, first: first, weights: weights.map { $0 + first },
                              count: b, at: theta, scale: s, into: g, workspace: base)
                first += b
            }
        }
    }

    private func gradientBlock(indices: UnsafePointer<Int>?, first: Int, weights: UnsafePointer<Double>?, count b: Int,
                               at theta: UnsafePointer<Double>, scale s: Double, into g: UnsafeMutablePointer<Double>,
                               workspace base: UnsafeMutablePointer<Double>) {
        let t = totalUnits, lc = layerCount, c = scale, p = layerSizes[0], m = outputCount
        let act = base, slope = base + b * t, delta = base + 2 * b * t
        inputs.withUnsafeBufferPointer { x in
            for r in 0..<b {
                let i = indices?[r] ?? (first + r)
                for j in 0..<p { act[r * p + j] = x[i * p + j] }
            }
        }
        for l in 1...lc {
            let rows = layerSizes[l], cols = layerSizes[l - 1]
            let z = act + b * unitOffsets[l]
            let bias: UnsafePointer<Double>? = self.bias ? theta + biasOffsets[l - 1] : nil
            MLP.batchAffine(theta + weightOffsets[l - 1], bias, act + b * unitOffsets[l - 1], batch: b,
                            rows: rows, cols: cols, scale: c, into: z)
            if l < lc {
                let sl = slope + b * unitOffsets[l]
                for e in 0..<(b * rows) {
                    let (a, a1, _) = activation.evaluate(z[e])
                    z[e] = a
                    sl[e] = a1
                }
            }
        }
        let oL = b * unitOffsets[lc]
        targets.withUnsafeBufferPointer { y in
            for r in 0..<b {
                let u = act + oL + r * m, dL = delta + oL + r * m
                let i = indices?[r] ?? (first + r)
                let w = weights?[r] ?? 1
                switch loss {
                case .square:
                    for k in 0..<m { dL[k] = w * (u[k] - y[i * m + k]) }
                case .crossEntropy:
                    let lse = MLP.logSumExp(u, m)
                    for k in 0..<m { dL[k] = Foundation.exp(u[k] - lse) }
                    dL[Int(y[i])] -= 1
                    if w != 1 { for k in 0..<m { dL[k] *= w } }
                }
            }
        }
        for l in stride(from: lc, through: 1, by: -1) {
            let rows = layerSizes[l], cols = layerSizes[l - 1]
            let dl = delta + b * unitOffsets[l]
            MLP.addBatchOuterProduct(dl, act + b * unitOffsets[l - 1], batch: b, rows: rows, cols: cols,
                                     scale: s * c, into: g + weightOffsets[l - 1])
            if bias {
                let gb = g + biasOffsets[l - 1]
                for r in 0..<b { for k in 0..<rows { gb[k] += s * c * dl[r * rows + k] } }
            }
            if l > 1 {
                let prev = delta + b * unitOffsets[l - 1], sl = slope + b * unitOffsets[l - 1]
                MLP.batchProduct(dl, theta + weightOffsets[l - 1], batch: b, rows: rows, cols: cols, scale: c,
                                 into: prev)
                for e in 0..<(b * cols) { prev[e] *= sl[e] }
            }
        }
    }

    /// `Z = c(A Wᵀ + 1bᵀ)`: A batch×cols, W rows×cols, Z batch×rows (row-major).
    @inline(__always)
    static func batchAffine(_ w: UnsafePointer<Double>, _ bias: UnsafePointer<Double>?, _ a: UnsafePointer<Double>,
                            batch: Int, rows: Int, cols: Int, scale c: Double, into z: UnsafeMutablePointer<Double>) {
        guard OpenBLAS.isAvailable else {
            for r in 0..<batch { affine(w, bias, a + r * cols, rows: rows, cols: cols, scale: c, into: z + r * rows) }
            return
        }
        OpenBLAS.gemm(transposeA: false, transposeB: true, m: batch, n: rows, k: cols, alpha: c,
                      a: a, lda: cols, b: w, ldb: cols, beta: 0, c: z, ldc: rows)
        if let bias {
            for r in 0..<batch { for k in 0..<rows { z[r * rows + k] += c * bias[k] } }
        }
    }

    /// `G += c Δᵀ A`: Δ batch×rows, A batch×cols, G rows×cols.
    @inline(__always)
    static func addBatchOuterProduct(_ delta: UnsafePointer<Double>, _ a: UnsafePointer<Double>, batch: Int,
                                     rows: Int, cols: Int, scale c: Double, into g: UnsafeMutablePointer<Double>) {
        guard OpenBLAS.isAvailable else {
            for r in 0..<batch { addOuterProduct(delta + r * rows, a + r * cols, rows: rows, cols: cols, scale: c, into: g) }
            return
        }
        OpenBLAS.gemm(transposeA: true, transposeB: false, m: rows, n: cols, k: batch, alpha: c,
                      a: delta, lda: rows, b: a, ldb: cols, beta: 1, c: g, ldc: cols)
    }

    /// `P = c Δ W`: Δ batch×rows, W rows×cols, P batch×cols (overwritten).
    @inline(__always)
    static func batchProduct(_ delta: UnsafePointer<Double>, _ w: UnsafePointer<Double>, batch: Int,
                             rows: Int, cols: Int, scale c: Double, into out: UnsafeMutablePointer<Double>) {
        guard OpenBLAS.isAvailable else {
            for e in 0..<(batch * cols) { out[e] = 0 }
            for r in 0..<batch { addTransposeProduct(w, delta + r * rows, rows: rows, cols: cols, scale: c, into: out + r * cols) }
            return
        }
        OpenBLAS.gemm(transposeA: false, transposeB: false, m: batch, n: cols, k: rows, alpha: c,
                      a: delta, lda: rows, b: w, ldb: cols, beta: 0, c: out, ldc: cols)
    }
}
