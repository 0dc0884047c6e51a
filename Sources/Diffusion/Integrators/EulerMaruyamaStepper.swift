import Foundation
internal import CGSL
internal import CKernels

/// Euler–Maruyama (`EulerMaruyama`: strong order 1/2, 1 for additive noise, weak order 1)
/// on a block of paths in lockstep, followed by the exit test:
///
///     X_{k+1} = X_k − h ∇V(X_k) + ΔN_k,
///
/// h the step in the dynamics' own time (dt, or η for `sgd`) and ΔN_k the step's noise as
/// `Increment` states it for each law (for Gaussian laws ΔN_k = √v · S(X_k) ξ_k with ξ_k
/// standard normal, i.e. σ(X_k) ΔW_k with ΔW_k = √h ξ_k).
///
/// Layout (structure-of-arrays, `width` lanes): coordinate j of lane i is `x[j*width + i]`;
/// lanes `0..<count` are stepped, the others are left alone. After `step`, `outcome[i]` is
/// `running`, the index of the first exit term that holds (at the step end, or for the
/// `bridge` test on the Brownian bridge inside the step) or `diverged` (a coordinate
/// beyond the divergence bound, or NaN, whatever else holds).
///
/// Randomness: a block draws from one stream, in a fixed order (the law's increments lane
/// by lane or coordinate by coordinate, then the bridge uniforms), so the same lanes in the
/// same states with the same stream state give the same bits. When the caller passes
/// `LaneStreams` (the exit ensembles do) and the law is additive Gaussian with a width that
/// is a multiple of 8, the normals come from those eight SIMD lane streams instead (row by
/// row, slot i from lane i mod 8) and only the bridge uniforms from the scalar stream. `step(count:stream:)` reads
/// and writes the stream's state, so a caller may hand a block any stream between steps;
/// the ensemble loop keeps the state in registers with `step(count:stream:state:)`.
///
/// For rare-event splitting and the like: `load(lane:from:)` starts a lane at any state,
/// `copy(lane:to:)` clones one, and `x`/`outcome` may be read after every step. A lane
/// restarted from a state read after a step continues with the same bits as one that was
/// never stopped (the bridge's boundary distances are recomputed from the state exactly as
/// a step computes them), given the same stream state.
///
/// Nothing is allocated after `init`. Not `Sendable`: one stepper per thread.
final class EulerMaruyamaStepper: BlockStepper {
    /// How one step moves a path, x ← x − h·g + noise with h the step size: the noise
    /// law's step law, as `NoiseModel.stepNoise(stepSize:)` derives it (one derivation).
    typealias Increment = NoiseModel.StepNoise

    /// Outcome codes (64-bit so the selects over a block vectorise with the doubles).
    static let running = StepOutcome.running
    static let diverged = StepOutcome.diverged

    let landscape: Landscape
    let increment: Increment
    /// h.
    let stepSize: Double
    let divergenceBound: Double
    let exitTest: CompiledExitTest
    let bridge: Bool
    let d: Int
    let width: Int
    let terms: Int

    /// State, `x[j*width + i]`; with a loss exit on a finite sum, row d holds L at the
    /// last exit test.
    let x: UnsafeMutablePointer<Double>
    /// After each step: `running`, an exit term index or `diverged`. Each step rewrites it;
    /// a caller may overwrite it in between (the ensemble marks censored lanes there).
    let outcome: UnsafeMutablePointer<Int>
    /// The standard normals of the last step of a Gaussian law, `normals[k*width + i]` for
    /// k < `noiseRows`: ξ ∈ ℝᵈ, except for `sgd-sde` on a finite sum by the sample-space
    /// route, where row k holds ζ_k of sample k (ζ ∈ ℝⁿ, `FiniteSumNoiseRoot`). Additive
    /// noise from `LaneStreams` is drawn and used in one pass and never stored here.
    let normals: UnsafeMutablePointer<Double>
    /// Standard normals per lane per step: d, or n for the finite sum's sample-space route.
    let noiseRows: Int
    /// The finite sum's route (`finiteSumCovariance` only; nil for other laws).
    let finiteSumRoot: FiniteSumNoiseRoot?

    private let grad: UnsafeMutablePointer<Double>
    private let workspace: UnsafeMutablePointer<Double>
    private let indicator: UnsafeMutablePointer<Double>
    private let levelOut: UnsafeMutablePointer<Double>
    /// Signed distance of each lane to each level boundary at its current state (bridge).
    private let distance: UnsafeMutablePointer<Double>
    private let hess: UnsafeMutablePointer<Double>
    private let values: UnsafeMutablePointer<Double>
    private let candidates: UnsafeMutablePointer<Int>
    /// The last step's noise factor S per lane (state-dependent laws), d×d row-major.
    private let factor: UnsafeMutablePointer<Double>
    private let scratch: UnsafeMutablePointer<Double>
    /// Minibatches without replacement: a permutation that persists between batches.
    private let permutation: UnsafeMutablePointer<Int>
    /// The landscape's finite sum held where a step reads it without copying the existential
    /// (`landscape.finiteSum!` copies it, once per step: costly for one-lane blocks).
    private let samples: FiniteSumReference?
    private let sampleCount: Int
    /// Only for the state-dependent laws (its GSL workspace is O(d²)).
    private let eigen: SymmetricSquareRoot?
    /// A batched finite sum's minibatch indices, and its per-sample weights of a sample-space
    /// SDE step (`BatchedFiniteSum`).
    private let batchIndices: UnsafeMutablePointer<Int>
    private let batchWeights: UnsafeMutablePointer<Double>
    /// The finite sum when it computes a whole block's gradients with the chains in SIMD
    /// lanes (`LaneBatchedFiniteSum`, for this block width); then `batchIndices` holds
    /// `batch × width` indices and `batchWeights` `laneSamples × width` weights.
    private let laneSum: (any LaneBatchedFiniteSum)?
    /// S with S Sᵀ = Σ₁ for a constant covariance law, taken once (row-major d×d).
    private let constantFactor: UnsafeMutablePointer<Double>?
    /// The landscape's gradient program, and the exit test's indicator and level programs, as
    /// kernels that calling retains nothing (the stepper holds the programs).
    private let gradientKernel: ProgramKernel?
    /// The landscape's Hessian program (state-dependent noise), likewise.
    private let hessianKernel: ProgramKernel?
    private let indicatorKernel: ProgramKernel
    private let levelKernel: ProgramKernel?
    /// The bridge's one level boundary when it is a coordinate plane (`CompiledExitTest.coordinateLevel`).
    private let coordinatePlane: (row: Int, offset: Double, addsOffset: Bool, inverseNorm: Double, term: Int)?
    /// Samples per call of the lanes kernel in a sample-space SDE step.
    static let laneSamples = 256
    /// The problem's compiled step kernel (`CompiledStepKernel`), where it applies, and the
    /// kernel once built (looked up at each chunk's start: `beginChunk`).
    private let compiledPlan: CompiledStepKernel.Plan?
    private var compiledKernel: CompiledStepKernel?
    /// When this stepper's last chunk started (`beginChunk`), for the build's time account.
    private var lastChunkStart: UInt64?
    private let compiledArguments: UnsafeMutablePointer<sgd_fused_args>
    private let gradientImmediates: UnsafeMutablePointer<Double>
    private let indicatorImmediates: UnsafeMutablePointer<Double>
    private let hessianImmediates: UnsafeMutablePointer<Double>
    /// The bridge's boundaries for the kernel: the levels program's immediates, 1/‖∇g‖ and
    /// the exit term of each.
    private let levelImmediates: UnsafeMutablePointer<Double>
    private let levelInverseNorms: UnsafeMutablePointer<Double>
    private let levelTermCodes: UnsafeMutablePointer<Int>
    /// The scalar stream's taus2 words while the kernel runs (the bridge's uniforms).
    private let scalarWords: UnsafeMutablePointer<UInt32>

    init(landscape: Landscape, increment: Increment, stepSize: Double, divergenceBound: Double,
         exitTest: CompiledExitTest, bridge: Bool, width: Int = EnsembleSimulator.blockWidth,
         finiteSumNoise: FiniteSumNoiseRoot? = nil, compiledSteps: Bool = false) {
        precondition(width >= 1)
        precondition(!bridge || increment.isGaussian, "the bridge test needs Gaussian noise")
        self.landscape = landscape
        self.increment = increment
        self.stepSize = stepSize
        self.divergenceBound = divergenceBound
        self.exitTest = exitTest
        self.bridge = bridge
        self.width = width
        gradientKernel = landscape.gradientProgram?.kernel
        hessianKernel = landscape.hessianProgram?.kernel
        indicatorKernel = exitTest.indicators.kernel
        levelKernel = exitTest.levels?.kernel
        if let level = exitTest.coordinateLevel, let norms = exitTest.constantInverseNorms {
            coordinatePlane = (level.row, level.offset ?? 0, level.offset != nil, norms[0], exitTest.levelTerms[0])
        } else {
            coordinatePlane = nil
        }
        d = landscape.dimension
        terms = exitTest.indicators.outputCount
        let w = width
        var registers = max(landscape.registerCount, exitTest.indicators.registerCount,
                            exitTest.levels?.registerCount ?? 0)
        if case .stateDependent(.covariance(let matrix), _) = increment { registers = max(registers, matrix.registerCount) }
        func doubles(_ n: Int) -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        x = doubles((exitTest.readsLoss ? d + 1 : d) * w)
        outcome = .allocate(capacity: w)
        outcome.initialize(repeating: EulerMaruyamaStepper.running, count: w)
        let n = landscape.finiteSum?.sampleCount ?? 0
        if case .finiteSumCovariance = increment {
            let route = finiteSumNoise ?? FiniteSumNoiseRoot.rule(sampleCount: n, dimension: d)
            finiteSumRoot = route
            noiseRows = route.normalsPerStep(sampleCount: n, dimension: d)
        } else {
            finiteSumRoot = nil
            noiseRows = d
        }
        normals = doubles(noiseRows * w)
        grad = doubles(d * w)
        workspace = doubles(registers * w)
        indicator = doubles(terms * w)
        levelOut = doubles(exitTest.levelTerms.count * (1 + d) * w)
        distance = doubles(exitTest.levelTerms.count * w)
        // the d×d buffers only where the law needs them (finite sums may have many parameters)
        // (the sample-space route keeps d-sized buffers; its bridge test stores Σ per lane)
        let matrices: Bool, factors: Bool
        switch increment {
        case .stateDependent: matrices = true; factors = true
        case .finiteSumCovariance:
            matrices = finiteSumRoot == .covariance
            factors = matrices || bridge
        default: matrices = false; factors = false
        }
        hess = doubles(matrices ? d * d * w : 0)
        values = doubles(w)
        candidates = .allocate(capacity: w)
        candidates.initialize(repeating: 0, count: w)
        factor = doubles(factors ? d * d * w : 0)
        scratch = doubles(factors ? 4 * d + 3 * d * d + 8 : 4 * d + 8)
        sampleCount = landscape.finiteSum?.sampleCount ?? 0
        samples = landscape.finiteSum.map(FiniteSumReference.init)
        permutation = .allocate(capacity: max(sampleCount, 1))
        for i in 0..<max(sampleCount, 1) { (permutation + i).initialize(to: i) }
        eigen = matrices ? SymmetricSquareRoot(dimension: d) : nil
        if case .stateDependent(.covariance(let matrix), _) = increment, matrix.isConstant, let eigen {
            let values = matrix.program.evaluate(at: [Double](repeating: 0, count: d))
            let s = UnsafeMutablePointer<Double>.allocate(capacity: d * d)
            values.withUnsafeBufferPointer { eigen.root($0.baseAddress!, into: s, spectrum: .semidefinite) }
            constantFactor = s
        } else {
            constantFactor = nil
        }
        var batch = 0
        if case .minibatch(let b, _) = increment { batch = b }
        let batched = samples?.batched
        let lanes = landscape.laneSum.flatMap { $0.servesLanes(width: w) ? $0 : nil }
        laneSum = lanes
        let indexCount = lanes != nil ? batch * w : batched == nil ? 0 : batch
        batchIndices = .allocate(capacity: max(indexCount, 1))
        batchIndices.initialize(repeating: 0, count: max(indexCount, 1))
        batchWeights = doubles(lanes != nil ? min(sampleCount, EulerMaruyamaStepper.laneSamples) * w
                                            : batched == nil ? 0 : sampleCount)
        let plan = compiledSteps ? CompiledStepKernel.Plan(landscape: landscape, increment: increment, exitTest: exitTest,
                                                           bridge: bridge, width: w) : nil
        compiledPlan = plan
        gradientImmediates = doubles(plan?.gradientImmediates.count ?? 0)
        indicatorImmediates = doubles(plan?.indicatorImmediates.count ?? 0)
        hessianImmediates = doubles(plan?.hessianImmediates.count ?? 0)
        for (k, v) in (plan?.gradientImmediates ?? []).enumerated() { gradientImmediates[k] = v }
        for (k, v) in (plan?.indicatorImmediates ?? []).enumerated() { indicatorImmediates[k] = v }
        for (k, v) in (plan?.hessianImmediates ?? []).enumerated() { hessianImmediates[k] = v }
        levelImmediates = doubles(plan?.levelImmediates.count ?? 0)
        for (k, v) in (plan?.levelImmediates ?? []).enumerated() { levelImmediates[k] = v }
        let norms = exitTest.constantInverseNorms ?? []
        levelInverseNorms = doubles(norms.count)
        for (k, v) in norms.enumerated() { levelInverseNorms[k] = v }
        levelTermCodes = .allocate(capacity: max(exitTest.levelTerms.count, 1))
        levelTermCodes.initialize(repeating: 0, count: max(exitTest.levelTerms.count, 1))
        for (k, v) in exitTest.levelTerms.enumerated() { levelTermCodes[k] = v }
        compiledArguments = .allocate(capacity: 1)
        compiledArguments.initialize(to: sgd_fused_args())
        scalarWords = .allocate(capacity: 3)
        scalarWords.initialize(repeating: 0, count: 3)
    }

    /// The ensemble's stepper for `simulator`'s problem and integrator.
    convenience init(simulator: EnsembleSimulator, width: Int = EnsembleSimulator.blockWidth) {
        let problem = simulator.problem
        self.init(landscape: problem.landscape, increment: simulator.increment, stepSize: problem.stepSize,
                  divergenceBound: problem.divergenceBound, exitTest: simulator.exitTest,
                  bridge: simulator.integrator.exitTest == .bridge, width: width,
                  finiteSumNoise: simulator.integrator.finiteSumNoise, compiledSteps: simulator.compiledSteps)
    }

    deinit {
        for p in [x, normals, grad, workspace, indicator, levelOut, distance, hess, values, factor, scratch,
                  gradientImmediates, indicatorImmediates, hessianImmediates, levelImmediates,
                  levelInverseNorms] { p.deallocate() }
        levelTermCodes.deallocate()
        compiledArguments.deallocate(); scalarWords.deallocate()
        outcome.deallocate(); candidates.deallocate(); permutation.deallocate()
        batchIndices.deallocate(); batchWeights.deallocate()
        constantFactor?.deallocate()
    }

    // MARK: - Lanes

    /// Lane `i` at the problem's start, with the boundary distances `exitTest` computed there.
    @inline(__always) func loadStart(lane i: Int, start: [Double]) {
        let w = width
        for j in 0..<d { x[j * w + i] = start[j] }
        for l in 0..<exitTest.levelTerms.count { distance[l * w + i] = exitTest.startDistances[l] }
        outcome[i] = EulerMaruyamaStepper.running
    }

    /// Lane `i` at `point` (d values); the bridge's boundary distances are computed there
    /// as a step computes them at its end.
    func load(lane i: Int, from point: UnsafePointer<Double>) {
        let w = width
        for j in 0..<d { x[j * w + i] = point[j] }
        outcome[i] = EulerMaruyamaStepper.running
        guard bridge, let levels = levelKernel else { return }
        // one lane: the block layout with its base shifted to lane i
        levels.evaluate(count: 1, stride: w, inputs: x + i, outputs: levelOut + i, workspace: workspace + i)
        for l in exitTest.levelTerms.indices {
            if let inverseNorm = exitTest.constantInverseNorms?[l] {
                distance[l * w + i] = -levelOut[l * w + i] * inverseNorm
            } else {
                distance[l * w + i] = levelDistance(base: l * (1 + d), lane: i)
            }
        }
    }

    /// Copies lane `a` (state, boundary distances, outcome) to lane `b`.
    @inline(__always) func copy(lane a: Int, to b: Int) {
        let w = width
        for j in 0..<d { x[j * w + b] = x[j * w + a] }
        for l in 0..<exitTest.levelTerms.count { distance[l * w + b] = distance[l * w + a] }
        outcome[b] = outcome[a]
    }

    // MARK: - Steps

    /// The Hessian of lanes `0..<count` into `hess` (row-major d×d rows), as `blockGradient`.
    @inline(__always)
    private func blockHessian(count n: Int) {
        if let kernel = hessianKernel {
            kernel.evaluate(count: n, stride: width, inputs: x, outputs: hess, workspace: workspace)
        } else {
            landscape.hessian(count: n, stride: width, inputs: x, outputs: hess, workspace: workspace, scratch: scratch)
        }
    }

    /// ∇V of lanes `0..<count` into `grad`: the compiled gradient program through its kernel
    /// (no retains in the step loop), else the landscape's own route (finite sums).
    @inline(__always)
    private func blockGradient(count n: Int) {
        if let kernel = gradientKernel {
            kernel.evaluate(count: n, stride: width, inputs: x, outputs: grad, workspace: workspace)
        } else {
            landscape.gradient(count: n, stride: width, inputs: x, outputs: grad, workspace: workspace, scratch: scratch)
        }
    }

    /// Looks up the compiled step kernel, adding the last chunk's time to its account (the
    /// build starts in the background once enough time is spent: `CompiledStepKernel.buildAfter`).
    func beginChunk() {
        guard compiledKernel == nil, let plan = compiledPlan else { return }
        // the time since this stepper's last chunk started: simulation on the block kernels
        let now = DispatchTime.now().uptimeNanoseconds
        let spent = lastChunkStart.map { Double(now - $0) * 1e-9 } ?? 0
        lastChunkStart = now
        compiledKernel = CompiledStepKernel.kernel(for: plan, spent: spent)
    }

    /// Whether `steps(count:limit:…)` runs several steps per call (the compiled kernel is built).
    var runsCompiledSteps: Bool { compiledKernel != nil }

    /// Steps of lanes `0..<count`, each followed by the exit test, until some lane is not
    /// running or `limit` steps are taken (limit ≥ 1); returns how many. The same draws and
    /// bits as that many calls of `step(count:stream:state:lanes:)`: through the compiled
    /// kernel where it is built (for additive noise, with `lanes` given), else one such call.
    func steps(count n: Int, limit: Int, stream: RandomStream, state: inout Taus2State, lanes: LaneStreams?) -> Int {
        guard let kernel = compiledKernel, let tables = InlineZiggurat.tables else {
            step(count: n, stream: stream, state: &state, lanes: lanes)
            return 1
        }
        var s = 0.0
        switch increment {
        case .gaussian(let scale):
            guard lanes != nil else { step(count: n, stream: stream, state: &state, lanes: lanes); return 1 }
            s = scale
        case .stateDependent(.hessian(let scale, _), let variance):
            compiledArguments.pointee.c = scale
            compiledArguments.pointee.root = variance.squareRoot()
        default:
            step(count: n, stream: stream, state: &state, lanes: lanes)
            return 1
        }
        let a = compiledArguments
        a.pointee.tables = UnsafePointer(tables.c)
        a.pointee.x = x
        a.pointee.width = width
        a.pointee.count = n
        a.pointee.gradient = grad
        a.pointee.gradient_immediates = UnsafePointer(gradientImmediates)
        a.pointee.indicator_immediates = UnsafePointer(indicatorImmediates)
        a.pointee.hessian_immediates = UnsafePointer(hessianImmediates)
        a.pointee.h = stepSize
        a.pointee.s = s
        a.pointee.bound = divergenceBound
        a.pointee.outcome = outcome
        a.pointee.running = EulerMaruyamaStepper.running
        a.pointee.diverged = EulerMaruyamaStepper.diverged
        a.pointee.max_steps = limit
        if bridge {
            // the bridge test's constants computed as `bridgeTest` computes them
            let variance = s * s
            a.pointee.distance = distance
            a.pointee.cut = 16.5 * M_LN2 * variance
            a.pointee.scale = -2 / variance
            if let plane = coordinatePlane {
                a.pointee.offset = plane.offset
                a.pointee.inverse_norm = plane.inverseNorm
                a.pointee.term = plane.term
            } else {
                // several boundaries with constant norms: their levels into `levelOut`
                a.pointee.inverse_norms = UnsafePointer(levelInverseNorms)
                a.pointee.level_terms = UnsafePointer(levelTermCodes)
                a.pointee.level_immediates = UnsafePointer(levelImmediates)
                a.pointee.levels = levelOut
            }
        }
        let words = scalarWords
        words[0] = state.s1; words[1] = state.s2; words[2] = state.s3
        a.pointee.scalar = words
        let taken: Int
        if let lanes {
            taken = lanes.lanes.withWords { s1, s2, s3 in
                a.pointee.s1 = s1; a.pointee.s2 = s2; a.pointee.s3 = s3
                return kernel.function(a)
            }
        } else {
            taken = kernel.function(a)  // (the Hessian law: the scalar stream only)
        }
        state = Taus2State(s1: words[0], s2: words[1], s3: words[2])
        return taken
    }

    /// One step of lanes `0..<count` with the stream's draws, then the exit test.
    func step(count: Int, stream: RandomStream) {
        var state = stream.taus2State
        step(count: count, stream: stream, state: &state)
        stream.store(state)
    }

    /// One step of lanes `0..<count`, then the exit test. Draws come from `state`, the
    /// stream's taus2 state held by the caller (`stream`'s own state is stale until the
    /// caller stores `state` back); GSL draws sync through `stream`.
    @inline(__always)
    func step(count n: Int, stream: RandomStream, state: inout Taus2State, lanes: LaneStreams?) {
        let rng = stream.pointer
        let w = width, h = stepSize
        let x = self.x, grad = self.grad
        switch increment {
        case .gaussian(let s) where lanes != nil && w % Taus2Lanes.count == 0 && InlineZiggurat.tables != nil:
            // additive noise from the SIMD lane streams: each row's normals drawn and used in
            // one pass (the same draws and bits as `drawNormals` then `advance`)
            blockGradient(count: n)
            let lanes = lanes.unsafelyUnwrapped
            for j in 0..<d { _ = lanes.eulerRow(x: x + j * w, gradient: grad + j * w, step: h, scale: s, count: n) }
        case .gaussian, .stateDependent, .finiteSumCovariance:
            drawNormals(count: n, stream: stream, state: &state, lanes: lanes)
            advance(count: n, normals: normals)
        case .alphaStable(let alpha, let s):
            blockGradient(count: n)
            stream.store(state)
            for j in 0..<d {
                let xr = x + j * w, gr = grad + j * w
                for i in 0..<n { xr[i] = xr[i] - h * gr[i] + s * gsl_ran_levy(rng, 1.0, alpha) }
            }
            state = stream.taus2State
        case .studentTMean(let nu, let s, let batch):
            blockGradient(count: n)
            stream.store(state)
            let inverse = 1.0 / Double(batch)
            for j in 0..<d {
                let xr = x + j * w, gr = grad + j * w
                for i in 0..<n {
                    var sum = 0.0
                    for _ in 0..<batch { sum += gsl_ran_tdist(rng, nu) }
                    xr[i] = xr[i] - h * gr[i] + s * sum * inverse
                }
            }
            state = stream.taus2State
        case .minibatch(let batch, let replacement):
            stream.store(state)
            let fs = samples.unsafelyUnwrapped
            let theta = scratch, g = scratch + d
            let inverse = 1.0 / Double(batch)
            let m = sampleCount
            if let lanes = laneSum {
                // the same draws in the same order (lane by lane), then the block's gradients
                // with the chains in SIMD lanes: x ← x − h·(1/B)Σ_r ∇ℓ
                // (GSL's uniform_int on the register-held taus2 state: the same words and indices)
                var s = state
                for i in 0..<n {
                    for k in 0..<batch {
                        if replacement {
                            batchIndices[k * w + i] = s.uniformInt(below: UInt32(m))
                        } else {
                            let r = k + s.uniformInt(below: UInt32(m - k))
                            let tmp = permutation[k]; permutation[k] = permutation[r]; permutation[r] = tmp
                            batchIndices[k * w + i] = permutation[k]
                        }
                    }
                }
                state = s
                // x ← x − h·g, g = (1/B)Σ_r ∇ℓ summed per group of 8 lanes and applied in place
                lanes.stepLanes(indices: batchIndices, first: 0, weights: nil, batch: batch, count: n, stride: w,
                                theta: x, scale: inverse, step: h)
                break
            }
            for i in 0..<n {
                for j in 0..<d { theta[j] = x[j * w + i]; g[j] = 0 }
                for k in 0..<batch {
                    let index: Int
                    if replacement {
                        index = Int(gsl_rng_uniform_int(rng, UInt(m)))
                    } else {
                        // partial Fisher–Yates: positions 0..<batch become a uniform sample
                        let r = k + Int(gsl_rng_uniform_int(rng, UInt(m - k)))
                        let tmp = permutation[k]; permutation[k] = permutation[r]; permutation[r] = tmp
                        index = permutation[k]
                    }
                    if fs.batched == nil {
                        fs.sum.addSampleGradient(index, at: theta, scale: inverse, into: g)
                    } else {
                        batchIndices[k] = index
                    }
                }
                // a network: the same draws, the batch's gradient in one pass of matrix products
                fs.batched?.addWeightedBatchGradient(indices: batchIndices, weights: nil, count: batch, at: theta,
                                                     scale: inverse, into: g)
                for j in 0..<d { x[j * w + i] = theta[j] - h * g[j] }
            }
            state = stream.taus2State
        }
        detectExits(count: n, state: &state)
    }

    /// The standard normals of one step of a Gaussian law, into `normals[k*width + i]`, in
    /// the law's drawing order: coordinate by coordinate for additive noise (through the
    /// inlined ziggurat), lane by lane for state-dependent noise and finite sums (`noiseRows`
    /// normals per lane: d, or the n sample normals ζ₀…ζₙ₋₁ of the sample-space route).
    @inline(__always)
    func drawNormals(count n: Int, stream: RandomStream, state: inout Taus2State, lanes: LaneStreams? = nil) {
        let rng = stream.pointer, w = width, z = normals
        switch increment {
        case .gaussian:
            if let lanes, w % Taus2Lanes.count == 0 {
                // the SIMD lane streams: row by row, slot i from lane i mod 8 (⌈n/8⌉·8 ≤ w slots)
                for j in 0..<d { lanes.fillNormals(z + j * w, count: n) }
            } else if let tables = InlineZiggurat.tables {
                var s = state  // a local copy stays in registers across the loop
                for j in 0..<d {
                    let zr = z + j * w
                    for i in 0..<n { zr[i] = InlineZiggurat.normal(&s, tables: tables) }
                }
                state = s
            } else {
                stream.store(state)
                for j in 0..<d {
                    let zr = z + j * w
                    for i in 0..<n { zr[i] = gsl_ran_gaussian_ziggurat(rng, 1.0) }
                }
                state = stream.taus2State
            }
        case .stateDependent, .finiteSumCovariance:
            let rows = noiseRows
            if let tables = InlineZiggurat.tables {
                // lane by lane, GSL's bits through the inlined fast path
                var s = state
                for i in 0..<n {
                    for k in 0..<rows { z[k * w + i] = InlineZiggurat.normal(&s, tables: tables) }
                }
                state = s
            } else {
                stream.store(state)
                for i in 0..<n {
                    for k in 0..<rows { z[k * w + i] = gsl_ran_gaussian_ziggurat(rng, 1.0) }
                }
                state = stream.taus2State
            }
        default:
            preconditionFailure("drawNormals: \(increment) is not Gaussian")
        }
    }

    /// The deterministic part of a step of a Gaussian law: x ← x − h ∇V(x) + √v S(x) ξ for
    /// lanes `0..<count`, with the standard normals ξ given at `normals[k*width + i]` (ξ =
    /// ΔW/√h: a test can feed the increments of a Brownian path it chose; k < `noiseRows`,
    /// for the finite sum's sample-space route the n sample normals ζ with
    /// √Σ·ξ replaced by (1/√n)·Σₖ (gₖ − ḡ)·ζₖ). No exit test.
    @inline(__always)
    func advance(count n: Int, normals z: UnsafePointer<Double>) {
        let w = width, h = stepSize
        let x = self.x, grad = self.grad
        switch increment {
        case .gaussian(let s):
            // vectorisable: the noise is drawn already
            blockGradient(count: n)
            for j in 0..<d {
                let xr = x + j * w, gr = grad + j * w, zr = z + j * w
                for i in 0..<n { xr[i] = xr[i] - h * gr[i] + s * zr[i] }
            }
        case .stateDependent(let law, let variance):
            let eigen = self.eigen!
            blockGradient(count: n)
            // per lane: the matrix M with Σ₁ = m_i·M (m_i the lane's scalar factor), and its root's spectrum
            var c = 1.0, loss = false, hStar: Double? = nil
            var spectrum = SymmetricSquareRoot.Spectrum.positivePart
            switch law {
            case .hessian(let scale, let curvature):
                c = scale
                if curvature == .absolute { spectrum = .absolute }
                blockHessian(count: n)
            case .lossProportional(let scale, let fixed):
                c = scale; loss = true; hStar = fixed
                landscape.value(count: n, stride: w, inputs: x, outputs: values, workspace: workspace, scratch: scratch)
                if fixed == nil {
                    blockHessian(count: n)
                }
            case .covariance(let matrix):
                if let s = constantFactor {
                    // a constant Σ₁: its root S, taken once (`init`), for every lane
                    let root = variance.squareRoot()
                    for r in 0..<d {
                        let xr = x + r * w, gr = grad + r * w
                        for i in 0..<n {
                            var noise = 0.0
                            for k in 0..<d { noise += s[r * d + k] * z[k * w + i] }
                            xr[i] = xr[i] - h * gr[i] + root * noise
                        }
                    }
                    return
                }
                spectrum = .semidefinite
                matrix.program.evaluate(count: n, stride: w, inputs: x, outputs: hess, workspace: workspace)
            default:
                preconditionFailure("stateDependent step with \(law.kind.rawValue) noise")
            }
            let root = variance.squareRoot()
            if hStar == nil && d <= 2 {
                // d ≤ 2 unrolled over the lanes: the same operations as the loop below (the
                // same roots, the same sums from 0), so the same bits, without per-lane loops
                if d == 1 {
                    for i in 0..<n {
                        let ci = loss ? 2 * c * max(values[i], 0) : c
                        let s = SymmetricSquareRoot.root1(ci * hess[i], spectrum: spectrum)
                        factor[i] = s
                        var noise = 0.0
                        noise += s * z[i]
                        x[i] = x[i] - h * grad[i] + root * noise
                    }
                } else {
                    // lane i with scale ci: root2, then the update (the loop of every other d)
                    @inline(__always) func lane(_ i: Int, _ ci: Double) {
                        let s = factor + 4 * i
                        SymmetricSquareRoot.root2(ci * hess[i], ci * hess[w + i], ci * hess[2 * w + i], ci * hess[3 * w + i],
                                                  into: s, spectrum: spectrum)
                        var n0 = 0.0, n1 = 0.0
                        n0 += s[0] * z[i]; n0 += s[1] * z[w + i]
                        n1 += s[2] * z[i]; n1 += s[3] * z[w + i]
                        x[i] = x[i] - h * grad[i] + root * n0
                        x[w + i] = x[w + i] - h * grad[w + i] + root * n1
                    }
                    if loss {
                        for i in 0..<n { lane(i, 2 * c * max(values[i], 0)) }
                    } else {
                        // the positive-definite lanes in C, eight per vector (the same operations);
                        // the rest (indefinite: one Jacobi rotation) here, lane by lane
                        let rest = sgd_hessian2_step(hess, w, c, z, grad, x, h, root, factor, n, candidates,
                                                     KernelInstructionSet.blocks)
                        for k in 0..<rest { lane(candidates[k], c) }
                    }
                }
                return
            }
            let matrix = scratch
            for i in 0..<n {
                let ci = loss ? 2 * c * max(values[i], 0) : c
                let s = factor + i * d * d
                if let hStar {
                    // Σ₁ = 2c·L⁺·h*·I: S = √(2c·L⁺·h*)·I
                    let diagonal = (ci * hStar).squareRoot()
                    for k in 0..<(d * d) { s[k] = k % (d + 1) == 0 ? diagonal : 0 }
                } else {
                    for k in 0..<(d * d) { matrix[k] = ci * hess[k * w + i] }
                    eigen.root(matrix, into: s, spectrum: spectrum)
                }
                for r in 0..<d {
                    var noise = 0.0
                    for k in 0..<d { noise += s[r * d + k] * z[k * w + i] }
                    x[r * w + i] = x[r * w + i] - h * grad[r * w + i] + root * noise
                }
            }
        case .finiteSumCovariance(let variance) where finiteSumRoot == .sampleSpace:
            // x ← x − h ḡ + √v·(1/√n)·Σₖ gₖ (ζₖ − ζ̄)  (FiniteSumNoiseRoot.sampleSpace)
            let fs = samples.unsafelyUnwrapped.sum
            let m = sampleCount, inverse = 1.0 / Double(m)
            let theta = scratch, mean = scratch + d, acc = scratch + 2 * d, g = scratch + 3 * d
            let scale = (variance * inverse).squareRoot()
            let second = scratch + 4 * d  // bridge only: (1/n) Σ gₖgₖᵀ, d×d
            if !bridge, let lanes = laneSum {
                // the weighted gradient of the network branch below, the block's chains in
                // SIMD lanes, over chunks of `laneSamples` samples
                let means = values
                for i in 0..<n { means[i] = 0 }
                for k in 0..<m { let zr = z + k * w; for i in 0..<n { means[i] += zr[i] } }
                for i in 0..<n { means[i] *= inverse }
                // one chunk: applied in place, x ← x − (−1)·Σₖ wₖgₖ = x + Σₖ wₖgₖ; more: summed
                // into `grad` chunk by chunk (each chunk reads the step's starting x), then added
                let single = m <= EulerMaruyamaStepper.laneSamples
                if !single { for j in 0..<d { let gr = grad + j * w; for i in 0..<n { gr[i] = 0 } } }
                var first = 0
                while first < m {
                    let chunk = min(EulerMaruyamaStepper.laneSamples, m - first)
                    for k in 0..<chunk {
                        let zr = z + (first + k) * w, wr = batchWeights + k * w
                        for i in 0..<n { wr[i] = scale * (zr[i] - means[i]) - h * inverse }
                    }
                    if single {
                        lanes.stepLanes(indices: nil, first: 0, weights: batchWeights, batch: m, count: n, stride: w,
                                        theta: x, scale: 1, step: -1)
                    } else {
                        lanes.addLaneGradients(indices: nil, first: first, weights: batchWeights, batch: chunk, count: n,
                                               stride: w, theta: x, scale: 1, into: grad)
                    }
                    first += chunk
                }
                if !single {
                    for j in 0..<d {
                        let xr = x + j * w, gr = grad + j * w
                        for i in 0..<n { xr[i] = xr[i] + gr[i] }
                    }
                }
                break
            }
            for i in 0..<n {
                for j in 0..<d { theta[j] = x[j * w + i]; mean[j] = 0; acc[j] = 0 }
                if bridge { for k in 0..<(d * d) { second[k] = 0 } }
                var zetaSum = 0.0
                for k in 0..<m { zetaSum += z[k * w + i] }
                let zetaMean = zetaSum * inverse
                if !bridge, let batched = samples.unsafelyUnwrapped.batched {
                    // a network: the whole step −hḡ + √v(1/√n)Σₖ gₖ(ζₖ − ζ̄) is one weighted
                    // gradient Σₖ wₖgₖ, wₖ = −h/n + √(v/n)(ζₖ − ζ̄): one pass of matrix products
                    let weights = batchWeights
                    for k in 0..<m { weights[k] = scale * (z[k * w + i] - zetaMean) - h * inverse }
                    batched.addWeightedBatchGradient(indices: nil, weights: weights, count: m, at: theta, scale: 1, into: acc)
                    for r in 0..<d { x[r * w + i] = theta[r] + acc[r] }
                    continue
                }
                for k in 0..<m {
                    for j in 0..<d { g[j] = 0 }
                    fs.addSampleGradient(k, at: theta, scale: 1, into: g)
                    let c = z[k * w + i] - zetaMean
                    for j in 0..<d { mean[j] += inverse * g[j]; acc[j] += c * g[j] }
                    if bridge {
                        for r in 0..<d { for c2 in 0..<d { second[r * d + c2] += inverse * g[r] * g[c2] } }
                    }
                }
                for r in 0..<d { x[r * w + i] = theta[r] - h * mean[r] + scale * acc[r] }
                if bridge {
                    // the bridge test reads Σ(θ) (not a root) for this route
                    let sigma = factor + i * d * d
                    for r in 0..<d { for c2 in 0..<d { sigma[r * d + c2] = second[r * d + c2] - mean[r] * mean[c2] } }
                }
            }
        case .finiteSumCovariance(let variance):
            // x ← x − h ḡ + √v·S·ξ, S = (Σ⁺)^{1/2}  (FiniteSumNoiseRoot.covariance)
            let eigen = self.eigen!
            let fs = samples.unsafelyUnwrapped.sum
            let theta = scratch, mean = scratch + d
            let cov = scratch + 3 * d, tmp = scratch + 3 * d + d * d
            let root = variance.squareRoot()
            for i in 0..<n {
                for j in 0..<d { theta[j] = x[j * w + i] }
                fs.gradientCovariance(at: theta, mean: mean, covariance: cov, scratch: tmp)
                let s = factor + i * d * d
                eigen.positivePartRoot(cov, into: s)
                for r in 0..<d {
                    var noise = 0.0
                    for k in 0..<d { noise += s[r * d + k] * z[k * w + i] }
                    x[r * w + i] = theta[r] - h * mean[r] + root * noise
                }
            }
        default:
            preconditionFailure("advance(count:normals:): \(increment) is not Gaussian")
        }
    }

    // MARK: - Exit test

    /// `outcome` for lanes `0..<count` at their new states: the first exit term that holds,
    /// divergence over everything, then (bridge) crossings inside the step, which draw
    /// uniforms from `state`.
    @inline(__always)
    func detectExits(count n: Int, state: inout Taus2State) {
        let w = width, x = self.x, outcome = self.outcome
        // branch-free selects over the block
        if exitTest.readsLoss { fillLoss(count: n) }
        if terms > 0 {
            indicatorKernel.evaluate(count: n, stride: w, inputs: x, outputs: indicator, workspace: workspace)
            if !exitTest.distanceTerms.isEmpty { exitTest.fillDistances(count: n, stride: w, x: x, indicators: indicator) }
        }
        let running = EulerMaruyamaStepper.running, diverged = EulerMaruyamaStepper.diverged
        let bound = divergenceBound
        if terms == 1 && d == 1 {
            // one pass, branch-free (the 1-D workloads): term 0, then divergence
            _ = sgd_block_outcome_1d(x, indicator, n, bound, outcome, running, diverged, KernelInstructionSet.blocks)
        } else {
            for i in 0..<n { outcome[i] = running }
            var t = terms
            while t > 0 {  // from the last term back, so the first term that holds wins
                t -= 1
                let row = indicator + t * w, code = t
                for i in 0..<n { outcome[i] = row[i] != 0 ? code : outcome[i] }
            }
            // NaN or beyond the bound: diverged, whatever else holds (comparisons only, eight
            // lanes or rows per vector)
            sgd_block_mark_diverged(x, w, d, n, bound, outcome, diverged, KernelInstructionSet.blocks)
        }
        if bridge, let levels = levelKernel { bridgeTest(levels, count: n, state: &state) }
    }

    /// Row d of `x`: L(θ) of lanes `0..<count`, for exit terms that read the loss. A finite
    /// sum's loss costs n sample losses per lane (O(n·d)); nothing is allocated.
    @inline(__always)
    private func fillLoss(count n: Int) {
        let w = width, theta = scratch
        if let lanes = laneSum {
            lanes.laneLosses(count: n, stride: w, theta: x, into: x + d * w)
            return
        }
        if let fs = samples {
            for i in 0..<n {
                for j in 0..<d { theta[j] = x[j * w + i] }
                x[d * w + i] = fs.sum.loss(at: theta)
            }
        } else {
            landscape.value(count: n, stride: w, inputs: x, outputs: x + d * w, workspace: workspace, scratch: scratch)
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

    /// −g/‖∇g‖ of lane i from `levelOut` (g at row `base`, its gradient in the next d rows).
    @inline(__always)
    private func levelDistance(base: Int, lane i: Int) -> Double {
        let w = width
        var n2 = 0.0
        for j in 0..<d { let gj = levelOut[(base + 1 + j) * w + i]; n2 += gj * gj }
        return n2 > 0 ? -levelOut[base * w + i] / n2.squareRoot() : .infinity
    }

    /// Brownian-bridge crossing test for each level boundary (see `ExitTestKind.bridge`).
    /// A uniform is drawn only when the crossing probability exceeds 2⁻³³: below that,
    /// a uniform on (0, 1) drawn as `gsl_rng_uniform_pos` does (smallest value 2⁻³² for
    /// taus2's 32-bit output) is never below p, so skipping the draw changes no outcome.
    @inline(__always)
    private func bridgeTest(_ levels: ProgramKernel, count active: Int, state: inout Taus2State) {
        let w = width, status = outcome
        var state0 = state  // register-held for the loops below
        defer { state = state0 }
        // exp(e) > 2⁻³³ ⇔ d₀d₁/v < 33·ln2/2
        let limit = 16.5 * M_LN2
        var additiveVariance = 0.0
        if case .gaussian(let s) = increment { additiveVariance = s * s }
        if let plane = coordinatePlane, additiveVariance > 0 {
            // one coordinate-plane boundary under additive noise: the level computed inside the
            // first pass (the program's own operation), then the near paths' uniforms
            let near = sgd_bridge_near_offset(x + plane.row * w, plane.offset, plane.addsOffset ? 1 : 0, distance,
                                              plane.inverseNorm, active, limit * additiveVariance, values, candidates,
                                              KernelInstructionSet.blocks)
            let scale = -2 / additiveVariance
            for k in 0..<near {
                let i = candidates[k]
                if status[i] == EulerMaruyamaStepper.running
                    && EulerMaruyamaStepper.below(state0.uniformPositive(), expOf: scale * values[i]) {
                    status[i] = plane.term
                }
            }
            return
        }
        levels.evaluate(count: active, stride: w, inputs: x, outputs: levelOut, workspace: workspace)
        let product = values  // W scratch doubles: d₀d₁ where both ends are inside, else +∞
        for (l, term) in exitTest.levelTerms.enumerated() {
            let base = exitTest.constantInverseNorms == nil ? l * (1 + d) : l
            let g = levelOut + base * w
            let dist = distance + l * w
            // pass 1 (vectorisable): new distances −g/‖∇g‖ and the products d₀d₁
            var near = active  // paths that may need a uniform; counted exactly on the fast path
            if let inverseNorm = exitTest.constantInverseNorms?[l] {
                let cut = additiveVariance > 0 ? limit * additiveVariance : .infinity
                // new distances, products and the few lanes near the boundary, in one pass
                near = sgd_bridge_near(g, dist, inverseNorm, active, cut, product, candidates, KernelInstructionSet.blocks)
                if near == 0 { continue }
                if additiveVariance > 0 {
                    let scale = -2 / additiveVariance
                    for k in 0..<near {
                        let i = candidates[k]
                        if status[i] == EulerMaruyamaStepper.running
                            && EulerMaruyamaStepper.below(state0.uniformPositive(), expOf: scale * product[i]) {
                            status[i] = term
                        }
                    }
                    continue
                }
            } else {
                for i in 0..<active {
                    let d1 = levelDistance(base: base, lane: i)
                    let d0 = dist[i]
                    dist[i] = d1
                    product[i] = d0 > 0 && d1 > 0 ? d0 * d1 : .infinity
                }
            }
            // pass 2: the few paths near the boundary draw a uniform
            if near == 0 { continue }
            if additiveVariance > 0 {
                let cut = limit * additiveVariance, scale = -2 / additiveVariance
                for i in 0..<active where product[i] < cut && status[i] == EulerMaruyamaStepper.running {
                    if EulerMaruyamaStepper.below(state0.uniformPositive(), expOf: scale * product[i]) { status[i] = term }
                }
                continue
            }
            for i in 0..<active where product[i].isFinite && status[i] == EulerMaruyamaStepper.running {
                let variance: Double
                do {
                    // variance of the step's noise along n = ∇g/‖∇g‖: v·‖Sᵀn‖², S the step's factor
                    var v = 0.0
                    switch increment {
                    case .stateDependent(_, let c), .finiteSumCovariance(let c): v = c
                    default: break
                    }
                    let s = factor + i * d * d
                    var total = 0.0, n2 = 0.0
                    for r in 0..<d { let gr = levelOut[(base + 1 + r) * w + i]; n2 += gr * gr }
                    if finiteSumRoot == .sampleSpace {
                        // the factor holds Σ itself: ‖Sᵀn‖² = nᵀΣn
                        for r in 0..<d {
                            var row = 0.0
                            for k in 0..<d { row += s[r * d + k] * levelOut[(base + 1 + k) * w + i] }
                            total += levelOut[(base + 1 + r) * w + i] * row
                        }
                        total = max(total, 0)
                    } else {
                        for k in 0..<d {
                            var proj = 0.0
                            for r in 0..<d { proj += levelOut[(base + 1 + r) * w + i] * s[r * d + k] }
                            total += proj * proj
                        }
                    }
                    variance = n2 > 0 ? v * total / n2 : 0
                }
                guard variance > 0, product[i] < limit * variance else { continue }
                if EulerMaruyamaStepper.below(state0.uniformPositive(), expOf: -2 * product[i] / variance) {
                    status[i] = term
                }
            }
        }
    }
}

/// A finite sum behind a class reference: an immutable stored existential that calls open in place.
final class FiniteSumReference: Sendable {
    let sum: any FiniteSum
    /// The same sum when it computes batch gradients in one pass (`BatchedFiniteSum`).
    let batched: (any BatchedFiniteSum)?
    init(_ sum: any FiniteSum) { self.sum = sum; batched = sum as? any BatchedFiniteSum }
}
