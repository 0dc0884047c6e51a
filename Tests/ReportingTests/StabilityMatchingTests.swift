import Foundation
import Testing
@testable import Jobs
@testable import Diffusion
@testable import Reporting

/// Stability cells against Monte Carlo cells in reports (issue 12, item 7).
@Suite struct StabilityMatchingTests {
    /// The report matches a Monte Carlo cell to the stability cell of the same batch size and
    /// sampling: with cells for both samplings at B = 2, each Monte Carlo experiment gets its own.
    @Test func reportMatchesBySampling() throws {
        let text = """
        name = "matching"
        seed = 3
        [landscape]
        builtin = "quadratic-sums"
        curvatures = [0.5, 1, 2, 4, 8]
        [start]
        point = [1.0]
        [exit]
        when = "x > 1e10"
        [[experiment]]
        name = "with"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        batch_size = 2
        [[experiment]]
        name = "without"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        batch_size = 2
        replacement = false
        [[experiment]]
        name = "mc-without"
        dynamics = "sgd"
        learning_rate = 0.3
        batch_size = 2
        replacement = false
        paths = 10
        max_steps = 100
        [[experiment]]
        name = "mc-with"
        dynamics = "sgd"
        learning_rate = 0.3
        batch_size = 2
        paths = 10
        max_steps = 100
        """
        let spec = try JobSpec.parse(text)
        let cells = try JobRunner(spec: spec, threads: 1).run()
        let input = ReportInput(job: ReportFixtures.job, spec: spec, cells: cells, plannedCells: cells.count, samples: nil)
        let rows = StabilityAnalysis.rows(input)
        #expect(rows.count == 2)
        for row in rows {
            let theory = cells.first { $0.experiment == (row.cell.experiment == "mc-with" ? "with" : "without") }!
            let ms = row.thresholds.first { $0.name == "mean-square" }?.value
            #expect(ms == theory.quantity("mean_square_max_learning_rate"), "\(row.cell.experiment): \(ms ?? .nan)")
        }
        #expect(cells[0].quantity("mean_square_max_learning_rate") != cells[1].quantity("mean_square_max_learning_rate"))
    }
}

extension StabilityMatchingTests {
    /// Where the almost-sure criterion holds again beyond its first threshold (the issue's
    /// curvatures [0.1 ×8, 1, 5], B = 1), the report's stability section lists every interval.
    @Test func reportListsEveryStableInterval() throws {
        let text = """
        name = "intervals"
        seed = 3
        [landscape]
        builtin = "quadratic-sums"
        curvatures = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 1, 5]
        [start]
        point = [1.0]
        [exit]
        when = "x > 1e200"
        [[experiment]]
        name = "stability"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        [[experiment]]
        name = "mc"
        dynamics = "sgd"
        learning_rate = [1, 4.4]
        paths = 10
        max_steps = 100
        """
        let spec = try JobSpec.parse(text)
        let cells = try JobRunner(spec: spec, threads: 1).run()
        let input = ReportInput(job: ReportFixtures.job, spec: spec, cells: cells, plannedCells: cells.count, samples: nil)
        let rows = StabilityAnalysis.rows(input)
        #expect(rows.count == 2 && rows.allSatisfy { $0.almostSureIntervals.count == 2 })
        let markdown = StabilityAnalysis.markdown(rows)
        #expect(markdown.contains("`mc` (B = 1): the almost-sure criterion (Lyapunov exponent < 0) holds on 2 intervals of η, (0, 1.573), (3.940, 14.25)"), "\(markdown)")
    }
}
