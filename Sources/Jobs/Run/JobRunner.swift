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
    public func run(_ finished: (Cell) -> Void = { _ in }) throws(SpecError) -> [Cell] {
        var results: [Cell] = []
        for (e, c) in cells {
            let result = try runCell(experiment: e, cell: c)
            finished(result)
            results.append(result)
        }
        return results
    }

    /// Runs one cell, keeping only streamed sums of its Monte Carlo samples in memory.
    public func runCell(experiment e: Int, cell c: Int) throws(SpecError) -> Cell {
        do { return try runCell(experiment: e, cell: c, samples: nil) }
        catch let error as SpecError { throw error }
        catch { preconditionFailure("no sample sink, yet \(error)") }
    }

    /// Runs one cell, streaming a Monte Carlo cell's samples chunk by chunk to `samples`
    /// (in path order) as they are simulated. A method that fails numerically gives a cell
    /// with `failure` set (an outcome, not an error); `SpecError` is thrown for a cell that
    /// cannot be built, and whatever `samples` throws is rethrown.
    public func runCell(experiment e: Int, cell c: Int, samples sink: (any CellSampleSink)?) throws -> Cell {
        let experiment = spec.experiments[e]
        let values = experiment.cellParameters(c)
        let paths = scaledPaths(Int(values.first { $0.key == "paths" }?.value ?? 0))
        let (problem, parameters) = try spec.cellProblem(experiment: e, cell: c)
        let cell = MethodCell(spec: spec, experiment: experiment, experimentIndex: e, cellIndex: c, problem: problem,
                              values: values, paths: paths, threads: threads, histogramLimit: histogramLimit,
                              scale: pathsScale)
        let clock = ContinuousClock()
        let start = clock.now
        let terms = problem.exitTerms.count
        let tagged = sink.map(TaggedSink.init)
        var output: MethodOutput
        var failure: String? = nil
        do {
            output = try experiment.method.run(cell, sink: tagged)
        } catch let error as TaggedSink.Failure {
            throw error.underlying
        } catch {
            failure = (error as? CellFailure)?.reason ?? "\(error)"
            output = MethodOutput(estimate: ExitTimeEstimate(exact: .nan, estimator: "failed: \(failure!)", termCount: terms))
        }
        let elapsed = clock.now - start
        let isSGD = experiment.dynamics.countsIterations
        let estimate = output.estimate
        func finite(_ x: Double?) -> Double? { x.flatMap { $0.isFinite ? $0 : nil } }
        var iterations: Double? = nil
        if isSGD {
            iterations = estimate.mean
        } else if let eta = problem.dynamics.learningRate {
            iterations = estimate.mean.map { $0 / eta }
        }
        let sampled = experiment.methodKind == .simulation || experiment.methodKind == .sampling
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let hidden: Set<String> = ["paths", "max_steps", "steps"]
        return Cell(global: globalIndex(experiment: e, cell: c), experiment: experiment.name, experimentIndex: e, cellIndex: c,
                    dynamics: experiment.dynamics, noiseLaw: experiment.noiseLaw, method: experiment.methodName,
                    methodKind: experiment.methodKind, exitTest: experiment.exitTest, integrator: experiment.integrator, parameters: parameters,
                    sweptAxes: experiment.parameters.filter { $0.values.count > 1 && !hidden.contains($0.key) }.map(\.key),
                    paths: sampled ? (estimate.paths > 0 ? estimate.paths : paths) : 0, maxSteps: output.maxSteps ?? problem.maxSteps,
                    exited: estimate.exited, censored: estimate.censored, diverged: estimate.diverged,
                    mean: finite(estimate.mean), standardError: finite(estimate.standardError), ci95: estimate.ci95,
                    lowerBound: finite(estimate.lowerBound), estimator: estimate.estimator,
                    exitProbability: experiment.methodKind == .simulation ? estimate.exitProbability : nil,
                    exitProbabilityCI95: experiment.methodKind == .simulation ? estimate.exitProbabilityCI95 : nil, methodError: finite(output.methodError),
                    quantities: output.quantities.map { (key: $0.0, value: $0.1) },
                    timeUnit: isSGD ? .iterations : .time, meanIterations: finite(iterations),
                    exitSides: zip(problem.exitTerms.map(\.label), estimate.sideCounts).map { (label: $0.0, count: $0.1) },
                    wallSeconds: seconds, pathSteps: output.pathSteps, timeScale: cell.timeScale,
                    status: failure == nil ? .done : .failed, failure: failure)
    }

    /// The position of cell `c` of experiment `e` in run order.
    public func globalIndex(experiment e: Int, cell c: Int) -> Int {
        spec.experiments[..<e].reduce(0) { $0 + $1.cellCount } + c
    }
}

/// Passes samples on to the store and marks what the store throws, so that the runner can
/// tell a store failure (fatal: rethrown) from the method's own (the cell failed).
final class TaggedSink: CellSampleSink {
    struct Failure: Error { let underlying: any Error }
    let base: any CellSampleSink
    init(_ base: any CellSampleSink) { self.base = base }

    func write(_ chunk: ExitChunk, experiment: Int, cell: Int, timeScale: Double, labels: [String]) throws {
        do { try base.write(chunk, experiment: experiment, cell: cell, timeScale: timeScale, labels: labels) }
        catch { throw Failure(underlying: error) }
    }

    func scanExitSteps(experiment: Int, cell: Int, _ visit: (Int, Int) -> Bool) throws {
        do { try base.scanExitSteps(experiment: experiment, cell: cell, visit) }
        catch { throw Failure(underlying: error) }
    }
}
