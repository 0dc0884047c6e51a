import Foundation

/// Rare first exits by adaptive multilevel splitting: the mean first-exit time of an
/// `ExitProblem` from its start, for exits far too rare for brute-force Monte Carlo
/// (docs/THEORY.md §6).
///
/// **Probability.** Generalized AMS (Bréhier, Gazeau, Goudenège, Lelièvre & Rousset, Ann.
/// Appl. Probab. 26 (2016) 3559–3601) estimates p = P(a path started on Σ reaches the exit
/// B before returning to A). A replica's level is the maximum of the level function (ξ, or
/// `SplittingSettings.levelGrid`, the 2-D committor) along its path until it returns to A or
/// reaches B (+∞ once in B). Each iteration kills every replica whose level
/// is ≤ the k-th smallest level z (all ties: in discrete time levels can be equal), K of N,
/// and restarts each killed one from a uniformly chosen survivor at the survivor's first
/// time with ξ > z; it stops when fewer than k replicas are outside B. Then
///
///     p̂ = Π_q (1 − K_q/N) · (replicas in B)/N,
///
/// and p̂ = 0 when an iteration kills all N (extinction). p̂ is **unbiased** for p for any ξ,
/// N and k, in discrete time and with ties (Bréhier et al. 2016, Theorem 4.1); ξ affects
/// only its variance, ≈ p²|log p|/N per run for a good coordinate. The same weights give
/// E[reactive duration · 1_B] unbiasedly; its ratio to p̂ is the mean reactive time.
///
/// **Mean exit time.** By the loop decomposition of Cérou, Guyader, Lelièvre & Pommier
/// (J. Chem. Phys. 134 (2011) 054108):
///
///     E[T] = E[τ₀] + (1/p − 1)·E[loop] + E[reactive],
///
/// τ₀ the time from the start to the first entry into Σ, a loop a path from a Σ-entry back
/// to A and on to the next Σ-entry, p the AMS probability from the Σ-entry distribution. The
/// loops and entry points come from a direct simulation of walkers from the start, each
/// running a fixed number of loops to completion — selected by their start, never by their
/// completion (keeping only loops finished inside a window biases E[loop] low). Loops that
/// reach B are the direct successes (a check of p where exits are not rare). Assumption:
/// successive Σ-entries are close to their stationary law (they decorrelate within a loop;
/// exact in 1-D with a continuous path, where every entry is the same point).
///
/// **Exactness.** Every step is the engine's `BlockStepper` (the same integrator, exit test
/// and streams as Monte Carlo): with `exit_test = "step"` the estimate targets the mean exit
/// time of the same discrete chain, with `"bridge"` the diffusion's. A and Σ are tested at
/// step ends.
///
/// **Error.** p̄ = mean of R independent runs, SE from their spread; E[τ₀] and E[loop] with
/// their sample SEs; the mean by the delta method,
/// Var ≈ Var(τ̄₀) + (1/p̄ − 1)²Var(L̄) + L̄²Var(p̄)/p̄⁴ + Var(R̄), the pieces taken as independent
/// (the entry points are shared, a second-order effect). 1/p̄ is biased upward by ≈ Var(p̄)/p̄²
/// (relative), which the SE exceeds by a factor √(R·N/|log p|).
///
/// **Determinism.** Loop block b draws from stream (seed, experiment, cell, b); run r from
/// (seed, experiment, cell, 2³² + r), so the result is the same for any thread count.
public struct AdaptiveMultilevelSplitting: Sendable {
    public let problem: ExitProblem
    public let integrator: Integrator
    public let settings: SplittingSettings
    let simulator: EnsembleSimulator
    let xiProgram: CompiledProgram
    /// When ξ is a coordinate itself (ξ = x for `x > 0`): its index, read in place instead of
    /// interpreting the program on every block step.
    let xiVariable: Int?

    /// Loop-block streams use chunk b; run r uses chunk `runStreamOffset + r`.
    static let runStreamOffset = 1 << 32
    static let laneWidth = EnsembleSimulator.blockWidth
    /// Walkers per loop block (one lane each) and the number of blocks (fixed by `loops`
    /// alone, so that the split is the same for any thread count).
    static let maxLoopBlocks = 16

    public init(problem: ExitProblem, integrator: Integrator, settings: SplittingSettings) throws(DynamicsError) {
        precondition(settings.replicas >= 2 && settings.kill >= 1 && settings.kill < settings.replicas)
        precondition(settings.runs >= 1 && settings.loops >= 1)
        self.problem = problem
        self.integrator = integrator
        self.settings = settings
        simulator = try EnsembleSimulator(problem: problem, integrator: integrator)
        // ξ may read the loss row of the stepper's state (a finite sum's loss_above exit)
        xiProgram = CompiledProgram(outputs: [settings.reactionCoordinate],
                                    dimension: problem.landscape.dimension + (problem.lossVariable == nil ? 0 : 1))
        if case .variable(let j) = settings.reactionCoordinate { xiVariable = j } else { xiVariable = nil }
        guard settings.startLevel < settings.sigmaLevel else {
            throw DynamicsError("the start set A = {ξ ≤ \(settings.startLevel)} must lie below Σ = {ξ ≥ \(settings.sigmaLevel)}: need start_level < sigma_level")
        }
        let xi0 = xiProgram.evaluate(at: problem.augmented(problem.start))[0]
        guard xi0.isFinite else { throw DynamicsError("the reaction coordinate is \(xi0) at the start; it must be finite") }
        if problem.exitTerm(at: problem.start) != nil {
            throw DynamicsError("the start lies in the exit region")
        }
        if settings.levelGrid != nil, problem.landscape.dimension != 2 {
            throw DynamicsError("a level grid (committor) applies to 2-D landscapes")
        }
    }

    /// ξ at `point`.
    public func coordinate(at point: [Double]) -> Double { xiProgram.evaluate(at: problem.augmented(point))[0] }

    /// A replica's level function at `point`: the level grid where there is one, else ξ.
    func level(at point: [Double]) -> Double {
        if let grid = settings.levelGrid { return grid(point[0], point[1]) }
        return coordinate(at: point)
    }

    // MARK: - Results

    /// One AMS run.
    public struct Run: Sendable, Equatable {
        /// p̂ of this run (0 on extinction).
        public let probability: Double
        public let iterations: Int
        public let extinct: Bool
        /// Replicas in B at the end, per exit term.
        public let sideCounts: [Int]
        /// Mean steps from the Σ-entry to B of the final replicas in B (nil: none).
        public let reactiveSteps: Double?
        /// Replicas that diverged (ended neither in A nor in B).
        public let diverged: Int
        public let pathSteps: Int
    }

    /// The direct simulation of loops from the start.
    public struct Loops: Sendable, Equatable {
        /// Steps from the start to the first Σ-entry, one per walker start.
        public let firstEntrySteps: [Int]
        /// Steps of completed loops that returned to A (Σ-entry to next Σ-entry).
        public let loopSteps: [Int]
        /// Loops started (each Σ-entry that starts one).
        public let started: Int
        /// Loops that reached B (the direct successes), with their reactive steps.
        public let reactiveSteps: [Int]
        /// Walker segments abandoned because the path diverged.
        public let diverged: Int
        /// Σ-entry points, d per entry, with the exit term when the entry step exited (else −1).
        public let entryPoints: [Double]
        public let entrySides: [Int32]
        public let pathSteps: Int
    }

    /// A whole cell: loops, runs and the combined estimates (in steps).
    public struct Estimate: Sendable {
        public let loops: Loops
        public let runs: [Run]
        /// p̄ and its SE over the runs.
        public let probability: Double
        public let probabilityStandardError: Double
        public let meanFirstEntrySteps: Double
        public let firstEntryStandardError: Double
        public let meanLoopSteps: Double
        public let loopStandardError: Double
        public let meanReactiveSteps: Double
        public let reactiveStandardError: Double
        /// E[T] in steps and its SE (nil when p̄ = 0: every run went extinct).
        public let meanSteps: Double?
        public let standardErrorSteps: Double?
        public var pathSteps: Int { loops.pathSteps + runs.reduce(0) { $0 + $1.pathSteps } }
    }

    // MARK: - The cell

    /// Loops, then R runs from the Σ-entries; `threads` share the loop blocks and the runs.
    public func estimate(seed: UInt64, experiment: Int = 0, cell: Int = 0, threads: Int = 1) throws(SplittingFailure) -> Estimate {
        let loops = try simulateLoops(seed: seed, experiment: experiment, cell: cell, threads: threads)
        guard !loops.entrySides.isEmpty else {
            throw SplittingFailure("no Σ-entry in \(settings.loops) loops")
        }
        let runs = try runs(count: settings.runs, entryPoints: loops.entryPoints, entrySides: loops.entrySides,
                            seed: seed, experiment: experiment, cell: cell, threads: threads)
        return combine(loops: loops, runs: runs)
    }

    /// R AMS runs, each starting its N replicas from entries drawn uniformly (with
    /// replacement) from `entryPoints` (d values each; `entrySides[i] ≥ 0` marks an entry
    /// already in B). Run r draws from stream (seed, experiment, cell, 2³² + r).
    public func runs(count: Int, entryPoints: [Double], entrySides: [Int32], seed: UInt64, experiment: Int = 0,
                     cell: Int = 0, threads: Int = 1) throws(SplittingFailure) -> [Run] {
        let results = Parallel.map(count: count, threads: threads) { r -> Result<Run, SplittingFailure> in
            let stream = RandomStream(key: StreamKey(seed: seed, experiment: experiment, cell: cell,
                                                     chunk: AdaptiveMultilevelSplitting.runStreamOffset + r))
            do throws(SplittingFailure) { return .success(try self.run(entryPoints: entryPoints, entrySides: entrySides, stream: stream)) }
            catch { return .failure(error) }
        }
        return try results.map { r throws(SplittingFailure) in try r.get() }
    }

    func combine(loops: Loops, runs: [Run]) -> Estimate {
        func meanAndSE(_ xs: [Double]) -> (Double, Double) {
            guard !xs.isEmpty else { return (.nan, .nan) }
            let n = Double(xs.count)
            let m = xs.reduce(0, +) / n
            guard xs.count > 1 else { return (m, .nan) }
            let v = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
            return (m, (v / n).squareRoot())
        }
        let (p, pSE) = meanAndSE(runs.map(\.probability))
        let (tau0, tau0SE) = meanAndSE(loops.firstEntrySteps.map(Double.init))
        let (loop, loopSE) = loops.loopSteps.isEmpty ? (0, 0) : meanAndSE(loops.loopSteps.map(Double.init))
        // E[reactive] = Σ_r p̂_r·R̄_r / Σ_r p̂_r (a ratio of unbiased estimators), SE by the ratio's delta method
        let weighted = runs.compactMap { run in run.reactiveSteps.map { (run.probability, $0) } }
        let totalWeight = weighted.reduce(0) { $0 + $1.0 }
        var reactive = 0.0, reactiveSE = 0.0
        if totalWeight > 0 {
            reactive = weighted.reduce(0) { $0 + $1.0 * $1.1 } / totalWeight
            let n = Double(runs.count), wBar = totalWeight / n
            if runs.count > 1 {
                let residuals = runs.map { run in run.probability * ((run.reactiveSteps ?? reactive) - reactive) }
                let v = residuals.reduce(0) { $0 + $1 * $1 } / (n - 1)
                reactiveSE = (v / n).squareRoot() / wBar
            }
        }
        var mean: Double? = nil, se: Double? = nil
        if p > 0 {
            let m = tau0 + (1 / p - 1) * loop + reactive
            let variance = tau0SE * tau0SE + (1 / p - 1) * (1 / p - 1) * loopSE * loopSE
                + loop * loop * pSE * pSE / (p * p * p * p) + reactiveSE * reactiveSE
            mean = m; se = variance.squareRoot()
        }
        return Estimate(loops: loops, runs: runs, probability: p, probabilityStandardError: pSE,
                        meanFirstEntrySteps: tau0, firstEntryStandardError: tau0SE,
                        meanLoopSteps: loop, loopStandardError: loopSE,
                        meanReactiveSteps: reactive, reactiveStandardError: reactiveSE,
                        meanSteps: mean, standardErrorSteps: se)
    }

    // MARK: - Loops

    /// The loop simulation: `settings.loops` loops over a fixed set of walkers.
    public func simulateLoops(seed: UInt64, experiment: Int = 0, cell: Int = 0, threads: Int = 1) throws(SplittingFailure) -> Loops {
        let width = AdaptiveMultilevelSplitting.laneWidth
        let total = settings.loops
        let blocks = max(1, min(AdaptiveMultilevelSplitting.maxLoopBlocks, total / width))
        let perBlock = (total + blocks - 1) / blocks
        let results = Parallel.map(count: blocks, threads: threads) { b -> Result<Loops, SplittingFailure> in
            let count = min(perBlock, total - b * perBlock)
            guard count > 0 else {
                return .success(Loops(firstEntrySteps: [], loopSteps: [], started: 0, reactiveSteps: [], diverged: 0,
                                      entryPoints: [], entrySides: [], pathSteps: 0))
            }
            let stream = RandomStream(key: StreamKey(seed: seed, experiment: experiment, cell: cell, chunk: b))
            do throws(SplittingFailure) { return .success(try self.loopBlock(loops: count, stream: stream)) }
            catch { return .failure(error) }
        }
        var first: [Int] = [], loopSteps: [Int] = [], reactive: [Int] = [], points: [Double] = [], sides: [Int32] = []
        var started = 0, diverged = 0, pathSteps = 0
        for r in results {
            let l = try r.get()
            first += l.firstEntrySteps; loopSteps += l.loopSteps; reactive += l.reactiveSteps
            points += l.entryPoints; sides += l.entrySides
            started += l.started; diverged += l.diverged; pathSteps += l.pathSteps
        }
        return Loops(firstEntrySteps: first, loopSteps: loopSteps, started: started, reactiveSteps: reactive,
                     diverged: diverged, entryPoints: points, entrySides: sides, pathSteps: pathSteps)
    }

    private enum Phase { case toSigmaFirst, toA, toSigma }

    /// One block of walkers (lanes) sharing `loops` loop starts, each walker running
    /// ⌈loops/walkers⌉ or one fewer loops to completion.
    func loopBlock(loops: Int, stream: RandomStream) throws(SplittingFailure) -> Loops {
        let w = min(AdaptiveMultilevelSplitting.laneWidth, loops)
        let d = problem.landscape.dimension
        let stepper = integrator.kind.makeStepper(simulator: simulator, width: w)
        let zA = settings.startLevel, zS = settings.sigmaLevel
        let maxSteps = problem.maxSteps
        let xi = UnsafeMutablePointer<Double>.allocate(capacity: w)
        let workspace = UnsafeMutablePointer<Double>.allocate(capacity: max(xiProgram.registerCount, 1) * w)
        defer { xi.deallocate(); workspace.deallocate() }
        var phase = [Phase](repeating: .toSigmaFirst, count: w)
        var steps = [Int](repeating: 0, count: w)
        var quota = (0..<w).map { loops / w + ($0 < loops % w ? 1 : 0) }
        var first: [Int] = [], loopSteps: [Int] = [], reactive: [Int] = [], points: [Double] = [], sides: [Int32] = []
        var started = 0, diverged = 0, pathSteps = 0
        for i in 0..<w { stepper.loadStart(lane: i, start: problem.start) }
        var active = w
        let x = stepper.x, outcome = stepper.outcome
        // lane i leaves: the last active lane moves into its slot
        func retire(_ i: Int) {
            active -= 1
            if i != active {
                stepper.copy(lane: active, to: i)
                phase[i] = phase[active]; steps[i] = steps[active]; quota[i] = quota[active]
                xi[i] = xi[active]
            }
        }
        func restart(_ i: Int) {
            stepper.loadStart(lane: i, start: problem.start)
            phase[i] = .toSigmaFirst; steps[i] = 0
        }
        var state = stream.taus2State
        while active > 0 {
            stepper.step(count: active, stream: stream, state: &state)
            if let j = xiVariable {
                for i in 0..<active { xi[i] = x[j * w + i] }
            } else {
                xiProgram.evaluate(count: active, stride: w, inputs: x, outputs: xi, workspace: workspace)
            }
            pathSteps += active
            var i = 0
            while i < active {
                steps[i] += 1
                let o = outcome[i]
                if o == StepOutcome.diverged {
                    diverged += 1
                    if diverged > loops {
                        stream.store(state)
                        throw SplittingFailure("\(diverged) walker segments diverged (NaN or beyond the divergence bound) in a block of \(loops) loops: the dynamics do not stay near the start")
                    }
                    restart(i); i += 1; continue
                }
                switch phase[i] {
                case .toSigmaFirst, .toSigma:
                    guard o >= 0 || xi[i] >= zS else { break }
                    if phase[i] == .toSigmaFirst { first.append(steps[i]) } else { loopSteps.append(steps[i]) }
                    if quota[i] == 0 { retire(i); continue }
                    quota[i] -= 1; started += 1
                    for j in 0..<d { points.append(x[j * w + i]) }
                    sides.append(o >= 0 ? Int32(o) : -1)
                    if o >= 0 {  // the entry step exited: a success with no reactive time
                        reactive.append(0)
                        if quota[i] == 0 { retire(i); continue }
                        restart(i)
                    } else {
                        phase[i] = .toA; steps[i] = 0
                    }
                case .toA:
                    if o >= 0 {
                        reactive.append(steps[i])
                        if quota[i] == 0 { retire(i); continue }
                        restart(i)
                    } else if xi[i] <= zA {
                        phase[i] = .toSigma  // the loop goes on until the next Σ-entry
                    }
                }
                if steps[i] >= maxSteps {
                    stream.store(state)
                    throw SplittingFailure("a loop segment ran max_steps = \(maxSteps) steps without reaching \(phase[i] == .toA ? "A or the exit" : "Σ"); raise max_steps or move sigma_level/start_level")
                }
                i += 1
            }
        }
        stream.store(state)
        return Loops(firstEntrySteps: first, loopSteps: loopSteps, started: started, reactiveSteps: reactive,
                     diverged: diverged, entryPoints: points, entrySides: sides, pathSteps: pathSteps)
    }

    // MARK: - One AMS run

    /// One run of N replicas from entries drawn from `entryPoints`.
    func run(entryPoints: [Double], entrySides: [Int32], stream: RandomStream) throws(SplittingFailure) -> Run {
        var ams = SplittingRun(self, stream: stream)
        return try ams.run(entryPoints: entryPoints, entrySides: entrySides)
    }
}

/// The state of one AMS run: N replicas, each with the records of its path (the states
/// where ξ reached a new maximum, from which a killed replica branches), and a block
/// stepper that resimulates killed replicas together in lanes.
struct SplittingRun {
    let ams: AdaptiveMultilevelSplitting
    let stream: RandomStream
    let stepper: any BlockStepper
    let n: Int, d: Int, w: Int
    let zA: Double
    /// Level of each replica (+∞ once in B).
    var level: [Double]
    /// Exit term when in B (else −1), diverged flag.
    var side: [Int32]
    var divergedFlag: [Bool]
    /// Steps from the Σ-entry to B (replicas in B).
    var duration: [Int]
    /// Per replica: ξ at each record (strictly increasing; +∞ for the entry into B), its
    /// step, and the state there (d values per record).
    var recordXi: [[Double]]
    var recordStep: [[Int]]
    var recordState: [[Double]]
    var pathSteps = 0
    // lane bookkeeping
    var laneReplica: [Int]
    var laneStep: [Int]
    let xi: UnsafeMutablePointer<Double>
    /// The level function per lane (ξ itself unless there is a level grid).
    let lv: UnsafeMutablePointer<Double>
    let workspace: UnsafeMutablePointer<Double>
    let point: UnsafeMutablePointer<Double>

    init(_ ams: AdaptiveMultilevelSplitting, stream: RandomStream) {
        self.ams = ams
        self.stream = stream
        n = ams.settings.replicas
        d = ams.problem.landscape.dimension
        w = min(AdaptiveMultilevelSplitting.laneWidth, n)
        stepper = ams.integrator.kind.makeStepper(simulator: ams.simulator, width: w)
        zA = ams.settings.startLevel
        level = Array(repeating: -.infinity, count: n)
        side = Array(repeating: -1, count: n)
        divergedFlag = Array(repeating: false, count: n)
        duration = Array(repeating: 0, count: n)
        recordXi = Array(repeating: [], count: n)
        recordStep = Array(repeating: [], count: n)
        recordState = Array(repeating: [], count: n)
        laneReplica = Array(repeating: 0, count: w)
        laneStep = Array(repeating: 0, count: w)
        xi = .allocate(capacity: w)
        lv = .allocate(capacity: w)
        workspace = .allocate(capacity: max(ams.xiProgram.registerCount, 1) * w)
        point = .allocate(capacity: max(d, 1))
    }

    func deallocate() { xi.deallocate(); lv.deallocate(); workspace.deallocate(); point.deallocate() }

    mutating func run(entryPoints: [Double], entrySides: [Int32]) throws(SplittingFailure) -> AdaptiveMultilevelSplitting.Run {
        defer { deallocate() }
        let entries = entrySides.count
        // initial replicas from the Σ-entry distribution
        var pending: [Int] = []
        for i in 0..<n {
            let e = stream.index(below: entries)
            let state = Array(entryPoints[e * d..<(e + 1) * d])
            if entrySides[e] >= 0 {
                level[i] = .infinity; side[i] = entrySides[e]; duration[i] = 0
                recordXi[i] = [.infinity]; recordStep[i] = [0]; recordState[i] = state
            } else {
                let x0 = ams.level(at: state)
                level[i] = x0
                recordXi[i] = [x0]; recordStep[i] = [0]; recordState[i] = state
                pending.append(i)
            }
        }
        try simulate(pending)
        let k = ams.settings.kill
        var weight = 1.0
        var iterations = 0
        var sorted = level
        var killed: [Int] = [], survivors: [Int] = []
        while true {
            for i in 0..<n { sorted[i] = level[i] }
            sorted.sort()
            let z = sorted[k - 1]
            if z == .infinity { break }
            killed.removeAll(keepingCapacity: true); survivors.removeAll(keepingCapacity: true)
            for i in 0..<n { if level[i] <= z { killed.append(i) } else { survivors.append(i) } }
            iterations += 1
            if survivors.isEmpty {
                return result(probability: 0, iterations: iterations, extinct: true)
            }
            weight *= 1 - Double(killed.count) / Double(n)
            pending.removeAll(keepingCapacity: true)
            for i in killed {
                let j = survivors[stream.index(below: survivors.count)]
                if branch(i, from: j, above: z) { pending.append(i) }
            }
            try simulate(pending)
        }
        let inB = side.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        return result(probability: weight * Double(inB) / Double(n), iterations: iterations, extinct: false)
    }

    func result(probability: Double, iterations: Int, extinct: Bool) -> AdaptiveMultilevelSplitting.Run {
        var sides = [Int](repeating: 0, count: ams.problem.exitTerms.count)
        var reactive = 0, inB = 0
        if !extinct {
            for i in 0..<n where side[i] >= 0 { sides[Int(side[i])] += 1; reactive += duration[i]; inB += 1 }
        }
        return .init(probability: probability, iterations: iterations, extinct: extinct, sideCounts: sides,
                     reactiveSteps: inB > 0 ? Double(reactive) / Double(inB) : nil,
                     diverged: divergedFlag.reduce(0) { $0 + ($1 ? 1 : 0) }, pathSteps: pathSteps)
    }

    /// Replica i becomes survivor j's path up to j's first record with ξ > z. Returns whether
    /// it still has to be simulated (false: the branch point is j's entry into B).
    mutating func branch(_ i: Int, from j: Int, above z: Double) -> Bool {
        let xs = recordXi[j]
        // first record with ξ > z (records strictly increase)
        var lo = 0, hi = xs.count - 1
        precondition(xs[hi] > z, "survivor \(j) has no record above the level")
        while lo < hi { let mid = (lo + hi) / 2; if xs[mid] > z { hi = mid } else { lo = mid + 1 } }
        let m = lo
        recordXi[i].removeAll(keepingCapacity: true)
        recordXi[i].append(contentsOf: xs[0...m])
        recordStep[i].removeAll(keepingCapacity: true)
        recordStep[i].append(contentsOf: recordStep[j][0...m])
        recordState[i].removeAll(keepingCapacity: true)
        recordState[i].append(contentsOf: recordState[j][0..<(m + 1) * d])
        divergedFlag[i] = false
        if xs[m] == .infinity {
            level[i] = .infinity; side[i] = side[j]; duration[i] = recordStep[j][m]
            return false
        }
        level[i] = xs[m]; side[i] = -1
        return true
    }

    /// Simulates `replicas` (each from its last record) until A, B or divergence, in lanes;
    /// a finished lane takes the next replica.
    mutating func simulate(_ replicas: [Int]) throws(SplittingFailure) {
        guard !replicas.isEmpty else { return }
        let maxSteps = ams.problem.maxSteps
        let x = stepper.x, outcome = stepper.outcome
        var next = 0, active = 0
        func load(_ lane: Int, _ r: Int) {
            let states = recordState[r]
            let base = states.count - d
            for j in 0..<d { point[j] = states[base + j] }
            stepper.load(lane: lane, from: point)
            laneReplica[lane] = r
            laneStep[lane] = recordStep[r][recordStep[r].count - 1]
        }
        while active < w && next < replicas.count { load(active, replicas[next]); active += 1; next += 1 }
        while active > 0 {
            stepper.step(count: active, stream: stream)
            if let j = ams.xiVariable {
                for i in 0..<active { xi[i] = x[j * w + i] }
            } else {
                ams.xiProgram.evaluate(count: active, stride: w, inputs: x, outputs: xi, workspace: workspace)
            }
            let levels: UnsafeMutablePointer<Double>
            if let grid = ams.settings.levelGrid {
                for i in 0..<active { lv[i] = grid(x[i], x[w + i]) }
                levels = lv
            } else {
                levels = xi
            }
            pathSteps += active
            var i = 0
            while i < active {
                laneStep[i] += 1
                let r = laneReplica[i], o = outcome[i], s = laneStep[i]
                var done = false
                if o >= 0 {
                    recordXi[r].append(.infinity); recordStep[r].append(s)
                    for j in 0..<d { recordState[r].append(x[j * w + i]) }
                    level[r] = .infinity; side[r] = Int32(o); duration[r] = s
                    done = true
                } else if o == StepOutcome.diverged {
                    divergedFlag[r] = true
                    done = true
                } else if xi[i] <= zA {
                    done = true
                } else if levels[i] > level[r] {
                    level[r] = levels[i]
                    recordXi[r].append(levels[i]); recordStep[r].append(s)
                    for j in 0..<d { recordState[r].append(x[j * w + i]) }
                }
                if !done && s >= maxSteps {
                    throw SplittingFailure("a replica ran max_steps = \(maxSteps) steps without reaching A or the exit; raise max_steps or move start_level")
                }
                if done {
                    if next < replicas.count {
                        load(i, replicas[next]); next += 1
                    } else {
                        active -= 1
                        if i != active {
                            stepper.copy(lane: active, to: i)
                            laneReplica[i] = laneReplica[active]; laneStep[i] = laneStep[active]
                            xi[i] = xi[active]; levels[i] = levels[active]
                        }
                        continue
                    }
                }
                i += 1
            }
        }
    }
}
