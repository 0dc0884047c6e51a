import ArgumentParser
import Foundation
import Jobs

extension SGDEscapeCommand {
    struct Slurm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a Slurm submit script: a job array of --shards N shard runs, then a dependent merge.",
            discussion: """
                Writes DIR/submit.sh (or --script PATH); `bash submit.sh` on a login node submits the array \
                (task k runs `run JOB --out DIR/shard-(k+1) --shard (k+1)/N --resume`) and a merge job \
                (`merge DIR/shard-* --out DIR/merged`) that starts after every task succeeded.
                """)

        @Argument(help: "The job spec, e.g. job.toml (checked now, read by the tasks at run time).")
        var job: String

        @Option(name: .long, help: "Number of shards = array tasks (≥ 1).")
        var shards: Int

        @Option(name: .long, help: "Output root for shard-K/, merged/ and logs/ (default: ./NAME-slurm, NAME the job's name).")
        var out: String?

        @Option(name: .long, help: "Where to write the submit script (default: DIR/submit.sh).")
        var script: String?

        @Option(name: .long, help: "sgd-escape as the compute nodes see it (default: this executable).")
        var binary: String?

        @Option(name: .long, help: "#SBATCH --partition.")
        var partition: String?

        @Option(name: .long, help: "#SBATCH --time for each task and the merge, e.g. 4:00:00.")
        var time: String?

        @Option(name: .long, help: "#SBATCH --cpus-per-task for shard tasks, also their --threads (default 1).")
        var cpusPerTask: Int = 1

        @Option(name: .long, help: "#SBATCH --mem, e.g. 4G.")
        var mem: String?

        @Option(name: .long, help: "#SBATCH --account.")
        var account: String?

        @Flag(name: .long, help: "Lift the job-wide caps (10⁶ cells, 10¹⁵ planned path-steps); the tasks run with it too.")
        var allowLarge = false

        @Option(name: .customLong("sbatch"), help: "A further #SBATCH option, verbatim (repeatable), e.g. --sbatch=--qos=long.")
        var sbatchOptions: [String] = []

        func validate() throws {
            if shards < 1 { throw ValidationError("--shards must be ≥ 1, got \(shards)") }
            if cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be ≥ 1, got \(cpusPerTask)") }
            for (name, value) in [("--partition", partition), ("--time", time), ("--mem", mem), ("--account", account)] {
                if let value, value.isEmpty || value.contains(where: { $0.isWhitespace || $0 == "'" }) {
                    throw ValidationError("\(name) must be one word without quotes, got '\(value)'")
                }
            }
            for option in sbatchOptions where !option.hasPrefix("-") || option.contains("\n") {
                throw ValidationError("--sbatch takes one sbatch option such as --qos=long, got '\(option)'")
            }
        }

        func run() throws {
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            let specURL = URL(fileURLWithPath: job, relativeTo: cwd).standardizedFileURL
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: specURL.path, isDirectory: &isDirectory), isDirectory.boolValue {
                fail("cannot read job spec \(job): it is a directory, not a file")
            }
            guard let data = FileManager.default.contents(atPath: specURL.path) else {
                fail("cannot read job spec \(job): no such file or not readable")
            }
            guard let text = String(data: data, encoding: .utf8) else { fail("job spec \(job) is not UTF-8 text") }
            let spec: JobSpec
            do { spec = try JobSpec.parse(text, baseDirectory: specURL.deletingLastPathComponent(), limits: allowLarge ? .none : .standard) } catch { fail(error.description) }

            let outURL = URL(fileURLWithPath: out ?? JobSpec.defaultSlurmFolder(spec.name), relativeTo: cwd).standardizedFileURL
            let merged = outURL.appendingPathComponent("merged").appendingPathComponent(ResultsStore.fileName).path
            if FileManager.default.fileExists(atPath: merged) {
                fail("--out \(outURL.path) already holds merged results (\(merged)); choose another --out")
            }
            let binaryPath: String
            if let binary {
                binaryPath = URL(fileURLWithPath: binary, relativeTo: cwd).standardizedFileURL.path
            } else {
                binaryPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                    ?? URL(fileURLWithPath: CommandLine.arguments[0], relativeTo: cwd).standardizedFileURL.path
            }
            var submit = SlurmScript(jobName: spec.name, specPath: specURL.path, outDirectory: outURL.path, binary: binaryPath,
                                     shards: shards, partition: partition, time: time, cpusPerTask: cpusPerTask,
                                     memory: mem, account: account, extra: sbatchOptions)
            submit.allowLarge = allowLarge
            let scriptURL = script.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL }
                ?? outURL.appendingPathComponent("submit.sh")
            do {
                try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
                try FileManager.default.createDirectory(at: scriptURL.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(submit.text.utf8).write(to: scriptURL, options: .atomic)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scriptURL.path)
            } catch { fail("cannot write \(scriptURL.path): \(error.localizedDescription)") }
            print("wrote \(scriptURL.path): \(shards) shard task(s) + a dependent merge into \(outURL.path)/merged")
            print("submit with: bash \(SlurmScript.quoted(scriptURL.path))")
        }
    }
}
