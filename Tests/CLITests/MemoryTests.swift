import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Peak memory does not grow with a cell's paths: samples stream to the store chunk by chunk.
@Suite struct MemoryTests {
    /// Runs `sgd-escape ARGS` with stdout and stderr to /dev/null and returns its exit status
    /// and peak resident set size in KiB (`wait4`'s ru_maxrss for exactly this child).
    static func peakRSS(_ arguments: [String]) throws -> (status: Int32, kilobytes: Int) {
        guard let executable = CLI.executable?.path else { throw CLIError.binaryNotFound }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        // without compiled step kernels: a long enough run builds one, and its compiler (a
        // child of 65–85 MB, once per process and program shape, reaped by the run and so in
        // its peak) is a constant that a short run may or may not include; this test is about
        // what grows with paths
        var environment = ProcessInfo.processInfo.environment
        environment["SGD_ESCAPE_COMPILED_STEPS"] = "0"
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw CocoaError(.executableLoad) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, usage.ru_maxrss)
    }

    static func job(paths: Int) -> String {
        """
        name = "flat"
        seed = 1
        [landscape]
        potential = "x^2/2"
        [start]
        point = [0.0]
        [exit]
        when = "x > 0.5 || x < -0.5"
        [[experiment]]
        name = "quadratic"
        dynamics = "langevin"
        epsilon = 1.0
        dt = 0.01
        paths = \(paths)
        max_steps = 10000
        """
    }

    /// A cell of 10⁶ paths (about 18 steps each) peaks within 8 MiB of a 10⁴-path one.
    /// Holding the samples would cost ≥ 20 B a path (steps 8, outcome 4, 1-D point 8),
    /// i.e. ≥ 19 MiB more at 10⁶; the full 10⁵ vs 10⁷ check is `make test-scale`.
    @Test func peakMemoryIsFlatInPaths() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var peaks: [Int] = []
        for paths in [10_000, 1_000_000] {
            let job = dir.appendingPathComponent("job-\(paths).toml")
            try Data(Self.job(paths: paths).utf8).write(to: job)
            let out = dir.appendingPathComponent("out-\(paths)")
            // the smaller peak of two runs: a peak is a maximum over the process's life, and on a
            // loaded machine one run's scheduling (threads ahead of the writer, malloc arenas)
            // can add tens of MiB that a second run does not repeat; storage that grows with
            // paths shows in both
            var best = Int.max
            for _ in 0..<2 {
                let r = try Self.peakRSS(["run", job.path, "--out", out.path, "--quiet", "--threads", "2"])
                #expect(r.status == 0)
                best = min(best, r.kilobytes)
                try? FileManager.default.removeItem(at: out)
            }
            peaks.append(best)
        }
        #expect(peaks[1] - peaks[0] < 8 * 1024, "peak RSS \(peaks[0]) KiB at 10⁴ paths, \(peaks[1]) KiB at 10⁶")
        #expect(peaks[0] > 1024)  // ru_maxrss was filled in
    }
}
