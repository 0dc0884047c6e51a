import Foundation

/// One thread's bookkeeping for simulating chunks, reused across the chunks it takes: which
/// path each lane of the stepper's block holds, its step count, censoring at `maxSteps`,
/// retirement of finished paths into the chunk's samples and refilling of their lanes.
/// The steps and exit tests are `EulerMaruyamaStepper`'s.
final class ChunkRunner {
    static let running = EulerMaruyamaStepper.running
    static let diverged = EulerMaruyamaStepper.diverged, censored = Int(ExitSamples.censored)

    let simulator: EnsembleSimulator
    let stepper: EulerMaruyamaStepper
    let d: Int
    let width = EnsembleSimulator.blockWidth

    let pathIndex: UnsafeMutablePointer<Int>
    let stepCount: UnsafeMutablePointer<Int>
    /// The stepper's outcome, censored where the cap is reached.
    let status: UnsafeMutablePointer<Int>

    init(simulator: EnsembleSimulator) {
        self.simulator = simulator
        d = simulator.problem.landscape.dimension
        stepper = EulerMaruyamaStepper(simulator: simulator, width: width)
        let w = width
        pathIndex = .allocate(capacity: w)
        pathIndex.initialize(repeating: 0, count: w)
        stepCount = .allocate(capacity: w)
        stepCount.initialize(repeating: 0, count: w)
        status = .allocate(capacity: w)
        status.initialize(repeating: ChunkRunner.running, count: w)
    }

    deinit {
        pathIndex.deallocate(); stepCount.deallocate(); status.deallocate()
    }

    @inline(__always) private func load(slot i: Int, path: Int) {
        stepper.loadStart(lane: i, start: simulator.problem.start)
        pathIndex[i] = path
        stepCount[i] = 0
        status[i] = ChunkRunner.running
    }

    @inline(__always) private func move(from a: Int, to b: Int) {
        stepper.copy(lane: a, to: b)
        pathIndex[b] = pathIndex[a]
        stepCount[b] = stepCount[a]
        status[b] = status[a]
    }

    func run(firstPath: Int, count: Int, stream: RandomStream, sink: SampleSink) {
        let w = width
        let maxSteps = simulator.problem.maxSteps
        let x = stepper.x, outcome = stepper.outcome
        let status = self.status, stepCount = self.stepCount
        // The stream's taus2 state stays in a register-held copy for the whole chunk (see
        // InlineZiggurat); the stepper syncs it around its GSL draws.
        var state = stream.taus2State
        var active = 0
        var nextPath = 0
        while active < w && nextPath < count {
            load(slot: active, path: firstPath + nextPath)
            active += 1; nextPath += 1
        }
        while active > 0 {
            stepper.step(count: active, stream: stream, state: &state)
            let running = ChunkRunner.running, censored = ChunkRunner.censored
            for i in 0..<active {  // censoring comes last: a crossing in the final step is an exit
                stepCount[i] += 1
                let o = outcome[i]
                status[i] = o == running && stepCount[i] >= maxSteps ? censored : o
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
}
