import Foundation

/// What one run of the `sgd-escape` binary produced.
struct CLIResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
    let timedOut: Bool

    /// stderr split into lines, without the final empty piece after the last newline.
    var stderrLines: [Substring] {
        var lines = stderr.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// Runs the built `sgd-escape` executable (it sits beside the test bundle, since
/// CLITests depends on the executable target).
enum CLI {
    /// The executable, found by searching upward from the test bundle / test process for
    /// a file named `sgd-escape`; this works for `.build` and `--scratch-path` builds.
    static let executable: URL? = locate()

    private static func locate() -> URL? {
        let fm = FileManager.default
        var starts: [URL] = [Bundle.main.bundleURL, Bundle.main.executableURL?.deletingLastPathComponent()]
            .compactMap { $0 }
        if let first = CommandLine.arguments.first {
            starts.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent("sgd-escape")
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   fm.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        // Last resort: the package's build folders, found from this source file.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let builds = ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasPrefix(".build") }.sorted()
        for build in builds {
            for configuration in ["release", "debug"] {
                let candidate = root.appendingPathComponent(build).appendingPathComponent(configuration)
                    .appendingPathComponent("sgd-escape")
                if fm.isExecutableFile(atPath: candidate.path) { return candidate }
            }
        }
        return nil
    }

    /// Runs the binary with `arguments`, capturing stdout and stderr; kills it after `timeout` seconds.
    static func run(_ arguments: [String], timeout: TimeInterval = 60) throws -> CLIResult {
        guard let executable else { throw CLIError.binaryNotFound }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        // Drain both pipes concurrently so that a full pipe never blocks the child.
        let outData = Captured(), errData = Captured()
        let group = DispatchGroup()
        for (pipe, box) in [(out, outData), (err, errData)] {
            DispatchQueue.global().async(group: group) {
                box.set(pipe.fileHandleForReading.readDataToEndOfFile())
            }
        }
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            finished.wait()
        }
        group.wait()
        return CLIResult(status: process.terminationStatus,
                         stdout: String(decoding: outData.get(), as: UTF8.self),
                         stderr: String(decoding: errData.get(), as: UTF8.self),
                         timedOut: timedOut)
    }

    /// Writes `text` to a fresh temporary file with the given extension and runs `run FILE extra…`.
    static func run(spec text: String, extension ext: String = "toml", extra: [String] = [],
                    timeout: TimeInterval = 60) throws -> CLIResult {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("job.\(ext)")
        try Data(text.utf8).write(to: file)
        return try run(["run", file.path] + extra, timeout: timeout)
    }

    /// A new empty directory under the system's temporary folder.
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sgd-escape-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

enum CLIError: Error, CustomStringConvertible {
    case binaryNotFound
    var description: String {
        "sgd-escape executable not found beside the test bundle (\(Bundle.main.bundleURL.path)); build it first"
    }
}

/// A lock-protected slot for data read on another thread.
private final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// JSON text with the (timing-dependent) `"wall_seconds": …` lines removed.
func withoutWallSeconds(_ json: String) -> String {
    json.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.contains("\"wall_seconds\"") }
        .joined(separator: "\n")
}
