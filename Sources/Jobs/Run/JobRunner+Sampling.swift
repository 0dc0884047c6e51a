import Foundation
import Diffusion

/// Monte Carlo cells that estimate no exit time: `method = "convergence"` (fixed-horizon SGD
/// on a finite sum: where the paths end, how many diverge, the geometry of the end points)
/// and `method = "tail-index"` (the tail index of the minibatch gradient noise at the start).
extension JobRunner {
    struct SamplingCell {
        let estimate: ExitTimeEstimate
        let quantities: [(String, Double)]
        let samples: ExitSamples
        let maxSteps: Int
    }

    func samplingCell(experiment e: Int, cell c: Int, problem: ExitProblem, paths: Int) throws(SpecError) -> SamplingCell {
        let experiment = spec.experiments[e]
        let values = experiment.cellParameters(c)
        func value(_ key: String) -> Double? { values.first { $0.key == key }?.value }
        func failed(_ error: Error) -> SpecError {
            SpecError("experiment[\(e + 1)]: \(error) (experiment '\(experiment.name)', cell \(c + 1))")
        }
        guard case .sgd(let eta, let batch, let noise, let replacement) = problem.dynamics else {
            throw failed(DynamicsError("method \"\(experiment.method)\" needs dynamics \"sgd\""))
        }
        let d = problem.landscape.dimension
        let terms = problem.exitTerms.count

        if experiment.method == "tail-index" {
            let stream = RandomStream(key: StreamKey(seed: spec.seed, experiment: e, cell: c))
            let draws: [Double]
            let source: String
            if case .finiteSum = noise {
                let sum = problem.landscape.finiteSum!
                if !replacement && batch > sum.sampleCount {
                    throw failed(DynamicsError("batch_size must be ≤ the number of samples (\(sum.sampleCount)) without replacement, got \(batch)"))
                }
                draws = sum.minibatchGradientNoise(at: problem.start, batchSize: batch, withReplacement: replacement,
                                                   count: paths, stream: stream)
                source = "the minibatch gradient noise ∇L_B(θ) − ∇L(θ) of the finite sum at the start point (B = \(batch), \(replacement ? "with" : "without") replacement)"
            } else {
                guard let noiseDraws = noise.minibatchNoise(dimension: d, batchSize: batch, count: paths, stream: stream) else {
                    throw failed(DynamicsError("method \"tail-index\" cannot draw this noise law without a point"))
                }
                draws = noiseDraws
                source = "i.i.d. draws of the noise law's minibatch noise (B = \(batch))"
            }
            let blockSize = value("block_size").map { Int($0) }
            guard let (estimate, _) = TailIndex.estimate(vectors: draws, dimension: d, pooling: experiment.pooling, blockSize: blockSize) else {
                throw failed(DynamicsError("tail index: \(paths) noise vectors (\(experiment.pooling == .flattened ? paths * d : paths) samples per estimate) do not fill two blocks\(blockSize.map { " of \($0)" } ?? ""), or a draw is exactly 0 (noise-free at the start point?)"))
            }
            let estimator = "tail index α̂ by the block-sum estimator of Mohammadi, Mohammadpour & Ohta (2015), as in Şimşekli et al. (2019) (THEORY.md §4): 1/α̂ = (mean log|block sums| − mean log|samples|)/log m, m = \(estimate.blockSize), \(estimate.blocks) blocks; \(experiment.pooling == .flattened ? "all coordinates pooled" : "per coordinate, averaged"); of \(source); 1/α̂ is unbiased for 1/α on SαS samples, SE from the i.i.d. block statistics, α̂'s by the delta method"
            return SamplingCell(
                estimate: ExitTimeEstimate(endStates: ExitSamples(dimension: d, count: 0), termCount: terms, estimator: estimator),
                quantities: [("tail_index", estimate.alpha), ("tail_index_standard_error", estimate.alphaStandardError),
                             ("inverse_tail_index", estimate.inverseAlpha),
                             ("inverse_tail_index_standard_error", estimate.inverseAlphaStandardError),
                             ("block_size", Double(estimate.blockSize)), ("blocks", Double(estimate.blocks))],
                samples: ExitSamples(dimension: d, count: 0), maxSteps: 1)
        }

        // convergence
        let steps = Int(value("steps")!)
        let run: FixedHorizonSGD
        do {
            run = try FixedHorizonSGD(finiteSum: problem.landscape.finiteSum!, learningRate: eta, batchSize: batch,
                                      withReplacement: replacement, steps: steps,
                                      divergenceBound: value("divergence_bound") ?? 1e10,
                                      initialScale: value("init_scale") ?? 0)
        } catch { throw failed(error) }
        let outcomes = run.run(paths: paths, from: problem.start, seed: spec.seed, experiment: e, cell: c, threads: threads)
        var samples = ExitSamples(dimension: d, count: paths)
        for (p, outcome) in outcomes.enumerated() {
            samples.steps[p] = outcome.steps
            for j in 0..<d { samples.finalPoints[p * d + j] = outcome.finalPoint[j] }
            if outcome.diverged {
                samples.outcomes[p] = ExitSamples.diverged
            } else if let term = problem.exitTerm(at: outcome.finalPoint) {
                samples.outcomes[p] = Int32(term)
            } else {
                samples.outcomes[p] = ExitSamples.censored
            }
        }
        let summary = FixedHorizonSummary(outcomes: outcomes, run: run, threads: threads)
        var quantities: [(String, Double)] = [
            ("diverged_fraction", summary.divergedFraction),
            ("diverged_fraction_standard_error", summary.divergedFractionStandardError),
        ]
        func add(_ name: String, _ m: FixedHorizonSummary.Mean) {
            if let mean = m.mean { quantities.append(("mean_\(name)", mean)) }
            if let se = m.standardError { quantities.append(("mean_\(name)_standard_error", se)) }
        }
        add("final_loss", summary.finalLoss)
        add("hessian_frobenius_norm", summary.hessianFrobeniusNorm)
        add("hessian_top_eigenvalue", summary.hessianTopEigenvalue)
        add("alignment", summary.alignment)
        quantities.append(("paths_with_alignment", Double(summary.alignment.count)))
        if let bound = summary.hessianBound, bound.isFinite { quantities.append(("hessian_frobenius_bound", bound)) }
        let estimator = "fixed-horizon SGD (THEORY.md §3): \(steps) iterations of real minibatches from the start\(run.initialScale > 0 ? " + \(run.initialScale)·N(0, I)" : ""); diverged = a coordinate beyond \(run.divergenceBound) or not finite; exited / censored = the end point in / outside the exit region (no exit time). Over the non-diverged end points: loss, ‖H‖_F, λ_max(H), Wu–Wang–Su alignment μ = Tr(ΣG)/(2L‖G‖²_F) (G Gauss–Newton, = H for models linear in θ; undefined where L < 1e-24) and the stability bound 1/(η√(c_B μ̄)) on ‖H‖_F (= √(B/μ̄)/η with replacement; none for B = n without replacement, which is noise-free GD); means ± s/√k"
        return SamplingCell(estimate: ExitTimeEstimate(endStates: samples, termCount: terms, estimator: estimator),
                            quantities: quantities, samples: samples, maxSteps: steps)
    }
}
