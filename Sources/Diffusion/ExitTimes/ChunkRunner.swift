import Foundation

/// One thread's bookkeeping for simulating chunks, reused across the chunks it takes: which
/// path each lane of the stepper's block holds, its steps taken, censoring at `maxSteps`,
/// retirement of finished paths into the chunk's samples and refilling of their lanes.
/// The steps and exit tests are the integrator's stepper's (one dynamic call per block step;
/// its loops are its own).
final class ChunkRunner {
    static let running = StepOutcome.running
    static let diverged = StepOutcome.diverged, censored = Int(ExitSamples.censored)

    let simulator: EnsembleSimulator
    let stepper: any BlockStepper
    let d: Int
    let width: Int

    let pathIndex: UnsafeMutablePointer<Int>
    /// The block's step count when the lane's path was loaded: the path has taken
    /// `clock − loadedAt` steps, so no per-lane counter is incremented in the step loop.
    let loadedAt: UnsafeMutablePointer<Int>

    init(simulator: EnsembleSimulator) {
        self.simulator = simulator
        d = simulator.problem.landscape.dimension
        width = EnsembleSimulator.blockWidth(dimension: d)
        stepper = simulator.integrator.kind.makeStepper(simulator: simulator, width: width)
        let w = width
        pathIndex = .allocate(capacity: w)
        pathIndex.initialize(repeating: 0, count: w)
        loadedAt = .allocate(capacity: w)
        loadedAt.initialize(repeating: 0, count: w)
    }

    deinit {
        pathIndex.deallocate(); loadedAt.deallocate()
    }

    @inline(__always) private func load(slot i: Int, path: Int, clock: Int) {
        stepper.loadStart(lane: i, start: simulator.problem.start)
        pathIndex[i] = path
        loadedAt[i] = clock
    }

    @inline(__always) private func move(from a: Int, to b: Int) {
        stepper.copy(lane: a, to: b)
        pathIndex[b] = pathIndex[a]
        loadedAt[b] = loadedAt[a]
    }

    /// The chunk's SIMD lane streams, reseeded per chunk (additive Gaussian noise only).
    private var laneStreams: LaneStreams?

    /// Simulates the chunk's paths `firstPath..<firstPath + count` with its scalar stream
    /// (key `key`) and, for additive Gaussian noise, its eight lane streams (`key` with
    /// lane 1…8); slot i of the block draws its normals from lane i mod 8.
    func run(firstPath: Int, count: Int, key: StreamKey, sink: SampleSink) {
        let stream = RandomStream(key: key)
        var lanes: LaneStreams? = nil
        if simulator.hasGaussianIncrements {
            if let existing = laneStreams { existing.reset(key: key) } else { laneStreams = LaneStreams(key: key) }
            lanes = laneStreams
        }
        let w = width
        let maxSteps = simulator.problem.maxSteps
        // the stepper's outcome per lane, censored here in place where the cap is reached
        let x = stepper.x, status = stepper.outcome
        let loadedAt = self.loadedAt
        // The stream's taus2 state stays in a register-held copy for the whole chunk (see
        // InlineZiggurat); the stepper syncs it around its GSL draws.
        var state = stream.taus2State
        var active = 0
        var nextPath = 0
        var clock = 0  // steps of the block so far
        while active < w && nextPath < count {
            load(slot: active, path: firstPath + nextPath, clock: clock)
            active += 1; nextPath += 1
        }
        stepper.beginChunk()
        let compiled = stepper.runsCompiledSteps
        while active > 0 {
            if compiled {
                // steps until a lane stops, at most up to the first clock at which a lane
                // could reach maxSteps (every active lane has taken fewer)
                var earliest = Int.max
                for i in 0..<active { earliest = min(earliest, loadedAt[i]) }
                // (written without earliest + maxSteps, which could overflow for a huge cap)
                clock += stepper.steps(count: active, limit: maxSteps - (clock - earliest), stream: stream,
                                       state: &state, lanes: lanes)
            } else {
                stepper.step(count: active, stream: stream, state: &state, lanes: lanes)
                clock += 1
            }
            let running = ChunkRunner.running, censored = ChunkRunner.censored
            let capped = clock - maxSteps  // lanes loaded at or before this have taken maxSteps
            if capped >= 0 {  // (loadedAt ≥ 0: before maxSteps block steps no lane can be capped)
                for i in 0..<active {  // censoring comes last: a crossing in the final step is an exit
                    status[i] = status[i] == running && loadedAt[i] <= capped ? censored : status[i]
                }
            }
            // most steps finish no path: one branch-free pass finds out
            var finished = 0
            for i in 0..<active { finished |= status[i] ^ running }
            if finished == 0 { continue }

            // Retire finished paths, refill or compact.
            var i = 0
            while i < active {
                let st = status[i]
                if st == ChunkRunner.running { i += 1; continue }
                let p = pathIndex[i] - sink.firstPath
                sink.steps[p] = clock - loadedAt[i]
                sink.outcomes[p] = Int32(truncatingIfNeeded: st)
                for j in 0..<d { sink.points[p * d + j] = x[j * w + i] }
                if nextPath < count {
                    load(slot: i, path: firstPath + nextPath, clock: clock)
                    nextPath += 1
                    i += 1
                } else {
                    active -= 1
                    if i != active { move(from: active, to: i) }
                }
            }
        }
    }
}
