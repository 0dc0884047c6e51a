/// Job-wide caps checked while a spec is parsed, before any cell is built or run: the number
/// of cells (from the axis sizes, so a huge sweep is refused without being expanded) and the
/// planned path-steps (Σ over cells of the method's bound, `JobPlan`). `run`, `check` and
/// `slurm` take `--allow-large` to lift both.
public struct JobLimits: Sendable, Equatable {
    /// At most this many cells in the whole job.
    public var maxCells: Int
    /// At most this many planned path-steps (the upper bound `check` prints: paths × max_steps
    /// per Monte Carlo cell, every path censored).
    public var maxPathSteps: Double

    public init(maxCells: Int, maxPathSteps: Double) {
        self.maxCells = maxCells; self.maxPathSteps = maxPathSteps
    }

    /// The default: 10⁶ cells and 10¹⁵ planned path-steps (about four core-months at 10⁸ steps/s).
    public static let standard = JobLimits(maxCells: 1_000_000, maxPathSteps: 1e15)
    /// No job-wide cap (`--allow-large`); the per-experiment limits still hold.
    public static let none = JobLimits(maxCells: .max, maxPathSteps: .infinity)
}
