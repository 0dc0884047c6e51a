import Foundation
import Testing
import TestSupport
@testable import Jobs
@testable import Diffusion

/// The tail-index estimator on samples a user brings as CSV (issue 12, item 7).
@Suite struct SampleCSVTests {
    /// 40 000 symmetric α-stable draws (α = 1.5, fixed seed) in two columns with a header:
    /// 1/α̂ is unbiased for 1/α on SαS samples (docs/THEORY.md §4), so it lies within 5 SE,
    /// pooled and per column; the estimate equals the library's on the same numbers (the CSV
    /// round-trips doubles with %.17g).
    @Test(arguments: [1, 2]) func stableSamples(seed: UInt64) throws {
        let alpha = 1.5, n = 20000
        let stream = RandomStream(key: StreamKey(seed: seed))
        var rows = ["a,b"]
        var values: [Double] = []
        for _ in 0..<n {
            let (u, v) = (stream.symmetricStable(alpha: alpha), stream.symmetricStable(alpha: alpha, scale: 3))
            values += [u, v]
            rows.append(String(format: "%.17g,%.17g", u, v))
        }
        let csv = try SampleCSV(text: rows.joined(separator: "\n") + "\n", name: "s.csv")
        #expect(csv.count == n && csv.dimension == 2 && csv.columns == ["a", "b"] && csv.values == values)
        let perColumn = try csv.tailIndex(pooling: .perCoordinate, blockSize: nil)
        for e in perColumn.perCoordinate + [perColumn.estimate] {
            #expect(abs(e.inverseAlpha - 1 / alpha) <= Statistics.z * e.inverseAlphaStandardError, "1/α̂ = \(e.inverseAlpha) ± \(e.inverseAlphaStandardError)")
        }
        let pooled = try csv.tailIndex(pooling: .flattened, blockSize: 100)
        #expect(pooled.estimate == TailIndex.estimate(values, blockSize: 100))
    }

    @Test func badFilesNameTheLine() {
        let cases: [(String, String)] = [
            ("x\n1\n2,3\n", "s.csv line 3: 2 fields, earlier rows have 1"),
            ("1,2\n3,abc\n", "s.csv line 2: every field must be a number, got \"abc\""),
            ("a,b,c\n1,2\n", "s.csv line 2: 2 fields, the header has 3"),
            ("h\n", "s.csv has no data rows"),
            ("1\ninf\n", "s.csv line 2: samples must be finite, got inf"),
        ]
        for (text, expected) in cases {
            var message = ""
            do { _ = try SampleCSV(text: text, name: "s.csv") } catch { message = error.message }
            #expect(message == expected, "got “\(message)”")
        }
        var message = ""
        do { _ = try SampleCSV(text: "1\n2\n3\n", name: "s.csv").tailIndex(pooling: .flattened, blockSize: nil) } catch { message = error.message }
        #expect(message.contains("do not fill two blocks"), "\(message)")
    }
}
