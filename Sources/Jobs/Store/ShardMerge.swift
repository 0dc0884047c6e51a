import Foundation

/// `merge`: joins the stores of a job's shards (`run --shard K/N --out DIR`) into one store
/// and summary.json. The stores must come from the same spec (hash); a cell held by several
/// must agree (JSON minus wall_seconds); the output directory must not hold results.
public enum ShardMerge {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ d: String) { description = d }
    }

    public static func merge(directories: [String], out: String, commandLine: String) throws -> (cells: Int, stores: Int, path: String) {
        guard !directories.isEmpty else { throw Failure("needs at least one shard directory") }
        var stores: [(String, ResultsStore, ResultsStore.JobRow)] = []
        for dir in directories {
            let path = URL(fileURLWithPath: dir).appendingPathComponent(ResultsStore.fileName).path
            do {
                let s = try ResultsStore.open(existing: path)
                guard let job = try s.job() else { throw Failure("\(path) holds no job") }
                stores.append((path, s, job))
            } catch { throw Failure("\(dir): \(error)") }
        }
        let first = stores[0].2
        for (path, _, job) in stores.dropFirst() where job.specHash != first.specHash {
            throw Failure("\(path) is from a different job (spec hash \(job.specHash), '\(job.name)') than \(stores[0].0) (spec hash \(first.specHash), '\(first.name)')")
        }
        // Union of cells; overlapping cells must agree (all but their timings).
        var cells: [Int: Cell] = [:]
        var owner: [Int: Int] = [:]
        var contributions: [Set<Int>] = Array(repeating: [], count: stores.count)
        for (k, (path, store, _)) in stores.enumerated() {
            let stored: [Cell]
            do { stored = try store.cells() } catch { throw Failure("\(path): \(error)") }
            for cell in stored {
                if let existing = cells[cell.global] {
                    if existing.withoutTimings != cell.withoutTimings {
                        throw Failure("cell \(cell.global + 1) (experiment '\(cell.experiment)', cell \(cell.cellIndex + 1)) differs between \(stores[owner[cell.global]!].0) and \(path)")
                    }
                } else {
                    cells[cell.global] = cell
                    owner[cell.global] = k
                    contributions[k].insert(cell.global)
                }
            }
        }
        let outURL = URL(fileURLWithPath: out)
        let outPath = outURL.appendingPathComponent(ResultsStore.fileName).path
        do { try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true) }
        catch { throw Failure("--out \(out): cannot create that directory (\(error.localizedDescription))") }
        let lock: StoreLock
        do { lock = try StoreLock.acquire(directory: outURL) } catch { throw Failure("--out \(out): \(error)") }
        defer { withExtendedLifetime(lock) {} }
        if FileManager.default.fileExists(atPath: outPath) {
            throw Failure("--out \(out) already holds results (\(ResultsStore.fileName)); choose an empty directory")
        }
        do {
            try Data(first.spec.utf8).write(to: outURL.appendingPathComponent("job.toml"), options: .atomic)
            var job = first
            job.shard = nil
            job.commandLine = commandLine
            job.toolVersion = ResultsStore.toolVersion
            // built whole under a temporary name and renamed only when every cell is in
            let temporary = outPath + ".partial"
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: temporary + suffix) }
            let merged = try ResultsStore(path: temporary)
            try merged.setJob(job)
            for (k, (path, _, _)) in stores.enumerated() {
                try merged.copy(from: path, globals: contributions[k])
            }
            try merged.close()
            try FileManager.default.moveItem(atPath: temporary, toPath: outPath)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: outPath + ".partial" + suffix) }
            throw Failure("cannot write \(outPath): \(ResultsStore.brief(error))")
        }
        let json = jobJSON(name: first.name, seed: first.seed, cells: cells.keys.sorted().map { cells[$0]! })
        do { try Data((json.serialized(indent: 2) + "\n").utf8).write(to: outURL.appendingPathComponent("summary.json"), options: .atomic) }
        catch { throw Failure("cannot write summary.json: \(error.localizedDescription)") }
        return (cells.count, stores.count, outPath)

    }
}
