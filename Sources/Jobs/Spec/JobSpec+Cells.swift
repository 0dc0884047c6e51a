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
        let setting = experiment.setting(ofCell: c)
        var options = experiment.noiseOptions
        if let matrix = options.matrix, !setting.landscape.constants.isEmpty {
            // the cell's own named constants (a swept landscape parameter may appear in Σ₁)
            do { options.matrix = try matrix.on(setting.landscape) } catch { throw experiment.error("noise.matrix", "\(error)", cell: c) }
        }
        let noise = experiment.noiseLaw.map { law in NoiseLaw(kind: law, options: options) { value("noise.\($0)") } } ?? .finiteSum
        // a user-given Σ₁ must be a covariance where the paths start
        if case .covariance(let matrix) = noise, matrix.dimension == setting.start.count, let why = matrix.violation(at: setting.start) {
            throw experiment.error("noise.matrix", why, cell: c)
        }
        var matched: Double? = nil
        if experiment.matchedTemperature {
            // ε = η·Tr(Σ_B(θ₀))/(2d) on this cell's landscape, at its start
            let eta = value("learning_rate")!, b = Int(value("batch_size")!)
            do {
                matched = try NoiseModel.matchedTemperature(learningRate: eta, batchSize: b, withReplacement: experiment.withReplacement,
                                                            landscape: setting.landscape, at: setting.start)
            } catch { throw experiment.error("batch_size", "\(error)", cell: c) }
            guard let eps = matched, eps > 0, eps.isFinite else {
                throw experiment.error("temperature", "\"matched\" gives ε = \(matched ?? .nan) at the start (the gradient covariance vanishes there); give a number > 0", cell: c)
            }
        }
        // a parameter the method does without (`optionalDynamicsParameters`) reads NaN
        let dynamics = Dynamics(kind: experiment.dynamics, value: { key in key == "temperature" && matched != nil ? matched! : value(key) ?? .nan },
                                noise: noise, withReplacement: experiment.withReplacement)
        let dt: Double
        switch experiment.dynamics.timeStep {
        case .learningRate: dt = value("learning_rate") ?? .nan
        case .dt: dt = value("dt") ?? 0
        case .dtOrFraction: dt = value("dt") ?? value("dt_fraction").map { $0 * value("learning_rate")! } ?? 0
        }
        let maxSteps = Int(value("max_steps") ?? 1)
        let problem: ExitProblem
        do {
            problem = try ExitProblem(landscape: setting.landscape, dynamics: dynamics, dt: dt, start: setting.start,
                                      exit: setting.exit, maxSteps: maxSteps)
        } catch {
            throw SpecError("exit: \(error) (experiment '\(experiment.name)', cell \(c + 1))")
        }
        var parameters = values.filter { $0.key != "paths" && $0.key != "max_steps" && $0.key != "steps" }
        if experiment.dynamics == .sgdSDE, value("dt") == nil, dt > 0 {
            // shown (not used) at 15 significant digits: dt_fraction·η = 0.05·0.1 reads 0.005,
            // not the product's own last bit (0.005000000000000001); the paths use the product
            parameters.append((key: "dt", value: Double(String(format: "%.15g", dt)) ?? dt))
        }
        if let matched { parameters.append((key: "temperature", value: matched)) }
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

    func methodCell(experiment e: Int, cell c: Int, paths: Int, threads: Int, histogramLimit: Int,
                    scale: Double = 1) throws(SpecError) -> MethodCell {
        let (problem, _) = try cellProblem(experiment: e, cell: c)
        return MethodCell(spec: self, experiment: experiments[e], experimentIndex: e, cellIndex: c, problem: problem,
                          values: experiments[e].cellParameters(c), paths: paths, threads: threads,
                          histogramLimit: histogramLimit, scale: scale)
    }
}
