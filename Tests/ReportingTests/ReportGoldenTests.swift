import Foundation
import Testing
@testable import Reporting
@testable import Jobs
import Diffusion

@Suite struct ReportGoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "Fixtures")

    /// Synthetic Monte Carlo cells from a known Arrhenius law (fixed seed), exact values and
    /// a theory line at the same ε: the whole report text, figures included, against a
    /// recorded golden file (re-record with SGD_ESCAPE_RECORD=1 after an intended change).
    static func input() -> ReportInput {
        let base = ReportFixtures.arrhenius(seed: 11)
        var cells = base.cells
        let eps = [0.25, 0.1667, 0.125, 0.1, 0.0833]
        for (c, e) in eps.enumerated() {
            var exact = ReportFixtures.deterministicCell(experiment: "exact", e: 1, c: c, method: "backward-kolmogorov",
                                                         parameters: [("epsilon", e)], value: exp(1 + 0.25 / e), methodError: 1e-6)
            exact.global = 5 + c
            var theory = ReportFixtures.deterministicCell(experiment: "kramers", e: 2, c: c, method: "theory",
                                                          parameters: [("epsilon", e)], value: 0.9 * exp(1 + 0.25 / e))
            theory.global = 10 + c
            cells += [exact, theory]
        }
        let samples = Dictionary(uniqueKeysWithValues: base.cells.map { ($0.cellIndex, try! base.samples(of: $0)) })
        return ReportInput(job: base.job, spec: base.spec, cells: cells.sorted { $0.global < $1.global }, plannedCells: 15) { e, c in
            e == 0 ? samples[c] ?? .init() : .init()
        }
    }

    @Test func reportTextMatchesGoldenFile() throws {
        let report = try ReportBuilder.build(Self.input())
        var text = report.markdown
        for figure in report.figures { text += "\n<!-- figures/\(figure.name).svg -->\n" + SVGRenderer.render(figure) }
        let url = Self.fixtures.appending(path: "synthetic-report.md")
        if ProcessInfo.processInfo.environment["SGD_ESCAPE_RECORD"] != nil {
            try Data(text.utf8).write(to: url)
        }
        let recorded = try String(contentsOf: url, encoding: .utf8)
        #expect(text == recorded, "differs from Fixtures/synthetic-report.md; re-record with SGD_ESCAPE_RECORD=1")
    }

    @Test func reportIsDeterministic() throws {
        let a = try ReportBuilder.build(Self.input()), b = try ReportBuilder.build(Self.input())
        #expect(a.markdown == b.markdown)
        #expect(a.figures.map { SVGRenderer.render($0) } == b.figures.map { SVGRenderer.render($0) })
        #expect(a.notebook() == b.notebook())
    }
}
