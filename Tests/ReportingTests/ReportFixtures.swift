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
        let json = JSONValue.object([
            ("experiment", .string(experiment)), ("dynamics", .string(dynamics)), ("method", .string("monte-carlo")),
            ("exit_test", .string("bridge")),
            ("parameters", .object(parameters.map { ($0.0, .double($0.1)) })),
            ("paths", .int(paths)), ("max_steps", .int(1_000_000)), ("exited", .int(estimate.exited)),
            ("censored", .int(estimate.censored)), ("diverged", .int(0)),
            ("mean_exit_time", .number(estimate.mean)), ("standard_error", .number(estimate.standardError)),
            ("ci95", estimate.ci95.map { .array($0.map { .double($0) }) } ?? .null),
            ("lower_bound", .number(estimate.lowerBound)), ("estimator", .string(estimate.estimator)),
            ("method_error", .null), ("quantities", .object([])),
            ("time_unit", .string("time")), ("mean_exit_iterations", .number(iterations)),
            ("exit_sides", .object([("x > 0", .int(estimate.exited))])),
        ])
        let cell = try! ReportCell(stored: .init(global: 0, experimentIndex: e, cellIndex: c, json: json))
        return (cell, stored)
    }

    static func deterministicCell(experiment: String, e: Int, c: Int, method: String, dynamics: String = "langevin",
                                  parameters: [(String, Double)], value: Double, methodError: Double? = nil) -> ReportCell {
        let iterations = parameters.first { $0.0 == "learning_rate" }.map { value / $0.1 }
        let json = JSONValue.object([
            ("experiment", .string(experiment)), ("dynamics", .string(dynamics)), ("method", .string(method)),
            ("exit_test", .string("step")), ("parameters", .object(parameters.map { ($0.0, .double($0.1)) })),
            ("paths", .int(0)), ("max_steps", .int(0)), ("exited", .int(0)), ("censored", .int(0)), ("diverged", .int(0)),
            ("mean_exit_time", .double(value)), ("standard_error", .double(0)), ("ci95", .array([.double(value), .double(value)])),
            ("lower_bound", .double(value)), ("estimator", .string("\(method) (synthetic)")),
            ("method_error", .number(methodError)), ("quantities", .object([])), ("time_unit", .string("time")),
            ("mean_exit_iterations", .number(iterations)), ("exit_sides", .object([])),
        ])
        return try! ReportCell(stored: .init(global: 0, experimentIndex: e, cellIndex: c, json: json))
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
