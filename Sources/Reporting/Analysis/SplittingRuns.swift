import Foundation
import Jobs

/// The spread of a splitting cell's independent runs (docs/THEORY.md §6), read from its
/// per-run estimates `run_R_probability`: what the cell's error bar rests on, beside the
/// spread an ideal reaction coordinate would give, √(|log p̄|/N) relative per run
/// (Bréhier et al. 2016; Cérou & Guyader 2007), so a poor coordinate shows as a ratio ≫ 1.
struct SplittingRuns {
    let cell: ReportCell
    let runs: [Double]
    let mean: Double
    /// Sample standard deviation of p̂ over the runs, relative to their mean.
    let relativeSD: Double
    /// √(|log p̄|·(1 + k/2N)/N), the per-run relative SD for the committor as coordinate.
    let idealRelativeSD: Double?

    init?(_ cell: ReportCell) {
        let runs = cell.quantities.filter { $0.key.hasPrefix("run_") && $0.key.hasSuffix("_probability") }.map(\.value)
        guard runs.count >= 2 else { return nil }
        let n = Double(runs.count)
        let m = runs.reduce(0, +) / n
        let v = runs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        self.cell = cell
        self.runs = runs.sorted()
        mean = m
        relativeSD = m > 0 ? v.squareRoot() / m : .nan
        if let replicas = cell.quantity("replicas"), let kill = cell.quantity("kill"), m > 0, m < 1 {
            idealRelativeSD = (abs(log(m)) * (1 + kill / (2 * replicas)) / replicas).squareRoot()
        } else {
            idealRelativeSD = nil
        }
    }
}
