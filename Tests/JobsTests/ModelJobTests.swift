import Foundation
import Testing
import TestSupport
@testable import Jobs
@testable import Diffusion

/// The finite sums and sampling methods issue 6 needs, through the job spec:
/// `sharp-flat-sum`, `random-features`, `two-layer`, `method = "convergence"` and
/// `method = "tail-index"`.
@Suite struct ModelJobTests {
    static func quantity(_ cell: Cell, _ name: String) -> Double? { cell.quantity(name) }

    static func parseError(_ text: String) -> String? {
        do { _ = try JobSpec.parse(text); return nil } catch { return error.message }
    }

    /// Patel's quadratic sums (a = 0.5…8, B = 1, with replacement): the theory cell's
    /// thresholds, then fixed-horizon SGD and the exit-time Monte Carlo (exit region
    /// unreachable, so a blow-up is `diverged`) on either side of the almost-sure threshold.
    /// The all-or-nothing counts are certain up to the Lundberg / Hoeffding bounds derived
    /// in FixedHorizonSGDTests (< 1e-6 for 200 paths of 2000 steps; the Monte Carlo's
    /// divergence bound 1e100 is the one used there).
    @Test func quadraticSumsDivergenceBesideThresholds() throws {
        let thresholds = try StabilityThresholds(finiteSum: QuadraticSums(matrices: [[0.5], [1], [2], [4], [8]], minimizer: [0]),
                                                 minimum: [0], batchSize: 1)
        let etaAS = try #require(thresholds.almostSure).withReplacement
        let text = """
        name = "patel"
        seed = 11
        [landscape]
        builtin = "quadratic-sums"
        curvatures = [0.5, 1, 2, 4, 8]
        [start]
        point = [1.0]
        [exit]
        when = "x > 1e200"
        [[experiment]]
        name = "thresholds"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        learning_rate = 0.1
        [[experiment]]
        name = "converge"
        dynamics = "sgd"
        method = "convergence"
        learning_rate = [\(0.7 * etaAS), \(1.3 * etaAS)]
        steps = 2000
        paths = 200
        divergence_bound = 1e100
        [[experiment]]
        name = "mc"
        dynamics = "sgd"
        learning_rate = [\(0.7 * etaAS), \(1.3 * etaAS)]
        paths = 200
        max_steps = 2000
        """
        let spec = try JobSpec.parse(text)
        let cells = try JobRunner(spec: spec, threads: 2).run()
        #expect(cells.count == 5)
        let theory = cells[0]
        #expect(Self.quantity(theory, "almost_sure_max_learning_rate") == etaAS)
        #expect(Self.quantity(theory, "gd_max_learning_rate") == thresholds.gd)
        let (calm, wild) = (cells[1], cells[2])
        #expect(calm.paths == 200 && calm.maxSteps == 2000 && calm.diverged == 0 && calm.censored == 200)
        #expect(wild.diverged == 200 && Self.quantity(wild, "diverged_fraction") == 1)
        #expect(Self.quantity(calm, "diverged_fraction") == 0)
        // between the mean-square (0.36) and almost-sure thresholds E e_N² grows while e_N → 0
        // almost surely: the mean final loss is carried by a few paths (heavy tail), so no bound
        print("patel η = 0.7·η_as: mean final loss \(Self.quantity(calm, "mean_final_loss")!) ± \(Self.quantity(calm, "mean_final_loss_standard_error")!)")
        #expect(calm.mean == nil && calm.parameters.map(\.key) == ["learning_rate", "batch_size", "divergence_bound"])
        let json = calm.json(timings: false)
        #expect(json["max_steps"] == .int(2000) && json["paths"] == .int(200) && json["mean_exit_time"] == .null)
        // the exit-time Monte Carlo counts the same: censored below η_as, diverged above
        let (mcCalm, mcWild) = (cells[3], cells[4])
        #expect(mcCalm.censored == 200 && mcCalm.diverged == 0)
        #expect(mcWild.diverged == 200)
        // same seed, one thread: identical cells
        let again = try JobRunner(spec: spec, threads: 1).run()
        #expect(zip(cells, again).allSatisfy { $0.json(timings: false) == $1.json(timings: false) })
    }

    /// The sharp-flat sum from its sharp minimum (exactly there every sample's gradient is 0, so
    /// `init_scale` starts the paths off it): where the paths end is counted per exit side.
    @Test func sharpFlatSumJob() throws {
        let text = """
        name = "sharp-flat-sum"
        seed = 4
        [landscape]
        builtin = "sharp-flat-sum"
        [start]
        at = "sharp minimum"
        [exit]
        when = "x > 0"
        [[experiment]]
        name = "where"
        dynamics = "sgd"
        method = "convergence"
        learning_rate = [0.15, 0.3]
        batch_size = [1, 5]
        replacement = false
        steps = 3000
        paths = 100
        init_scale = 0.001
        [[experiment]]
        name = "sharp"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        learning_rate = 0.1
        batch_size = [1, 5]
        replacement = false
        """
        let spec = try JobSpec.parse(text)
        #expect(spec.experiments[0].settings[0].start == [-1])
        #expect(spec.experiments[0].settings[0].landscape.criticalPoints.map(\.label) == ["sharp minimum", "barrier", "flat minimum"])
        let cells = try JobRunner(spec: spec, threads: 2).run()
        for cell in cells.prefix(4) {
            let e = cell
            #expect(e.exited + e.censored + e.diverged == 100 && e.exitSides.map(\.count) == [e.exited])
            #expect(cell.parameters.map(\.key) == ["learning_rate", "batch_size", "init_scale"])
            print("sharp-flat-sum η = \(cell.parameters[0].value), B = \(Int(cell.parameters[1].value)): flat \(e.exited), sharp \(e.censored), diverged \(e.diverged); mean ‖H‖_F \(Self.quantity(cell, "mean_hessian_frobenius_norm") ?? .nan)")
        }
        // GD (B = 5 = n without replacement) at η = 0.15 < 2/h̄ˢ contracts to the sharp minimum
        #expect(cells[1].censored == 100)
        #expect(Self.quantity(cells[1], "mean_hessian_frobenius_norm").map { abs($0 - 10) < 1e-6 } == true)
        // the stability cells at the sharp minimum: GD 2/10 for both batch sizes
        #expect(Self.quantity(cells[4], "gd_max_learning_rate").map { abs($0 - 0.2) < 1e-15 } == true)
        #expect(Self.quantity(cells[5], "mean_square_max_learning_rate").map { abs($0 - 0.2) < 1e-15 } == true)  // B = n without replacement is GD
    }

    @Test func randomFeaturesAndTwoLayerSpecs() throws {
        let text = """
        name = "rf"
        seed = 2
        [landscape]
        builtin = "random-features"
        samples = 24
        input_dimension = 3
        width = 8
        activation = "tanh"
        label_noise = 0.2
        [start]
        point = 0
        [exit]
        ball = { center = [0, 0, 0, 0, 0, 0, 0, 0], radius = 1e6 }
        [[experiment]]
        name = "converge"
        dynamics = "sgd"
        method = "convergence"
        learning_rate = [0.05, 0.1]
        batch_size = [1, 4]
        steps = 2000
        paths = 8
        [[experiment]]
        name = "noise"
        dynamics = "sgd"
        method = "tail-index"
        learning_rate = 0.1
        batch_size = 1
        paths = 4000
        pooling = "per-coordinate"
        """
        let spec = try JobSpec.parse(text)
        #expect(spec.experiments[0].settings[0].landscape.dimension == 8 && spec.experiments[0].settings[0].start == Array(repeating: 0, count: 8))
        #expect(spec.experiments[0].settings[0].landscape.criticalPoints.map(\.label) == ["minimum-norm minimizer"])
        let model = try #require(spec.experiments[0].settings[0].landscape.finiteSum as? TwoLayerNetwork)
        #expect(model.activation == .tanh && !model.trainsFirstLayer && model.sampleCount == 24)
        let cells = try JobRunner(spec: spec, threads: 2).run()
        for cell in cells.prefix(4) {
            for key in ["mean_final_loss", "mean_hessian_frobenius_norm", "mean_hessian_top_eigenvalue", "mean_alignment", "hessian_frobenius_bound"] {
                #expect(Self.quantity(cell, key) != nil, "\(key) missing")
            }
            print("random features η = \(cell.parameters[0].value), B = \(Int(cell.parameters[1].value)): diverged \(cell.diverged), ‖H‖_F \(Self.quantity(cell, "mean_hessian_frobenius_norm")!), μ̄ \(Self.quantity(cell, "mean_alignment")!), bound √(B/μ)/η \(Self.quantity(cell, "hessian_frobenius_bound")!)")
        }
        let noise = cells[4]
        #expect(noise.method == "tail-index" && noise.paths == 4000)
        #expect(Self.quantity(noise, "block_size") == 63 && Self.quantity(noise, "tail_index") != nil)

        let twoLayer = text.replacingOccurrences(of: "\"random-features\"", with: "\"two-layer\"")
            .replacingOccurrences(of: "ball = { center = [0, 0, 0, 0, 0, 0, 0, 0], radius = 1e6 }", with: "when = \"x1 > 1e6\"")
        let second = try JobSpec.parse(twoLayer)
        #expect(second.experiments[0].settings[0].landscape.dimension == 32 && second.experiments[0].settings[0].landscape.criticalPoints.isEmpty)
        #expect((second.experiments[0].settings[0].landscape.finiteSum as? TwoLayerNetwork)?.trainsFirstLayer == true)
    }

    /// α-stable noise law draws: the cell's α̂ within 5 of its own SEs (the SE is validated
    /// against replicates in TailIndexTests) for each swept α.
    @Test func tailIndexOfANoiseLaw() throws {
        let text = """
        name = "tails"
        seed = 8
        [landscape]
        potential = "x^2/2"
        [start]
        point = [0.0]
        [exit]
        when = "x > 1"
        [[experiment]]
        name = "stable"
        dynamics = "sgd"
        method = "tail-index"
        learning_rate = 0.1
        batch_size = 4
        noise = { law = "alpha-stable", sigma = 1.0, alpha = [1.3, 1.7] }
        paths = 40000
        """
        let cells = try JobRunner(spec: try JobSpec.parse(text), threads: 1).run()
        for (cell, alpha) in zip(cells, [1.3, 1.7]) {
            let inverse = try #require(Self.quantity(cell, "inverse_tail_index"))
            let se = try #require(Self.quantity(cell, "inverse_tail_index_standard_error"))
            print("tail-index cell α = \(alpha): α̂ = \(Self.quantity(cell, "tail_index")!) ± \(Self.quantity(cell, "tail_index_standard_error")!)")
            #expect(abs(inverse - 1 / alpha) < Statistics.z * se)
        }
    }

    @Test func badSpecsNameTheKey() throws {
        let head = """
        name = "bad"
        [landscape]
        builtin = "quadratic-sums"
        curvatures = [1, 2]
        [start]
        point = [1.0]
        [exit]
        when = "x > 10"
        [[experiment]]
        name = "e"
        dynamics = "sgd"
        learning_rate = 0.1

        """
        let cases: [(String, String)] = [
            (head + "method = \"convergence\"\nmax_steps = 10", "max_steps does not apply to method \"convergence\""),
            (head + "method = \"convergence\"\nsteps = 0", "steps must be an integer in 1...1e12"),
            (head + "method = \"convergence\"\nexit_test = \"step\"", "exit_test does not apply"),
            (head + "method = \"tail-index\"\npooling = \"norm\"", "pooling must be one of"),
            (head + "method = \"tail-index\"\nsteps = 5", "unknown key 'experiment[1].steps'"),
            (head + "method = \"tail-index\"\nnoise = { law = \"hessian\", scale = 1 }", "depends on the point"),
            // convergence runs any dynamics and noise law (moments at the end); a time step only for SDEs
            (head.replacingOccurrences(of: "dynamics = \"sgd\"", with: "dynamics = \"sgd-sde\"") + "method = \"convergence\"\ndt = -1", "dt must be > 0"),
            (head.replacingOccurrences(of: "builtin = \"quadratic-sums\"\ncurvatures = [1, 2]", with: "builtin = \"sharp-flat-sum\"\nsharp_curvatures = [1, 2]\nflat_curvatures = [1]"), "flat_curvatures must have one entry per sample"),
            (head.replacingOccurrences(of: "builtin = \"quadratic-sums\"\ncurvatures = [1, 2]", with: "builtin = \"two-layer\"\nwidth = 100\ninput_dimension = 20"), "at most 1024"),
            (head.replacingOccurrences(of: "builtin = \"quadratic-sums\"\ncurvatures = [1, 2]", with: "builtin = \"random-features\"\nactivation = \"gelu\""), "activation must be one of"),
        ]
        for (text, expected) in cases {
            let message = Self.parseError(text)
            #expect(message?.contains(expected) == true, "expected “\(expected)”, got \(message ?? "no error")")
        }
    }

    /// `method = "chain"` takes a `nodes` key: a coarser grid (401 nodes) agrees with the
    /// default (the kernel resolved at Δ = s/40) within the two Richardson error estimates.
    @Test func chainNodesKey() throws {
        let text = SpecFixtures.doubleWell(name: "chain-nodes") + """

        [[experiment]]
        name = "fine"
        dynamics = "langevin"
        method = "chain"
        epsilon = 0.1
        dt = 0.01
        [[experiment]]
        name = "coarse"
        dynamics = "langevin"
        method = "chain"
        epsilon = 0.1
        dt = 0.01
        nodes = 401
        """
        let cells = try JobRunner(spec: try JobSpec.parse(text), threads: 1).run()
        let fine = try #require(cells.first { $0.experiment == "fine" }), coarse = try #require(cells.first { $0.experiment == "coarse" })
        let f = try #require(fine.mean), c = try #require(coarse.mean)
        #expect(coarse.estimator.contains("401 nodes") && !fine.estimator.contains("401 nodes"))
        let budget: Double = (fine.methodError ?? 0) + (coarse.methodError ?? 0) + 1e-9 * f
        #expect(abs(f - c) <= budget, "fine \(f), coarse \(c), budget \(budget)")
        #expect(Self.parseError(text.replacingOccurrences(of: "nodes = 401", with: "nodes = 5"))?.contains("nodes must be in 11...1000001") == true)
    }
}
