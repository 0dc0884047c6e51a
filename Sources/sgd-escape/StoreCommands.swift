import ArgumentParser
import Foundation
import Jobs

extension SGDEscapeCommand {
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join shard results (run --shard K/N --out DIR) into one results.sqlite + summary.json.")

        @Argument(help: "Shard output directories, each holding results.sqlite.")
        var directories: [String]

        @Option(name: .long, help: "Directory for the merged results (must not already hold results.sqlite).")
        var out: String

        func validate() throws {
            if directories.isEmpty { throw ValidationError("merge needs at least one shard directory") }
        }

        func run() throws {
            var stores: [(String, ResultsStore, ResultsStore.JobRow)] = []
            for dir in directories {
                let path = URL(fileURLWithPath: dir).appendingPathComponent(ResultsStore.fileName).path
                do {
                    let s = try ResultsStore.open(existing: path)
                    stores.append((path, s, try s.job()!))
                } catch { fail("merge: \(dir): \(error)") }
            }
            let first = stores[0].2
            for (path, _, job) in stores.dropFirst() where job.specHash != first.specHash {
                fail("merge: \(path) is from a different job (spec hash \(job.specHash), '\(job.name)') than \(stores[0].0) (spec hash \(first.specHash), '\(first.name)')")
            }
            // Union of cells; overlapping cells must agree (JSON minus wall_seconds).
            var cells: [Int: JSONValue] = [:]
            var owner: [Int: Int] = [:]
            var contributions: [Set<Int>] = Array(repeating: [], count: stores.count)
            for (k, (path, store, _)) in stores.enumerated() {
                let stored: [ResultsStore.StoredCell]
                do { stored = try store.cells() } catch { fail("merge: \(path): \(error)") }
                for cell in stored {
                    if let existing = cells[cell.global] {
                        if existing.removing(key: "wall_seconds") != cell.json.removing(key: "wall_seconds") {
                            fail("merge: cell \(cell.global + 1) (experiment '\(cell.json["experiment"].map { if case .string(let s) = $0 { s } else { "?" } } ?? "?")', cell \(cell.cellIndex + 1)) differs between \(stores[owner[cell.global]!].0) and \(path)")
                        }
                    } else {
                        cells[cell.global] = cell.json
                        owner[cell.global] = k
                        contributions[k].insert(cell.global)
                    }
                }
            }
            let outURL = URL(fileURLWithPath: out)
            let outPath = outURL.appendingPathComponent(ResultsStore.fileName).path
            if FileManager.default.fileExists(atPath: outPath) {
                fail("merge: --out \(out) already holds results (\(ResultsStore.fileName)); choose an empty directory")
            }
            do {
                try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
                try Data(first.spec.utf8).write(to: outURL.appendingPathComponent("job.toml"), options: .atomic)
                let merged = try ResultsStore(path: outPath)
                var job = first
                job.shard = nil
                job.commandLine = CommandLine.arguments.joined(separator: " ")
                job.toolVersion = ResultsStore.toolVersion
                try merged.setJob(job)
                for (k, (path, _, _)) in stores.enumerated() {
                    try merged.copy(from: path, globals: contributions[k])
                }
            } catch { fail("merge: cannot write \(outPath): \(error)") }
            let json = summaryJSON(name: first.name, seed: first.seed, cells: cells.keys.sorted().map { cells[$0]! })
            writeSummary(json, to: outURL)
            FileHandle.standardError.write(Data("merged \(cells.count) cells from \(stores.count) stores into \(outPath)\n".utf8))
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a results store's cells and/or per-path samples as CSV.")

        @Argument(help: "A run or merge output directory holding results.sqlite.")
        var directory: String

        @Option(name: .long, help: "CSV file for one row per cell.")
        var cells: String?

        @Option(name: .long, help: "CSV file for one row per Monte Carlo path.")
        var samples: String?

        func validate() throws {
            if cells == nil, samples == nil { throw ValidationError("export needs --cells FILE and/or --samples FILE") }
        }

        func run() throws {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(ResultsStore.fileName).path
            let store: ResultsStore
            do { store = try ResultsStore.open(existing: path) } catch { fail("export: \(error)") }
            do {
                if let cells {
                    let n = try CSVExport.writeCells(store: store, to: cells)
                    FileHandle.standardError.write(Data("wrote \(n) cells to \(cells)\n".utf8))
                }
                if let samples {
                    let n = try CSVExport.writeSamples(store: store, to: samples)
                    FileHandle.standardError.write(Data("wrote \(n) samples to \(samples)\n".utf8))
                }
            } catch { fail("export: \(error)") }
        }
    }
}
