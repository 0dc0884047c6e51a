import Foundation
import Testing
import TestSupport

/// Ctrl-C (SIGINT) stops a run after the cell in progress: exit 130, every finished cell
/// committed, a one-line message saying how to resume; resuming completes the job with the
/// same results as an uninterrupted run.
@Suite struct InterruptTests {
    static let spec = """
    \(SpecFixtures.doubleWell(name: "many"))
    [[experiment]]
    name = "l"
    dynamics = "langevin"
    epsilon = [0.3, 0.32, 0.34, 0.36, 0.38, 0.4, 0.42, 0.44, 0.46, 0.48]
    dt = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3, 8e-3, 9e-3, 1e-2]
    paths = 1500
    """

    func strip(_ text: String) -> String {
        text.split(separator: "\n").filter { !$0.contains("\"wall_seconds\"") }.joined(separator: "\n")
    }

    @Test func sigintStopsCleanlyAndResumes() throws {
        let binary = CLI.executable
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sgd-interrupt-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let job = dir.appendingPathComponent("job.toml")
        try Self.spec.write(to: job, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["run", job.path, "--out", out.path, "--threads", "1", "--format", "json"]
        // files, not pipes: nothing can block on a full pipe
        let errorFile = dir.appendingPathComponent("stderr"), outputFile = dir.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        try process.run()
        Thread.sleep(forTimeInterval: 0.4)
        process.interrupt()
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        // the job takes several seconds, so the interrupt lands mid-run
        #expect(process.terminationStatus == 130, "\(errorText)")
        #expect(errorText.contains("interrupted:") && errorText.contains("--resume"))
        let resumed = try CLI.run(["run", job.path, "--out", out.path, "--resume", "--quiet", "--format", "json"], timeout: 120)
        #expect(resumed.status == 0)
        let fresh = try CLI.run(["run", job.path, "--quiet", "--format", "json", "--threads", "2"], timeout: 120)
        #expect(strip(resumed.stdout) == strip(fresh.stdout))
    }
}
