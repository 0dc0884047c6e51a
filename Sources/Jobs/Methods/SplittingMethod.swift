import Foundation
import Diffusion

/// `method = "splitting"`: the mean first-exit time of exits too rare for Monte Carlo, by
/// generalized adaptive multilevel splitting (Bréhier et al. 2016) for p = P(exit before
/// returning to A | Σ-entry) and the loop decomposition of Cérou et al. (2011),
/// E[T] = E[τ₀] + (1/p − 1)·E[loop] + E[reactive] (`AdaptiveMultilevelSplitting`,
/// docs/THEORY.md §6). Same dynamics, integrator, exit test, start, exit region and streams as
/// Monte Carlo: with `exit_test = "step"` it targets the same discrete chain, with `"bridge"`
/// the diffusion. `max_steps` caps each simulated segment (a loop or a replica); a segment that
/// reaches it fails the cell.
public struct SplittingMethod: ExperimentMethod {
    public static let name = "splitting"
    public static let kind = MethodKind.simulation
    public static let summary = "rare exits: adaptive multilevel splitting (gAMS) + loop decomposition; mean ± SE from R runs"
    public static let keys = ["max_steps", "exit_test", "integrator", "replicas", "kill", "runs", "loops",
                              "reaction_coordinate", "start_level", "sigma_level", "domain"]
    public static let usesTimeStep = true
    public static let simulationKeysNotApplicable = "splitting sizes its ensembles by replicas, runs and loops"

    public let replicas: Int
    public let kill: Int
    public let runs: Int
    public let loops: Int
    /// The user's ξ with its source text (nil: the default from the exit region).
    public let reactionCoordinate: (expression: Diffusion.Expression, text: String)?
    public let startLevel: Double?
    public let sigmaLevel: Double?
    /// 2-D: the reflecting box of the backward-Kolmogorov grid whose committor gives the
    /// replicas' levels when no reaction_coordinate is given.
    public let domain: Grid2D.Box?
    static let committorNodes = 257

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {
        let replicas = try r.integer("replicas") ?? SplittingSettings.defaultReplicas
        guard (2...1_000_000).contains(replicas) else { throw r.error("replicas", "must be an integer in 2...1000000, got \(replicas)") }
        let kill = try r.integer("kill") ?? SplittingSettings.defaultKill(replicas: replicas)
        guard kill >= 1, kill < replicas else { throw r.error("kill", "must be an integer in 1...\(replicas - 1) (below replicas), got \(kill)") }
        let runs = try r.integer("runs") ?? SplittingSettings.defaultRuns
        guard (2...100_000).contains(runs) else { throw r.error("runs", "must be an integer in 2...100000 (the error bar needs ≥ 2 independent runs), got \(runs)") }
        let loops = try r.integer("loops") ?? SplittingSettings.defaultLoops
        guard (10...1_000_000_000).contains(loops) else { throw r.error("loops", "must be an integer in 10...1000000000, got \(loops)") }
        self.replicas = replicas; self.kill = kill; self.runs = runs; self.loops = loops
        if let text = try r.string("reaction_coordinate") {
            do {
                let e = try landscape.parse(text)
                reactionCoordinate = (e, text)
            } catch {
                throw r.error("reaction_coordinate", "\(error) in \"\(text.prefix(60))\" (an expression over \(landscape.variables.prefix(6).joined(separator: ", ")))")
            }
        } else {
            reactionCoordinate = nil
        }
        startLevel = try r.double("start_level")
        sigmaLevel = try r.double("sigma_level")
        domain = try BackwardKolmogorovMethod.domain(&r, landscape: landscape)
        if domain != nil, reactionCoordinate != nil {
            throw r.error("domain", "sets the committor as the level function, which replaces reaction_coordinate: give one of them")
        }
        if reactionCoordinate != nil {
            for (key, v) in [("start_level", startLevel), ("sigma_level", sigmaLevel)] where v == nil {
                throw r.error(key, "is required with reaction_coordinate: the start set A = {ξ ≤ start_level} around the start and the level set Σ = {ξ ≥ sigma_level} a little beyond it")
            }
        }
        for (key, v) in [("start_level", startLevel), ("sigma_level", sigmaLevel)] {
            if let v, !v.isFinite { throw r.error(key, "must be finite, got \(v)") }
        }
    }

    /// The cell's settings: sizes after `--quick` scaling, ξ and the levels with their defaults.
    func settings(_ cell: MethodCell) throws(SpecError) -> SplittingSettings {
        let problem = cell.problem
        let q = cell.scale
        let runs = q == 1 ? self.runs : max(min(self.runs, 4), Int((Double(self.runs) * q).rounded()))
        let loops = q == 1 ? self.loops : max(min(self.loops, 640), Int((Double(self.loops) * q).rounded()))
        var settings: SplittingSettings
        if let reactionCoordinate, let startLevel, let sigmaLevel {
            // re-read on the cell's landscape: its named constants may differ from the first cell's
            let xi: Diffusion.Expression
            do { xi = try problem.landscape.parse(reactionCoordinate.text) }
            catch { throw cell.error("reaction_coordinate", "\(error) in \"\(reactionCoordinate.text.prefix(60))\"") }
            let xi0 = CompiledProgram(outputs: [xi], dimension: problem.landscape.dimension).evaluate(at: problem.start)[0]
            guard xi0.isFinite else { throw cell.error("reaction_coordinate", "must be finite at the start, got \(xi0)") }
            settings = SplittingSettings(replicas: replicas, kill: kill, runs: runs, loops: loops, reactionCoordinate: xi,
                                         coordinateDescription: "ξ = \(reactionCoordinate.text)", startLevel: startLevel, sigmaLevel: sigmaLevel)
        } else {
            do {
                settings = try SplittingSettings(defaultsFor: problem, replicas: replicas, kill: kill, runs: runs, loops: loops,
                                                 startLevel: startLevel, sigmaLevel: sigmaLevel)
            } catch { throw cell.error("reaction_coordinate", "has no default here: \(error)") }
            if settings.sigmaLevel >= 0 {
                throw cell.error("sigma_level", "must be below the exit level 0 of the default reaction coordinate, got \(TableReader.format(settings.sigmaLevel))")
            }
            if let domain {
                let start = problem.start
                guard (domain.x0...domain.x1).contains(start[0]), (domain.y0...domain.y1).contains(start[1]) else {
                    throw cell.error("domain", "must contain the start \(start)")
                }
                do { _ = try NoiseModel(dynamics: problem.dynamics, landscape: problem.landscape) }
                catch { throw cell.error("domain", "\(error)") }
                settings.coordinateDescription = "levels: the committor of the diffusion on the \(Self.committorNodes)² grid of the box [\(domain.x0), \(domain.x1)]×[\(domain.y0), \(domain.y1)] (backward-Kolmogorov, the optimal coordinate); A and Σ by " + settings.coordinateDescription
            }
        }
        let (zA, zS) = (settings.startLevel, settings.sigmaLevel)
        guard zA < zS else {
            throw cell.error(sigmaLevel == nil ? "start_level" : "sigma_level", "must satisfy start_level < sigma_level, got \(TableReader.format(zA)) and \(TableReader.format(zS))")
        }
        return settings
    }

    /// The cell's splitting; `levelGrid` (the committor, computed only to run) sets the levels.
    func splitting(_ cell: MethodCell, levelGrid: GridFunction2D? = nil) throws(SpecError) -> AdaptiveMultilevelSplitting {
        var settings = try settings(cell)
        settings.levelGrid = levelGrid
        do {
            return try AdaptiveMultilevelSplitting(problem: cell.problem,
                                                   integrator: Integrator(cell.experiment.integrator, exitTest: cell.experiment.exitTest),
                                                   settings: settings)
        } catch {
            throw cell.error(cell.experiment.noiseLaw == nil ? "dynamics" : "noise", "\(error)")
        }
    }

    public func check(_ cell: MethodCell) throws(SpecError) { _ = try splitting(cell) }

    /// N·R replicas per cell; its work grows with |log p|, which the spec does not know.
    public func plan(_ values: [(key: String, value: Double)]) -> (paths: Int, maxPathSteps: Double?) {
        (replicas * runs, nil)
    }

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        var levelGrid: GridFunction2D? = nil
        if let domain {
            // the committor between A (on ξ) and the exit, on the reflecting box
            let plain = try splitting(cell)
            let zA = plain.settings.startLevel
            levelGrid = try BackwardKolmogorovReference.committor(problem: cell.problem, domain: domain, nodes: Self.committorNodes,
                                                                  a: { x, y in plain.coordinate(at: [x, y]) <= zA })
        }
        let ams = try splitting(cell, levelGrid: levelGrid)
        let s = ams.settings
        let e: AdaptiveMultilevelSplitting.Estimate
        do { e = try ams.estimate(seed: cell.spec.seed, experiment: cell.experimentIndex, cell: cell.cellIndex, threads: cell.threads) }
        catch { throw CellFailure("splitting: \(error)") }
        let h = cell.timeScale
        let p = e.probability, pSE = e.probabilityStandardError
        let direct = e.loops.started > 0 ? Double(e.loops.reactiveSteps.count) / Double(e.loops.started) : .nan
        let estimator = "adaptive multilevel splitting (gAMS, Bréhier et al. 2016; loop decomposition E[T] = E[τ₀] + (1/p − 1)·E[loop] + E[reactive], Cérou et al. 2011; docs/THEORY.md §6): "
            + "\(s.coordinateDescription); A = {ξ ≤ \(Self.format(s.startLevel))}, Σ = {ξ ≥ \(Self.format(s.sigmaLevel))}; "
            + "N = \(s.replicas) replicas, k = \(s.kill), R = \(s.runs) runs, \(s.loops) loops; "
            + "p̂ unbiased for p for any ξ (quantities: probability and its SE, per-run estimates, the decomposition's terms); "
            + "SE by the delta method over the runs and loops; 1/p̄ biased up by ≈ (SE_p/p)² (relative); "
            + "assumes the Σ-entries are near their stationary law"
        let estimate = ExitTimeEstimate(splitting: e, replicas: s.replicas, timeScale: h, estimator: estimator)
        let iterations = Double(e.runs.reduce(0) { $0 + $1.iterations }) / Double(e.runs.count)
        var quantities: [(String, Double)] = [
            ("probability", p), ("probability_standard_error", pSE),
            ("mean_first_entry", e.meanFirstEntrySteps * h), ("mean_first_entry_standard_error", e.firstEntryStandardError * h),
            ("mean_loop", e.meanLoopSteps * h), ("mean_loop_standard_error", e.loopStandardError * h),
            ("mean_reactive", e.meanReactiveSteps * h), ("mean_reactive_standard_error", e.reactiveStandardError * h),
            ("loops", Double(e.loops.started)), ("direct_exit_probability", direct),
            ("mean_iterations", iterations), ("extinct_runs", Double(e.runs.filter(\.extinct).count)),
            ("replicas", Double(s.replicas)), ("kill", Double(s.kill)), ("runs", Double(s.runs)),
            ("start_level", s.startLevel), ("sigma_level", s.sigmaLevel),
        ]
        quantities += e.runs.enumerated().map { ("run_\($0.offset + 1)_probability", $0.element.probability) }
        return MethodOutput(estimate: estimate, quantities: quantities, pathSteps: e.pathSteps)
    }

    static func format(_ x: Double) -> String { String(format: "%.4g", x) }
}
