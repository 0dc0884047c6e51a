import Foundation
import Diffusion

/// The abscissa of a scaling fit (`[report] arrhenius_x`, `power_law_x`, `saddle_law_x`): an
/// expression of a cell's parameters, such as `"1/eta"`, `"B/eta"`, `"1/landscape.h_sharp"`,
/// `"landscape.barrier"` or `"log(landscape.Ls/landscape.Lmin)"`, in the landscape expression
/// language (docs/reference.md, "Expressions").
///
/// A name is a parameter key as the cells record it (`learning_rate`, `batch_size`,
/// `epsilon`, `dt`, `noise.sigma`, `landscape.h_sharp`, …), one of the aliases `eta`
/// (`learning_rate`) and `B` (`batch_size`), or a bare `NAME` standing for the one of
/// `landscape.NAME` and `noise.NAME` that the cells have (ambiguous when they have both).
/// Dotted names are not identifiers of the expression language, so the text is parsed with
/// each dot written `__`; errors are reported against the text as written.
///
/// The parameters an abscissa reads are the ones it absorbs: they do not split fits into
/// groups (docs/THEORY.md §5).
public struct FitAbscissa: Sendable, Equatable {
    /// The text as written.
    public let text: String
    /// Parameter names as written, in order of first use; `expression` reads `names[i]` as variable i.
    public let names: [String]
    let expression: Diffusion.Expression

    /// Aliases users may write for parameter keys.
    public static let aliases: [String: String] = ["eta": "learning_rate", "B": "batch_size"]
    /// The prefixes a bare name may stand for.
    static let scopes = ["landscape", "noise"]
    static let dotSubstitute = "__"

    /// Parses `text`; a syntax error names its column in `text`.
    public init(_ text: String) throws(ExpressionError) {
        self.text = text
        let s = Array(text.unicodeScalars)
        func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 48 && c.value <= 57 }
        func isStart(_ c: Unicode.Scalar) -> Bool { (c.value >= 65 && c.value <= 90) || (c.value >= 97 && c.value <= 122) || c == "_" }
        func isContinue(_ c: Unicode.Scalar) -> Bool { isStart(c) || isDigit(c) }
        var rewritten = String.UnicodeScalarView()
        var origin: [Int] = []          // rewritten scalar index → index in `text`
        var names: [String] = [], placeholders: [String] = []
        var i = 0
        while i < s.count {
            let c = s[i]
            if isDigit(c) || (c == "." && i + 1 < s.count && isDigit(s[i + 1])) {
                // a number literal, copied as is (its exponent's 'e' is not a name)
                while i < s.count, isDigit(s[i]) || s[i] == "." { rewritten.append(s[i]); origin.append(i); i += 1 }
                if i < s.count, s[i] == "e" || s[i] == "E" {
                    var j = i + 1
                    if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
                    if j < s.count, isDigit(s[j]) {
                        while j < s.count, isDigit(s[j]) { j += 1 }
                        while i < j { rewritten.append(s[i]); origin.append(i); i += 1 }
                    }
                }
                continue
            }
            if isStart(c) {
                var name = String.UnicodeScalarView(), placeholder = String.UnicodeScalarView()
                var columns: [Int] = []
                while i < s.count {
                    if isContinue(s[i]) {
                        name.append(s[i]); placeholder.append(s[i]); columns.append(i); i += 1
                    } else if s[i] == ".", i + 1 < s.count, isStart(s[i + 1]) {
                        name.append(s[i])
                        for u in Self.dotSubstitute.unicodeScalars { placeholder.append(u); columns.append(i) }
                        i += 1
                    } else { break }
                }
                rewritten.append(contentsOf: placeholder); origin += columns
                var j = i
                while j < s.count, s[j].properties.isWhitespace { j += 1 }
                let n = String(name)
                let isCall = j < s.count && s[j] == "("
                if !isCall, n != "pi", n != "e", !names.contains(n) { names.append(n); placeholders.append(String(placeholder)) }
                continue
            }
            rewritten.append(c); origin.append(i); i += 1
        }
        do {
            expression = try ExpressionParser.parse(String(rewritten), variables: placeholders)
        } catch {
            let column = error.column - 1 < origin.count ? origin[max(error.column - 1, 0)] + 1 : s.count + 1
            throw ExpressionError(message: error.message.replacingOccurrences(of: Self.dotSubstitute, with: "."), column: column)
        }
        self.names = names
    }

    public static func == (a: FitAbscissa, b: FitAbscissa) -> Bool { a.text == b.text }

    /// The text without whitespace: `"B / eta"` and `"B/eta"` are the same abscissa.
    public var canonical: String { String(text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init)) }

    /// The parameter key each name stands for among `keys` (the parameters the cells have),
    /// or why one does not resolve.
    public func resolve(keys: Set<String>) -> Result<[String], ResolutionError> {
        var out: [String] = []
        for name in names {
            if keys.contains(name) { out.append(name); continue }
            if let alias = Self.aliases[name], keys.contains(alias) { out.append(alias); continue }
            let scoped = Self.scopes.map { "\($0).\(name)" }.filter(keys.contains)
            if scoped.count == 1 { out.append(scoped[0]); continue }
            if scoped.count > 1 {
                return .failure(.init(name: name, message: "'\(name)' is ambiguous: write \(scoped.map { "'\($0)'" }.joined(separator: " or "))"))
            }
            return .failure(.init(name: name, message: "'\(name)' is not a parameter of these cells (they have \(keys.sorted().map { "'\($0)'" }.joined(separator: ", ")))"))
        }
        return .success(out)
    }

    public struct ResolutionError: Error, Sendable, CustomStringConvertible {
        public let name: String
        public let message: String
        public var description: String { message }
    }

    /// The abscissa at the given values of `names` (in order).
    public func value(_ values: [Double]) -> Double {
        precondition(values.count == names.count)
        return expression.evaluate(at: values)
    }
}
