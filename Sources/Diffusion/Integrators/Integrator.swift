/// The integrators, by the name job specs (`integrator = "…"`) and results give them. Each
/// declares its orders and names the block stepper that takes its steps; the ensemble loop
/// (`ChunkRunner`) knows steppers only through `BlockStepper`. Adding an integrator means
/// its stepper's file and its case here.
public enum IntegratorKind: String, Sendable, CaseIterable, Codable {
    case eulerMaruyama = "euler-maruyama"

    /// Strong order for multiplicative noise, for additive noise, and weak order, as declared
    /// (the convergence tests check these, never copied literals).
    public var strongOrder: Double { switch self { case .eulerMaruyama: EulerMaruyama.strongOrder } }
    public var strongOrderAdditiveNoise: Double { switch self { case .eulerMaruyama: EulerMaruyama.strongOrderAdditiveNoise } }
    public var weakOrder: Double { switch self { case .eulerMaruyama: EulerMaruyama.weakOrder } }

    /// Whether the stepper can test a Brownian-bridge crossing inside a step.
    public var supportsBridge: Bool { switch self { case .eulerMaruyama: true } }

    /// A stepper for `simulator`'s problem, `width` lanes.
    func makeStepper(simulator: EnsembleSimulator, width: Int) -> any BlockStepper {
        switch self {
        case .eulerMaruyama: EulerMaruyamaStepper(simulator: simulator, width: width)
        }
    }
}

/// How a Monte Carlo cell integrates: which integrator, and how exits are detected.
public struct Integrator: Sendable, Equatable {
    public var kind: IntegratorKind
    public var exitTest: ExitTestKind
    /// How `sgd-sde` on a finite sum draws its noise; nil (what jobs use): the deterministic
    /// rule `FiniteSumNoiseRoot.rule(sampleCount:dimension:)`. Set only to compare the routes
    /// (tests, `sgd-escape-bench --finite-sum-noise`).
    public var finiteSumNoise: FiniteSumNoiseRoot?
    public init(_ kind: IntegratorKind = .eulerMaruyama, exitTest: ExitTestKind = .step,
                finiteSumNoise: FiniteSumNoiseRoot? = nil) {
        self.kind = kind
        self.exitTest = exitTest
        self.finiteSumNoise = finiteSumNoise
    }
}

/// Outcome codes of a block stepper's lanes (64-bit so selects over a block vectorise with
/// the coordinates): running, an exit term's index (≥ 0), or diverged.
enum StepOutcome {
    static let running: Int = .min
    static let diverged = Int(ExitSamples.diverged)
}

/// A block integrator: `width` paths in lockstep, structure-of-arrays (coordinate j of lane
/// i at `x[j*width + i]`), advanced one step at a time with the exit test applied, each
/// lane's `outcome` a `StepOutcome` code after every step. Its steps allocate nothing; its
/// inner loops run inside `step`, so callers pay one dynamic call per block step.
protocol BlockStepper: AnyObject {
    var x: UnsafeMutablePointer<Double> { get }
    var outcome: UnsafeMutablePointer<Int> { get }
    /// Lane `i` at the problem's start.
    func loadStart(lane i: Int, start: [Double])
    /// Lane `i` at `point` (d values), set up exactly as a step leaves a lane there.
    func load(lane i: Int, from point: UnsafePointer<Double>)
    /// Lane `b` becomes a copy of lane `a`.
    func copy(lane a: Int, to b: Int)
    /// One step of lanes `0..<count`, drawing from `stream` whose taus2 state the caller
    /// holds in `state` (the draw order is the stepper's, fixed: same state, same bits), and,
    /// where given and the noise law is additive Gaussian, the normals from `lanes` (slot i
    /// from SIMD lane i mod 8; the exit ensembles' `ChunkRunner` passes them).
    func step(count: Int, stream: RandomStream, state: inout Taus2State, lanes: LaneStreams?)
    /// Called at each chunk's start (a stepper may look up a compiled kernel there).
    func beginChunk()
    /// Whether `steps(count:limit:…)` may take more than one step per call.
    var runsCompiledSteps: Bool { get }
    /// Steps of lanes `0..<count` until some lane is not running or `limit` (≥ 1) steps are
    /// taken, with the same draws and bits as that many `step` calls; returns how many.
    func steps(count: Int, limit: Int, stream: RandomStream, state: inout Taus2State, lanes: LaneStreams?) -> Int
}

extension BlockStepper {
    func beginChunk() {}
    var runsCompiledSteps: Bool { false }
    func steps(count: Int, limit: Int, stream: RandomStream, state: inout Taus2State, lanes: LaneStreams?) -> Int {
        step(count: count, stream: stream, state: &state, lanes: lanes)
        return 1
    }

    /// One step of lanes `0..<count`, every draw from `stream` (state held by the caller).
    func step(count: Int, stream: RandomStream, state: inout Taus2State) {
        step(count: count, stream: stream, state: &state, lanes: nil)
    }

    /// One step of lanes `0..<count` with `stream`'s state read and written around it.
    func step(count: Int, stream: RandomStream) {
        var state = stream.taus2State
        step(count: count, stream: stream, state: &state)
        stream.store(state)
    }
}
