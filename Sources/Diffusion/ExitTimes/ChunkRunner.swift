import Foundation
internal import CGSL

/// The exit test compiled once per ensemble: one program for all term indicators, one
/// for the level functions and their gradients (bridge test).
struct CompiledExitTest: Sendable {
    let indicators: CompiledProgram
    /// For each term with a level function: g and ∂g/∂xⱼ, i.e. 1 + d outputs per term.
    let levels: CompiledProgram?
    /// Term index of each level function.
    let levelTerms: [Int]
    /// Distance −g/‖∇g‖ of the start point to each level boundary.
    let startDistances: [Double]
    /// 1/‖∇g‖ per level when every level function is affine (constant gradient): then
    /// `levels` outputs only the g values, one per term.
    let constantInverseNorms: [Double]?

    init(terms: [ConditionTerm], dimension d: Int, start: [Double], bridge: Bool) {
        indicators = CompiledProgram(outputs: terms.map(\.expression), dimension: d)
        guard bridge else {
            levels = nil; levelTerms = []; startDistances = []; constantInverseNorms = nil
            return
        }
        var outputs: [Expression] = []
        var which: [Int] = []
        var values: [Expression] = []
        var norms: [Double]? = []
        for (t, term) in terms.enumerated() {
            guard let g = term.level else { continue }
            which.append(t)
            outputs.append(g)
            values.append(g)
            let gradient = (0..<d).map { g.derivative(withRespectTo: $0) }
            outputs += gradient
            let constants = gradient.compactMap(\.constantValue)
            if constants.count == d, norms != nil {
                let n = constants.reduce(0) { $0 + $1 * $1 }.squareRoot()
                norms!.append(n > 0 ? 1 / n : 0)
            } else { norms = nil }
        }
        levelTerms = which
        if which.isEmpty {
            levels = nil; startDistances = []; constantInverseNorms = nil
            return
        }
        let full = CompiledProgram(outputs: outputs, dimension: d).evaluate(at: start)
        startDistances = which.indices.map { l in
            CompiledExitTest.distance(full, base: l * (1 + d), dimension: d)
        }
        constantInverseNorms = norms
        levels = CompiledProgram(outputs: norms == nil ? outputs : values, dimension: d)
    }

    static func distance(_ v: [Double], base: Int, dimension d: Int) -> Double {
        var n2 = 0.0
        for j in 0..<d { n2 += v[base + 1 + j] * v[base + 1 + j] }
        return n2 > 0 ? -v[base] / n2.squareRoot() : .infinity
    }
}

/// One thread's buffers for simulating chunks; reused across the chunks it takes.
final class ChunkRunner {
    /// Per-lane status codes are 64-bit so the selects over a block vectorise with the doubles.
    static let running: Int = .min
    static let diverged = Int(ExitSamples.diverged), censored = Int(ExitSamples.censored)

    let simulator: EnsembleSimulator
    let exitTest: CompiledExitTest
    let d: Int
    let width = EnsembleSimulator.blockWidth
    let terms: Int
    let bridge: Bool

    let x: UnsafeMutablePointer<Double>
    let grad: UnsafeMutablePointer<Double>
    let workspace: UnsafeMutablePointer<Double>
    let indicator: UnsafeMutablePointer<Double>
    let levelOut: UnsafeMutablePointer<Double>
    let distance: UnsafeMutablePointer<Double>
    let hess: UnsafeMutablePointer<Double>
    let values: UnsafeMutablePointer<Double>
    let noiseBuffer: UnsafeMutablePointer<Double>
    let candidates: UnsafeMutablePointer<Int>
    let factor: UnsafeMutablePointer<Double>
    let scratch: UnsafeMutablePointer<Double>
    let pathIndex: UnsafeMutablePointer<Int>
    let stepCount: UnsafeMutablePointer<Int>
    let status: UnsafeMutablePointer<Int>
    let permutation: UnsafeMutablePointer<Int>
    let sampleCount: Int
    let eigen: SymmetricSquareRoot

    init(simulator: EnsembleSimulator) {
        self.simulator = simulator
        let problem = simulator.problem
        d = problem.landscape.dimension
        terms = problem.exitTerms.count
        bridge = simulator.integrator.exitTest == .bridge
        exitTest = simulator.exitTest
        let w = width
        let registers = max(problem.landscape.registerCount, exitTest.indicators.registerCount,
                            exitTest.levels?.registerCount ?? 0)
        func doubles(_ n: Int) -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        x = doubles(d * w)
        grad = doubles(d * w)
        workspace = doubles(registers * w)
        indicator = doubles(terms * w)
        levelOut = doubles(exitTest.levelTerms.count * (1 + d) * w)
        distance = doubles(exitTest.levelTerms.count * w)
        hess = doubles(d * d * w)
        values = doubles(w)
        noiseBuffer = doubles(w)
        candidates = .allocate(capacity: w)
        candidates.initialize(repeating: 0, count: w)
        factor = doubles(d * d * w)
        scratch = doubles(4 * d + 3 * d * d + 8)
        pathIndex = .allocate(capacity: w)
        pathIndex.initialize(repeating: 0, count: w)
        stepCount = .allocate(capacity: w)
        stepCount.initialize(repeating: 0, count: w)
        status = .allocate(capacity: w)
        status.initialize(repeating: ChunkRunner.running, count: w)
        sampleCount = problem.landscape.finiteSum?.sampleCount ?? 0
        permutation = .allocate(capacity: max(sampleCount, 1))
        for i in 0..<max(sampleCount, 1) { (permutation + i).initialize(to: i) }
        eigen = SymmetricSquareRoot(dimension: d)
    }

    deinit {
        for p in [x, grad, workspace, indicator, levelOut, distance, hess, values, noiseBuffer, factor, scratch] { p.deallocate() }
        pathIndex.deallocate(); stepCount.deallocate(); candidates.deallocate(); status.deallocate(); permutation.deallocate()
    }

    @inline(__always) private func load(slot i: Int, path: Int) {
        let start = simulator.problem.start
        for j in 0..<d { x[j * width + i] = start[j] }
        for l in 0..<exitTest.levelTerms.count { distance[l * width + i] = exitTest.startDistances[l] }
        pathIndex[i] = path
        stepCount[i] = 0
        status[i] = ChunkRunner.running
    }

    @inline(__always) private func move(from a: Int, to b: Int) {
        for j in 0..<d { x[j * width + b] = x[j * width + a] }
        for l in 0..<exitTest.levelTerms.count { distance[l * width + b] = distance[l * width + a] }
        pathIndex[b] = pathIndex[a]
        stepCount[b] = stepCount[a]
        status[b] = status[a]
    }

    func run(firstPath: Int, count: Int, stream: RandomStream, sink: SampleSink) {
        let problem = simulator.problem
        let landscape = problem.landscape
        let w = width
        let h = problem.stepSize
        let maxSteps = problem.maxSteps
        let bound = problem.divergenceBound
        let rng = stream.pointer
        // Normals and bridge uniforms come from the register-held taus2 state (the same
        // bits as GSL, see InlineZiggurat); draws made through GSL calls sync it around them.
        let tables = InlineZiggurat.tables
        var state = stream.taus2State
        var active = 0
        var nextPath = 0
        while active < w && nextPath < count {
            load(slot: active, path: firstPath + nextPath)
            active += 1; nextPath += 1
        }
        while active > 0 {
            if simulator.mode.usesFullGradient {
                landscape.gradient(count: active, stride: w, inputs: x, outputs: grad,
                                   workspace: workspace, scratch: scratch)
            }
            switch simulator.mode {
            case .additive(let s):
                for j in 0..<d {
                    let xr = x + j * w, gr = grad + j * w
                    if let tables {
                        // draw first (generator-bound), then a vectorisable update
                        let z = noiseBuffer
                        for i in 0..<active { z[i] = InlineZiggurat.normal(&state, tables: tables, fallback: rng) }
                        for i in 0..<active { xr[i] = xr[i] - h * gr[i] + s * z[i] }
                    } else {
                        stream.store(state)
                        for i in 0..<active { xr[i] = xr[i] - h * gr[i] + s * gsl_ran_gaussian_ziggurat(rng, 1.0) }
                        state = stream.taus2State
                    }
                }
            case .stable(let alpha, let s):
                stream.store(state)
                for j in 0..<d {
                    let xr = x + j * w, gr = grad + j * w
                    for i in 0..<active { xr[i] = xr[i] - h * gr[i] + s * gsl_ran_levy(rng, 1.0, alpha) }
                }
                state = stream.taus2State
            case .studentMean(let nu, let s, let batch):
                stream.store(state)
                defer { state = stream.taus2State }
                let inverse = 1.0 / Double(batch)
                for j in 0..<d {
                    let xr = x + j * w, gr = grad + j * w
                    for i in 0..<active {
                        var sum = 0.0
                        for _ in 0..<batch { sum += gsl_ran_tdist(rng, nu) }
                        xr[i] = xr[i] - h * gr[i] + s * sum * inverse
                    }
                }
            case .stateDependent(let loss, let c, let variance):
                stream.store(state)
                defer { state = stream.taus2State }
                landscape.hessian(count: active, stride: w, inputs: x, outputs: hess,
                                  workspace: workspace, scratch: scratch)
                if loss {
                    landscape.value(count: active, stride: w, inputs: x, outputs: values,
                                    workspace: workspace, scratch: scratch)
                }
                let root = variance.squareRoot()
                let matrix = scratch, noise = scratch + d * d
                for i in 0..<active {
                    let ci = loss ? 2 * c * max(values[i], 0) : c
                    for k in 0..<(d * d) { matrix[k] = ci * hess[k * w + i] }
                    let s = factor + i * d * d
                    eigen.positivePartRoot(matrix, into: s)
                    for k in 0..<d { noise[k] = gsl_ran_gaussian_ziggurat(rng, 1.0) }
                    for r in 0..<d {
                        var z = 0.0
                        for k in 0..<d { z += s[r * d + k] * noise[k] }
                        x[r * w + i] = x[r * w + i] - h * grad[r * w + i] + root * z
                    }
                }
            case .finiteSumMinibatch(let batch, let replacement):
                stream.store(state)
                defer { state = stream.taus2State }
                let fs = landscape.finiteSum!
                let theta = scratch, g = scratch + d
                let inverse = 1.0 / Double(batch)
                let n = sampleCount
                for i in 0..<active {
                    for j in 0..<d { theta[j] = x[j * w + i]; g[j] = 0 }
                    for k in 0..<batch {
                        let index: Int
                        if replacement {
                            index = Int(gsl_rng_uniform_int(rng, UInt(n)))
                        } else {
                            // partial Fisher–Yates: positions 0..<batch become a uniform sample
                            let r = k + Int(gsl_rng_uniform_int(rng, UInt(n - k)))
                            let tmp = permutation[k]; permutation[k] = permutation[r]; permutation[r] = tmp
                            index = permutation[k]
                        }
                        fs.addSampleGradient(index, at: theta, scale: inverse, into: g)
                    }
                    for j in 0..<d { x[j * w + i] = theta[j] - h * g[j] }
                }
            case .finiteSumCovariance(let variance):
                stream.store(state)
                defer { state = stream.taus2State }
                let fs = landscape.finiteSum!
                let theta = scratch, mean = scratch + d, noise = scratch + 2 * d
                let cov = scratch + 3 * d, tmp = scratch + 3 * d + d * d
                let root = variance.squareRoot()
                for i in 0..<active {
                    for j in 0..<d { theta[j] = x[j * w + i] }
                    fs.gradientCovariance(at: theta, mean: mean, covariance: cov, scratch: tmp)
                    let s = factor + i * d * d
                    eigen.positivePartRoot(cov, into: s)
                    for k in 0..<d { noise[k] = gsl_ran_gaussian_ziggurat(rng, 1.0) }
                    for r in 0..<d {
                        var z = 0.0
                        for k in 0..<d { z += s[r * d + k] * noise[k] }
                        x[r * w + i] = theta[r] - h * mean[r] + root * z
                    }
                }
            }
            // Exit at the step end, or divergence: branch-free selects over the block.
            exitTest.indicators.evaluate(count: active, stride: w, inputs: x, outputs: indicator,
                                         workspace: workspace)
            let running = ChunkRunner.running
            for i in 0..<active { status[i] = running; stepCount[i] += 1 }
            var t = terms
            while t > 0 {  // from the last term back, so the first term that holds wins
                t -= 1
                let row = indicator + t * w, code = t
                for i in 0..<active { status[i] = row[i] != 0 ? code : status[i] }
            }
            for j in 0..<d {  // NaN or beyond the bound: diverged, whatever else holds
                let row = x + j * w
                for i in 0..<active { status[i] = abs(row[i]) <= bound ? status[i] : ChunkRunner.diverged }
            }
            if bridge, let levels = exitTest.levels { bridgeTest(levels, active: active, state: &state) }
            for i in 0..<active {  // censoring comes last: a crossing in the final step is an exit
                status[i] = status[i] == running && stepCount[i] >= maxSteps ? ChunkRunner.censored : status[i]
            }

            // Retire finished paths, refill or compact.
            var i = 0
            while i < active {
                let st = status[i]
                if st == ChunkRunner.running { i += 1; continue }
                let p = pathIndex[i] - sink.firstPath
                sink.steps[p] = stepCount[i]
                sink.outcomes[p] = Int32(truncatingIfNeeded: st)
                for j in 0..<d { sink.points[p * d + j] = x[j * w + i] }
                if nextPath < count {
                    load(slot: i, path: firstPath + nextPath)
                    nextPath += 1
                    i += 1
                } else {
                    active -= 1
                    if i != active { move(from: active, to: i) }
                }
            }
        }
    }

    /// `u < exp(e)` for e ≤ 0, the same outcome as computing exp, but exp is evaluated only
    /// when u falls between cheap bounds on e^{−a}, a = −e ≥ 0: above 1/Σ_{k≤6} aᵏ/k!
    /// (a partial sum of eᵃ) it is certainly false; for a < 1, below the alternating
    /// partial sum Σ_{k≤7} (−a)ᵏ/k! it is certainly true (Taylor remainders). The 10⁻¹⁴
    /// margins exceed the bounds' rounding error plus exp's, so no decision changes.
    @inline(__always)
    static func below(_ u: Double, expOf e: Double) -> Bool {
        let a = -e
        // Σ_{k≤6} aᵏ/k! ≤ eᵃ: all terms positive, so well conditioned
        let series = 1 + a * (1 + a * (0.5 + a * (1.0 / 6 + a * (1.0 / 24 + a * (1.0 / 120 + a * (1.0 / 720))))))
        if u >= (1 / series) * (1 + 1e-14) { return false }
        if a < 1 {
            // alternating partial sum to k = 7 ≤ e^{−a}; terms ≤ 1, so the rounding error is ≤ 1e-15
            let lower = 1 - a * (1 - a * (0.5 - a * (1.0 / 6 - a * (1.0 / 24 - a * (1.0 / 120 - a * (1.0 / 720 - a / 5040))))))
            if u < lower - 1e-14 { return true }
        }
        return u < exp(e)
    }

    /// Brownian-bridge crossing test for each level boundary (see `ExitTestKind.bridge`).
    /// A uniform is drawn only when the crossing probability exceeds 2⁻³³: below that,
    /// a uniform on (0, 1) drawn as `gsl_rng_uniform_pos` does (smallest value 2⁻³² for
    /// taus2's 32-bit output) is never below p, so skipping the draw changes no outcome.
    @inline(__always)
    private func bridgeTest(_ levels: CompiledProgram, active: Int, state: inout Taus2State) {
        let w = width
        levels.evaluate(count: active, stride: w, inputs: x, outputs: levelOut, workspace: workspace)
        // exp(e) > 2⁻³³ ⇔ d₀d₁/v < 33·ln2/2
        let limit = 16.5 * M_LN2
        var additiveVariance = 0.0
        if case .additive(let s) = simulator.mode { additiveVariance = s * s }
        let product = values  // W scratch doubles: d₀d₁ where both ends are inside, else +∞
        for (l, term) in exitTest.levelTerms.enumerated() {
            let base = exitTest.constantInverseNorms == nil ? l * (1 + d) : l
            let g = levelOut + base * w
            let dist = distance + l * w
            // pass 1 (vectorisable): new distances −g/‖∇g‖ and the products d₀d₁
            var near = active  // paths that may need a uniform; counted exactly on the fast path
            if let inverseNorm = exitTest.constantInverseNorms?[l] {
                let cut = additiveVariance > 0 ? limit * additiveVariance : .infinity
                for i in 0..<active {  // branch-free, so it vectorises
                    let d1 = -g[i] * inverseNorm
                    let d0 = dist[i]
                    dist[i] = d1
                    product[i] = Swift.min(d0, d1) > 0 ? d0 * d1 : .infinity
                }
                // the few lanes near the boundary, compacted branch-free
                near = 0
                for i in 0..<active {
                    candidates[near] = i
                    near &+= product[i] < cut ? 1 : 0
                }
                if near == 0 { continue }
                if additiveVariance > 0 {
                    let scale = -2 / additiveVariance
                    for k in 0..<near {
                        let i = candidates[k]
                        if status[i] == ChunkRunner.running && ChunkRunner.below(state.uniformPositive(), expOf: scale * product[i]) {
                            status[i] = term
                        }
                    }
                    continue
                }
            } else {
                for i in 0..<active {
                    var n2 = 0.0
                    for j in 0..<d { let gj = levelOut[(base + 1 + j) * w + i]; n2 += gj * gj }
                    let d1 = n2 > 0 ? -g[i] / n2.squareRoot() : .infinity
                    let d0 = dist[i]
                    dist[i] = d1
                    product[i] = d0 > 0 && d1 > 0 ? d0 * d1 : .infinity
                }
            }
            // pass 2: the few paths near the boundary draw a uniform
            if near == 0 { continue }
            if additiveVariance > 0 {
                let cut = limit * additiveVariance, scale = -2 / additiveVariance
                for i in 0..<active where product[i] < cut && status[i] == ChunkRunner.running {
                    if ChunkRunner.below(state.uniformPositive(), expOf: scale * product[i]) { status[i] = term }
                }
                continue
            }
            for i in 0..<active where product[i].isFinite && status[i] == ChunkRunner.running {
                let variance: Double
                do {
                    // variance of the step's noise along n = ∇g/‖∇g‖: v·‖Sᵀn‖², S the step's factor
                    var v = 0.0
                    switch simulator.mode {
                    case .stateDependent(_, _, let c), .finiteSumCovariance(let c): v = c
                    default: break
                    }
                    let s = factor + i * d * d
                    var total = 0.0, n2 = 0.0
                    for r in 0..<d { let gr = levelOut[(base + 1 + r) * w + i]; n2 += gr * gr }
                    for k in 0..<d {
                        var proj = 0.0
                        for r in 0..<d { proj += levelOut[(base + 1 + r) * w + i] * s[r * d + k] }
                        total += proj * proj
                    }
                    variance = n2 > 0 ? v * total / n2 : 0
                }
                guard variance > 0, product[i] < limit * variance else { continue }
                if ChunkRunner.below(state.uniformPositive(), expOf: -2 * product[i] / variance) {
                    status[i] = term
                }
            }
        }
    }
}
