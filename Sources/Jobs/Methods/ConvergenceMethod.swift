import Diffusion

/// `method = "convergence"`: fixed-horizon SGD on a finite sum — `steps` iterations of real
/// minibatches from the start (plus an optional Gaussian `init_scale`) on each of `paths`
/// paths (`FixedHorizonSGD`, docs/THEORY.md §3): how many diverge, where the rest end (in the
/// exit region or not; no exit time), and the geometry of the end points (loss, ‖H‖_F,
/// λ_max, the Wu–Wang–Su alignment and its stability bound), means ± s/√k.
public struct ConvergenceMethod: ExperimentMethod {
    public static let name = "convergence"
    public static let kind = MethodKind.sampling
    public static let summary = "fixed-horizon minibatch SGD on a finite sum: divergence fraction, end states, sharpness at the end points"
    public static let keys = ["paths", "steps", "init_scale", "divergence_bound"]
    public static let dynamics: [DynamicsKind]? = [.sgd]
    public static let simulationKeysNotApplicable = "a fixed number of SGD iterations: use steps"

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {}

    public mutating func finish(_ r: inout TableReader, _ x: inout ExperimentDraft) throws(SpecError) {
        guard x.landscape.finiteSum != nil, x.noiseLaw == .finiteSum else {
            throw r.error("method", "\(Self.quoted) runs real minibatch SGD: it needs a finite-sum landscape (\(JobSpec.finiteSumBuiltins.joined(separator: ", "))) and noise law \(NoiseLawKind.finiteSum.quoted)")
        }
        try x.axis("steps", try r.sweep("steps") ?? [10_000], r) { $0 >= 1 && $0 <= 1e12 && $0 == $0.rounded() ? nil : "an integer in 1...1e12" }
        try x.axis("init_scale", try r.sweep("init_scale"), r) { $0 >= 0 && $0.isFinite ? nil : "≥ 0" }
        try x.axis("divergence_bound", try r.sweep("divergence_bound"), r, ExperimentDraft.positive)
    }

    public func check(_ cell: MethodCell) throws(SpecError) {
        guard case .sgd(_, let batch, _, false) = cell.problem.dynamics, let sum = cell.problem.landscape.finiteSum else { return }
        if batch > sum.sampleCount {
            throw cell.error("batch_size", "must be ≤ the number of samples (\(sum.sampleCount)) without replacement, got \(batch)")
        }
    }

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        guard case .sgd(let eta, let batch, _, let replacement) = cell.problem.dynamics else {
            preconditionFailure("convergence runs dynamics sgd (checked when the spec is read)")
        }
        let problem = cell.problem
        let paths = cell.paths
        let steps = Int(cell.value("steps")!)
        let run = try FixedHorizonSGD(finiteSum: problem.landscape.finiteSum!, learningRate: eta, batchSize: batch,
                                      withReplacement: replacement, steps: steps,
                                      divergenceBound: cell.value("divergence_bound") ?? 1e10,
                                      initialScale: cell.value("init_scale") ?? 0)
        let outcomes = run.run(paths: paths, from: problem.start, seed: cell.spec.seed, experiment: cell.experimentIndex,
                               cell: cell.cellIndex, threads: cell.threads)
        let samples = ExitSamples(endStates: outcomes, problem: problem)
        let summary = FixedHorizonSummary(outcomes: outcomes, run: run, threads: cell.threads)
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
        let estimator = "fixed-horizon SGD (docs/THEORY.md §3): \(steps) iterations of real minibatches from the start\(run.initialScale > 0 ? " + \(run.initialScale)·N(0, I)" : ""); diverged = a coordinate beyond \(run.divergenceBound) or not finite; exited / censored = the end point in / outside the exit region (no exit time). Over the non-diverged end points: loss, ‖H‖_F, λ_max(H), Wu–Wang–Su alignment μ = Tr(ΣG)/(2L‖G‖²_F) (G Gauss–Newton, = H for models linear in θ; undefined where L < 1e-24) and the stability bound 1/(η√(c_B μ̄)) on ‖H‖_F (= √(B/μ̄)/η with replacement; none for B = n without replacement, which is noise-free GD); means ± s/√k"
        if let sink, samples.count > 0 {   // end states, stored like Monte Carlo samples
            try sink.write(ExitChunk(index: 0, firstPath: 0, samples: samples), experiment: cell.experimentIndex,
                           cell: cell.cellIndex, timeScale: 1, labels: problem.exitTerms.map(\.label))
        }
        return MethodOutput(estimate: ExitTimeEstimate(endStates: samples, termCount: problem.exitTerms.count, estimator: estimator),
                            quantities: quantities, maxSteps: steps)
    }
}
