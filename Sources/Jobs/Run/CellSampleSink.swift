import Diffusion

/// Where a Monte Carlo cell's per-path samples go while the cell runs (the results store):
/// chunks arrive in path order, one chunk (1024 paths) at a time, so a cell of any size
/// never holds its samples in memory.
public protocol CellSampleSink {
    /// Receives paths `chunk.firstPath…` of cell (`experiment`, `cell`), both 0-based;
    /// `timeScale` converts steps to the cell's time unit, `labels` names the exit terms.
    func write(_ chunk: ExitChunk, experiment: Int, cell: Int, timeScale: Double, labels: [String]) throws

    /// Visits the step counts of the cell's exited paths written so far in ascending order,
    /// as (step, number of paths), until `visit` returns false (the median exit step of
    /// the censored estimator, when the in-memory histogram was too large to keep).
    func scanExitSteps(experiment: Int, cell: Int, _ visit: (_ step: Int, _ count: Int) -> Bool) throws
}
