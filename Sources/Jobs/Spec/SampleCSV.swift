import Foundation
import Diffusion

/// Samples a user brings as CSV: one sample vector per row, the same number of numeric
/// columns in every row, an optional header row (a first row with a non-number). Used by
/// `sgd-escape tail-index` (docs/cli.md). Errors name the file, the line and what is wrong.
public struct SampleCSV: Sendable {
    /// Row-major: sample k at `values[k*dimension ..< (k+1)*dimension]`.
    public let values: [Double]
    public let dimension: Int
    /// The header's column names, when there is a header.
    public let columns: [String]?
    public var count: Int { values.count / dimension }

    public init(text: String, name: String) throws(SpecError) {
        var values: [Double] = []
        var dimension = 0
        var columns: [String]? = nil
        var rows = 0
        for (k, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let numbers = fields.compactMap(Double.init)
            if numbers.count != fields.count {
                if rows == 0 && columns == nil { columns = fields; continue }  // header
                let bad = fields.first { Double($0) == nil } ?? ""
                throw SpecError("\(name) line \(k + 1): every field must be a number, got \"\(bad.prefix(20))\"")
            }
            if rows == 0 {
                dimension = numbers.count
                if let columns, columns.count != dimension {
                    throw SpecError("\(name) line \(k + 1): \(dimension) fields, the header has \(columns.count)")
                }
            } else if numbers.count != dimension {
                throw SpecError("\(name) line \(k + 1): \(numbers.count) fields, earlier rows have \(dimension)")
            }
            if let bad = numbers.first(where: { !$0.isFinite }) {
                throw SpecError("\(name) line \(k + 1): samples must be finite, got \(bad)")
            }
            values += numbers
            rows += 1
        }
        guard rows > 0 else { throw SpecError("\(name) has no data rows") }
        self.values = values
        self.dimension = dimension
        self.columns = columns
    }

    /// The block-sum tail-index estimate of these samples (`TailIndex.estimate`,
    /// docs/THEORY.md §4), pooled as `pooling` says; an error when two blocks do not fit or a
    /// sample is exactly 0.
    public func tailIndex(pooling: TailIndexPooling, blockSize: Int?) throws(SpecError) -> (estimate: TailIndexEstimate, perCoordinate: [TailIndexEstimate]) {
        if let blockSize, blockSize < 2 { throw SpecError("--block-size must be an integer ≥ 2, got \(blockSize)") }
        guard let result = TailIndex.estimate(vectors: values, dimension: dimension, pooling: pooling, blockSize: blockSize) else {
            let perEstimate = pooling == .flattened ? values.count : count
            throw SpecError("tail index: \(perEstimate) samples per estimate do not fill two blocks\(blockSize.map { " of \($0)" } ?? " of ⌊√K⌋ ≥ 2"), or a sample is exactly 0")
        }
        return result
    }
}
