import Testing
import TestSupport
@testable import Jobs

// MARK: - Helpers

private func node(_ value: SpecValue, _ line: Int?) -> SpecNode { SpecNode(value: value, line: line) }
private func str(_ s: String, _ line: Int?) -> SpecNode { node(.string(s), line) }
private func int(_ i: Int, _ line: Int?) -> SpecNode { node(.integer(i), line) }
private func flt(_ d: Double, _ line: Int?) -> SpecNode { node(.float(d), line) }
private func arr(_ items: [SpecNode], _ line: Int?) -> SpecNode { node(.array(items), line) }
private func tbl(_ line: Int?, _ entries: [(String, SpecNode)], nodeLine: Int?? = nil) -> SpecNode {
    node(.table(SpecTable(entries: entries.map { (key: $0.0, node: $0.1) }, line: line)), nodeLine ?? line)
}

/// Removes all line information so trees from different formats can be compared.
private func stripLines(_ table: SpecTable) -> SpecTable {
    SpecTable(entries: table.entries.map { (key: $0.key, node: stripLines($0.node)) }, line: nil)
}
private func stripLines(_ n: SpecNode) -> SpecNode {
    switch n.value {
    case .table(let t): return SpecNode(value: .table(stripLines(t)), line: nil)
    case .array(let items): return SpecNode(value: .array(items.map(stripLines)), line: nil)
    default: return SpecNode(value: n.value, line: nil)
    }
}

/// Parses `text` as TOML and returns the value at `key` in the root table.
private func value(_ text: String, _ key: String = "x") throws -> SpecValue? {
    try TOMLParser.parse(text)[key]?.value
}

private func tomlError(_ text: String) -> SpecParseError? {
    do {
        _ = try TOMLParser.parse(text)
        return nil
    } catch {
        return error
    }
}

private func jsonError(_ text: String) -> SpecParseError? {
    do {
        _ = try JSONSpecParser.parse(text)
        return nil
    } catch {
        return error
    }
}

private let realisticSpec = """
name = "double-well"
seed = 1                      # master seed

[landscape]
potential = "x^4/4 - x^2/2"

[start]
point = [-1.0]

[exit]
when = "x > 0"

[[experiment]]
name = "langevin"
dynamics = "langevin"
epsilon = [0.2, 0.1, 0.05]
dt = 1e-3
paths = 10000
max_steps = 1_000_000
exit_test = "bridge"

[[experiment]]
name = "sgd"
dynamics = "sgd"
learning_rate = [0.01, 0.02, 0.05]
batch_size = 1
noise = { law = "gaussian", sigma = 1.0 }
paths = 4000
"""

private let realisticSpecJSON = """
{
  "name": "double-well",
  "seed": 1,
  "landscape": { "potential": "x^4/4 - x^2/2" },
  "start": { "point": [-1.0] },
  "exit": { "when": "x > 0" },
  "experiment": [
    {
      "name": "langevin",
      "dynamics": "langevin",
      "epsilon": [0.2, 0.1, 0.05],
      "dt": 1e-3,
      "paths": 10000,
      "max_steps": 1000000,
      "exit_test": "bridge"
    },
    {
      "name": "sgd",
      "dynamics": "sgd",
      "learning_rate": [0.01, 0.02, 0.05],
      "batch_size": 1,
      "noise": { "law": "gaussian", "sigma": 1.0 },
      "paths": 4000
    }
  ]
}
"""

private let expectedRealisticTree = SpecTable(entries: [
    ("name", str("double-well", 1)),
    ("seed", int(1, 2)),
    ("landscape", tbl(4, [("potential", str("x^4/4 - x^2/2", 5))])),
    ("start", tbl(7, [("point", arr([flt(-1.0, 8)], 8))])),
    ("exit", tbl(10, [("when", str("x > 0", 11))])),
    ("experiment", arr([
        tbl(13, [
            ("name", str("langevin", 14)),
            ("dynamics", str("langevin", 15)),
            ("epsilon", arr([flt(0.2, 16), flt(0.1, 16), flt(0.05, 16)], 16)),
            ("dt", flt(1e-3, 17)),
            ("paths", int(10000, 18)),
            ("max_steps", int(1_000_000, 19)),
            ("exit_test", str("bridge", 20)),
        ]),
        tbl(22, [
            ("name", str("sgd", 23)),
            ("dynamics", str("sgd", 24)),
            ("learning_rate", arr([flt(0.01, 25), flt(0.02, 25), flt(0.05, 25)], 25)),
            ("batch_size", int(1, 26)),
            ("noise", tbl(27, [("law", str("gaussian", 27)), ("sigma", flt(1.0, 27))])),
            ("paths", int(4000, 28)),
        ]),
    ], 13)),
].map { (key: $0.0, node: $0.1) }, line: nil)

// MARK: - Realistic spec

@Suite struct SpecParserTests {
    @Test func realisticSpecParsesToExpectedTreeWithLines() throws {
        let root = try TOMLParser.parse(realisticSpec)
        #expect(root == expectedRealisticTree)
        #expect(root.keys == ["name", "seed", "landscape", "start", "exit", "experiment"])
        #expect(root.line == nil)

        // Spot checks through the public accessors, the way validation code will use them.
        guard case .array(let experiments)? = root["experiment"]?.value else {
            Issue.record("experiment is not an array"); return
        }
        #expect(experiments.map(\.line) == [13, 22])
        guard case .table(let sgd) = experiments[1].value else { Issue.record("not a table"); return }
        #expect(sgd.line == 22)
        #expect(sgd["learning_rate"]?.line == 25)
        #expect(sgd["batch_size"] == int(1, 26))
        #expect(sgd["missing"] == nil)
        guard case .table(let noise)? = sgd["noise"]?.value else { Issue.record("noise not a table"); return }
        #expect(noise.line == 27)
        #expect(noise["sigma"]?.value == .float(1.0))
        #expect(noise.keys == ["law", "sigma"])
    }

    @Test func jsonVersionOfRealisticSpecIsEqualIgnoringLines() throws {
        let fromJSON = try JSONSpecParser.parse(realisticSpecJSON)
        let fromTOML = try TOMLParser.parse(realisticSpec)
        #expect(stripLines(fromJSON) == stripLines(fromTOML))
        // And the lines JSON reports are its own.
        #expect(fromJSON["seed"]?.line == 3)
        guard case .array(let experiments)? = fromJSON["experiment"]?.value else {
            Issue.record("experiment is not an array"); return
        }
        #expect(experiments.map(\.line) == [8, 17])
        guard case .table(let first) = experiments[0].value else { Issue.record("not a table"); return }
        #expect(first.line == 8)
        #expect(first["dt"] == flt(1e-3, 12))
        #expect(first["max_steps"]?.value == .integer(1_000_000))
    }

    // MARK: - Value types

    @Test func scalarTypes() throws {
        #expect(try value("x = \"hi\"") == .string("hi"))
        #expect(try value("x = 'C:\\path\\n'") == .string("C:\\path\\n"))
        #expect(try value("x = 42") == .integer(42))
        #expect(try value("x = +17") == .integer(17))
        #expect(try value("x = -5") == .integer(-5))
        #expect(try value("x = 0") == .integer(0))
        #expect(try value("x = 1_000_000") == .integer(1_000_000))
        #expect(try value("x = -9223372036854775808") == .integer(Int.min))
        #expect(try value("x = 9223372036854775807") == .integer(Int.max))
        #expect(try value("x = true") == .bool(true))
        #expect(try value("x = false") == .bool(false))
        #expect(try value("x = 1e-3") == .float(1e-3))
        #expect(try value("x = -0.1") == .float(-0.1))
        #expect(try value("x = 1.0") == .float(1.0))
        #expect(try value("x = 6.02E23") == .float(6.02e23))
        #expect(try value("x = 1_000.5") == .float(1000.5))
        #expect(try value("x = 5e+22") == .float(5e22))
        #expect(try value("x = 6.626e-34") == .float(6.626e-34))
        #expect(try value("x = 1e06") == .float(1e6))
        #expect(try value("x = inf") == .float(.infinity))
        #expect(try value("x = +inf") == .float(.infinity))
        #expect(try value("x = -inf") == .float(-.infinity))
        guard case .float(let n)? = try value("x = nan") else { Issue.record("nan not a float"); return }
        #expect(n.isNaN)
        guard case .float(let m)? = try value("x = -nan") else { Issue.record("-nan not a float"); return }
        #expect(m.isNaN)
    }

    @Test func typeNames() throws {
        let t = try TOMLParser.parse("a = 's'\nb = 1\nc = 1.5\nd = true\ne = []\nf = {}")
        #expect(t.entries.map(\.node.value.typeName) == ["string", "integer", "float", "boolean", "array", "table"])
    }

    @Test func prefixedIntegers() throws {
        #expect(try value("x = 0xDEADbeef") == .integer(0xDEADBEEF))
        #expect(try value("x = 0xdead_beef") == .integer(0xDEADBEEF))
        #expect(try value("x = 0o755") == .integer(0o755))
        #expect(try value("x = 0b1101_0110") == .integer(0b1101_0110))
        #expect(try value("x = 0x7FFFFFFFFFFFFFFF") == .integer(Int.max))
    }

    @Test func stringEscapes() throws {
        #expect(try value(#"x = "a\"b\\c\nd\te\rf\bg\fh""#) == .string("a\"b\\c\nd\te\rf\u{08}g\u{0C}h"))
        #expect(try value(#"x = "\u00E9\U0001F600""#) == .string("é😀"))
        #expect(try value(#"x = "tab\there""#) == .string("tab\there"))
        #expect(try value("x = \"\"") == .string(""))
        #expect(try value("x = ''") == .string(""))
    }

    @Test func multilineStrings() throws {
        let basic = "x = \"\"\"\nRoses are red\nViolets are \\\"blue\\\"\"\"\""
        #expect(try value(basic) == .string("Roses are red\nViolets are \"blue\""))
        // Line-ending backslash trims the newline and following whitespace.
        let folded = "x = \"\"\"\\\n   The quick \\\n\n   brown fox.\\\n   \"\"\""
        #expect(try value(folded) == .string("The quick brown fox."))
        // Up to two quotes right before the closing delimiter belong to the content.
        #expect(try value("x = \"\"\"a \"\"quoted\"\"\"\"\"") == .string("a \"\"quoted\"\""))
        let literal = "x = '''\nC:\\raw\\path\n  keeps 'quotes' '''"
        #expect(try value(literal) == .string("C:\\raw\\path\n  keeps 'quotes' "))
        #expect(try value("x = ''''one quote''''") == .string("'one quote'"))
        // CRLF line endings are normalised to LF inside multi-line strings.
        #expect(try value("x = \"\"\"\r\na\r\nb\"\"\"") == .string("a\nb"))
        // Lines keep counting through multi-line strings.
        let t = try TOMLParser.parse("a = \"\"\"\n1\n2\n\"\"\"\nb = 1")
        #expect(t["b"]?.line == 5)
    }

    @Test func keysBareQuotedAndDotted() throws {
        let t = try TOMLParser.parse("""
        bare-key_1 = 1
        "quoted key" = 2
        'literal.key' = 3
        noise.law = "gaussian"
        noise . sigma = 1.0
        site."google.com" = true
        "" = 4
        """)
        #expect(t.keys == ["bare-key_1", "quoted key", "literal.key", "noise", "site", ""])
        #expect(t["noise"] == tbl(4, [("law", str("gaussian", 4)), ("sigma", flt(1.0, 5))]))
        #expect(t["site"] == tbl(6, [("google.com", node(.bool(true), 6))]))
        #expect(t[""] == int(4, 7))
    }

    @Test func dottedKeysInsideTablesAndHeaderSubtables() throws {
        // TOML spec example: sub-tables of dotted-key tables may be added with a header.
        let t = try TOMLParser.parse("""
        [fruit]
        apple.color = "red"
        apple.taste.sweet = true

        [fruit.apple.texture]
        smooth = true
        """)
        #expect(t == SpecTable(entries: [(key: "fruit", node: tbl(1, [
            ("apple", tbl(2, [
                ("color", str("red", 2)),
                ("taste", tbl(3, [("sweet", node(.bool(true), 3))])),
                ("texture", tbl(5, [("smooth", node(.bool(true), 6))])),
            ])),
        ]))]))
    }

    @Test func inlineTables() throws {
        let t = try TOMLParser.parse("""
        a = 1
        noise = { law = "gaussian", sigma = 1.0, p.q = [1, 2], inner = { z = 'z' } }
        empty = {}
        """)
        #expect(t["noise"] == tbl(2, [
            ("law", str("gaussian", 2)),
            ("sigma", flt(1.0, 2)),
            ("p", tbl(2, [("q", arr([int(1, 2), int(2, 2)], 2))])),
            ("inner", tbl(2, [("z", str("z", 2))])),
        ]))
        #expect(t["empty"] == tbl(3, []))
    }

    @Test func arraysSpanningLinesWithComments() throws {
        let t = try TOMLParser.parse("""
        x = [   # opening comment
          1,    # one
          "two",
          # a comment line
          [3.0, 4],
          { k = true },

        ]
        y = 2
        """)
        #expect(t["x"] == arr([
            int(1, 2),
            str("two", 3),
            arr([flt(3.0, 5), int(4, 5)], 5),
            tbl(6, [("k", node(.bool(true), 6))]),
        ], 1))
        #expect(t["y"] == int(2, 9))
        #expect(try value("x = []") == .array([]))
        #expect(try value("x = [1,2,]") == .array([int(1, 1), int(2, 1)]))
    }

    @Test func arrayOfTablesThenSubTableAppliesToLastElement() throws {
        let t = try TOMLParser.parse("""
        [[a]]
        x = 1
        [a.b]
        y = 2

        [[a]]
        x = 3
        [a.b]
        y = 4
        [[a.c]]
        z = 5
        """)
        #expect(t == SpecTable(entries: [(key: "a", node: arr([
            tbl(1, [("x", int(1, 2)), ("b", tbl(3, [("y", int(2, 4))]))]),
            tbl(6, [
                ("x", int(3, 7)),
                ("b", tbl(8, [("y", int(4, 9))])),
                ("c", arr([tbl(10, [("z", int(5, 11))])], 10)),
            ]),
        ], 1))]))
    }

    @Test func implicitTableMayBeDefinedLater() throws {
        let t = try TOMLParser.parse("[a.b]\nx = 1\n\n[a]\ny = 2\n")
        #expect(t["a"] == tbl(4, [("b", tbl(1, [("x", int(1, 2))])), ("y", int(2, 5))]))
    }

    @Test func whitespaceCommentsAndLineEndings() throws {
        let t = try TOMLParser.parse("\u{FEFF}# header\r\n\t a = 1 \t# trailing\r\n[ t . u ]  # c\r\nb = 'x'\r\n")
        #expect(t["a"] == int(1, 2))
        #expect(t["t"] == tbl(3, [("u", tbl(3, [("b", str("x", 4))]))]))
        #expect(try TOMLParser.parse("") == SpecTable())
        #expect(try TOMLParser.parse("# only a comment") == SpecTable())
    }

    @Test func deepButAllowedNesting() throws {
        let depth = 64
        let text = "x = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var v = try value(text)
        var seen = 0
        while case .array(let items)? = v {
            seen += 1
            v = items.first?.value
        }
        #expect(seen == depth)
    }

    // MARK: - Malformed TOML

    /// (input, expected line, expected column or nil, message fragment)
    static let malformed: [(String, Int, Int?, String)] = [
        ("dt = 1\nx = 2\ndt = 3", 3, 1, "duplicate key 'dt'"),
        ("[a]\nx = 1\n\n[a]\ny = 2", 4, 2, "duplicate table '[a]'"),
        ("[[e]]\nx = 1\nx = 2", 3, 1, "duplicate key 'x'"),
        ("x = hello", 1, 5, "invalid value 'hello'"),
        ("a = 1\nb = \"abc\nc = 2", 2, 5, "unterminated string"),
        ("a = 1\nname \"x\"", 2, 6, "missing '=' after key 'name'"),
        (#"s = "a\qb""#, 1, 7, "invalid escape sequence '\\q'"),
        ("n = 9223372036854775808", 1, 5, "integer overflow"),
        ("n = 0x1_0000_0000_0000_0000", 1, 5, "integer overflow"),
        ("\n\nn = 007", 3, 5, "leading zeros"),
        ("s = \"a\u{01}b\"", 1, 7, "control character U+0001"),
        ("# comment \u{7F}\n", 1, 11, "control character U+007F"),
        ("x = 1 x", 1, 7, "unexpected 'x' after value"),
        ("x = \"s\" \"t\"", 1, 9, "unexpected '\"' after value"),
        ("d = 1979-05-27", 1, 5, "dates and times are not supported"),
        ("\nt = 07:32:00", 2, 5, "dates and times are not supported"),
        ("d = 1979-05-27T07:32:00Z", 1, 5, "dates and times are not supported"),
        ("a = [1,\n2,\n", 1, 5, "unterminated array"),
        ("a = [1 2]", 1, 8, "expected ',' or ']' in array"),
        ("t = { a = 1,\n b = 2 }", 1, 13, "newlines are not allowed inside an inline table"),
        ("t = { a = 1, }", 1, 14, "trailing comma"),
        ("t = { a = 1 }\nt.b = 2", 2, 1, "duplicate key 't'"),
        ("a = [1]\n[[a]]", 2, 3, "cannot define array of tables"),
        ("[[a]]\n[a]", 2, 2, "duplicate key 'a'"),
        ("a.b = 1\n[a]", 2, 2, "duplicate table '[a]'"),
        ("[a.b.c]\n[a]\nb.d = 1", 3, 1, "duplicate key 'b'"),
        ("a = 1\na.b = 2", 2, 1, "duplicate key 'a'"),
        ("s = \"\"\"abc\n\ndef", 1, 5, "unterminated multi-line string"),
        ("s = '''abc", 1, 5, "unterminated multi-line string"),
        ("x = +0x10", 1, 5, "sign is not allowed"),
        (#"x = "\uD800""#, 1, 6, "not a Unicode scalar value"),
        (#"x = "\u12""#, 1, 6, "needs 4 hexadecimal digits"),
        ("x =\ny = 1", 1, 4, "missing value for key 'x'"),
        ("x = # nothing", 1, 5, "missing value for key 'x'"),
        ("[a\nb = 1", 1, 3, "expected ']' to close table header"),
        ("[[a]\n", 1, 4, "expected ']]'"),
        ("é = 1", 1, 1, "expected a key"),
        ("= 1", 1, 1, "expected a key"),
        ("x = 1.", 1, 5, "invalid number '1.'"),
        ("x = .5", 1, 5, "invalid value '.5'"),
        ("x = 1__0", 1, 5, "invalid number '1__0'"),
        ("x = 0b102", 1, 5, "invalid number '0b102'"),
        ("x = tru", 1, 5, "invalid value 'tru'"),
        ("x = 1\r", 1, 6, "U+000D"),
        ("\"\"\"k\"\"\" = 1", 1, 1, "multi-line strings cannot be used as keys"),
        ("x = { a = 1", 1, 5, "unterminated inline table"),
        ("x = [ , ]", 1, 7, "expected a value"),
        ("x = 1e99999", 1, 5, "float overflow"),
        ("a = [1]\n[a.b]", 2, 2, "already defined as an array on line 1"),
        ("[[a.b]]\n[a.b]", 2, 4, "duplicate key 'a.b' (already defined as an array of tables"),
        ("x = \"\"\"a\"\"\"\"\"\"", 1, 9, "too many quotes"),
    ]

    @Test(arguments: 0..<malformed.count)
    func malformedTOMLReportsLineAndMessage(_ index: Int) {
        let (input, line, column, fragment) = Self.malformed[index]
        guard let error = tomlError(input) else {
            Issue.record("expected an error for \(input.debugDescription)")
            return
        }
        #expect(error.line == line, "\(input.debugDescription): \(error)")
        if let column { #expect(error.column == column, "\(input.debugDescription): \(error)") }
        #expect(error.message.contains(fragment), "\(input.debugDescription): \(error)")
        #expect(error.description == "line \(error.line), column \(error.column): \(error.message)")
    }

    @Test func duplicateKeyMessageNamesFirstDefinition() {
        let error = tomlError("[[experiment]]\nname = 'a'\ndt = 1\n\ndt = 2")
        #expect(error == SpecParseError(message: "duplicate key 'dt' (first defined on line 3)", line: 5, column: 1))
    }

    @Test func excessiveNestingIsAnErrorNotACrash() {
        let arrays = "x = " + String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(tomlError(arrays)?.message.contains("nesting too deep") == true)
        let huge = "x = " + String(repeating: "[", count: 100_000)
        #expect(tomlError(huge)?.message.contains("nesting too deep") == true)
        let inline = "x = " + String(repeating: "{a=", count: 10_000)
        #expect(tomlError(inline)?.message.contains("nesting too deep") == true)
        let header = "[" + Array(repeating: "a", count: 10_000).joined(separator: ".") + "]"
        #expect(tomlError(header)?.message.contains("nesting too deep") == true)
        let dotted = Array(repeating: "a", count: 10_000).joined(separator: ".") + " = 1"
        #expect(tomlError(dotted)?.message.contains("nesting too deep") == true)
    }

    // MARK: - JSON

    @Test func jsonValuesAndLines() throws {
        let t = try JSONSpecParser.parse("""
        {"s": "a\\"\\u00e9\\ud83d\\ude00\\/\\n", "i": -12, "f": 2.5, "e": 1E2,
         "b": false, "arr": [1,
           {"k": []}], "o": {}}
        """)
        #expect(t == SpecTable(entries: [
            ("s", str("a\"é😀/\n", 1)),
            ("i", int(-12, 1)),
            ("f", flt(2.5, 1)),
            ("e", flt(100, 1)),
            ("b", node(.bool(false), 2)),
            ("arr", arr([int(1, 2), tbl(3, [("k", arr([], 3))])], 2)),
            ("o", tbl(3, [])),
        ].map { (key: $0.0, node: $0.1) }))
    }

    static let malformedJSON: [(String, Int, Int, String)] = [
        ("[1, 2]", 1, 1, "top level of a JSON spec must be an object"),
        ("{\n  \"a\": 1,\n  \"a\": 2\n}", 3, 3, "duplicate key 'a'"),
        ("{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "expected ',' or '}'"),
        ("{\"a\": 1,}", 1, 9, "trailing comma"),
        ("{\"a\": 01}", 1, 7, "leading zeros"),
        ("{\"a\": 9223372036854775808}", 1, 7, "integer overflow"),
        ("{\"a\": null}", 1, 7, "null is not supported"),
        ("{\"a\": \"x\ny\"}", 1, 7, "unterminated string"),
        ("{\"a\": \"\\x\"}", 1, 8, "invalid escape sequence"),
        ("{\"a\": \"\\ud800\"}", 1, 8, "unpaired surrogate"),
        ("{\"a\" 1}", 1, 6, "missing ':'"),
        ("{\n\"a\": [1,\n2\n", 2, 6, "unterminated array"),
        ("{\"a\": 1.}", 1, 9, "expected a digit"),
        ("{\"a\": tru}", 1, 7, "invalid value 'tru'"),
        ("{} x", 1, 4, "unexpected 'x'"),
        ("{a: 1}", 1, 2, "expected a string key"),
        ("{\"a\": -1e400}", 1, 7, "float overflow"),
    ]

    @Test(arguments: 0..<malformedJSON.count)
    func malformedJSONReportsLineAndColumn(_ index: Int) {
        let (input, line, column, fragment) = Self.malformedJSON[index]
        guard let error = jsonError(input) else {
            Issue.record("expected an error for \(input.debugDescription)")
            return
        }
        #expect(error.line == line, "\(input.debugDescription): \(error)")
        #expect(error.column == column, "\(input.debugDescription): \(error)")
        #expect(error.message.contains(fragment), "\(input.debugDescription): \(error)")
    }

    @Test func jsonExcessiveNesting() {
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000)
        #expect(jsonError(deep)?.message.contains("nesting too deep") == true)
        let ok = "{\"a\":" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"
        #expect(jsonError(ok) == nil)
    }

    // MARK: - Fuzz

    @Test func randomAndMutatedInputsNeverCrash() {
        var rng = SplitMix64(seed: 0x5EED_1234)
        let alphabet = Array("abcxyz019_-+.=[]{}\"'#,:\\ \t\n\r\u{0}\u{7F}eEinftruxob\u{E9}\u{1F600}".unicodeScalars)
        let seeds = [realisticSpec, realisticSpecJSON, "a = [1, [2, {b = 'c'}]]\n[[x.y]]\nz = \"\"\"q\\n\"\"\""]
        var parsedTOML = 0
        var parsedJSON = 0
        var failures = 0
        for iteration in 0..<3000 {
            let text: String
            if iteration % 3 == 0 {
                var scalars = String.UnicodeScalarView()
                for _ in 0..<rng.next(below: 200) {
                    if rng.next(below: 10) == 0 {
                        scalars.append(Unicode.Scalar(UInt8(truncatingIfNeeded: rng.next())))
                    } else {
                        scalars.append(alphabet[rng.next(below: alphabet.count)])
                    }
                }
                text = String(scalars)
            } else {
                var scalars = Array(seeds[rng.next(below: seeds.count)].unicodeScalars)
                for _ in 0...rng.next(below: 6) {
                    let position = rng.next(below: scalars.count + 1)
                    switch rng.next(below: 4) {
                    case 0 where position < scalars.count: scalars.remove(at: position)
                    case 1 where position < scalars.count: scalars[position] = alphabet[rng.next(below: alphabet.count)]
                    case 2:
                        let end = min(scalars.count, position + rng.next(below: 20))
                        scalars.insert(contentsOf: Array(scalars[position..<end]), at: rng.next(below: scalars.count + 1))
                    default: scalars.insert(alphabet[rng.next(below: alphabet.count)], at: position)
                    }
                }
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars)
                text = String(view)
            }
            let lineCount = text.unicodeScalars.filter { $0 == "\n" }.count + 1
            for parser in 0..<2 {
                do {
                    _ = parser == 0 ? try TOMLParser.parse(text) : try JSONSpecParser.parse(text)
                    if parser == 0 { parsedTOML += 1 } else { parsedJSON += 1 }
                } catch {
                    failures += 1
                    // Errors must point inside the input.
                    #expect(error.line >= 1 && error.line <= lineCount, "\(text.debugDescription): \(error)")
                    #expect(error.column >= 1, "\(text.debugDescription): \(error)")
                }
            }
        }
        // The mutations are mild enough that some inputs still parse, and random ones mostly fail.
        #expect(parsedTOML > 0)
        #expect(parsedJSON > 0)
        #expect(failures > 1000)
    }
}

