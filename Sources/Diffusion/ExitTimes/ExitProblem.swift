/// What to simulate: a landscape, dynamics, a start, an exit region and a cap. Says what,
/// not how (the integrator does that).
public struct ExitProblem: Sendable {
    public let landscape: Landscape
    public let dynamics: Dynamics
    /// Time step for continuous dynamics (langevin, levy, sgd-sde); ignored for `sgd`,
    /// whose step is the learning rate.
    public let dt: Double
    public let start: [Double]
    public let exitTerms: [ConditionTerm]
    /// When an exit term reads the loss of a finite sum (`loss_above`): its variable index,
    /// d. The exit test sees the state augmented by L(θ) there (`augmented(_:)`).
    public let lossVariable: Int?
    /// Paths still inside after this many steps are censored.
    public let maxSteps: Int
    /// |xⱼ| beyond this (or a NaN) marks the path diverged.
    public let divergenceBound: Double

    public init(landscape: Landscape, dynamics: Dynamics, dt: Double, start: [Double],
                exit: ExitRegion, maxSteps: Int, divergenceBound: Double = 1e100) throws {
        precondition(start.count == landscape.dimension, "start has \(start.count) coordinates, landscape \(landscape.dimension)")
        precondition(maxSteps > 0)
        self.landscape = landscape
        self.dynamics = dynamics
        self.dt = dt
        self.start = start
        self.exitTerms = try exit.terms(on: landscape, start: start)
        self.lossVariable = ExitProblem.lossVariable(exitTerms, dimension: landscape.dimension)
        self.maxSteps = maxSteps
        self.divergenceBound = divergenceBound
    }

    /// The step in the dynamics' own time: dt, or η for `sgd`.
    public var stepSize: Double {
        if case .sgd(let eta, _, _, _) = dynamics { return eta }
        if case .sgld(let eta, _) = dynamics { return eta }
        return dt
    }

    /// 1-D: a point on the open side (`direction` ±1) where the dynamics at `temperature` never
    /// go — V − V(start) above 40·temperature (e^{−40} ≈ 4e-18 of the mass) and V rising —
    /// used to truncate the line for grid solves.
    public func truncation(direction: Double, temperature: Double, minimumStep: Double = 1e-3) throws -> Double {
        let x0 = start[0]
        let v0 = landscape.value(at: [x0])
        var step = max(minimumStep, 1e-3), x = x0
        while abs(x - x0) < 1e3 {
            x += direction * step
            step *= 1.1
            if landscape.value(at: [x]) - v0 > 40 * temperature && direction * landscape.gradient(at: [x])[0] > 0 { return x }
        }
        throw ExitRegionError("the landscape does not confine the dynamics on the \(direction > 0 ? "upper" : "lower") side; add an exit boundary there")
    }

    /// Index of the first exit term that holds at `point`, if any.
    public func exitTerm(at point: [Double]) -> Int? {
        let p = augmented(point)
        return exitTerms.firstIndex { $0.expression.evaluate(at: p) != 0 }
    }

    /// `point` with L(point) appended when the exit test reads the loss, else `point`.
    public func augmented(_ point: [Double]) -> [Double] {
        lossVariable == nil ? point : point + [landscape.value(at: point)]
    }

    /// d when a term reads the variable after the landscape's coordinates (the loss), else nil.
    static func lossVariable(_ terms: [ConditionTerm], dimension d: Int) -> Int? {
        terms.contains { $0.expression.usesVariables.contains(d) } ? d : nil
    }

    /// Index of the first of `terms` that holds at `point` on `landscape` (the loss appended
    /// when a term reads it).
    public static func firstTerm(_ terms: [ConditionTerm], holdingAt point: [Double], on landscape: Landscape) -> Int? {
        let p = lossVariable(terms, dimension: landscape.dimension) == nil ? point : point + [landscape.value(at: point)]
        return terms.firstIndex { $0.expression.evaluate(at: p) != 0 }
    }
}

/// Per-path outcomes of an ensemble, in path-index order.
public struct ExitSamples: Sendable, Equatable {
    public static let censored: Int32 = -1
    public static let diverged: Int32 = -2

    public var dimension: Int
    /// Steps taken when the path exited, was censored or diverged.
    public var steps: [Int]
    /// Exit term index (≥ 0), `censored` or `diverged`.
    public var outcomes: [Int32]
    /// State at the end of the last step, `dimension` values per path.
    public var finalPoints: [Double]

    public init(dimension: Int, count: Int) {
        self.dimension = dimension
        steps = Array(repeating: 0, count: count)
        outcomes = Array(repeating: ExitSamples.censored, count: count)
        finalPoints = Array(repeating: 0, count: count * dimension)
    }

    public var count: Int { steps.count }
}
