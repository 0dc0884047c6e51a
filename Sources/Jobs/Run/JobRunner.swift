import Foundation
import Diffusion

/// Plans a job into cells and runs them: cells in order, each cell's paths in parallel
/// chunks (see `EnsembleSimulator`). Cell k of experiment e always draws from the streams
/// (seed, e, k, ·), so a cell's result does not depend on which other cells run.
public struct JobRunner: Sendable {
    public let spec: JobSpec
    public let threads: Int
    /// Distinct exit steps a cell keeps in memory when its samples go to a sink that can
    /// read them back (`ExitTimeAccumulator.histogramLimit`); beyond it the censored
    /// estimator's median comes from the sink. Results do not depend on it.
    public var histogramLimit = ExitTimeAccumulator.boundedHistogramLimit

    /// Multiplies every Monte Carlo cell's `paths` (at least 100 are kept): `run --quick` uses
    /// 0.1 for smoke tests of committed report jobs. Results at another scale are a different
    /// run (a different number of paths per cell), not a subset of the full one.
    public var pathsScale: Double = 1

    public init(spec: JobSpec, threads: Int, pathsScale: Double = 1) {
        self.spec = spec
        self.threads = max(1, threads)
        self.pathsScale = pathsScale
    }

    func scaledPaths(_ paths: Int) -> Int {
        pathsScale == 1 ? paths : max(min(paths, 100), Int((Double(paths) * pathsScale).rounded()))
    }

    /// All (experiment, cell) pairs in run order.
    public var cells: [(experiment: Int, cell: Int)] {
        spec.experiments.flatMap { e in (0..<e.cellCount).map { (e.index, $0) } }
    }

    /// Runs every cell, calling `finished` after each.
    public func run(_ finished: (CellResult) -> Void = { _ in }) throws(SpecError) -> [CellResult] {
        var results: [CellResult] = []
        for (e, c) in cells {
            let result = try runCell(experiment: e, cell: c)
            finished(result)
            results.append(result)
        }
        return results
    }

    /// Builds the problem of one cell; errors name the experiment and the offending value.
    public func problem(experiment e: Int, cell c: Int) throws(SpecError)
        -> (ExitProblem, EnsembleSimulator?, [(key: String, value: Double)]) {
        let experiment = spec.experiments[e]
        let values = experiment.cellParameters(c)
        func value(_ key: String) -> Double? { values.first { $0.key == key }?.value }
        let context = "experiment '\(experiment.name)', cell \(c + 1)"
        let dynamics: Dynamics
        var dt = value("dt") ?? 0
        switch experiment.dynamics {
        case "langevin":
            dynamics = .langevin(epsilon: value("epsilon")!)
        case "levy":
            dynamics = .levy(epsilon: value("epsilon")!, alpha: value("alpha")!)
        default:
            let eta = value("learning_rate")!
            let batch = Int(value("batch_size")!)
            let noise: NoiseLaw
            switch experiment.noiseLaw ?? "finite-sum" {
            case "gaussian": noise = .gaussian(sigma: value("noise.sigma")!)
            case "student-t": noise = .studentT(sigma: value("noise.sigma")!, degreesOfFreedom: value("noise.nu")!)
            case "alpha-stable": noise = .alphaStable(sigma: value("noise.sigma")!, alpha: value("noise.alpha")!)
            case "hessian": noise = .hessian(scale: value("noise.scale")!)
            case "loss-proportional": noise = .lossProportional(scale: value("noise.scale")!)
            default: noise = .finiteSum
            }
            if experiment.dynamics == "sgd" {
                dynamics = .sgd(learningRate: eta, batchSize: batch, noise: noise, withReplacement: experiment.withReplacement)
                dt = eta
            } else {
                dynamics = .sgdSDE(learningRate: eta, batchSize: batch, noise: noise, withReplacement: experiment.withReplacement)
                if let fraction = value("dt_fraction") { dt = fraction * eta }
            }
        }
        let maxSteps = Int(value("max_steps") ?? 1)
        let problem: ExitProblem
        do {
            problem = try ExitProblem(landscape: spec.landscape, dynamics: dynamics, dt: dt, start: spec.start,
                                      exit: spec.exit, maxSteps: maxSteps)
        } catch {
            throw SpecError("exit: \(error) (\(context))")
        }
        var simulator: EnsembleSimulator? = nil
        if experiment.method == "monte-carlo" {
            do {
                simulator = try EnsembleSimulator(problem: problem, integrator: EulerMaruyama(exitTest: experiment.exitTest))
            } catch {
                throw SpecError("experiment[\(e + 1)]: \(error) (\(context))")
            }
        }
        let shown = values.filter { $0.key != "paths" && $0.key != "max_steps" && $0.key != "steps" }
        var parameters = shown
        if experiment.dynamics == "sgd-sde", value("dt") == nil, dt > 0 { parameters.append((key: "dt", value: dt)) }
        return (problem, simulator, parameters)
    }

    /// Runs one cell, keeping only streamed sums of its Monte Carlo samples in memory.
    public func runCell(experiment e: Int, cell c: Int) throws(SpecError) -> CellResult {
        do { return try runCell(experiment: e, cell: c, samples: nil) }
        catch let error as SpecError { throw error }
        catch { preconditionFailure("no sample sink, yet \(error)") }
    }

    /// Runs one cell, streaming a Monte Carlo cell's samples chunk by chunk to `samples`
    /// (in path order) as they are simulated. Throws `SpecError` for a cell that cannot
    /// run, and whatever `samples` throws.
    public func runCell(experiment e: Int, cell c: Int, samples sink: (any CellSampleSink)?) throws -> CellResult {
        let experiment = spec.experiments[e]
        let (problem, simulator, parameters) = try problem(experiment: e, cell: c)
        let values = experiment.cellParameters(c)
        let paths = scaledPaths(Int(values.first { $0.key == "paths" }?.value ?? 0))
        let clock = ContinuousClock()
        let start = clock.now
        let isSGD = experiment.dynamics == "sgd"
        let timeScale = isSGD ? 1 : problem.dt
        var pathSteps = 0
        let estimate: ExitTimeEstimate
        var methodError: Double? = nil
        var quantities: [(String, Double)] = []
        var maxSteps = problem.maxSteps
        let terms = problem.exitTerms.count
        func failed(_ error: Error) -> SpecError {
            SpecError("experiment[\(e + 1)]: \(error) (experiment '\(experiment.name)', cell \(c + 1))")
        }
        switch experiment.method {
        case "chain":
            let reference: ChainReference
            do { reference = try ChainReference(problem: problem) } catch { throw failed(error) }
            estimate = ExitTimeEstimate(exact: reference.steps * timeScale,
                                        estimator: "exact discrete chain: grid solve of its backward equation on [\(reference.lower), \(reference.upper)], \(reference.nodes) nodes, Richardson-extrapolated",
                                        termCount: terms)
            methodError = reference.stepsError * timeScale
        case "backward-kolmogorov":
            let reference: BackwardKolmogorovReference
            do {
                if let domain = experiment.domain {
                    reference = try BackwardKolmogorovReference(problem: problem, form: experiment.fokkerPlanck, domain: domain, nodes: experiment.nodes)
                } else {
                    reference = try BackwardKolmogorovReference(problem: problem, form: experiment.fokkerPlanck, nodes: experiment.nodes)
                }
            } catch { throw failed(error) }
            estimate = ExitTimeEstimate(exact: reference.time,
                                        estimator: "exact diffusion (\(experiment.fokkerPlanck.rawValue) Fokker–Planck form): second-order grid solve of 𝓛T = −1 on \(experiment.domain.map { "the box [\($0.x0), \($0.x1)]×[\($0.y0), \($0.y1)] with \(reference.nodes)² nodes" } ?? "[\(reference.lower), \(reference.upper)] with \(reference.nodes) nodes"), Richardson-extrapolated",
                                        termCount: terms)
            methodError = reference.timeError
            if let rate = reference.escapeRate { quantities.append(("escape_rate", rate)) }
            if let q = reference.splittingUpper { quantities.append(("splitting_probability_upper", q)) }
        case "minimum-action":
            let reference: MinimumActionReference
            do { reference = try MinimumActionReference(problem: problem, saddle: experiment.saddle) } catch { throw failed(error) }
            estimate = ExitTimeEstimate(exact: reference.prediction,
                                        estimator: "minimum action (gMAM) through the saddle \(reference.saddle): barrier \(reference.barrier); \(reference.formula)",
                                        termCount: terms)
            quantities = [("quasi_potential_barrier", reference.barrier)]
        case "convergence", "tail-index":
            let cell = try samplingCell(experiment: e, cell: c, problem: problem, paths: paths)
            (estimate, quantities) = (cell.estimate, cell.quantities)
            if let sink, cell.samples.count > 0 {   // end states, stored like Monte Carlo samples
                try sink.write(ExitChunk(index: 0, firstPath: 0, samples: cell.samples), experiment: e, cell: c,
                               timeScale: 1, labels: problem.exitTerms.map(\.label))
            }
            maxSteps = cell.maxSteps
        case "theory" where experiment.theory == "stability":
            do { quantities = try TheoryReference.stability(problem: problem) } catch { throw failed(error) }
            estimate = ExitTimeEstimate(exact: .nan, estimator: "theory stability: largest stable learning rates at the minimum (THEORY.md §3: GD, mean-square, Wu–Ma–E, sure, almost-sure Lyapunov, Wu–Wang–Su); no exit time", termCount: terms)
        case "theory":
            let prediction: TheoryPrediction
            do { prediction = try TheoryReference.predict(experiment.theory!, problem: problem, saddle: experiment.saddle) } catch { throw failed(error) }
            let value = isSGD ? prediction.value / problem.dynamics.learningRate! : prediction.value
            estimate = ExitTimeEstimate(exact: value,
                                        estimator: "theory \(experiment.theory!): \(prediction.formula) [\(prediction.reference); \(prediction.assumptions)]",
                                        termCount: terms)
        default:
            let labels = problem.exitTerms.map(\.label)
            if let sink {
                var sums = ExitTimeAccumulator(termCount: terms, histogramLimit: histogramLimit)
                try simulator!.run(paths: paths, seed: spec.seed, experiment: e, cell: c, threads: threads) { chunk throws in
                    sums.add(chunk.samples)
                    try sink.write(chunk, experiment: e, cell: c, timeScale: timeScale, labels: labels)
                }
                estimate = try ExitTimeEstimate(sums, timeScale: timeScale) { visit throws in
                    try sink.scanExitSteps(experiment: e, cell: c, visit)
                }
                pathSteps = sums.pathSteps
            } else {
                var sums = ExitTimeAccumulator(termCount: terms)
                simulator!.run(paths: paths, seed: spec.seed, experiment: e, cell: c, threads: threads) { sums.add($0.samples) }
                estimate = ExitTimeEstimate(sums, timeScale: timeScale)
                pathSteps = sums.pathSteps
            }
        }
        let elapsed = clock.now - start
        var iterations: Double? = nil
        var iterationsSE: Double? = nil
        if isSGD {
            iterations = estimate.mean; iterationsSE = estimate.standardError
        } else if let eta = problem.dynamics.learningRate {
            iterations = estimate.mean.map { $0 / eta }
            iterationsSE = estimate.standardError.map { $0 / eta }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return CellResult(experiment: experiment.name, experimentIndex: e, cellIndex: c,
                          dynamics: experiment.dynamics, method: experiment.method, exitTest: experiment.exitTest,
                          parameters: parameters, paths: ["monte-carlo", "convergence", "tail-index"].contains(experiment.method) ? paths : 0,
                          maxSteps: maxSteps, estimate: estimate, methodError: methodError, quantities: quantities,
                          timeUnit: isSGD ? "iterations" : "time", meanExitIterations: iterations,
                          iterationsStandardError: iterationsSE,
                          exitLabels: problem.exitTerms.map(\.label), wallSeconds: seconds, pathSteps: pathSteps,
                          timeScale: timeScale)
    }
}
