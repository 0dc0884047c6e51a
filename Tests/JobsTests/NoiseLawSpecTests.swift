import Foundation
import Testing
import Diffusion
import TestSupport
@testable import Jobs

/// `noise = { law = "covariance", matrix = … }`, `curvature` of the hessian law and
/// `hessian_scale` of the loss-proportional law in job specs: parsed, run by every engine,
/// and refused with the key, the value and what is required.
struct NoiseLawSpecTests {
    static func spec(_ noise: String, _ extra: String = "", method: String = "backward-kolmogorov",
                     dynamics: String = "sgd-sde", landscape: String? = nil) -> String {
        var text = SpecFixtures.doubleWell(name: "n")
        if let landscape { text = text.replacingOccurrences(of: "\"x^4/4 - x^2/2\"", with: landscape) }
        return text + "\n[[experiment]]\nname = \"e\"\ndynamics = \"\(dynamics)\"\nmethod = \"\(method)\"\nlearning_rate = 0.5\nnoise = \(noise)\n" + extra
    }

    @Test func covarianceRunsOnTheGridAndInTheory() throws {
        let spec = try JobSpec.parse(Self.spec("{ law = \"covariance\", matrix = \"1 + x^2\" }", "fokker_planck = \"divergence\""))
        #expect(spec.experiments[0].noiseLaw == .covariance)
        #expect(spec.experiments[0].noiseOptions.matrix?.sources == ["1 + x^2"])
        let cell = try JobRunner(spec: spec, threads: 1).runCell(experiment: 0, cell: 0)
        #expect(cell.noiseLaw == .covariance && cell.mean.map { $0 > 0 } == true)
        let theory = try JobSpec.parse(Self.spec("{ law = \"covariance\", matrix = \"1 + x^2\" }", "theory = \"xie\"", method: "theory"))
        let t = try JobRunner(spec: theory, threads: 1).runCell(experiment: 0, cell: 0)
        #expect(t.estimator.contains("Xie") && t.estimator.contains("half the transition time"), "\(t.estimator)")
    }

    @Test func hessianCurvatureAndHessianScaleAreRead() throws {
        let abs = try JobSpec.parse(Self.spec("{ law = \"hessian\", scale = 1, curvature = \"absolute\" }", method: "monte-carlo",
                                              dynamics: "sgd") + "paths = 10\n")
        #expect(abs.experiments[0].noiseOptions.curvature == .absolute)
        let mori = try JobSpec.parse(Self.spec("{ law = \"loss-proportional\", scale = 1, hessian_scale = [1, 2] }",
                                               landscape: "\"0.5 + x^4/4 - x^2/2\""))
        #expect(mori.experiments[0].cellCount == 2)
        #expect(mori.experiments[0].cellParameters(1).contains { $0.key == "noise.hessian_scale" && $0.value == 2 })
        let (problem, _) = try mori.cellProblem(experiment: 0, cell: 1)
        #expect(problem.dynamics.noiseLaw == .lossProportional(scale: 1, hessianScale: 2))
        let plain = try JobSpec.parse(Self.spec("{ law = \"loss-proportional\", scale = 1 }", method: "monte-carlo", dynamics: "sgd") + "paths = 10\n")
        #expect(try plain.cellProblem(experiment: 0, cell: 0).problem.dynamics.noiseLaw == .lossProportional(scale: 1))
    }

    /// theory = "mori" on loss-proportional noise with hessian_scale, and refused without it.
    @Test func moriTheoryCells() throws {
        let spec = try JobSpec.parse(Self.spec("{ law = \"loss-proportional\", scale = 1, hessian_scale = 2 }", "theory = \"mori\"",
                                               method: "theory", landscape: "\"0.5 + x^4/4 - x^2/2\""))
        let cell = try JobRunner(spec: spec, threads: 1).runCell(experiment: 0, cell: 0)
        // exit x > 0 through the barrier: ½·(2π/√(2·1))·2^{1/(0.5·2) + 1/2}
        let expected = 0.5 * 2 * Double.pi / 2.0.squareRoot() * pow(2, 1.5)
        #expect(abs(cell.mean! / expected - 1) < 1e-12, "\(cell.mean!) vs \(expected)")
        #expect(cell.estimator.contains("Mori"), "\(cell.estimator)")
        #expect(throws: SpecError.self) {
            try JobSpec.parse(Self.spec("{ law = \"loss-proportional\", scale = 1 }", "theory = \"mori\"", method: "theory",
                                        landscape: "\"0.5 + x^4/4 - x^2/2\""))
        }
        #expect(throws: SpecError.self) {
            try JobSpec.parse(Self.spec("{ law = \"gaussian\", sigma = 1 }", "theory = \"mori\"", method: "theory"))
        }
    }

    @Test func badSettingsAreRefusedWithKeyValueAndRequirement() {
        #expect(throws: SpecError("experiment[1].noise.curvature must be one of \"positive\", \"absolute\", got \"abs\" (experiment 'e', line 13)")) {
            try JobSpec.parse(Self.spec("{ law = \"hessian\", scale = 1, curvature = \"abs\" }"))
        }
        #expect(throws: SpecError("experiment[1].noise.hessian_scale must be > 0, got 0 (experiment 'e', line 13)")) {
            try JobSpec.parse(Self.spec("{ law = \"loss-proportional\", scale = 1, hessian_scale = 0 }"))
        }
        #expect(throws: SpecError("experiment[1].noise.matrix is required for noise law \"covariance\" (Σ₁(θ) as expressions: one string in 1-D, d rows of d strings in d dimensions) (experiment 'e', line 13)")) {
            try JobSpec.parse(Self.spec("{ law = \"covariance\" }"))
        }
        #expect(throws: SpecError("experiment[1].noise.matrix must be one expression string (Σ₁(x), e.g. \"1 + x^2\") for a 1-D landscape, got [[\"1\", \"0\"], [\"0\", \"1\"]] (experiment 'e', line 13)")) {
            try JobSpec.parse(Self.spec("{ law = \"covariance\", matrix = [[\"1\", \"0\"], [\"0\", \"1\"]] }"))
        }
        #expect(throws: SpecError("experiment[1].noise.matrix must be one expression string (Σ₁(x), e.g. \"1 + x^2\") for a 1-D landscape, got 2 (experiment 'e', line 13)")) {
            try JobSpec.parse(Self.spec("{ law = \"covariance\", matrix = 2 }"))
        }
        #expect(throws: SpecError.self) { try JobSpec.parse(Self.spec("{ law = \"covariance\", matrix = \"1 + y\" }")) }
        #expect(throws: SpecError.self) { try JobSpec.parse(Self.spec("{ law = \"gaussian\", sigma = 1, matrix = \"1\" }")) }
        do {
            _ = try JobSpec.parse(Self.spec("{ law = \"covariance\", matrix = \"1 - 4*x^2\" }"))
            Issue.record("a negative variance at the start was accepted")
        } catch {
            #expect(error.message.hasPrefix("experiment[1].noise.matrix Σ₁ = \"1 - 4*x^2\" = -3 < 0 at θ = [-1]"), "\(error)")
            #expect(error.message.hasSuffix("(experiment 'e', cell 1, line 13)"), "\(error)")
        }
    }

    @Test func twoDimensionalMatricesAreRows() throws {
        let landscape = """
        name = "p"
        [landscape]
        potential = "x^2/2 + y^2"
        [start]
        point = [0.1, 0.0]
        [exit]
        when = "x^2 + y^2 > 1"
        """
        let ok = try JobSpec.parse(landscape + "\n[[experiment]]\nname = \"e\"\ndynamics = \"sgd\"\nlearning_rate = 0.1\npaths = 20\nnoise = { law = \"covariance\", matrix = [[\"1 + y^2\", \"x*y\"], [\"x*y\", \"1 + x^2\"]] }\n")
        #expect(ok.experiments[0].noiseOptions.matrix?.dimension == 2)
        let cell = try JobRunner(spec: ok, threads: 1).runCell(experiment: 0, cell: 0)
        #expect(cell.exited == 20)
        #expect(throws: SpecError("experiment[1].noise.matrix must be 2 rows of 2 expression strings (Σ₁(θ), row-major) for a 2-D landscape, got [[\"1\", \"0\"]] (experiment 'e', line 12)")) {
            try JobSpec.parse(landscape + "\n[[experiment]]\nname = \"e\"\ndynamics = \"sgd\"\nlearning_rate = 0.1\nnoise = { law = \"covariance\", matrix = [[\"1\", \"0\"]] }\n")
        }
        // on the 2-D grid: Σ₁ = [[1, x], [x, 1]] is indefinite where |x| > 1, inside the box
        do {
            _ = try JobSpec.parse(landscape + "\n[[experiment]]\nname = \"e\"\ndynamics = \"sgd-sde\"\nmethod = \"backward-kolmogorov\"\nlearning_rate = 0.1\ndomain = { lower = [-1.5, -1.5], upper = [1.5, 1.5] }\nnodes = 33\nnoise = { law = \"covariance\", matrix = [[\"1\", \"x\"], [\"x\", \"1\"]] }\n")
            Issue.record("an indefinite matrix on the grid was accepted")
        } catch {
            #expect(error.message.contains("not positive semi-definite at θ = [-1.5"), "\(error)")
        }
        do {
            _ = try JobSpec.parse(landscape + "\n[[experiment]]\nname = \"e\"\ndynamics = \"sgd\"\nlearning_rate = 0.1\nnoise = { law = \"covariance\", matrix = [[\"1\", \"2\"], [\"2\", \"1\"]] }\n")
            Issue.record("an indefinite matrix was accepted")
        } catch {
            #expect(error.message.contains("not positive semi-definite at θ = [0.1, 0]"), "\(error)")
        }
    }

    /// Monte Carlo of the SDE with a covariance law against the grid's exact MFPT: the double
    /// well from −1 to 0, Σ₁ = 1 + x², η = 0.5, B = 1 (D = (1 + x²)/4), Euler–Maruyama with the
    /// Brownian-bridge exit test at dt = 1e-3, 4000 paths, seed 7. Passes within 3 SE plus
    /// Euler–Maruyama's O(dt) weak-error budget T·dt·(max|V''| + max|D''|) on [−1.5, 0]
    /// (5.75 + 0.5; the budget form of DoubleWellExitTests.langevinBridgeMatchesExactMFPT).
    @Test func covarianceMonteCarloMatchesTheGrid() throws {
        let spec = try JobSpec.parse(SpecFixtures.doubleWell(name: "mc", seed: 7) + """

        [[experiment]]
        name = "mc"
        dynamics = "sgd-sde"
        learning_rate = 0.5
        dt = 0.001
        exit_test = "bridge"
        paths = 4000
        noise = { law = "covariance", matrix = "1 + x^2" }

        [[experiment]]
        name = "exact"
        dynamics = "sgd-sde"
        method = "backward-kolmogorov"
        learning_rate = 0.5
        noise = { law = "covariance", matrix = "1 + x^2" }
        """)
        let runner = JobRunner(spec: spec, threads: 2)
        let mc = try runner.runCell(experiment: 0, cell: 0), exact = try runner.runCell(experiment: 1, cell: 0)
        let mean = try #require(mc.mean), se = try #require(mc.standardError), t = try #require(exact.mean)
        let budget = t * 1e-3 * (5.75 + 0.5)
        print("covariance MC \(mean) ± \(se) against the grid's \(t) (budget \(budget))")
        #expect(mc.exited == 4000)
        #expect(abs(mean - t) < 3 * se + budget, "MC \(mean) ± \(se), exact \(t)")
    }
}
