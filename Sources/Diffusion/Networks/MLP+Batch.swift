import Foundation

/// A minibatch gradient for one chain that processes the B samples together, layer by layer,
/// as matrix–matrix products (the same sums as B calls of `addSampleGradient`, in another
/// order). The products are plain loops in small functions, so a BLAS path can replace them.
extension MLP {
    /// `g += scale · Σ_{r<count} ∇ℓ_{indices[r]}(θ)` (repeated indices count with
    /// multiplicity; `scale = 1/B` gives the minibatch mean). With `A_l` the B×n_l activations,
    /// forward `Z_l = c(A_{l−1}W_lᵀ + 1b_lᵀ)`, backward `∂W_l = c Δ_lᵀ A_{l−1}`,
    /// `Δ_{l−1} = σ'(Z_{l−1}) ⊙ c Δ_l W_l` (the per-sample recursions of `MLP`, stacked).
    /// Cost O(B d); work space 3·B·Σ_l n_l doubles from this thread's reusable buffer.
    public func addBatchGradient(indices: UnsafePointer<Int>, count b: Int, at theta: UnsafePointer<Double>,
                                 scale s: Double, into g: UnsafeMutablePointer<Double>) {
        precondition(b >= 1)
        let t = totalUnits, lc = layerCount, c = scale, p = layerSizes[0], m = outputCount
        ThreadScratch.with(count: 3 * b * t) { base in
            let act = base, slope = base + b * t, delta = base + 2 * b * t
            inputs.withUnsafeBufferPointer { x in
                for r in 0..<b { for j in 0..<p { act[r * p + j] = x[indices[r] * p + j] } }
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
            for r in 0..<b {
                let u = act + oL + r * m, dL = delta + oL + r * m, i = indices[r]
                switch loss {
                case .square:
                    for k in 0..<m { dL[k] = u[k] - targets[i * m + k] }
                case .crossEntropy:
                    let lse = MLP.logSumExp(u, m)
                    for k in 0..<m { dL[k] = Foundation.exp(u[k] - lse) }
                    dL[Int(targets[i])] -= 1
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
    }

    /// `Z = c(A Wᵀ + 1bᵀ)`: A batch×cols, W rows×cols, Z batch×rows (row-major).
    @inline(__always)
    static func batchAffine(_ w: UnsafePointer<Double>, _ bias: UnsafePointer<Double>?, _ a: UnsafePointer<Double>,
                            batch: Int, rows: Int, cols: Int, scale c: Double, into z: UnsafeMutablePointer<Double>) {
        for r in 0..<batch { affine(w, bias, a + r * cols, rows: rows, cols: cols, scale: c, into: z + r * rows) }
    }

    /// `G += c Δᵀ A`: Δ batch×rows, A batch×cols, G rows×cols.
    @inline(__always)
    static func addBatchOuterProduct(_ delta: UnsafePointer<Double>, _ a: UnsafePointer<Double>, batch: Int,
                                     rows: Int, cols: Int, scale c: Double, into g: UnsafeMutablePointer<Double>) {
        for r in 0..<batch { addOuterProduct(delta + r * rows, a + r * cols, rows: rows, cols: cols, scale: c, into: g) }
    }

    /// `P = c Δ W`: Δ batch×rows, W rows×cols, P batch×cols (overwritten).
    @inline(__always)
    static func batchProduct(_ delta: UnsafePointer<Double>, _ w: UnsafePointer<Double>, batch: Int,
                             rows: Int, cols: Int, scale c: Double, into out: UnsafeMutablePointer<Double>) {
        for e in 0..<(batch * cols) { out[e] = 0 }
        for r in 0..<batch { addTransposeProduct(w, delta + r * rows, rows: rows, cols: cols, scale: c, into: out + r * cols) }
    }
}
