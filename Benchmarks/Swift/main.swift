import Foundation
import Diffusion

// sgd-escape-bench: the reference workload of Benchmarks/README.md, printed as JSON lines.
// 1-D double well V = x⁴/4 − x²/2, ε = 0.1, dt = 1e-3, paths from −1 to the first x > 0.
// "Useful path-steps" are the steps of paths still inside (the sum of exit steps).
// Then the splitting benchmark at ε = 0.02 (section 4, defined first so that
// `--splitting-only` can run it alone; `--no-splitting` skips it).

func seconds(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let t = clock.measure(body)
    return Double(t.components.seconds) + Double(t.components.attoseconds) * 1e-18
}

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    if let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) { return v }
    return fallback
}
let paths = option("--paths", 10_000)
let repeats = option("--repeats", 3)

// 3. Deterministic references: a 4,001-node 1-D MFPT grid solve, and 2-D solves at 257×257
//    (paired with SciPy's spsolve in run.py) and 1025×1025 (double well, ε = 0.1; the 2-D
//    landscape adds y²/2), best of `repeats` (1025²: best of 2). `--grids-only` runs this alone.
func grids() throws {
    let eps = 0.1
    let oneD = Diffusion1D(slope: { $0 * $0 * $0 - $0 }, diffusion: { _ in eps }, form: .ito)
    var best1 = Double.infinity
    var t1 = 0.0
    for _ in 0..<max(repeats, 5) {
        best1 = min(best1, seconds {
            t1 = try! Grid1D.meanExitTime(oneD, lower: -3, upper: 0, lowerBoundary: .reflecting, upperBoundary: .absorbing, nodes: 4001)(-1)
        })
    }
    print("{\"name\": \"grid1d-mfpt-4001\", \"seconds\": \(best1), \"value\": \(t1)}")
    let plane = try Landscape(expression: "x^4/4 - x^2/2 + y^2/2")
    for (n, count) in [(257, repeats), (1025, min(repeats, 2))] {
        let problem = Grid2D.Problem(landscape: plane, d11: eps, d22: eps, advection: .hybrid,
                                     box: Grid2D.Box(x0: -2.5, x1: 0, y0: -2, y1: 2), nx: n, ny: n)
        var best = Double.infinity
        var t = 0.0
        for _ in 0..<count {
            best = min(best, seconds { t = try! Grid2D.meanExitTime(problem, exit: { x, _ in x >= 0 })(-1, 0) })
        }
        print("{\"name\": \"grid2d-mfpt-\(n)\", \"seconds\": \(best), \"value\": \(t)}")
    }
    // 3-D (Grid3D): the separable well with a z²/2 valley, once — 49³ is what fits in ~10 s
    // (sparse LU work ∝ N²: 65³ took 27 s and 2.6 GB; Grid3D.estimatedFactorBytes)
    let space = try Landscape(expression: "x^4/4 - x^2/2 + y^2/2 + z^2/2", variables: ["x", "y", "z"])
    let cube = Grid3D.Problem(landscape: space, d11: eps, d22: eps, d33: eps, advection: .hybrid,
                              box: Grid3D.Box(x0: -2.5, x1: 0, y0: -2, y1: 2, z0: -2, z1: 2), nx: 49, ny: 49, nz: 49)
    var t3 = 0.0
    let s3 = seconds { t3 = try! Grid3D.meanExitTime(cube, exit: { x, _, _ in x >= 0 })(-1, 0, 0) }
    print("{\"name\": \"grid3d-mfpt-49\", \"seconds\": \(s3), \"value\": \(t3)}")
}
if arguments.contains("--grids-only") {
    try grids()
    exit(0)
}

// 4. Rare-event splitting (issue 11), run last: the double well at ε = 0.02, step test, by adaptive
//    multilevel splitting on one thread — R runs of N = 1000, k = 100 from `loops` loops,
//    `repeats` seeds. Its NumPy peer is Benchmarks/ams_numpy.py; run.py turns the relative SE
//    r of each repeat into the time to r = 2 % as t·(r/0.02)² (SE ∝ 1/√work).
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func splitting() throws {
    let runs = option("--splitting-runs", SplittingSettings.defaultRuns)
    let loops = option("--splitting-loops", SplittingSettings.defaultLoops)
    let epsilon = 0.02, dt = 1e-3
    let landscape = try Landscape(expression: "x^4/4 - x^2/2")
    let problem = try ExitProblem(landscape: landscape, dynamics: .langevin(epsilon: epsilon), dt: dt, start: [-1],
                                  exit: .condition("x > 0"), maxSteps: 100_000_000)
    let (xi, text) = try SplittingSettings.defaultCoordinate(problem)
    let settings = SplittingSettings(replicas: 1000, kill: 100, runs: runs, loops: loops, reactionCoordinate: xi,
                                     coordinateDescription: text, startLevel: -1, sigmaLevel: -0.9)
    let ams = try AdaptiveMultilevelSplitting(problem: problem, integrator: Integrator(exitTest: .step), settings: settings)
    for r in 0..<option("--splitting-repeats", 2) {
        let seed = UInt64(r + 1)
        var estimate: AdaptiveMultilevelSplitting.Estimate?
        let cpu0 = cpuSeconds()
        let t = seconds { estimate = try! ams.estimate(seed: seed, threads: 1) }
        let cpu = cpuSeconds() - cpu0
        guard let e = estimate, let mean = e.meanSteps, let se = e.standardErrorSteps else {
            throw SplittingFailure("every splitting run went extinct")
        }
        // where the time goes: the loop phase again on its own (same seed, same work)
        let loopSeconds = seconds { _ = try! ams.simulateLoops(seed: seed, threads: 1) }
        let iterations = Double(e.runs.reduce(0) { $0 + $1.iterations }) / Double(e.runs.count)
        let runSteps = e.runs.reduce(0) { $0 + $1.pathSteps }
        print("{\"name\": \"splitting\", \"epsilon\": \(epsilon), \"runs\": \(runs), \"loops\": \(loops), \"seed\": \(seed), \"seconds\": \(t), \"cpu_seconds\": \(cpu), \"loop_seconds\": \(loopSeconds), \"mean\": \(mean * dt), \"se\": \(se * dt), \"p\": \(e.probability), \"p_se\": \(e.probabilityStandardError), \"loop_path_steps\": \(e.loops.pathSteps), \"run_path_steps\": \(runSteps), \"path_steps\": \(e.pathSteps), \"iterations\": \(iterations)}")
    }
}
if arguments.contains("--splitting-only") {
    try splitting()
    exit(0)
}
if arguments.contains("--mlp-only") {
    try mlpEnsemble()
    exit(0)
}

// `--finite-sum-noise`: seconds per lane-step of `sgd-sde` on a finite sum by each
// `FiniteSumNoiseRoot` route (what `FiniteSumNoiseRoot.rule` is set from). A linear
// regression with n samples in d dimensions (features and targets from a fixed stream),
// 256 paths on one thread, steps fixed (the exit region is never reached).
func finiteSumNoise() throws {
    let cases: [(n: Int, d: Int)] = [(4, 1), (20, 1), (10_000, 1), (16, 2), (32, 2), (64, 2), (10_000, 2),
                                     (64, 3), (128, 3), (256, 3), (10_000, 3), (100, 4), (1000, 4), (10_000, 4),
                                     (20, 5), (100, 5), (10_000, 5), (20, 10), (1000, 10), (100, 50)]
    for (n, d) in cases {
        let stream = RandomStream(key: StreamKey(seed: 7))
        let features = (0..<n).map { _ in (0..<d).map { _ in stream.normal() } }
        let targets = (0..<n).map { _ in stream.normal() }
        let landscape = Landscape(finiteSum: LinearRegression(features: features, targets: targets), summary: "bench")
        let steps = max(1, min(200, 2_000_000 / (n * d * d + n * 8)))
        let pathCount = 256
        let problem = try ExitProblem(landscape: landscape,
                                      dynamics: .sgdSDE(learningRate: 0.01, batchSize: 1, noise: .finiteSum, withReplacement: true),
                                      dt: 0.01, start: [Double](repeating: 0, count: d),
                                      exit: .distanceFromStart(1e9), maxSteps: steps)
        var line = "{\"name\": \"finite-sum-noise\", \"n\": \(n), \"d\": \(d), \"rule\": \"\(FiniteSumNoiseRoot.rule(sampleCount: n, dimension: d).rawValue)\""
        for route in FiniteSumNoiseRoot.allCases {
            let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(finiteSumNoise: route))
            var best = Double.infinity
            for r in 0..<repeats {
                let t = seconds { _ = try! simulator.run(paths: pathCount, seed: UInt64(r + 1), threads: 1) }
                best = min(best, t)
            }
            line += ", \"\(route.rawValue)_ns_per_lane_step\": \((best / Double(pathCount * steps) * 1e9).rounded())"
        }
        print(line + "}")
    }
}
if arguments.contains("--noise-costs") {
    try noiseCosts()
    exit(0)
}

if arguments.contains("--finite-sum-noise") {
    try finiteSumNoise()
    exit(0)
}

// 1. The generator alone: ziggurat normals into a buffer (GSL call, and the inlined fast path).
// (`--step-only` and `--bridge-only` skip it and run only the one-thread engine measure with
// that exit test: for profiling.)
let bridgeOnly = arguments.contains("--bridge-only")
let stepOnly = arguments.contains("--step-only") || bridgeOnly
if !stepOnly {
let stream = RandomStream(key: StreamKey(seed: 1))
let count = 20_000_000
let buffer = UnsafeMutablePointer<Double>.allocate(capacity: count)
var best = Double.infinity
for _ in 0..<repeats { best = min(best, seconds { stream.fillNormals(buffer, count: count) }) }
var checksum = 0.0
for i in stride(from: 0, to: count, by: 997) { checksum += buffer[i] }
print("{\"name\": \"gsl-ziggurat-normal\", \"per_second\": \(Double(count) / best), \"checksum\": \(checksum)}")
best = .infinity
for _ in 0..<repeats { best = min(best, seconds { stream.fillNormalsInline(buffer, count: count) }) }
checksum = 0
for i in stride(from: 0, to: count, by: 997) { checksum += buffer[i] }
print("{\"name\": \"inline-ziggurat-normal\", \"per_second\": \(Double(count) / best), \"checksum\": \(checksum)}")
// the engine's generator for additive Gaussian noise: eight taus2 streams in SIMD lanes
best = .infinity
for _ in 0..<repeats { best = min(best, seconds { RandomStream.fillLaneNormals(key: StreamKey(seed: 1), buffer, count: count) }) }
checksum = 0
for i in stride(from: 0, to: count, by: 997) { checksum += buffer[i] }
print("{\"name\": \"lane-ziggurat-normal\", \"per_second\": \(Double(count) / best), \"checksum\": \(checksum)}")
buffer.deallocate()
}

// 2. The engine on the reference workload.
let landscape = try Landscape(expression: "x^4/4 - x^2/2")
for (test, threads) in stepOnly ? [(bridgeOnly ? ExitTestKind.bridge : .step, 1)] : [(ExitTestKind.step, 1), (.bridge, 1), (.step, 2), (.bridge, 2)] {
    let problem = try ExitProblem(landscape: landscape, dynamics: .langevin(epsilon: 0.1), dt: 1e-3, start: [-1],
                                  exit: .condition("x > 0"), maxSteps: 100_000_000)
    let simulator = try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: test))
    // the problem's compiled step kernel built before timing (once per process, ~0.3 s)
    simulator.prepareCompiledSteps()
    var fastest = Double.infinity
    var steps = 0
    for r in 0..<repeats {
        var s = 0
        // streamed as a job runs it: chunks in order, only running sums kept
        let t = seconds { simulator.run(paths: paths, seed: UInt64(r + 1), threads: threads) { s += $0.samples.steps.reduce(0, +) } }
        // rate of the fastest repeat, each with its own seed and step count
        if Double(s) / t > Double(steps) / fastest || fastest == .infinity { fastest = t; steps = s }
    }
    print("{\"name\": \"sgd-escape\", \"exit_test\": \"\(test.rawValue)\", \"threads\": \(threads), \"paths\": \(paths), \"useful_steps\": \(steps), \"seconds\": \(fastest), \"per_second\": \(Double(steps) / fastest)}")
}

// `--engine-only`: stop here (sections 1 and 2, for profiling and paired A/B runs).
if arguments.contains("--engine-only") || stepOnly { exit(0) }

if !arguments.contains("--no-grids") { try grids() }

if !arguments.contains("--no-splitting") { try splitting() }
