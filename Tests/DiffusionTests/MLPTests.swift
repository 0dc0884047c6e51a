import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// Exact derivatives of the MLP finite sum (backpropagation, R-operator, per-sample Hessian),
/// the sharpness knob, and the matrix-free curvature estimators against dense references.
@Suite struct MLPTests {
    /// A 2-hidden-layer network (p = 3, widths [4, 3]) on n = 5 fixed inputs, and a point:
    /// the Glorot initialisation plus U(−0.5, 0.5) on every entry (so biases are non-zero).
    static func network(loss: MLP.Loss, activation: MLP.Activation, bias: Bool, sharpness k: Double,
                        hidden: [Int] = [4, 3], seed: UInt64 = 7) -> (MLP, [Double]) {
        var rng = SplitMix64(seed: seed)
        let n = 5, p = 3
        let outputs = loss == .square ? 2 : 3
        let x = (0..<(n * p)).map { _ in rng.uniform(-1.5, 1.5) }
        let y = loss == .square ? (0..<(n * outputs)).map { _ in rng.uniform(-1, 1) }
                                : (0..<n).map { Double($0 % outputs) }
        let mlp = MLP(inputs: x, sampleCount: n, targets: y, hiddenWidths: hidden, outputs: outputs,
                      activation: activation, bias: bias, loss: loss, sharpness: k)
        var theta = mlp.initialParameters(seed: seed)
        for j in theta.indices { theta[j] += rng.uniform(-0.5, 0.5) / k.squareRoot() }
        return (mlp, theta)
    }

    static func gradient(_ f: MLP, _ theta: [Double]) -> [Double] {
        var g = [Double](repeating: 0, count: f.dimension)
        theta.withUnsafeBufferPointer { t in g.withUnsafeMutableBufferPointer { f.gradient(at: t.baseAddress!, into: $0.baseAddress!) } }
        return g
    }

    static func loss(_ f: MLP, _ theta: [Double]) -> Double {
        theta.withUnsafeBufferPointer { f.loss(at: $0.baseAddress!) }
    }

    static func hvp(_ f: MLP, _ theta: [Double], _ v: [Double], gaussNewton: Bool = false) -> [Double] {
        var hv = [Double](repeating: 0, count: f.dimension)
        theta.withUnsafeBufferPointer { t in
            v.withUnsafeBufferPointer { vb in
                hv.withUnsafeMutableBufferPointer {
                    if gaussNewton { f.gaussNewtonVectorProduct(at: t.baseAddress!, vector: vb.baseAddress!, into: $0.baseAddress!) }
                    else { f.hessianVectorProduct(at: t.baseAddress!, vector: vb.baseAddress!, into: $0.baseAddress!) }
                }
            }
        }
        return hv
    }

    static func denseHessian(_ f: MLP, _ theta: [Double]) -> [Double] {
        var h = [Double](repeating: 0, count: f.dimension * f.dimension)
        theta.withUnsafeBufferPointer { t in h.withUnsafeMutableBufferPointer { f.hessian(at: t.baseAddress!, into: $0.baseAddress!) } }
        return h
    }

    /// max |a − b| / max(1, max |b|).
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        let scale = max(1, b.map(abs).max() ?? 0)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    /// Smallest |z| over every hidden pre-activation of every sample (ReLU kinks at 0).
    static func smallestPreActivation(_ f: MLP, _ theta: [Double]) -> Double {
        var smallest = Double.infinity
        theta.withUnsafeBufferPointer { t in
            f.withWorkspace { ws in
                for i in 0..<f.sampleCount {
                    f.forward(i, t.baseAddress!, ws)
                    for l in 1..<f.layerCount { for r in 0..<f.layerSizes[l] {
                        smallest = min(smallest, abs(ws.pre[f.unitOffsets[l] + r]))
                    } }
                }
            }
        }
        return smallest
    }

    static let cases: [(MLP.Loss, MLP.Activation, Bool, Double)] = {
        var all: [(MLP.Loss, MLP.Activation, Bool, Double)] = []
        for loss in MLP.Loss.allCases { for a in MLP.Activation.allCases { for b in [false, true] { for k in [1.0, 3.0] {
            all.append((loss, a, b, k))
        } } } }
        return all
    }()

    /// Central differences with h = 1e-5: truncation h²/6·|f'''| ≲ 1e-9 and rounding
    /// ulp(L)/h ≈ 1e-11 for O(1)–O(10) derivatives, so 1e-6 relative leaves two orders.
    /// ReLU: the pre-activations must stay ≥ 1e-3 from the kink, far beyond a step's
    /// change c·h·‖a‖ ≲ 1e-4.
    @Test(arguments: 0..<24)
    func gradientMatchesFiniteDifferences(_ index: Int) {
        let (lossKind, activation, bias, k) = MLPTests.cases[index]
        let (f, theta) = MLPTests.network(loss: lossKind, activation: activation, bias: bias, sharpness: k)
        if activation == .relu { #expect(MLPTests.smallestPreActivation(f, theta) > 1e-3) }
        let g = MLPTests.gradient(f, theta)
        let h = 1e-5
        var fd = [Double](repeating: 0, count: f.dimension)
        for j in 0..<f.dimension {
            var plus = theta, minus = theta
            plus[j] += h; minus[j] -= h
            fd[j] = (MLPTests.loss(f, plus) - MLPTests.loss(f, minus)) / (2 * h)
        }
        let error = MLPTests.relativeError(g, fd)
        #expect(error <= 1e-6, "\(lossKind) \(activation) bias \(bias) k \(k): gradient error \(error)")
    }

    /// Hv against central differences of ∇L along v (h = 1e-5, the same budget as above), and
    /// against Σᵢ ∇²ℓᵢ v /n from the exact per-sample Hessians: the same sums in another order,
    /// so ≤ 1e-10 relative (rounding of O(d) terms of O(1)).
    @Test(arguments: 0..<24)
    func hessianVectorProductIsExact(_ index: Int) {
        let (lossKind, activation, bias, k) = MLPTests.cases[index]
        let (f, theta) = MLPTests.network(loss: lossKind, activation: activation, bias: bias, sharpness: k)
        let d = f.dimension
        var rng = SplitMix64(seed: 11)
        let v = (0..<d).map { _ in rng.uniform(-1, 1) }
        let hv = MLPTests.hvp(f, theta, v)
        let h = 1e-5
        let plus = zip(theta, v).map { $0 + h * $1 }, minus = zip(theta, v).map { $0 - h * $1 }
        let fd = zip(MLPTests.gradient(f, plus), MLPTests.gradient(f, minus)).map { ($0 - $1) / (2 * h) }
        let fdError = MLPTests.relativeError(hv, fd)
        #expect(fdError <= 1e-6, "\(lossKind) \(activation) bias \(bias) k \(k): Hv vs differences \(fdError)")
        let dense = MLPTests.denseHessian(f, theta)
        let denseHv = (0..<d).map { r in (0..<d).reduce(0.0) { $0 + dense[r * d + $1] * v[$1] } }
        let exactError = MLPTests.relativeError(hv, denseHv)
        #expect(exactError <= 1e-10, "\(lossKind) \(activation) bias \(bias) k \(k): Hv vs Σ∇²ℓᵢ v \(exactError)")
        // symmetric to rounding
        var asymmetry = 0.0
        for r in 0..<d { for c in 0..<r { asymmetry = max(asymmetry, abs(dense[r * d + c] - dense[c * d + r])) } }
        #expect(asymmetry <= 1e-12 * max(1, dense.map(abs).max()!))
    }

    /// The subset product over all indices equals the full product; over one index it equals
    /// that sample's Hessian product.
    @Test func subsetHessianVectorProduct() {
        let (f, theta) = MLPTests.network(loss: .crossEntropy, activation: .tanh, bias: true, sharpness: 2)
        let d = f.dimension
        var rng = SplitMix64(seed: 5)
        let v = (0..<d).map { _ in rng.uniform(-1, 1) }
        let all = Array(0..<f.sampleCount)
        var hv = [Double](repeating: 0, count: d), one = hv, reference = hv
        theta.withUnsafeBufferPointer { t in v.withUnsafeBufferPointer { vb in
            all.withUnsafeBufferPointer { s in hv.withUnsafeMutableBufferPointer {
                f.hessianVectorProduct(at: t.baseAddress!, vector: vb.baseAddress!, samples: s, into: $0.baseAddress!)
            } }
            [3].withUnsafeBufferPointer { s in one.withUnsafeMutableBufferPointer {
                f.hessianVectorProduct(at: t.baseAddress!, vector: vb.baseAddress!, samples: s, into: $0.baseAddress!)
            } }
            reference.withUnsafeMutableBufferPointer {
                f.addSampleHessianVectorProduct(3, at: t.baseAddress!, vector: vb.baseAddress!, scale: 1, into: $0.baseAddress!)
            }
        } }
        #expect(hv == MLPTests.hvp(f, theta, v))
        #expect(one == reference)
    }

    /// `L_k(θ) = L_1(√kθ)` and `H_k(θ)v = k·H_1(√kθ)v`: the same products with √k applied in a
    /// different place, so equal to a few ulps (1e-13 relative).
    @Test(arguments: [MLP.Loss.square, .crossEntropy])
    func sharpnessKnobScalesTheHessian(_ lossKind: MLP.Loss) {
        let k = 3.0
        let (fk, theta) = MLPTests.network(loss: lossKind, activation: .tanh, bias: true, sharpness: k)
        let (f1, _) = MLPTests.network(loss: lossKind, activation: .tanh, bias: true, sharpness: 1)
        let scaled = theta.map { $0 * k.squareRoot() }
        let lk = MLPTests.loss(fk, theta), l1 = MLPTests.loss(f1, scaled)
        #expect(abs(lk - l1) <= 1e-13 * max(1, abs(l1)))
        var rng = SplitMix64(seed: 3)
        let v = (0..<fk.dimension).map { _ in rng.uniform(-1, 1) }
        let hk = MLPTests.hvp(fk, theta, v), h1 = MLPTests.hvp(f1, scaled, v).map { k * $0 }
        #expect(MLPTests.relativeError(hk, h1) <= 1e-13)
        let gk = MLPTests.gradient(fk, theta), g1 = MLPTests.gradient(f1, scaled).map { k.squareRoot() * $0 }
        #expect(MLPTests.relativeError(gk, g1) <= 1e-13)
        // initialisation: the same network function for every k
        let init1 = f1.initialParameters(seed: 9), initK = fk.initialParameters(seed: 9)
        #expect(MLPTests.relativeError(initK.map { $0 * k.squareRoot() }, init1) <= 1e-15)
        #expect(initK == fk.initialParameters(seed: 9))
        // Glorot bound for the first layer, zero biases
        let limit = (6.0 / Double(3 + 4)).squareRoot()
        #expect(init1[0..<12].allSatisfy { abs($0) <= limit } && init1[12..<16].allSatisfy { $0 == 0 })
    }

    /// No hidden layer, one output, square loss, no bias: linear regression, `H = XᵀX/n` at
    /// every θ. Lanczos reaches the invariant Krylov space in ≤ d steps, so its top Ritz value
    /// equals GSL's dense eigenvalue to rounding (1e-8 relative asked; Lanczos with full
    /// reorthogonalisation is backward stable). Hutchinson with 400 probes lies within 3 of
    /// its own standard errors of the exact ‖H‖_F (fixed seed), and its exact path equals it
    /// to 1e-12.
    @Test func linearRegressionCurvatureIsExact() throws {
        var rng = SplitMix64(seed: 21)
        let n = 40, p = 12
        let x = (0..<(n * p)).map { j in rng.uniform(-1, 1) * (1 + Double(j % p)) / 4 }
        let y = (0..<n).map { _ in rng.uniform(-1, 1) }
        let f = MLP(inputs: x, sampleCount: n, targets: y, hiddenWidths: [], outputs: 1, activation: .tanh,
                    bias: false, loss: .square, sharpness: 1)
        #expect(f.dimension == p)
        let theta = (0..<p).map { _ in rng.uniform(-1, 1) }
        var gram = [Double](repeating: 0, count: p * p)
        for i in 0..<n { for r in 0..<p { for c in 0..<p {
            let term: Double = x[i * p + r] * x[i * p + c]
            gram[r * p + c] += term / Double(n)
        } } }
        #expect(MLPTests.relativeError(MLPTests.denseHessian(f, theta), gram) <= 1e-13)
        let dense = try TheoryNumerics.symmetricEigenvalues(gram, dimension: p).last!
        let top = f.topHessianEigenvalue(at: theta, seed: 1)
        #expect(top.converged)
        #expect(abs(top.value - dense) <= 1e-8 * dense, "Lanczos \(top.value) vs dense \(dense)")
        #expect(top.residual <= 1e-8 * dense)
        let frobenius = gram.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let exact = f.hessianFrobeniusNorm(at: theta, probes: nil)
        #expect(exact.exact && abs(exact.value - frobenius) <= 1e-12 * frobenius)
        let estimate = f.hessianFrobeniusNorm(at: theta, probes: 400, seed: 4)
        #expect(estimate.standardError > 0)
        #expect(abs(estimate.value - frobenius) <= 3 * estimate.standardError,
                "Hutchinson \(estimate.value) ± \(estimate.standardError) vs \(frobenius)")
    }

    /// Lanczos on a nonlinear network (tanh, cross-entropy and square, d = 43 and 44) against
    /// GSL's dense eigenvalues of the exact Hessian: 1e-8 relative.
    @Test(arguments: [MLP.Loss.square, .crossEntropy])
    func lanczosMatchesDenseEigenvalue(_ lossKind: MLP.Loss) throws {
        let (f, theta) = MLPTests.network(loss: lossKind, activation: .tanh, bias: true, sharpness: 2)
        let dense = try TheoryNumerics.symmetricEigenvalues(MLPTests.denseHessian(f, theta), dimension: f.dimension)
        let top = f.topHessianEigenvalue(at: theta, tolerance: 1e-12, seed: 2)
        let scale = dense.map(abs).max()!
        #expect(abs(top.value - dense.last!) <= 1e-8 * scale, "Lanczos \(top.value) vs dense \(dense.last!)")
        #expect(top.converged && top.iterations <= f.dimension)
    }

    /// Square loss (G Gauss–Newton, through `MLPScalarSquareLoss`) and cross-entropy (G := H): the exact
    /// matrix-free μ, Tr(ΣG) and ‖G‖_F equal `localGeometry`'s dense ones to 1e-9 relative
    /// (the same sums in another order). The sampled estimator (20 trace points, 300 probes,
    /// fixed seed) lies within 5 of its own standard errors (z = 5, STYLE) of the exact μ.
    @Test(arguments: [MLP.Loss.square, .crossEntropy])
    func alignmentMatchesLocalGeometry(_ lossKind: MLP.Loss) throws {
        var rng = SplitMix64(seed: 31)
        let n = 30, p = 3
        let x = (0..<(n * p)).map { _ in rng.uniform(-1.5, 1.5) }
        let outputs = lossKind == .square ? 1 : 3
        let y = lossKind == .square ? (0..<n).map { _ in rng.uniform(-1, 1) } : (0..<n).map { Double($0 % 3) }
        let f = MLP(inputs: x, sampleCount: n, targets: y, hiddenWidths: [5, 4], outputs: outputs, activation: .tanh,
                    bias: true, loss: lossKind, sharpness: 1.5)
        let theta = f.initialParameters(seed: 3).map { $0 + rng.uniform(-0.3, 0.3) }
        #expect((MLPScalarSquareLoss(f) != nil) == (lossKind == .square))
        let geometry = MLPScalarSquareLoss(f)?.localGeometry(at: theta) ?? f.localGeometry(at: theta)
        #expect(geometry.gaussNewtonIsHessian == (lossKind == .crossEntropy))
        let exact = f.alignment(at: theta, tracePoints: nil, probes: nil)
        let mu = try #require(geometry.alignment), estimated = try #require(exact.alignment)
        #expect(abs(estimated - mu) <= 1e-9 * abs(mu), "μ \(estimated) vs dense \(mu)")
        #expect(abs(exact.noiseCurvatureTrace - geometry.noiseCurvatureTrace) <= 1e-9 * abs(geometry.noiseCurvatureTrace))
        #expect(abs(exact.gaussNewtonFrobeniusNorm.value - geometry.gaussNewtonFrobeniusNorm)
                <= 1e-9 * geometry.gaussNewtonFrobeniusNorm)
        #expect(abs(exact.loss - geometry.loss) <= 1e-13 * geometry.loss)
        #expect(exact.standardError == 0)
        let sampled = f.alignment(at: theta, tracePoints: 20, probes: 300, seed: 8)
        let muHat = try #require(sampled.alignment), se = try #require(sampled.standardError)
        #expect(se > 0 && abs(muHat - mu) <= 5 * se, "sampled μ \(muHat) ± \(se) vs exact \(mu)")
        #expect(sampled == f.alignment(at: theta, tracePoints: 20, probes: 300, seed: 8))
    }

    /// Softmax property: Σ_k ∂ℓ/∂u_k = Σ_k (p_k − [k = y]) = 0, seen in the gradient of the
    /// output biases (∂ℓ/∂b_L = √k δ_L); rounding of O(1) terms: 1e-14.
    @Test func crossEntropyOutputBiasGradientSumsToZero() {
        let (f, theta) = MLPTests.network(loss: .crossEntropy, activation: .relu, bias: true, sharpness: 3)
        let outputBias = f.biasOffsets[f.layerCount - 1]
        for i in 0..<f.sampleCount {
            var g = [Double](repeating: 0, count: f.dimension)
            theta.withUnsafeBufferPointer { t in g.withUnsafeMutableBufferPointer {
                f.addSampleGradient(i, at: t.baseAddress!, scale: 1, into: $0.baseAddress!)
            } }
            let total = g[outputBias..<(outputBias + f.outputCount)].reduce(0, +)
            #expect(abs(total) <= 1e-14)
        }
    }

    /// Per-sample Gauss–Newton product against the dense JᵀJ v built from the output
    /// gradients (square loss, two outputs): 1e-12.
    @Test func gaussNewtonProductMatchesJacobian() {
        let (f, theta) = MLPTests.network(loss: .square, activation: .tanh, bias: true, sharpness: 2)
        let d = f.dimension, m = f.outputCount
        var rng = SplitMix64(seed: 13)
        let v = (0..<d).map { _ in rng.uniform(-1, 1) }
        var reference = [Double](repeating: 0, count: d)
        theta.withUnsafeBufferPointer { t in
            for i in 0..<f.sampleCount {
                for k in 0..<m {
                    var row = [Double](repeating: 0, count: d)
                    var e = [Double](repeating: 0, count: m); e[k] = 1
                    row.withUnsafeMutableBufferPointer { r in
                        f.addOutputVectorJacobianProduct(i, at: t.baseAddress!, cotangent: e, scale: 1, into: r.baseAddress!)
                    }
                    let jv = zip(row, v).reduce(0) { $0 + $1.0 * $1.1 }
                    for j in 0..<d { reference[j] += row[j] * jv / Double(f.sampleCount) }
                }
            }
        }
        #expect(MLPTests.relativeError(MLPTests.hvp(f, theta, v, gaussNewton: true), reference) <= 1e-12)
    }
}

extension MLPTests {
    /// The batched gradient (repeated indices included) against the sum of per-sample
    /// gradients: the same terms summed in another order, 1e-13 relative.
    @Test(arguments: [(MLP.Loss.square, MLP.Activation.tanh), (.crossEntropy, .relu), (.crossEntropy, .linear)])
    func batchGradientMatchesSampleGradients(_ lossKind: MLP.Loss, _ activation: MLP.Activation) {
        let (f, theta) = MLPTests.network(loss: lossKind, activation: activation, bias: true, sharpness: 2)
        let batch = [3, 0, 3, 4, 1, 1, 2]
        var batched = [Double](repeating: 0.5, count: f.dimension), reference = batched
        theta.withUnsafeBufferPointer { t in
            batch.withUnsafeBufferPointer { ib in batched.withUnsafeMutableBufferPointer {
                f.addBatchGradient(indices: ib.baseAddress!, count: ib.count, at: t.baseAddress!, scale: 0.25, into: $0.baseAddress!)
            } }
            reference.withUnsafeMutableBufferPointer { r in
                for i in batch { f.addSampleGradient(i, at: t.baseAddress!, scale: 0.25, into: r.baseAddress!) }
            }
        }
        #expect(MLPTests.relativeError(batched, reference) <= 1e-13)
    }

    /// Per-thread work spaces: products computed concurrently on 8 threads, and nested inside
    /// a held work space (the heap fallback), equal the serial ones bit for bit.
    @Test func workspacesAreThreadSafeAndReentrant() {
        let (f, theta) = MLPTests.network(loss: .crossEntropy, activation: .tanh, bias: true, sharpness: 2, hidden: [16, 8])
        let d = f.dimension
        var rng = SplitMix64(seed: 17)
        let v = (0..<d).map { _ in rng.uniform(-1, 1) }
        let serial = MLPTests.hvp(f, theta, v)
        let results = ResultsBox(count: 8)
        DispatchQueue.concurrentPerform(iterations: 8) { k in
            var out: [Double] = []
            for _ in 0..<20 { out = MLPTests.hvp(f, theta, v) }
            results.set(k, out)
        }
        for k in 0..<8 { #expect(results.get(k) == serial) }
        let nested = ThreadScratch.with(count: 10) { _ in MLPTests.hvp(f, theta, v) }
        #expect(nested == serial)
    }

    final class ResultsBox: @unchecked Sendable {
        private var values: [[Double]]
        private let lock = NSLock()
        init(count: Int) { values = Array(repeating: [], count: count) }
        func set(_ k: Int, _ value: [Double]) { lock.lock(); values[k] = value; lock.unlock() }
        func get(_ k: Int) -> [Double] { lock.lock(); defer { lock.unlock() }; return values[k] }
    }
}

extension MLPTests {
    /// The weighted batch gradient (the SDE's one-pass step, through OpenBLAS when present)
    /// equals Σ_r w_r·addSampleGradient over the same samples, with and without indices.
    @Test func weightedBatchGradientMatchesSampleGradients() {
        let n = 30
        let stream = RandomStream(key: StreamKey(seed: 21))
        let inputs = (0..<(4 * n)).map { _ in stream.normal() }
        let labels = (0..<n).map { _ in Double(Int(stream.uniform() * 3) % 3) }
        let mlp = MLP(inputs: inputs, sampleCount: n, targets: labels, hiddenWidths: [6, 5], outputs: 3,
                      activation: .tanh, bias: true, loss: .crossEntropy, sharpness: 2)
        let theta = mlp.initialParameters(seed: 4)
        let weights = (0..<n).map { _ in stream.normal() }
        let indices = (0..<n).map { ($0 * 7) % n }
        var batched = [Double](repeating: 0, count: mlp.dimension), reference = batched
        var byIndex = batched, referenceByIndex = batched
        theta.withUnsafeBufferPointer { t in
            let p = t.baseAddress!
            weights.withUnsafeBufferPointer { w in
                batched.withUnsafeMutableBufferPointer { mlp.addWeightedBatchGradient(indices: nil, weights: w.baseAddress!, count: n, at: p, scale: 0.5, into: $0.baseAddress!) }
                indices.withUnsafeBufferPointer { ix in
                    byIndex.withUnsafeMutableBufferPointer { mlp.addWeightedBatchGradient(indices: ix.baseAddress!, weights: w.baseAddress!, count: n, at: p, scale: 0.5, into: $0.baseAddress!) }
                }
            }
            for k in 0..<n {
                reference.withUnsafeMutableBufferPointer { mlp.addSampleGradient(k, at: p, scale: 0.5 * weights[k], into: $0.baseAddress!) }
                referenceByIndex.withUnsafeMutableBufferPointer { mlp.addSampleGradient(indices[k], at: p, scale: 0.5 * weights[k], into: $0.baseAddress!) }
            }
        }
        let norm = reference.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let error = zip(batched, reference).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let errorByIndex = zip(byIndex, referenceByIndex).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        #expect(error <= 1e-12 * norm && errorByIndex <= 1e-12 * norm, "\(error) \(errorByIndex) of \(norm)")
    }
}
