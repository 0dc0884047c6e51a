import Foundation
@testable import Reporting
@testable import Jobs
import Diffusion

/// Synthetic report inputs: cells whose per-path exit times are drawn from known laws, so
/// the analyses can be checked against the truth without running a simulation.
enum ReportFixtures {
    static let langevinSpec = """
    name = "synthetic"
    seed = 7
    [landscape]
    builtin = "double-well"
    [start]
    at = "left minimum"
    [exit]
    when = "x > 0"
    [[experiment]]
    name = "mc"
    dynamics = "langevin"
    epsilon = [0.25, 0.1667, 0.125, 0.1, 0.0833]
    dt = 0.01
    paths = 400
    max_steps = 1000000
    """

    static let job = ResultsStore.JobRow(name: "synthetic", spec: langevinSpec, specHash: "0000000000000000", seed: 7,
                                         toolVersion: "test", commandLine: "sgd-escape run synthetic.toml --out out",
                                         host: "test-host", startedAt: "2026-01-01T00:00:00Z", shard: nil)

    /// A Monte Carlo cell's JSON and samples from exponential exit times with mean `tau`,
    /// censored at `cap` (time units); the estimate is the project's own estimator.
    static func monteCarloCell(experiment: String, e: Int, c: Int, dynamics: String = "langevin",
                               parameters: [(String, Double)], tau: Double, paths: Int, cap: Double = .infinity,
                               stream: RandomStream, timeScale: Double = 0.01) -> (ReportCell, ResultsStore.CellSamples) {
        var samples = ExitSamples(dimension: 1, count: paths)
        var stored = ResultsStore.CellSamples()
        for p in 0..<paths {
            let t = -tau * log(stream.uniformPositive())
            let censored = t > cap
            let steps = Int((min(t, cap) / timeScale).rounded(.up))
            samples.steps[p] = steps
            samples.outcomes[p] = censored ? ExitSamples.censored : 0
            stored.steps.append(steps); stored.times.append(Double(steps) * timeScale)
            stored.outcomes.append(censored ? ExitSamples.censored : 0)
        }
        let estimate = ExitTimeEstimate(samples: samples, termCount: 1, timeScale: timeScale)
        let iterations = parameters.first { $0.0 == "learning_rate" }.map { eta in estimate.mean.map { $0 / eta.1 } } ?? nil
        let cell = Cell(global: 0, experiment: experiment, experimentIndex: e, cellIndex: c,
                        dynamics: DynamicsKind(rawValue: dynamics)!, noiseLaw: nil, method: MonteCarloMethod.name,
                        methodKind: .simulation, exitTest: .bridge, integrator: .eulerMaruyama, parameters: parameters.map { (key: $0.0, value: $0.1) },
                        sweptAxes: [], paths: paths, maxSteps: 1_000_000, exited: estimate.exited, censored: estimate.censored,
                        diverged: 0, mean: estimate.mean, standardError: estimate.standardError, ci95: estimate.ci95,
                        lowerBound: estimate.lowerBound.isFinite ? estimate.lowerBound : nil, estimator: estimate.estimator,
                        exitProbability: estimate.exitProbability, exitProbabilityCI95: estimate.exitProbabilityCI95,
                        methodError: nil, quantities: [], timeUnit: .time, meanIterations: iterations,
                        exitSides: [(label: "x > 0", count: estimate.exited)], wallSeconds: 0, pathSteps: 0, timeScale: timeScale,
                        status: .done, failure: nil)
        return (cell, stored)
    }

    static func deterministicCell(experiment: String, e: Int, c: Int, method: String, dynamics: String = "langevin",
                                  parameters: [(String, Double)], value: Double, methodError: Double? = nil) -> ReportCell {
        let iterations = parameters.first { $0.0 == "learning_rate" }.map { value / $0.1 }
        return Cell(global: 0, experiment: experiment, experimentIndex: e, cellIndex: c,
                    dynamics: DynamicsKind(rawValue: dynamics)!, noiseLaw: nil, method: method,
                    methodKind: MethodRegistry.kind(of: method)!, exitTest: .step, integrator: .eulerMaruyama,
                    parameters: parameters.map { (key: $0.0, value: $0.1) }, sweptAxes: [], paths: 0, maxSteps: 0,
                    exited: 0, censored: 0, diverged: 0, mean: value, standardError: 0, ci95: [value, value], lowerBound: value,
                    estimator: "\(method) (synthetic)", methodError: methodError, quantities: [], timeUnit: .time,
                    meanIterations: iterations, exitSides: [], wallSeconds: 0, pathSteps: 0, timeScale: 1, status: .done, failure: nil)
    }

    /// Arrhenius data: E τ = exp(a + S/ε) at the spec's five ε, `paths` exponential times each.
    static func arrhenius(seed: UInt64, a: Double = 1, slope: Double = 0.25, paths: Int = 400,
                          cap: Double = .infinity) -> ReportInput {
        let spec = try! JobSpec.parse(langevinSpec)
        let stream = RandomStream(key: StreamKey(seed: seed, experiment: 4242))
        let eps = [0.25, 0.1667, 0.125, 0.1, 0.0833]
        var cells: [ReportCell] = []
        var samples: [Int: ResultsStore.CellSamples] = [:]
        for (c, e) in eps.enumerated() {
            var (cell, s) = monteCarloCell(experiment: "mc", e: 0, c: c, parameters: [("epsilon", e), ("dt", 0.01)],
                                           tau: exp(a + slope / e), paths: paths, cap: cap, stream: stream)
            cell.global = c
            cells.append(cell); samples[c] = s
        }
        return ReportInput(job: job, spec: spec, cells: cells, plannedCells: eps.count) { _, c in samples[c] ?? .init() }
    }
}
