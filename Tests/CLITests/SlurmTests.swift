import Foundation
import Testing

/// `sgd-escape slurm`: the submit script's text, its arguments, and the whole flow run
/// through a stand-in `sbatch` that executes the batch scripts here (the real Slurm run
/// is `make test-slurm`).
@Suite struct SlurmTests {
    static func script(_ extra: [String], job text: String = storeJob) throws -> (dir: URL, script: String, result: CLIResult) {
        let dir = try CLI.temporaryDirectory()
        let job = dir.appendingPathComponent("job.toml")
        try Data(text.utf8).write(to: job)
        let out = dir.appendingPathComponent("batch out")
        let r = try CLI.run(["slurm", job.path, "--out", out.path] + extra)
        let script = (try? String(contentsOf: out.appendingPathComponent("submit.sh"), encoding: .utf8)) ?? ""
        return (dir, script, r)
    }

    @Test func scriptText() throws {
        let (dir, script, r) = try Self.script(["--shards", "3", "--partition", "short", "--time", "2:00:00",
                                                "--cpus-per-task", "4", "--mem", "8G", "--account", "lab",
                                                "--sbatch=--qos=long", "--binary", "/opt/sgd/bin/sgd-escape"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let out = dir.appendingPathComponent("batch out").path
        #expect(r.stdout.contains("submit with: bash '\(out)/submit.sh'"))
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.first == "#!/bin/bash")
        for expected in ["#SBATCH --array=0-2", "#SBATCH --job-name=store-double-well-shards",
                         "#SBATCH --job-name=store-double-well-merge", "#SBATCH --partition=short",
                         "#SBATCH --time=2:00:00", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=8G",
                         "#SBATCH --account=lab", "#SBATCH --qos=long", "K=$((SLURM_ARRAY_TASK_ID + 1))",
                         "array_job=$(sbatch --parsable --output='\(out)/logs/shards-%A_%a.out' <<'SHARDS'",
                         "merge_job=$(sbatch --parsable --output='\(out)/logs/merge-%j.out' --dependency=afterok:\"$array_job\" <<'MERGE'",
                         "exec '/opt/sgd/bin/sgd-escape' run '\(dir.path)/job.toml' --out '\(out)'\"/shard-$K\" --shard \"$K/3\" --resume --threads \"${SLURM_CPUS_PER_TASK:-1}\"",
                         "for k in $(seq 1 3); do shards+=('\(out)'\"/shard-$k\"); done",
                         "exec '/opt/sgd/bin/sgd-escape' merge \"${shards[@]}\" --out '\(out)'/merged"] {
            #expect(lines.contains(expected), "missing line: \(expected)\n\(script)")
        }
        // The merge job asks for one CPU; the shards' options apply to both jobs otherwise.
        #expect(lines.filter { $0 == "#SBATCH --cpus-per-task=1" }.count == 1)
        #expect(lines.filter { $0 == "#SBATCH --partition=short" }.count == 2)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/bin/bash")
        check.arguments = ["-n", "\(out)/submit.sh"]
        try check.run()
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "bash -n rejects the script")
    }

    @Test func badArguments() throws {
        let (dir, _, zero) = try Self.script(["--shards", "0"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(zero.status == 64 && zero.stderr.contains("--shards must be ≥ 1, got 0"), "stderr: \(zero.stderr)")
        #expect(try CLI.run(["slurm", dir.appendingPathComponent("job.toml").path]).status == 64)  // --shards missing
        #expect(try Self.script(["--shards", "2", "--cpus-per-task", "0"]).result.status == 64)
        #expect(try Self.script(["--shards", "2", "--time", "1 day"]).result.status == 64)
        let missing = try CLI.run(["slurm", dir.appendingPathComponent("none.toml").path, "--shards", "2"])
        #expect(missing.status == 2 && missing.stderrLines.count == 1 && missing.stderr.hasPrefix("error: cannot read job spec"))
        let (badDir, badScript, bad) = try Self.script(["--shards", "2"], job: storeJob.replacingOccurrences(of: "dt = 1e-3", with: "dt = -1e-3"))
        defer { try? FileManager.default.removeItem(at: badDir) }
        #expect(bad.status == 2 && bad.stderrLines.count == 1 && bad.stderr.hasPrefix("error: ") && bad.stderr.contains("dt"), "stderr: \(bad.stderr)")
        #expect(badScript.isEmpty)
    }

    /// The submit script run against a stand-in `sbatch` that runs each array task and then
    /// the merge right here, checking the dependency names the array's id: the merged
    /// summary equals the single run's.
    @Test func submitScriptRunsShardsThenMerge() throws {
        let reference = try StoreTests.reference()
        let (dir, _, r) = try Self.script(["--shards", "3", "--cpus-per-task", "2"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let bin = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        // Array: run the script once per task id; later jobs must depend on the array's id.
        let fake = """
            #!/bin/bash
            set -euo pipefail
            body=$(cat)
            array=$(printf '%s\\n' "$body" | sed -n 's/^#SBATCH --array=0-\\([0-9]*\\)$/\\1/p')
            if [ -n "$array" ]; then
                for k in $(seq 0 "$array"); do SLURM_ARRAY_TASK_ID=$k SLURM_CPUS_PER_TASK=2 bash -c "$body" >/dev/null 2>&1; done
                echo "41;cluster"
            else
                case " $* " in *" --dependency=afterok:41 "*) ;; *) echo "merge submitted without afterok:41: $*" >&2; exit 1 ;; esac
                bash -c "$body" >/dev/null 2>&1
                echo 42
            fi
            """
        let sbatch = bin.appendingPathComponent("sbatch")
        try Data(fake.utf8).write(to: sbatch)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: sbatch.path)
        let out = dir.appendingPathComponent("batch out")
        let submit = Process()
        submit.executableURL = URL(fileURLWithPath: "/bin/bash")
        submit.arguments = [out.appendingPathComponent("submit.sh").path]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        submit.environment = environment
        let pipe = Pipe()
        submit.standardOutput = pipe
        try submit.run()
        let said = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        submit.waitUntilExit()
        #expect(submit.terminationStatus == 0, "submit.sh said: \(said)")
        #expect(said.contains("shards = job 41 (array 0-2), merge = job 42 (afterok:41)"), "submit.sh said: \(said)")
        #expect(try String(contentsOf: out.appendingPathComponent("slurm-jobs.txt"), encoding: .utf8) == "41 42\n")
        for k in 1...3 {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("shard-\(k)/results.sqlite").path))
        }
        #expect(try StoreTests.summary(out.appendingPathComponent("merged")) == reference)
        // The merged results are there: generating again into the same --out is refused.
        let again = try CLI.run(["slurm", dir.appendingPathComponent("job.toml").path, "--shards", "3", "--out", out.path])
        #expect(again.status == 2 && again.stderr.contains("already holds merged results"), "stderr: \(again.stderr)")
    }
}
