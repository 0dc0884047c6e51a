import ArgumentParser
import Foundation
import Diffusion
import Jobs

extension SGDEscapeCommand {
    /// `sgd-escape tail-index FILE.csv`: the block-sum tail-index estimator (docs/THEORY.md §4)
    /// on samples the user brings — the same estimator as `method = "tail-index"`, without a job.
    struct TailIndexCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tail-index",
            abstract: "Estimate the tail index α of samples in a CSV file (one sample vector per row; a header row allowed).",
            discussion: "The block-sum estimator of Mohammadi, Mohammadpour & Ohta (2015) as used by Şimşekli et al. (2019): 1/α̂ is unbiased on symmetric α-stable samples; standard errors from the i.i.d. block statistics. Exit status 2 on bad input.")

        @Argument(help: "CSV file of samples.")
        var file: String

        @Option(name: .long, help: "Block length m (default ⌊√K⌋, K the samples per estimate).")
        var blockSize: Int?

        @Option(name: .long, help: "flattened (all coordinates pooled, Şimşekli et al.) or per-coordinate (estimated per column and averaged).")
        var pooling: String = TailIndexPooling.flattened.rawValue

        @Option(name: .long, help: "text or json.")
        var format: OutputFormat = .text

        func run() throws {
            guard let mode = TailIndexPooling(rawValue: pooling) else {
                fail("--pooling must be one of \(TailIndexPooling.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(pooling.prefix(40))\"")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                fail("cannot read samples \(file): no such file, a directory, or not UTF-8 text")
            }
            let result: (estimate: TailIndexEstimate, perCoordinate: [TailIndexEstimate])
            let samples: SampleCSV
            do {
                samples = try SampleCSV(text: text, name: URL(fileURLWithPath: file).lastPathComponent)
                result = try samples.tailIndex(pooling: mode, blockSize: blockSize)
            } catch { fail(error.message) }
            let e = result.estimate
            switch format {
            case .json:
                var object: [(String, JSONValue)] = [
                    ("file", .string(file)), ("samples", .int(samples.count)), ("dimension", .int(samples.dimension)),
                    ("pooling", .string(mode.rawValue)), ("tail_index", .double(e.alpha)),
                    ("tail_index_standard_error", .double(e.alphaStandardError)), ("inverse_tail_index", .double(e.inverseAlpha)),
                    ("inverse_tail_index_standard_error", .double(e.inverseAlphaStandardError)),
                    ("block_size", .int(e.blockSize)), ("blocks", .int(e.blocks)),
                ]
                if !result.perCoordinate.isEmpty {
                    object.append(("per_coordinate", .array(result.perCoordinate.map { .double($0.alpha) })))
                }
                print(JSONValue.object(object).serialized(indent: 2))
            case .text:
                print("\(samples.count) samples of dimension \(samples.dimension), pooling \(mode.rawValue): block size \(e.blockSize), \(e.blocks) blocks")
                print(String(format: "tail index α̂ = %.6g ± %.2g   (1/α̂ = %.6g ± %.2g)", e.alpha, e.alphaStandardError, e.inverseAlpha, e.inverseAlphaStandardError))
                for (j, c) in result.perCoordinate.enumerated() {
                    print("  \(samples.columns?[j] ?? "column \(j + 1)"): " + String(format: "α̂ = %.6g ± %.2g", c.alpha, c.alphaStandardError))
                }
            }
        }
    }
}
