import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// `sgld`: θ_{k+1} = θ_k − η∇L(θ_k) + √(2ηε)ξ_k, Euler–Maruyama of `langevin` at dt = η,
/// time in iterations (docs/THEORY.md §0).
@Suite struct SGLDTests {
    /// ℓᵢ = ½aᵢθ² on one parameter: L = ½ā θ², Σ(θ) = Var(a)·θ².
    static let curvatures = [0.5, 1.0, 2.0, 4.0, 8.0]
    static var quadraticSum: Landscape {
        Landscape(finiteSum: QuadraticSums(matrices: curvatures.map { [$0] }, minimizer: [0]), summary: "quadratic sum")
    }

    /// The same scheme: SGLD on a 1-D quadratic finite sum and `langevin` at dt = η give
    /// identical exit steps and end points, bit for bit (seed 4, 2000 paths, 2 threads).
    @Test func isLangevinEulerMaruyamaAtStepEta() throws {
        let eta = 0.05, eps = 0.3
        func run(_ dynamics: Dynamics) throws -> ExitSamples {
            let problem = try ExitProblem(landscape: Self.quadraticSum, dynamics: dynamics, dt: eta, start: [0],
                                          exit: .interval(lower: -1, upper: 1), maxSteps: 1_000_000)
            return try EnsembleSimulator(problem: problem, integrator: Integrator()).run(paths: 2000, seed: 4, threads: 2)
        }
        let sgld = try run(.sgld(learningRate: eta, temperature: eps))
        let langevin = try run(.langevin(epsilon: eps))
        #expect(sgld.steps == langevin.steps)
        #expect(sgld.finalPoints == langevin.finalPoints)
        #expect(sgld.outcomes.allSatisfy { $0 >= 0 })
    }

    /// Mean exit iterations of SGLD from 0 out of |θ| > 1 on L = θ²·ā/2 (ā = 3.1) against the
    /// exact discrete chain (`ChainReference`: the chain's own backward equation, Richardson-
    /// extrapolated): within 5 SE plus the reference's own error estimate (exact for the
    /// step-checked chain: no bias budget). Seed 8, 20 000 paths.
    @Test func meanExitIterationsMatchTheExactChain() throws {
        let eta = 0.1, eps = 0.25
        let mean = Self.curvatures.reduce(0, +) / Double(Self.curvatures.count)
        let landscape = try Landscape(expression: "\(mean)*x^2/2")
        let problem = try ExitProblem(landscape: landscape, dynamics: .sgld(learningRate: eta, temperature: eps), dt: eta,
                                      start: [0], exit: .interval(lower: -1, upper: 1), maxSteps: 10_000_000)
        let reference = try ChainReference(problem: problem)
        let samples = try EnsembleSimulator(problem: problem, integrator: Integrator()).run(paths: 20_000, seed: 8, threads: 2)
        #expect(samples.outcomes.allSatisfy { $0 >= 0 })
        let steps = samples.steps.map(Double.init)
        let estimate = Statistics.mean(steps), se = Statistics.standardError(steps)
        print("sgld: Monte Carlo \(estimate) ± \(se) iterations, exact chain \(reference.steps) ± \(reference.stepsError)")
        #expect(abs(estimate - reference.steps) <= Statistics.z * se + reference.stepsError)
        // the same chain as a finite sum with the same mean curvature: same law, so within 5 combined SE
        let summed = try ExitProblem(landscape: Self.quadraticSum, dynamics: .sgld(learningRate: eta, temperature: eps), dt: eta,
                                     start: [0], exit: .interval(lower: -1, upper: 1), maxSteps: 10_000_000)
        let other = try EnsembleSimulator(problem: summed, integrator: Integrator()).run(paths: 20_000, seed: 9, threads: 2)
        let steps2 = other.steps.map(Double.init)
        let estimate2 = Statistics.mean(steps2), se2 = Statistics.standardError(steps2)
        print("sgld on the finite sum: \(estimate2) ± \(se2)")
        #expect(abs(estimate2 - reference.steps) <= Statistics.z * se2 + reference.stepsError)
    }

    /// `matched`: ε = η·Tr(Σ_B(θ₀))/(2d). By hand on the 1-D sum at θ₀ = 1: Σ = Var(a)·θ₀²
    /// = 7.44 (a = 0.5, 1, 2, 4, 8: mean 3.1, mean square 17.05), with B = 2: c_B = 1/2 with
    /// replacement, (5 − 2)/(2·4) = 3/8 without; and on a 2-D sum of diagonal matrices.
    @Test func matchedTemperatureIsTheTraceFormula() throws {
        let eta = 0.2
        let variance = 17.05 - 3.1 * 3.1
        let with = try NoiseModel.matchedTemperature(learningRate: eta, batchSize: 2, withReplacement: true,
                                                     landscape: Self.quadraticSum, at: [1])
        #expect(abs(with - eta * variance / 2 / 2) < 1e-12)
        let without = try NoiseModel.matchedTemperature(learningRate: eta, batchSize: 2, withReplacement: false,
                                                        landscape: Self.quadraticSum, at: [1])
        #expect(abs(without - eta * variance * 3 / 8 / 2) < 1e-12)
        // 2-D: A₁ = diag(1, 3), A₂ = diag(3, 1), θ₀ = (1, 2): g₁ = (1, 6), g₂ = (3, 2); Var = (1, 4); Tr Σ = 5
        let plane = Landscape(finiteSum: QuadraticSums(matrices: [[1, 0, 0, 3], [3, 0, 0, 1]], minimizer: [0, 0]), summary: "2-D")
        let two = try NoiseModel.matchedTemperature(learningRate: eta, batchSize: 1, withReplacement: true, landscape: plane, at: [1, 2])
        #expect(abs(two - eta * 5 / (2 * 2)) < 1e-12)
        // an expression landscape has no minibatch to match
        #expect(throws: DynamicsError.self) {
            try NoiseModel.matchedTemperature(learningRate: eta, batchSize: 1, withReplacement: true,
                                              landscape: try Landscape(expression: "x^2"), at: [1])
        }
    }

    /// SGLD is a discrete chain: no bridge test, and its parameters are checked.
    @Test func badParameters() throws {
        let landscape = try Landscape(expression: "x^2")
        for (dynamics, text) in [(Dynamics.sgld(learningRate: -1, temperature: 1), "learning_rate must be > 0, got -1.0"),
                                 (.sgld(learningRate: 0.1, temperature: 0), "temperature must be > 0, got 0.0")] {
            #expect { try NoiseModel(dynamics: dynamics, landscape: landscape) } throws: { "\($0)".contains(text) }
        }
        let problem = try ExitProblem(landscape: landscape, dynamics: .sgld(learningRate: 0.1, temperature: 1), dt: 0.1,
                                      start: [0], exit: .interval(lower: -1, upper: 1), maxSteps: 10)
        #expect { try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .bridge)) } throws: {
            "\($0)".contains("does not apply to dynamics \"sgld\"")
        }
    }
}
