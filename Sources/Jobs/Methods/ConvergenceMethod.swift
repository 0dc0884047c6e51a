import Diffusion

/// `method = "convergence"`: a fixed horizon — `steps` steps from the start (plus an optional
/// Gaussian `init_scale`) on each of `paths` paths: how many diverge, where the rest end (in
/// the exit region or not; no exit time), and the mean and variance of each coordinate at the
/// end (`FixedHorizonMoments`: the stationary moments once the horizon is long). Discrete SGD
/// on a finite sum with its own minibatches runs `FixedHorizonSGD` and adds the geometry of
/// the end points (loss, ‖H‖_F, λ_max, the Wu–Wang–Su alignment and its stability bound,
/// docs/THEORY.md §3); every other dynamics and noise law runs the ensemble's stepper
/// (`FixedHorizonEnsemble`) at its own time step.
public struct ConvergenceMethod: ExperimentMethod {
    public static let name = "convergence"
    public static let kind = MethodKind.sampling
    public static let summary = "fixed horizon: divergence fraction, end states and their moments; sharpness at the end points of minibatch SGD on a finite sum"
    public static let keys = ["paths", "steps", "init_scale", "divergence_bound"]
    public static let usesTimeStep = true
    public static let simulationKeysNotApplicable = "a fixed number of steps: use steps"

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {}

    public mutating func finish(_ r: inout TableReader, _ x: inout ExperimentDraft) throws(SpecError) {
        try x.axis("steps", try r.sweep("steps") ?? [10_000], r) { $0 >= 1 && $0 <= 1e12 && $0 == $0.rounded() ? nil : "an integer in 1...1e12" }
        try x.axis("init_scale", try r.sweep("init_scale"), r) { $0 >= 0 && $0.isFinite ? nil : "≥ 0" }
        try x.axis("divergence_bound", try r.sweep("divergence_bound"), r, ExperimentDraft.positive)
    }

    /// Real minibatch SGD on a finite sum (`FixedHorizonSGD`, with the end points' geometry).
    static func isMinibatchSGD(_ problem: ExitProblem) -> Bool {
        if case .sgd(_, _, .finiteSum, _) = problem.dynamics { return problem.landscape.finiteSum != nil }
        return false
    }

    public func check(_ cell: MethodCell) throws(SpecError) {
        if !Self.isMinibatchSGD(cell.problem) {
            do { _ = try FixedHorizonEnsemble(problem: cell.problem, steps: 1) }
            catch { throw cell.error(cell.experiment.noiseLaw == nil ? "dynamics" : "noise", error.message) }
            return
        }
        guard case .sgd(_, let batch, _, false) = cell.problem.dynamics, let sum = cell.problem.landscape.finiteSum else { return }
        if batch > sum.sampleCount {
            throw cell.error("batch_size", "must be ≤ the number of samples (\(sum.sampleCount)) without replacement, got \(batch)")
        }
    }

    /// The mean and variance of each coordinate at the end (names by the landscape's
    /// variables, at most `momentDimensionLimit` coordinates).
    static func moments(_ outcomes: [FixedHorizonSGD.Outcome], _ problem: ExitProblem) -> [(String, Double)] {
        let d = problem.landscape.dimension
        guard d <= momentDimensionLimit, let m = FixedHorizonMoments(outcomes: outcomes, dimension: d) else { return [] }
        var out: [(String, Double)] = []
        for (j, v) in problem.landscape.variables.enumerated() {
            out += [("final_mean_\(v)", m.mean[j]), ("final_mean_\(v)_standard_error", m.meanStandardError[j]),
                    ("final_variance_\(v)", m.variance[j]), ("final_variance_\(v)_standard_error", m.varianceStandardError[j])]
        }
        return out
    }
    static let momentDimensionLimit = 16

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        guard Self.isMinibatchSGD(cell.problem), case .sgd(let eta, let batch, _, let replacement) = cell.problem.dynamics else {
            return try runEnsemble(cell, sink: sink)
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
        quantities += Self.moments(outcomes, problem)
        let estimator = "fixed-horizon SGD (docs/THEORY.md §3): \(steps) iterations of real minibatches from the start\(run.initialScale > 0 ? " + \(run.initialScale)·N(0, I)" : ""); diverged = a coordinate beyond \(run.divergenceBound) or not finite; exited / censored = the end point in / outside the exit region (no exit time). Over the non-diverged end points: loss, ‖H‖_F, λ_max(H), Wu–Wang–Su alignment μ = Tr(ΣG)/(2L‖G‖²_F) (G Gauss–Newton, = H for models linear in θ; undefined where L < 1e-24) and the stability bound 1/(η√(c_B μ̄)) on ‖H‖_F (= √(B/μ̄)/η with replacement; none for B = n without replacement, which is noise-free GD); means ± s/√k; each coordinate's mean and variance at the end (± s/√k and √((m₄ − s⁴)/k))"
        if let sink, samples.count > 0 {   // end states, stored like Monte Carlo samples
            try sink.write(ExitChunk(index: 0, firstPath: 0, samples: samples), experiment: cell.experimentIndex,
                           cell: cell.cellIndex, timeScale: 1, labels: problem.exitTerms.map(\.label))
        }
        return MethodOutput(estimate: ExitTimeEstimate(endStates: samples, termCount: problem.exitTerms.count, estimator: estimator),
                            quantities: quantities, maxSteps: steps)
    }

    /// Any other dynamics or noise law: the ensemble's stepper for `steps` steps.
    func runEnsemble(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        let base = cell.problem
        let steps = Int(cell.value("steps")!)
        let problem = try ExitProblem(landscape: base.landscape, dynamics: base.dynamics, dt: base.dt, start: base.start,
                                      exit: .condition("0"), maxSteps: steps, divergenceBound: cell.value("divergence_bound") ?? 1e10)
        let run = try FixedHorizonEnsemble(problem: problem, steps: steps, initialScale: cell.value("init_scale") ?? 0)
        let outcomes = run.run(paths: cell.paths, seed: cell.spec.seed, experiment: cell.experimentIndex,
                               cell: cell.cellIndex, threads: cell.threads)
        let samples = ExitSamples(endStates: outcomes, problem: base)
        let diverged = Double(samples.outcomes.filter { $0 == ExitSamples.diverged }.count) / Double(outcomes.count)
        var quantities: [(String, Double)] = [
            ("diverged_fraction", diverged),
            ("diverged_fraction_standard_error", (diverged * (1 - diverged) / Double(outcomes.count)).squareRoot()),
        ]
        let losses = FixedHorizonSummary.Mean(outcomes.filter { !$0.diverged }.map { base.landscape.value(at: $0.finalPoint) })
        if let m = losses.mean { quantities.append(("mean_final_loss", m)) }
        if let se = losses.standardError { quantities.append(("mean_final_loss_standard_error", se)) }
        quantities += Self.moments(outcomes, base)
        let estimator = "fixed horizon (docs/THEORY.md §5): \(steps) steps of \(base.dynamics.name) (Euler–Maruyama at its own step, the Monte Carlo stepper) from the start\(run.initialScale > 0 ? " + \(run.initialScale)·N(0, I)" : ""); diverged = a coordinate beyond \(problem.divergenceBound) or not finite; exited / censored = the end point in / outside the exit region (no exit time); over the non-diverged end points the loss and each coordinate's mean and variance (± s/√k and √((m₄ − s⁴)/k)): the stationary moments once the horizon is long"
        if let sink, samples.count > 0 {
            try sink.write(ExitChunk(index: 0, firstPath: 0, samples: samples), experiment: cell.experimentIndex,
                           cell: cell.cellIndex, timeScale: cell.timeScale, labels: base.exitTerms.map(\.label))
        }
        return MethodOutput(estimate: ExitTimeEstimate(endStates: samples, termCount: base.exitTerms.count, estimator: estimator),
                            quantities: quantities, maxSteps: steps)
    }
}
