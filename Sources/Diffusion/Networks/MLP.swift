import Foundation

/// A fully connected multilayer perceptron as a finite sum `L(θ) = (1/n) Σᵢ ℓᵢ(θ)`, with
/// exact derivatives by backpropagation and exact, matrix-free Hessian–vector products by
/// Pearlmutter's R-operator (docs/THEORY.md §7).
///
/// **Layers.** Sizes `layerSizes = [n₀ = p, n₁, …, n_L = outputs]`. With `c = √k`,
/// `a₀ = x`, `z_l = c·(W_l a_{l−1} + b_l)`, `a_l = σ(z_l)` for `l < L`, and the output
/// `u = z_L` (no activation on the last layer).
///
/// **Parameter layout.** For l = 1…L in order: `W_l` (n_l × n_{l−1}, row-major), then `b_l`
/// (n_l entries) when `bias`. `d = Σ_l n_l n_{l−1} (+ n_l)`.
///
/// **Sharpness knob** k > 0 (Ibayashi & Imaizumi, "Exponential escape efficiency of SGD from
/// sharp minima in non-stationary regime", 2022): the network evaluates `√k·θ`, so
/// `L_k(θ) = L_1(√k θ)` — the same set of functions, every minimum moved to `θ*/√k`, with
/// `∇L_k(θ) = √k ∇L_1(√kθ)` and `H_k(θ) = k·H_1(√kθ)`: all curvatures scale by k.
///
/// **Losses.** `square`: `ℓᵢ = ½‖uᵢ − yᵢ‖²` (targets n×outputs row-major).
/// `crossEntropy`: `ℓᵢ = logsumexp(uᵢ) − uᵢ[yᵢ]`, evaluated as `m + log Σ exp(u − m)`,
/// `m = max u` (targets: n class indices in 0..<outputs stored as Double).
///
/// **Derivatives.** Backpropagation with `δ_L = ∂ℓ/∂u` (square: `u − y`; cross-entropy:
/// `softmax(u) − e_y`), `∂ℓ/∂W_l = c δ_l a_{l−1}ᵀ`, `∂ℓ/∂b_l = c δ_l`,
/// `δ_{l−1} = σ'(z_{l−1}) ⊙ c W_lᵀ δ_l`. The Hessian–vector product applies the R-operator
/// `R{·} = ∂/∂r (·)(θ + r v)|₀` to the forward and backward passes (Pearlmutter, "Fast exact
/// multiplication by the Hessian", Neural Computation 6, 1994): exact, O(d) per sample,
/// no d×d memory. For ReLU, `σ'' = 0` and `σ'(0) = 0`: derivatives are the almost-everywhere
/// ones.
///
/// **Threads.** All methods are non-mutating and reentrant: each call takes its per-sample
/// work space (9 Σ_l n_l doubles) from a buffer owned by the calling thread (`ThreadScratch`),
/// so in steady state the per-sample loss, gradient and Hessian–vector product do not touch
/// the heap (checked with heaptrack: 0 allocations per call).
public struct MLP: FiniteSum, Sendable {
    public enum Loss: String, Sendable, CaseIterable {
        case square
        case crossEntropy = "cross-entropy"
    }

    public typealias Activation = TwoLayerNetwork.Activation

    /// `[p, h₁, …, outputs]`.
    public let layerSizes: [Int]
    public let dimension: Int
    public let sampleCount: Int
    public let activation: Activation
    public let bias: Bool
    public let loss: Loss
    /// k in `L_k(θ) = L_1(√k θ)`.
    public let sharpness: Double
    /// n×p row-major.
    public let inputs: [Double]
    /// square: n×outputs row-major; cross-entropy: n class indices.
    public let targets: [Double]

    /// √k.
    let scale: Double
    /// Offset of W_l in θ, l = 1…L at index l − 1.
    let weightOffsets: [Int]
    /// Offset of b_l in θ (−1 without bias), index l − 1.
    let biasOffsets: [Int]
    /// Offset of layer l's units in a per-sample unit buffer, l = 0…L.
    let unitOffsets: [Int]
    /// Σ_{l=0}^{L} n_l.
    let totalUnits: Int

    /// Parameters at most this count for `addSampleHessian` (d products of cost O(d) each,
    /// plus d² output).
    public static let sampleHessianDimensionLimit = 4096

    /// `experiment` component of the stream key of `initialParameters(seed:)`: 0x4D4C50 ("MLP").
    public static let initialisationExperiment = 0x4D_4C50

    public init(inputs: [Double], sampleCount n: Int, targets: [Double], hiddenWidths: [Int], outputs: Int,
                activation: Activation, bias: Bool, loss: Loss, sharpness k: Double) {
        precondition(n >= 1 && !inputs.isEmpty && inputs.count % n == 0, "inputs must hold n×p values, p ≥ 1")
        let p = inputs.count / n
        precondition(outputs >= 1 && hiddenWidths.allSatisfy { $0 >= 1 }, "layer widths must be ≥ 1")
        precondition(k > 0 && k.isFinite, "sharpness must be > 0, got \(k)")
        switch loss {
        case .square:
            precondition(targets.count == n * outputs, "square loss needs n×outputs targets")
        case .crossEntropy:
            precondition(targets.count == n, "cross-entropy needs n class indices")
            precondition(targets.allSatisfy { $0 >= 0 && $0 < Double(outputs) && $0 == $0.rounded() },
                         "class indices must be integers in 0..<\(outputs)")
        }
        let sizes = [p] + hiddenWidths + [outputs]
        var offset = 0
        var weights: [Int] = [], biases: [Int] = []
        for l in 1..<sizes.count {
            weights.append(offset)
            offset += sizes[l] * sizes[l - 1]
            biases.append(bias ? offset : -1)
            if bias { offset += sizes[l] }
        }
        var units: [Int] = [], total = 0
        for s in sizes { units.append(total); total += s }
        layerSizes = sizes
        dimension = offset
        sampleCount = n
        self.activation = activation
        self.bias = bias
        self.loss = loss
        sharpness = k
        self.inputs = inputs
        self.targets = targets
        scale = k.squareRoot()
        weightOffsets = weights
        biasOffsets = biases
        unitOffsets = units
        totalUnits = total
    }

    /// Number of weight layers L.
    public var layerCount: Int { layerSizes.count - 1 }
    public var inputDimension: Int { layerSizes[0] }
    public var outputCount: Int { layerSizes[layerSizes.count - 1] }

    /// Glorot-uniform weights `U(−√(6/(n_in+n_out)), +√(6/(n_in+n_out)))` (Glorot & Bengio,
    /// AISTATS 2010) and zero biases, divided by √k so that the network function at
    /// initialisation does not depend on k. Drawn in layout order from
    /// `RandomStream(key: StreamKey(seed: seed, experiment: MLP.initialisationExperiment))`.
    public func initialParameters(seed: UInt64) -> [Double] {
        let stream = RandomStream(key: StreamKey(seed: seed, experiment: MLP.initialisationExperiment))
        var theta = [Double](repeating: 0, count: dimension)
        for l in 1...layerCount {
            let rows = layerSizes[l], cols = layerSizes[l - 1]
            let limit = (6 / Double(rows + cols)).squareRoot()
            let w = weightOffsets[l - 1]
            for j in 0..<(rows * cols) { theta[w + j] = limit * (2 * stream.uniform() - 1) / scale }
        }
        return theta
    }

    // MARK: - Layer products (isolated so a BLAS path can replace them)

    /// `z = c·(W x + b)`, W rows×cols row-major; `b` may be nil.
    @inline(__always)
    static func affine(_ w: UnsafePointer<Double>, _ b: UnsafePointer<Double>?, _ x: UnsafePointer<Double>,
                       rows: Int, cols: Int, scale c: Double, into z: UnsafeMutablePointer<Double>) {
        for r in 0..<rows {
            var s = b?[r] ?? 0
            let row = w + r * cols
            for j in 0..<cols { s += row[j] * x[j] }
            z[r] = c * s
        }
    }

    /// `out += c·Wᵀ δ`, W rows×cols row-major.
    @inline(__always)
    static func addTransposeProduct(_ w: UnsafePointer<Double>, _ delta: UnsafePointer<Double>,
                                    rows: Int, cols: Int, scale c: Double, into out: UnsafeMutablePointer<Double>) {
        for r in 0..<rows {
            let f = c * delta[r]
            if f == 0 { continue }
            let row = w + r * cols
            for j in 0..<cols { out[j] += f * row[j] }
        }
    }

    /// `g += c·δ aᵀ` (rows×cols row-major).
    @inline(__always)
    static func addOuterProduct(_ delta: UnsafePointer<Double>, _ a: UnsafePointer<Double>,
                                rows: Int, cols: Int, scale c: Double, into g: UnsafeMutablePointer<Double>) {
        for r in 0..<rows {
            let f = c * delta[r]
            if f == 0 { continue }
            let row = g + r * cols
            for j in 0..<cols { row[j] += f * a[j] }
        }
    }

    // MARK: - Per-sample passes on a work space

    /// Doubles of work space one sample needs: 9 unit buffers (a, z, σ', σ'', δ, R{a}, R{z},
    /// R{δ}, temporary).
    var workspaceCount: Int { 9 * totalUnits }

    /// Runs `body` with a work space of `workspaceCount` doubles and `extra` more after it,
    /// from this thread's reusable buffer (`ThreadScratch`: no heap allocation in steady state).
    @inline(__always)
    func withWorkspace<R>(extra: Int = 0, _ body: (Workspace, UnsafeMutablePointer<Double>) -> R) -> R {
        let count = workspaceCount
        return ThreadScratch.with(count: count + extra) { base in
            body(Workspace(base: base, units: totalUnits), base + count)
        }
    }

    @inline(__always)
    func withWorkspace<R>(_ body: (Workspace) -> R) -> R {
        withWorkspace(extra: 0) { ws, _ in body(ws) }
    }

    struct Workspace {
        let activations, pre, slope, curvature, delta, rActivations, rPre, rDelta, temporary: UnsafeMutablePointer<Double>
        init(base: UnsafeMutablePointer<Double>, units t: Int) {
            activations = base; pre = base + t; slope = base + 2 * t; curvature = base + 3 * t
            delta = base + 4 * t; rActivations = base + 5 * t; rPre = base + 6 * t; rDelta = base + 7 * t
            temporary = base + 8 * t
        }
    }

    /// Forward pass of sample i: a_l, z_l, σ'(z_l), σ''(z_l) for l < L, and u = z_L stored as
    /// the activations of layer L.
    func forward(_ i: Int, _ theta: UnsafePointer<Double>, _ ws: Workspace) {
        let p = layerSizes[0], lc = layerCount
        inputs.withUnsafeBufferPointer { x in
            for j in 0..<p { ws.activations[j] = x[i * p + j] }
        }
        for l in 1...lc {
            let rows = layerSizes[l], cols = layerSizes[l - 1]
            let o = unitOffsets[l], oPrev = unitOffsets[l - 1]
            let b: UnsafePointer<Double>? = bias ? theta + biasOffsets[l - 1] : nil
            MLP.affine(theta + weightOffsets[l - 1], b, ws.activations + oPrev, rows: rows, cols: cols, scale: scale,
                       into: ws.pre + o)
            if l < lc {
                for r in 0..<rows {
                    (ws.activations[o + r], ws.slope[o + r], ws.curvature[o + r]) = activation.evaluate(ws.pre[o + r])
                }
            } else {
                for r in 0..<rows { ws.activations[o + r] = ws.pre[o + r] }
            }
        }
    }

    /// ℓᵢ from the output u after `forward`.
    func sampleLoss(_ i: Int, output u: UnsafePointer<Double>) -> Double {
        let m = outputCount
        switch loss {
        case .square:
            var s = 0.0
            for k in 0..<m { let r = u[k] - targets[i * m + k]; s += r * r }
            return 0.5 * s
        case .crossEntropy:
            return MLP.logSumExp(u, m) - u[Int(targets[i])]
        }
    }

    @inline(__always)
    static func logSumExp(_ u: UnsafePointer<Double>, _ m: Int) -> Double {
        var top = u[0]
        for k in 1..<max(m, 1) where u[k] > top { top = u[k] }
        var s = 0.0
        for k in 0..<m { s += Foundation.exp(u[k] - top) }
        return top + Foundation.log(s)
    }

    /// δ_L = ∂ℓ/∂u into `ws.delta` at layer L (after `forward`); for cross-entropy the softmax
    /// p is left in `ws.temporary` at layer L's offset.
    func outputDelta(_ i: Int, _ ws: Workspace) {
        let m = outputCount, o = unitOffsets[layerCount]
        let u = ws.activations + o, delta = ws.delta + o
        switch loss {
        case .square:
            for k in 0..<m { delta[k] = u[k] - targets[i * m + k] }
        case .crossEntropy:
            let lse = MLP.logSumExp(u, m)
            let p = ws.temporary + o
            for k in 0..<m { p[k] = Foundation.exp(u[k] - lse); delta[k] = p[k] }
            delta[Int(targets[i])] -= 1
        }
    }

    /// Backward pass from `ws.delta` at layer L: fills δ_l for every layer and, when `g` is
    /// given, adds `s·∂ℓ/∂θ` (for the chosen δ_L) to g. With δ_L = e_k this is the k-th row
    /// of the output Jacobian (a vector–Jacobian product).
    func backward(_ theta: UnsafePointer<Double>, _ ws: Workspace, scale s: Double, into g: UnsafeMutablePointer<Double>?) {
        let c = scale
        for l in stride(from: layerCount, through: 1, by: -1) {
            let rows = layerSizes[l], cols = layerSizes[l - 1]
            let o = unitOffsets[l], oPrev = unitOffsets[l - 1]
            if let g {
                MLP.addOuterProduct(ws.delta + o, ws.activations + oPrev, rows: rows, cols: cols, scale: s * c,
                                    into: g + weightOffsets[l - 1])
                if bias {
                    let gb = g + biasOffsets[l - 1]
                    for r in 0..<rows { gb[r] += s * c * ws.delta[o + r] }
                }
            }
            if l > 1 {
                let prev = ws.delta + oPrev
                for j in 0..<cols { prev[j] = 0 }
                MLP.addTransposeProduct(theta + weightOffsets[l - 1], ws.delta + o, rows: rows, cols: cols, scale: c,
                                        into: prev)
                for j in 0..<cols { prev[j] *= ws.slope[oPrev + j] }
            }
        }
    }

    /// R-forward pass along v (after `forward`): R{z_l}, R{a_l}; R{u} = R{z_L} is the
    /// Jacobian–vector product J v.
    func rForward(_ theta: UnsafePointer<Double>, _ v: UnsafePointer<Double>, _ ws: Workspace) {
        let c = scale, lc = layerCount
        for j in 0..<layerSizes[0] { ws.rActivations[j] = 0 }
        for l in 1...lc {
            let rows = layerSizes[l], cols = layerSizes[l - 1]
            let o = unitOffsets[l], oPrev = unitOffsets[l - 1]
            // R{z_l} = c (V_l a_{l−1} + W_l R{a_{l−1}} + v_b)
            let vb: UnsafePointer<Double>? = bias ? v + biasOffsets[l - 1] : nil
            MLP.affine(v + weightOffsets[l - 1], vb, ws.activations + oPrev, rows: rows, cols: cols, scale: c,
                       into: ws.rPre + o)
            if l > 1 {
                let w = theta + weightOffsets[l - 1], ra = ws.rActivations + oPrev
                for r in 0..<rows {
                    var t = 0.0
                    let row = w + r * cols
                    for j in 0..<cols { t += row[j] * ra[j] }
                    ws.rPre[o + r] += c * t
                }
            }
            if l < lc {
                for r in 0..<rows { ws.rActivations[o + r] = ws.slope[o + r] * ws.rPre[o + r] }
            } else {
                for r in 0..<rows { ws.rActivations[o + r] = ws.rPre[o + r] }
            }
        }
    }

    /// R{δ_L} = (∂²ℓ/∂u²) R{u} into `ws.rDelta` at layer L (after `outputDelta` and `rForward`).
    /// Square: the identity. Cross-entropy: `(diag p − p pᵀ) R{u} = p ⊙ (R{u} − pᵀR{u})`.
    func outputRDelta(_ ws: Workspace) {
        let m = outputCount, o = unitOffsets[layerCount]
        let ru = ws.rPre + o, rd = ws.rDelta + o
        switch loss {
        case .square:
            for k in 0..<m { rd[k] = ru[k] }
        case .crossEntropy:
            let p = ws.temporary + o
            var mean = 0.0
            for k in 0..<m { mean += p[k] * ru[k] }
            for k in 0..<m { rd[k] = p[k] * (ru[k] - mean) }
        }
    }

    /// R-backward pass (after `forward`, `outputDelta`, `backward`, `rForward`, `outputRDelta`):
    /// adds `s·H_i v` to hv, or `s·J_iᵀ (∂²ℓ/∂u²) J_i v` (generalised Gauss–Newton, Schraudolph
    /// 2002) when `gaussNewton`, which drops every term carrying δ or σ''.
    func rBackward(_ theta: UnsafePointer<Double>, _ v: UnsafePointer<Double>, _ ws: Workspace, gaussNewton: Bool,
                   scale s: Double, into hv: UnsafeMutablePointer<Double>) {
        let c = scale
        for l in stride(from: layerCount, through: 1, by: -1) {
            let rows = layerSizes[l], cols = layerSizes[l - 1]
            let o = unitOffsets[l], oPrev = unitOffsets[l - 1]
            let hw = hv + weightOffsets[l - 1]
            // R{∂W_l} = c (R{δ_l} a_{l−1}ᵀ + δ_l R{a_{l−1}}ᵀ)
            MLP.addOuterProduct(ws.rDelta + o, ws.activations + oPrev, rows: rows, cols: cols, scale: s * c, into: hw)
            if !gaussNewton && l > 1 {
                MLP.addOuterProduct(ws.delta + o, ws.rActivations + oPrev, rows: rows, cols: cols, scale: s * c, into: hw)
            }
            if bias {
                let hb = hv + biasOffsets[l - 1]
                for r in 0..<rows { hb[r] += s * c * ws.rDelta[o + r] }
            }
            if l > 1 {
                // R{δ_{l−1}} = σ'' R{z} ⊙ (c Wᵀδ) + σ' ⊙ (c Vᵀδ + c Wᵀ R{δ})
                let t = ws.temporary + oPrev, rPrev = ws.rDelta + oPrev
                for j in 0..<cols { rPrev[j] = 0 }
                MLP.addTransposeProduct(theta + weightOffsets[l - 1], ws.rDelta + o, rows: rows, cols: cols, scale: c,
                                        into: rPrev)
                if !gaussNewton {
                    MLP.addTransposeProduct(v + weightOffsets[l - 1], ws.delta + o, rows: rows, cols: cols, scale: c,
                                            into: rPrev)
                    for j in 0..<cols { t[j] = 0 }
                    MLP.addTransposeProduct(theta + weightOffsets[l - 1], ws.delta + o, rows: rows, cols: cols, scale: c,
                                            into: t)
                }
                for j in 0..<cols {
                    var value = ws.slope[oPrev + j] * rPrev[j]
                    if !gaussNewton { value += ws.curvature[oPrev + j] * ws.rPre[oPrev + j] * t[j] }
                    rPrev[j] = value
                }
            }
        }
    }

    /// `hv += s·H_i v` (or the Gauss–Newton product) for sample i on a work space.
    func addSampleCurvatureProduct(_ i: Int, _ theta: UnsafePointer<Double>, _ v: UnsafePointer<Double>,
                                   _ ws: Workspace, gaussNewton: Bool, scale s: Double,
                                   into hv: UnsafeMutablePointer<Double>) {
        forward(i, theta, ws)
        outputDelta(i, ws)
        if !gaussNewton { backward(theta, ws, scale: 1, into: nil) }
        rForward(theta, v, ws)
        outputRDelta(ws)
        rBackward(theta, v, ws, gaussNewton: gaussNewton, scale: s, into: hv)
    }

    // MARK: - FiniteSum

    public func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        withWorkspace { ws in
            forward(i, theta, ws)
            return sampleLoss(i, output: ws.activations + unitOffsets[layerCount])
        }
    }

    /// g += scale·∇ℓᵢ(θ), by backpropagation: one forward and one backward pass, O(d).
    public func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        withWorkspace { ws in
            forward(i, theta, ws)
            outputDelta(i, ws)
            backward(theta, ws, scale: scale, into: g)
        }
    }

    /// h += scale·∇²ℓᵢ(θ) (row-major d×d), exact: row j is the R-operator product `∇²ℓᵢ e_j`
    /// (d passes of cost O(d) each, O(d²) in all). Requires d ≤ `sampleHessianDimensionLimit`.
    /// Rows agree with columns to rounding (the Hessian is symmetric only up to it).
    public func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                 into h: UnsafeMutablePointer<Double>) {
        let d = dimension
        precondition(d <= MLP.sampleHessianDimensionLimit,
                     "addSampleHessian needs d ≤ \(MLP.sampleHessianDimensionLimit), got \(d)")
        withWorkspace(extra: d) { ws, e in
            for j in 0..<d { e[j] = 0 }
            forward(i, theta, ws)
            outputDelta(i, ws)
            backward(theta, ws, scale: 1, into: nil)
            for j in 0..<d {
                e[j] = 1
                rForward(theta, e, ws)
                outputRDelta(ws)
                rBackward(theta, e, ws, gaussNewton: false, scale: scale, into: h + j * d)
                e[j] = 0
            }
        }
    }

    // MARK: - Outputs and products

    /// The network output uᵢ(θ) (`outputCount` values) into u.
    public func output(_ i: Int, at theta: UnsafePointer<Double>, into u: UnsafeMutablePointer<Double>) {
        withWorkspace { ws in
            forward(i, theta, ws)
            let o = unitOffsets[layerCount]
            for k in 0..<outputCount { u[k] = ws.activations[o + k] }
        }
    }

    /// `g += scale·Jᵢᵀ w`, Jᵢ = ∂uᵢ/∂θ (outputCount × d): a vector–Jacobian product, one
    /// backward pass with δ_L = w. With w = e_k it adds ∇u_{i,k}.
    public func addOutputVectorJacobianProduct(_ i: Int, at theta: UnsafePointer<Double>,
                                               cotangent w: UnsafePointer<Double>, scale: Double,
                                               into g: UnsafeMutablePointer<Double>) {
        withWorkspace { ws in
            forward(i, theta, ws)
            let o = unitOffsets[layerCount]
            for k in 0..<outputCount { ws.delta[o + k] = w[k] }
            backward(theta, ws, scale: scale, into: g)
        }
    }

    /// `hv += scale·∇²ℓᵢ(θ) v`, exact (Pearlmutter's R-operator), O(d), no heap allocation.
    public func addSampleHessianVectorProduct(_ i: Int, at theta: UnsafePointer<Double>, vector v: UnsafePointer<Double>,
                                              scale: Double, into hv: UnsafeMutablePointer<Double>) {
        withWorkspace { ws in addSampleCurvatureProduct(i, theta, v, ws, gaussNewton: false, scale: scale, into: hv) }
    }

    /// `gv += scale·Jᵢᵀ (∂²ℓ/∂u²) Jᵢ v`: a Jacobian–vector product (R-forward) then a
    /// vector–Jacobian product (backward). For square loss `∂²ℓ/∂u² = I`: `JᵢᵀJᵢ v`.
    public func addSampleGaussNewtonVectorProduct(_ i: Int, at theta: UnsafePointer<Double>,
                                                  vector v: UnsafePointer<Double>, scale: Double,
                                                  into gv: UnsafeMutablePointer<Double>) {
        withWorkspace { ws in addSampleCurvatureProduct(i, theta, v, ws, gaussNewton: true, scale: scale, into: gv) }
    }

    /// `hv = ∇²L(θ) v = (1/n) Σᵢ ∇²ℓᵢ(θ) v`, exact: n R-operator passes, O(n d), no d×d memory.
    public func hessianVectorProduct(at theta: UnsafePointer<Double>, vector v: UnsafePointer<Double>,
                                     into hv: UnsafeMutablePointer<Double>) {
        curvatureProduct(at: theta, vector: v, samples: nil, gaussNewton: false, into: hv)
    }

    /// `hv = (1/|S|) Σ_{i∈S} ∇²ℓᵢ(θ) v` over the listed samples (a minibatch Hessian product;
    /// repeated indices count with multiplicity).
    public func hessianVectorProduct(at theta: UnsafePointer<Double>, vector v: UnsafePointer<Double>,
                                     samples: UnsafeBufferPointer<Int>, into hv: UnsafeMutablePointer<Double>) {
        curvatureProduct(at: theta, vector: v, samples: samples, gaussNewton: false, into: hv)
    }

    /// `gv = G v`, `G = (1/n) Σᵢ Jᵢᵀ (∂²ℓ/∂u²) Jᵢ` the (generalised) Gauss–Newton matrix; for
    /// square loss `G = (1/n) Σ JᵢᵀJᵢ` of Wu, Wang & Su (docs/THEORY.md §3). O(n d).
    public func gaussNewtonVectorProduct(at theta: UnsafePointer<Double>, vector v: UnsafePointer<Double>,
                                         into gv: UnsafeMutablePointer<Double>) {
        curvatureProduct(at: theta, vector: v, samples: nil, gaussNewton: true, into: gv)
    }

    func curvatureProduct(at theta: UnsafePointer<Double>, vector v: UnsafePointer<Double>,
                          samples: UnsafeBufferPointer<Int>?, gaussNewton: Bool, into hv: UnsafeMutablePointer<Double>) {
        for j in 0..<dimension { hv[j] = 0 }
        withWorkspace { ws in
            if let samples {
                precondition(!samples.isEmpty)
                let w = 1 / Double(samples.count)
                for i in samples { addSampleCurvatureProduct(i, theta, v, ws, gaussNewton: gaussNewton, scale: w, into: hv) }
            } else {
                let w = 1 / Double(sampleCount)
                for i in 0..<sampleCount {
                    addSampleCurvatureProduct(i, theta, v, ws, gaussNewton: gaussNewton, scale: w, into: hv)
                }
            }
        }
    }
}

extension MLP {
    /// The same network and data with sharpness `k` (Ibayashi & Imaizumi's knob).
    public func withSharpness(_ k: Double) -> MLP {
        MLP(inputs: inputs, sampleCount: sampleCount, targets: targets, hiddenWidths: Array(layerSizes.dropFirst().dropLast()),
            outputs: outputCount, activation: activation, bias: bias, loss: loss, sharpness: k)
    }
}
