import Foundation
import Testing

/// Every committed report (`Reports/NAME/job.toml`) reruns at the quick scale (`run --quick`:
/// a tenth of the paths) and yields a report with its claim-and-result section: the specs
/// stay valid and runnable as the tool evolves. `make reports` reruns them at full scale.
@Suite(.serialized) struct CommittedReportsTests {
    static let reports = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Reports")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: reports.path)) ?? []).filter {
            FileManager.default.fileExists(atPath: reports.appendingPathComponent("\($0)/job.toml").path)
        }.sorted()
    }

    @Test func thereAreCommittedReports() {
        #expect(Self.names.contains("demo") && Self.names.contains("double-well-arrhenius"), "\(Self.names)")
    }

    @Test(arguments: CommittedReportsTests.names)
    func reportRerunsAtQuickScale(name: String) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let job = Self.reports.appendingPathComponent("\(name)/job.toml").path
        let out = dir.appendingPathComponent("run").path
        let run = try CLI.run(["run", job, "--out", out, "--quick", "--quiet"], timeout: 600)
        #expect(run.status == 0, "\(name): \(run.stderr)")
        let report = dir.appendingPathComponent("report").path
        let r = try CLI.run(["report", out, "--out", report, "--quiet"], timeout: 300)
        #expect(r.status == 0, "\(name): \(r.stderr)")
        let markdown = try String(contentsOfFile: report + "/report.md", encoding: .utf8)
        #expect(markdown.contains("## Claim and result"), "\(name): no claim-and-result section")
        #expect(markdown.contains("--quick"), "\(name): the header should show the quick command")
    }
}
