import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// The compiled step kernels (`CompiledStepKernel`): a problem's gradient and exit programs
/// written out as C and run in the generator's loop must give exactly the bits of the block
/// kernels — the same exit steps, outcomes and end points for every path — for every program
/// operation, partial groups, censoring, divergence and NaN, and the bridge test.
@Suite struct CompiledStepKernelTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let landscape: String
        let dynamics: Dynamics
        let dt: Double
        let start: [Double]
        let exit: ExitRegion
        let bridge: Bool
        let maxSteps: Int
        var bound = 1e100
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // the reference workload (one term, d = 1), and its bridge test (the plane x = 0)
        Case(name: "double well, step", landscape: "x^4/4 - x^2/2", dynamics: .langevin(epsilon: 0.1), dt: 1e-3, start: [-1],
             exit: .condition("x > 0"), bridge: false, maxSteps: 30_000),
        Case(name: "double well, bridge", landscape: "x^4/4 - x^2/2", dynamics: .langevin(epsilon: 0.1), dt: 1e-3, start: [-1],
             exit: .condition("x > 0"), bridge: true, maxSteps: 30_000),
        // a plane with an offset (addConst), two terms (interval), and the transcendental operations
        Case(name: "offset plane, bridge", landscape: "x^2/2 + 0.3*sin(3*x) + 0.1*exp(-x^2)", dynamics: .langevin(epsilon: 0.2), dt: 2e-3,
             start: [0], exit: .condition("x > 0.7"), bridge: true, maxSteps: 5_000),
        Case(name: "interval, powers", landscape: "abs(x)^1.5 + 0.2*x^3 - 0.1*x^7 + log(2 + cos(x)) + tanh(x)",
             dynamics: .langevin(epsilon: 0.3), dt: 1e-3, start: [0.1], exit: .interval(lower: -1, upper: 1.2), bridge: false, maxSteps: 4_000),
        // d = 2: several terms, min/max/if/sign/sqrt, comparisons and logic in the exit test
        Case(name: "2-D, many operations", landscape: "(x^2 - 1)^2/4 + y^2/2 + 0.1*min(x, y) + 0.05*max(x*y, 0) + 0.1*if(x > y, sqrt(1 + x^2), -y)",
             dynamics: .langevin(epsilon: 0.15), dt: 1e-3, start: [-1, 0],
             exit: .condition("x > 0 && y < 1 || y^2 >= 1.5 || !(x > -2)"), bridge: false, maxSteps: 20_000),
        Case(name: "2-D, plane bridge", landscape: "(x^2 - 1)^2/4 + y^2", dynamics: .langevin(epsilon: 0.1), dt: 1e-3, start: [-1, 0],
             exit: .condition("x > 0.1"), bridge: true, maxSteps: 20_000),
        // the bridge on several boundaries with constant norms: an interval, a 2-D box
        Case(name: "interval, bridge", landscape: "x^4/4 - x^2/2", dynamics: .langevin(epsilon: 0.1), dt: 2e-3, start: [-1],
             exit: .interval(lower: -1.5, upper: 0), bridge: true, maxSteps: 30_000),
        Case(name: "box, bridge", landscape: "(x^2 - 1)^2/4 + y^2", dynamics: .langevin(epsilon: 0.12), dt: 2e-3, start: [-1, 0],
             exit: .box(lower: [-1.8, -0.5], upper: [0, 0.45]), bridge: true, maxSteps: 20_000),
        // divergence: an unstable landscape crosses the bound; sqrt of a negative gives NaN
        Case(name: "divergence", landscape: "-x^4/4", dynamics: .langevin(epsilon: 0.5), dt: 1e-2, start: [1], exit: .condition("x < -5"),
             bridge: false, maxSteps: 2_000, bound: 50),
        Case(name: "NaN", landscape: "sqrt(x)", dynamics: .langevin(epsilon: 0.5), dt: 1e-2, start: [0.3], exit: .condition("x > 3"),
             bridge: false, maxSteps: 2_000),
        // the Hessian law in 1-D (normals from the scalar stream): its positive part (zero
        // where V″ < 0, |x| < 0.577, which the exit at −0.6 reaches) and its absolute value
        Case(name: "Hessian noise", landscape: "x^4/4 - x^2/2",
             dynamics: .sgdSDE(learningRate: 0.05, batchSize: 1, noise: .hessian(scale: 20), withReplacement: true),
             dt: 0.05, start: [-1], exit: .condition("x > -0.6"), bridge: false, maxSteps: 20_000),
        Case(name: "Hessian noise, |V″|", landscape: "x^4/4 - x^2/2 + 0.1*exp(x)",
             dynamics: .sgdSDE(learningRate: 0.05, batchSize: 1, noise: .hessian(scale: 2, curvature: .absolute), withReplacement: true),
             dt: 0.05, start: [-1], exit: .interval(lower: -2, upper: 0.5), bridge: false, maxSteps: 20_000),
    ]

    /// The whole ensemble through the compiled kernel and through the block kernels: every
    /// path's steps, outcome and end point equal, with chunks (100 paths) that leave partial
    /// groups and drain, and a step cap that censors some paths.
    @Test(arguments: cases)
    func sameBitsAsTheBlockKernels(_ c: Case) throws {
        let landscape = try Landscape(expression: c.landscape)
        let problem = try ExitProblem(landscape: landscape, dynamics: c.dynamics, dt: c.dt, start: c.start,
                                      exit: c.exit, maxSteps: c.maxSteps, divergenceBound: c.bound)
        var compiled = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: c.bridge ? .bridge : .step))
        try #require(CompiledStepKernel.compiler() != nil, "no clang on the PATH")
        let built = compiled.prepareCompiledSteps()
        #expect(built, "the kernel did not build: \(CompiledStepKernel.lastFailure ?? "no plan")")
        // the compiled route is the one a chunk takes
        let stepper = EulerMaruyamaStepper(simulator: compiled, width: EnsembleSimulator.blockWidth(dimension: c.start.count))
        stepper.beginChunk()
        #expect(stepper.runsCompiledSteps)
        var blocks = compiled
        blocks.compiledSteps = false
        let paths = 333
        let a = compiled.run(paths: paths, seed: 17, threads: 1, chunkSize: 100)
        let b = blocks.run(paths: paths, seed: 17, threads: 1, chunkSize: 100)
        #expect(a.steps == b.steps)
        #expect(a.outcomes == b.outcomes)
        #expect(a.finalPoints.map(\.bitPattern) == b.finalPoints.map(\.bitPattern))
        // the cases reach what they are for
        let outcomes = Set(a.outcomes)
        switch c.name {
        case "divergence", "NaN": #expect(outcomes.contains(ExitSamples.diverged))
        default: #expect(outcomes.contains(0))
        }
        if c.name == "double well, step" { #expect(outcomes.contains(ExitSamples.censored)) }
        if c.name == "interval, bridge" || c.name == "box, bridge" { #expect(outcomes.contains(1), "one boundary only") }
        // and two threads give the same bits
        compiled.compiledSteps = true
        let two = compiled.run(paths: paths, seed: 17, threads: 2, chunkSize: 100)
        #expect(two.steps == a.steps && two.outcomes == a.outcomes)
    }

    /// Problems the kernel does not cover get no plan, and run as before.
    @Test func plansOnlyWhereTheKernelApplies() throws {
        let well = try Landscape(expression: "x^4/4 - x^2/2")
        let langevin = try ExitProblem(landscape: well, dynamics: .langevin(epsilon: 0.1), dt: 1e-3, start: [-1],
                                       exit: .interval(lower: -2, upper: 0), maxSteps: 100)
        // two planes under the bridge: a plan; a sphere (its gradient's norm not a constant): none
        #expect(try EnsembleSimulator(problem: langevin, integrator: Integrator(exitTest: .bridge)).compiledStepPlan != nil)
        #expect(try EnsembleSimulator(problem: langevin, integrator: Integrator(exitTest: .step)).compiledStepPlan != nil)
        let bowl = try Landscape(expression: "x^2/2 + y^2/2")
        let ball = try ExitProblem(landscape: bowl, dynamics: .langevin(epsilon: 0.1), dt: 1e-3, start: [0, 0],
                                   exit: .ball(center: [0, 0], radius: 1), maxSteps: 100)
        #expect(try EnsembleSimulator(problem: ball, integrator: Integrator(exitTest: .bridge)).compiledStepPlan == nil)
        // state-dependent noise other than the 1-D Hessian law: no plan
        let covariance = try ExitProblem(landscape: bowl,
                                         dynamics: .sgdSDE(learningRate: 0.05, batchSize: 1, noise: .hessian(scale: 1), withReplacement: true),
                                         dt: 0.05, start: [0, 0], exit: .condition("x > 1"), maxSteps: 100)
        #expect(try EnsembleSimulator(problem: covariance, integrator: Integrator()).compiledStepPlan == nil)
    }

    /// A kernel's source holds the program shapes only: cells that differ in ε, dt and the
    /// landscape's and exit's constants share one build, their constants passed at call time.
    @Test func sourcesNameNoConstants() throws {
        func plan(_ expression: String, _ exit: String, _ epsilon: Double) throws -> CompiledStepKernel.Plan? {
            let problem = try ExitProblem(landscape: try Landscape(expression: expression), dynamics: .langevin(epsilon: epsilon),
                                          dt: 1e-3, start: [-1], exit: .condition(exit), maxSteps: 100)
            return try EnsembleSimulator(problem: problem, integrator: Integrator()).compiledStepPlan
        }
        let a = try #require(try plan("0.3*x^4 - 0.7*x^2", "x > 0.1", 0.1))
        let b = try #require(try plan("0.2*x^4 - 0.9*x^2", "x > 0.25", 0.05))
        #expect(a.source == b.source)
        #expect(a.gradientImmediates != b.gradientImmediates)
        #expect(a.indicatorImmediates != b.indicatorImmediates)
    }

    /// A build that fails reports why (and the ensembles then run on the block kernels).
    @Test func failedBuildReportsTheCompilersMessage() throws {
        try #require(CompiledStepKernel.compiler() != nil, "no clang on the PATH")
        switch CompiledStepKernel.build("#error deliberately broken\n") {
        case .success: Issue.record("a broken source built")
        case .failure(let failure): #expect(failure.reason.contains("deliberately broken"))
        }
    }
}
