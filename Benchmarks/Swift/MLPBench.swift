import Foundation
import Diffusion

// 5. The network ensemble (issue 14): P SGD chains of one MLP (ReLU, biases, softmax
//    cross-entropy, minibatches with replacement) through the production engine
//    (EnsembleSimulator, sgd on a finite sum: each chain's batch gradient by
//    MLP.addWeightedBatchGradient through OpenBLAS), one thread, the exit test
//    ‖θ − θ₀‖ ≥ r after every step with r out of reach so every chain runs `steps` steps.
//    Its NumPy peer is Benchmarks/mlp_numpy.py. Also OpenBLAS's one-core dgemm rate on
//    1024×1024 matrices, against which the large network's flop rate is read.

/// Flops of one SGD step of one chain: forward 2B·Σ n_l n_{l−1}, backward 2B·Σ n_l n_{l−1}
/// for the weight gradients and 2B·Σ_{l≥2} n_l n_{l−1} for the deltas (the inputs need none).
func mlpStepFlops(_ sizes: [Int], batch: Int) -> Double {
    var weights = 0, deltas = 0
    for l in 1..<sizes.count {
        weights += sizes[l] * sizes[l - 1]
        if l >= 2 { deltas += sizes[l] * sizes[l - 1] }
    }
    return Double(2 * batch * (2 * weights + deltas))
}

@MainActor func mlpEnsemble() throws {
    let steps = option("--mlp-steps", 50)
    let n = 1024
    let configs: [(name: String, p: Int, hidden: [Int], classes: Int, batch: Int, chains: Int)] = [
        ("small", 13, [40], 3, 8, option("--mlp-small-chains", 1000)),
        ("large", 64, [384, 192], 10, 64, option("--mlp-large-chains", 16)),
    ]
    for config in configs {
        let stream = RandomStream(key: StreamKey(seed: 7))
        let inputs = (0..<(n * config.p)).map { _ in stream.normal() }
        let labels = (0..<n).map { _ in Double(Int(stream.uniform() * Double(config.classes)) % config.classes) }
        let mlp = MLP(inputs: inputs, sampleCount: n, targets: labels, hiddenWidths: config.hidden, outputs: config.classes,
                      activation: .relu, bias: true, loss: .crossEntropy, sharpness: 1)
        let landscape = Landscape(finiteSum: mlp, summary: "benchmark MLP")
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgd(learningRate: 0.01, batchSize: config.batch, noise: .finiteSum, withReplacement: true),
                                      dt: 0.01, start: mlp.initialParameters(seed: 1), exit: .distanceFromStart(1e9),
                                      maxSteps: steps)
        let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .step))
        var fastest = Double.infinity
        for r in 0..<repeats {
            let t = seconds { _ = simulator.run(paths: config.chains, seed: UInt64(r + 1), threads: 1) }
            fastest = min(fastest, t)
        }
        let work = Double(config.chains * steps)
        let sizes = [config.p] + config.hidden + [config.classes]
        let flops = mlpStepFlops(sizes, batch: config.batch) * work / fastest
        print("{\"name\": \"mlp-ensemble\", \"network\": \"\(config.name)\", \"sizes\": \(sizes), \"parameters\": \(mlp.dimension), \"batch\": \(config.batch), \"chains\": \(config.chains), \"steps\": \(steps), \"seconds\": \(fastest), \"replica_iterations_per_second\": \(work / fastest), \"flops_per_second\": \(flops), \"samples\": \(n)}")
    }
    // OpenBLAS's own dgemm rate, one thread, 1024×1024×1024
    let size = 1024
    let a = UnsafeMutablePointer<Double>.allocate(capacity: size * size)
    let b = UnsafeMutablePointer<Double>.allocate(capacity: size * size)
    let c = UnsafeMutablePointer<Double>.allocate(capacity: size * size)
    for i in 0..<(size * size) { a[i] = Double(i % 7) * 0.1; b[i] = Double(i % 5) * 0.2; c[i] = 0 }
    var best = Double.infinity
    for _ in 0..<max(repeats, 3) {
        best = min(best, seconds {
            OpenBLAS.gemm(transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1,
                          a: a, lda: size, b: b, ldb: size, beta: 0, c: c, ldc: size)
        })
    }
    print("{\"name\": \"openblas-dgemm\", \"size\": \(size), \"seconds\": \(best), \"flops_per_second\": \(2 * pow(Double(size), 3) / best), \"core\": \"\(OpenBLAS.coreName)\", \"checksum\": \(c[size * size / 2])}")
    a.deallocate(); b.deallocate(); c.deallocate()
}
