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
            do {
                let merged = try ShardMerge.merge(directories: directories, out: out,
                                                  commandLine: CommandLine.arguments.joined(separator: " "))
                FileHandle.standardError.write(Data("merged \(merged.cells) cells from \(merged.stores) stores into \(merged.path)\n".utf8))
            } catch { fail("merge: \(error)") }
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
