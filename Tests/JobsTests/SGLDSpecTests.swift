import Foundation
import Testing
import TestSupport
@testable import Diffusion
@testable import Jobs

/// `dynamics = "sgld"` in job specs: its keys, `temperature = "matched"`, the methods that
/// take it, and one-line errors naming the field and the value.
@Suite struct SGLDSpecTests {
    static let head = """
    name = "sgld"
    seed = 2
    [landscape]
    builtin = "quadratic-sums"
    curvatures = [0.5, 1, 2, 4, 8]
    [start]
    point = [1.0]
    [exit]
    interval = [-2.0, 2.0]
    [[experiment]]
    name = "e"
    dynamics = "sgld"
    learning_rate = [0.1, 0.2]

    """

    static func parseError(_ text: String) -> String? {
        do { _ = try JobSpec.parse(text); return nil } catch { return error.message }
    }

    /// A number is the temperature of every cell; `"matched"` gives each cell
    /// ε = η·Tr(Σ_B(θ₀))/(2d), by hand here η·Var(a)·θ₀²·(3/8)/2 (B = 2 without replacement
    /// from n = 5: c_B = 3/8), shown among the cell's parameters as `temperature`.
    @Test func temperatureNumberOrMatched() throws {
        let fixed = try JobSpec.parse(Self.head + "temperature = 0.5\n")
        #expect(try fixed.cellProblem(experiment: 0, cell: 1).problem.dynamics == .sgld(learningRate: 0.2, temperature: 0.5))
        let matched = try JobSpec.parse(Self.head + "temperature = \"matched\"\nbatch_size = 2\nreplacement = false\n")
        #expect(matched.experiments[0].matchedTemperature)
        let variance = 17.05 - 3.1 * 3.1
        for (c, eta) in [0.1, 0.2].enumerated() {
            let (problem, parameters) = try matched.cellProblem(experiment: 0, cell: c)
            guard case .sgld(let e, let eps) = problem.dynamics else { Issue.record("not sgld"); continue }
            let expected = eta * variance * 3 / 8 / 2
            #expect(e == eta)
            #expect(abs(eps - expected) < 1e-12, "cell \(c): ε = \(eps), by hand \(expected)")
            #expect(parameters.first { $0.key == "temperature" }?.value == eps)
            #expect(parameters.first { $0.key == "batch_size" }?.value == 2)
        }
    }

    @Test func badSpecsNameTheFieldAndValue() {
        let cases: [(String, String)] = [
            (Self.head + "temperature = \"hot\"\n", "experiment[1].temperature must be a number > 0 or \"matched\", got \"hot\""),
            (Self.head + "temperature = -1\n", "temperature must be > 0"),
            (Self.head, "experiment[1].temperature is required"),
            (Self.head + "temperature = 0.5\nbatch_size = 2\n", "experiment[1].batch_size applies to dynamics \"sgld\" only with temperature = \"matched\""),
            (Self.head + "temperature = 0.5\nnoise = { law = \"gaussian\", sigma = 1 }\n", "noise does not apply to dynamics \"sgld\""),
            (Self.head + "temperature = 0.5\ndt = 0.1\n", "dt does not apply to dynamics \"sgld\""),
            (Self.head + "temperature = 0.5\nexit_test = \"bridge\"\n", "\"bridge\" does not apply to dynamics \"sgld\""),
            (Self.head + "temperature = 0.5\nmethod = \"backward-kolmogorov\"\n", "\"backward-kolmogorov\" is for dynamics \"langevin\", \"levy\", \"sgd\", \"sgd-sde\", got \"sgld\""),
            (Self.head + "temperature = 0.5\nmethod = \"theory\"\ntheory = \"kramers\"\n", "got \"sgld\""),
            (Self.head.replacingOccurrences(of: "builtin = \"quadratic-sums\"\ncurvatures = [0.5, 1, 2, 4, 8]", with: "potential = \"x^2\"")
                + "temperature = \"matched\"\n", "temperature \"matched\" needs a finite-sum landscape"),
        ]
        for (text, expected) in cases {
            let message = Self.parseError(text)
            #expect(message?.contains(expected) == true, "expected “\(expected)”, got \(message ?? "no error")")
            #expect(message?.contains("\n") != true)
        }
        // Σ(θ₀) = 0 at the minimizer: nothing to match
        let atMinimum = Self.head.replacingOccurrences(of: "point = [1.0]", with: "point = [0.0]") + "temperature = \"matched\"\n"
        #expect(throws: SpecError.self) { try JobSpec.parse(atMinimum).checkCells() }
    }

    /// Monte Carlo and the exact chain on a 1-D expression landscape: times in iterations,
    /// Monte Carlo within 5 SE plus the chain's own error of the exact chain (seed 2, 20 000 paths).
    @Test func monteCarloAgainstTheChainInIterations() throws {
        let text = """
        name = "sgld-chain"
        seed = 2
        [landscape]
        potential = "x^2"
        [start]
        point = [0.0]
        [exit]
        interval = [-1.0, 1.0]
        [[experiment]]
        name = "mc"
        dynamics = "sgld"
        learning_rate = 0.05
        temperature = 0.2
        paths = 20000
        [[experiment]]
        name = "chain"
        dynamics = "sgld"
        method = "chain"
        learning_rate = 0.05
        temperature = 0.2
        """
        let cells = try JobRunner(spec: try JobSpec.parse(text), threads: 2).run()
        let mc = cells[0], chain = cells[1]
        #expect(mc.timeUnit == .iterations && chain.timeUnit == .iterations)
        let mean = try #require(mc.mean), se = try #require(mc.standardError), exact = try #require(chain.mean)
        print("sgld job: Monte Carlo \(mean) ± \(se) iterations, chain \(exact) ± \(chain.methodError ?? .nan)")
        #expect(mc.meanIterations == mean)
        #expect(abs(mean - exact) <= Statistics.z * se + (chain.methodError ?? 0))
    }
}
