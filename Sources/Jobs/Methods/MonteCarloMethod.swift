import Diffusion

/// `method = "monte-carlo"` (the default): an ensemble of independent paths of the
/// dynamics (`EnsembleSimulator`), each run until it exits, diverges or reaches
/// `max_steps`. The estimate is the sample mean with its standard error, or with censored
/// paths the Kaplan–Meier restricted mean plus an exponential tail (`ExitTimeEstimate`,
/// docs/THEORY.md §5).
public struct MonteCarloMethod: ExperimentMethod {
    public static let name = "monte-carlo"
    public static let kind = MethodKind.simulation
    public static let summary = "independent paths until exit; sample mean (censoring-aware) ± SE"
    public static let keys = ["paths", "max_steps", "exit_test", "integrator"]
    public static let usesTimeStep = true
    public static let simulationKeysNotApplicable = ""

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {}

    func simulator(_ cell: MethodCell) throws(SpecError) -> EnsembleSimulator {
        do {
            return try EnsembleSimulator(problem: cell.problem, integrator: Integrator(cell.experiment.integrator, exitTest: cell.experiment.exitTest))
        } catch {
            throw cell.error(cell.experiment.noiseLaw == nil ? "dynamics" : "noise", "\(error)")
        }
    }

    public func check(_ cell: MethodCell) throws(SpecError) { _ = try simulator(cell) }

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        let simulator = try simulator(cell)
        let (e, c) = (cell.experimentIndex, cell.cellIndex)
        let terms = cell.problem.exitTerms.count
        let timeScale = cell.timeScale
        let labels = cell.problem.exitTerms.map(\.label)
        if let sink {
            var sums = ExitTimeAccumulator(termCount: terms, histogramLimit: cell.histogramLimit)
            try simulator.run(paths: cell.paths, seed: cell.spec.seed, experiment: e, cell: c, threads: cell.threads) { chunk throws in
                sums.add(chunk.samples)
                try sink.write(chunk, experiment: e, cell: c, timeScale: timeScale, labels: labels)
            }
            let estimate = try ExitTimeEstimate(sums, timeScale: timeScale) { visit throws in
                try sink.scanExitSteps(experiment: e, cell: c, visit)
            }
            return MethodOutput(estimate: estimate, pathSteps: sums.pathSteps)
        }
        var sums = ExitTimeAccumulator(termCount: terms)
        simulator.run(paths: cell.paths, seed: cell.spec.seed, experiment: e, cell: c, threads: cell.threads) { sums.add($0.samples) }
        return MethodOutput(estimate: ExitTimeEstimate(sums, timeScale: timeScale), pathSteps: sums.pathSteps)
    }
}
