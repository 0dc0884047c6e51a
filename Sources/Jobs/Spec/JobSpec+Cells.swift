import Diffusion

/// The cells of a job as problems: each cell's dynamics and `ExitProblem`, built from its
/// parameters, and the whole-spec check that runs every method's cell check before any
/// cell is run.
extension JobSpec {
    /// The dynamics, problem and shown parameters of cell `c` of experiment `e`.
    public func cellProblem(experiment e: Int, cell c: Int) throws(SpecError) -> (problem: ExitProblem, parameters: [(key: String, value: Double)]) {
        let experiment = experiments[e]
        let values = experiment.cellParameters(c)
        func value(_ key: String) -> Double? { values.first { $0.key == key }?.value }
        let dynamics: Dynamics
        var dt = value("dt") ?? 0
        switch experiment.dynamics {
        case .langevin:
            dynamics = .langevin(epsilon: value("epsilon")!)
        case .levy:
            dynamics = .levy(epsilon: value("epsilon")!, alpha: value("alpha")!)
        case .sgd, .sgdSDE:
            let eta = value("learning_rate")!
            let batch = Int(value("batch_size")!)
            let noise: NoiseLaw
            switch experiment.noiseLaw ?? .finiteSum {
            case .gaussian: noise = .gaussian(sigma: value("noise.sigma")!)
            case .studentT: noise = .studentT(sigma: value("noise.sigma")!, degreesOfFreedom: value("noise.nu")!)
            case .alphaStable: noise = .alphaStable(sigma: value("noise.sigma")!, alpha: value("noise.alpha")!)
            case .hessian: noise = .hessian(scale: value("noise.scale")!)
            case .lossProportional: noise = .lossProportional(scale: value("noise.scale")!)
            case .finiteSum: noise = .finiteSum
            }
            if experiment.dynamics == .sgd {
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
            problem = try ExitProblem(landscape: landscape, dynamics: dynamics, dt: dt, start: start, exit: exit, maxSteps: maxSteps)
        } catch {
            throw SpecError("exit: \(error) (experiment '\(experiment.name)', cell \(c + 1))")
        }
        var parameters = values.filter { $0.key != "paths" && $0.key != "max_steps" && $0.key != "steps" }
        if experiment.dynamics == .sgdSDE, value("dt") == nil, dt > 0 { parameters.append((key: "dt", value: dt)) }
        return (problem, parameters)
    }

    /// Runs every method's check on every cell, in run order: a spec whose cells cannot run
    /// fails here, before any cell has spent time, with the key and its line.
    public func checkCells() throws(SpecError) {
        for experiment in experiments {
            for c in 0..<experiment.cellCount {
                let cell = try methodCell(experiment: experiment.index, cell: c, paths: 1, threads: 1,
                                          histogramLimit: ExitTimeAccumulator.boundedHistogramLimit)
                try experiment.method.check(cell)
            }
        }
    }

    func methodCell(experiment e: Int, cell c: Int, paths: Int, threads: Int, histogramLimit: Int) throws(SpecError) -> MethodCell {
        let (problem, _) = try cellProblem(experiment: e, cell: c)
        return MethodCell(spec: self, experiment: experiments[e], experimentIndex: e, cellIndex: c, problem: problem,
                          values: experiments[e].cellParameters(c), paths: paths, threads: threads,
                          histogramLimit: histogramLimit)
    }
}
