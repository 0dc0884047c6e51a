import Foundation
import Testing
@testable import Diffusion

/// Long associative chains (issue 13, item 7): beyond `balancedChainThreshold` operands a sum
/// or product is built as a balanced tree, so the depth limit bounds real nesting and the
/// symbolic derivatives stay O(n log n); shorter chains keep the left-to-right order exactly.
@Suite struct ExpressionChainTests {
    static func nodes(_ e: Diffusion.Expression) -> Int {
        switch e {
        case .constant, .variable: return 1
        case .unary(_, let a): return 1 + nodes(a)
        case .binary(_, let a, let b): return 1 + nodes(a) + nodes(b)
        case .call(_, let args): return 1 + args.reduce(0) { $0 + nodes($1) }
        }
    }
    static func depth(_ e: Diffusion.Expression) -> Int {
        switch e {
        case .constant, .variable: return 1
        case .unary(_, let a): return 1 + depth(a)
        case .binary(_, let a, let b): return 1 + max(depth(a), depth(b))
        case .call(_, let args): return 1 + (args.map(depth).max() ?? 0)
        }
    }

    /// Up to the threshold the tree is exactly the left fold as written (the same rounding as
    /// every expression accepted before).
    @Test func shortChainsKeepTheirLeftToRightOrder() throws {
        let n = ExpressionParser.balancedChainThreshold
        let terms = (1...n).map { "x/\($0)" }
        let written = try ExpressionParser.parse(terms.joined(separator: " - "), variables: ["x"])
        var nested = terms[0]
        for t in terms.dropFirst() { nested = "(\(nested)) - \(t)" }
        #expect(written == (try ExpressionParser.parse(nested, variables: ["x"])))
        let product = try ExpressionParser.parse((1...n).map { "(1 + x/\($0))" }.joined(separator: "*"), variables: ["x"])
        #expect(Self.depth(product) >= n)
    }

    /// A sum of 5000 terms (once refused as "too deep") parses to a tree of logarithmic depth,
    /// and its value agrees with the sequential sum to the rounding of either order
    /// (|error| ≤ n·ε·Σ|terms| for recursive summation; pairwise is within that bound too).
    @Test func longSumsAreBalancedAndAgreeWithTheSequentialSum() throws {
        let n = 5000
        let text = (1...n).map { $0 % 3 == 0 ? "x^2/\($0)" : "x/\($0)" }.joined(separator: " + ")
        let e = try ExpressionParser.parse(text, variables: ["x"])
        #expect(Self.depth(e) <= 20, "depth \(Self.depth(e))")
        for x in [0.3, -1.7, 2.5] {
            var sequential = 0.0, magnitude = 0.0
            for k in 1...n { let t = k % 3 == 0 ? x * x / Double(k) : x / Double(k); sequential += t; magnitude += abs(t) }
            let bound = Double(n) * Double.ulpOfOne * magnitude
            #expect(abs(e.evaluate(at: [x]) - sequential) <= bound, "x = \(x): \(e.evaluate(at: [x])) vs \(sequential), bound \(bound)")
        }
        // the compiled program gives the tree's own value
        let program = CompiledProgram(outputs: [e], dimension: 1)
        #expect(program.evaluate(at: [0.3])[0] == e.evaluate(at: [0.3]))
    }

    /// A long product with divisions: numerators over denominators, balanced; its derivative
    /// grows like n log n (a left-deep chain's grows like n²: the size ratio at doubling n
    /// would approach 4).
    @Test func longProductsHaveSmallDerivatives() throws {
        func product(_ n: Int) throws -> Diffusion.Expression {
            let text = (1...n).map { k in k % 4 == 0 ? "(1 + x/\(k))" : "(2 + x/\(k))" }.enumerated()
                .map { $0.offset == 0 ? $0.element : ($0.offset % 5 == 0 ? "/" : "*") + $0.element }.joined()
            return try ExpressionParser.parse(text, variables: ["x"])
        }
        let small = try product(256), large = try product(512)
        let ratio = Double(Self.nodes(large.derivative(withRespectTo: 0))) / Double(Self.nodes(small.derivative(withRespectTo: 0)))
        #expect(ratio < 2.5, "derivative size ratio at doubling n: \(ratio)")
        // value check against the left-to-right product at a point (relative rounding ≤ 2n ε)
        var direct = 1.0
        for k in 1...512 { let f = (k % 4 == 0 ? 1.0 : 2.0) + 0.1 / Double(k); direct = (k - 1) % 5 == 0 && k > 1 ? direct / f : direct * f }
        let value = large.evaluate(at: [0.1])
        #expect(abs(value / direct - 1) <= 2 * 512 * Double.ulpOfOne, "\(value) vs \(direct)")
    }
}

/// Messages quoting user input stay one bounded line (issue 13: a 10 MB garbage spec gave a
/// 10 MB stderr line; a quoted key with an escaped newline broke the one-line rule).
@Suite struct MessageTextTests {
    @Test func controlCharactersAreEscapedAndLongMessagesCut() {
        #expect(MessageText.oneLine("key 'a\nb' is\tbad") == "key 'aU+000Ab' isU+0009bad")
        let long = "unknown variable '" + String(repeating: "u", count: 10_000) + "'"
        let cut = MessageText.oneLine(long)
        #expect(cut.count <= MessageText.maxLength && cut.hasPrefix("unknown variable 'uuu") && cut.hasSuffix("u'"))
        #expect(MessageText.oneLine("short") == "short")
        #expect(MessageText.oneLine("a\u{85}b\u{2028}c") == "aU+0085bU+2028c")  // NEL and line separator (found by the fuzzer)
        let error = ExpressionError(message: long, column: 1)
        #expect(error.message.count <= MessageText.maxLength)
    }
}
