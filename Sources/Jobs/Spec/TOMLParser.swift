// A hand-written TOML 1.0 parser (without dates and times) that records the
// source line of every key, array element and table header.

/// Parses TOML job specs into a `SpecTable`.
///
/// Supported: comments, bare / quoted / dotted keys, `[table]`, `[[array.of.tables]]`,
/// basic / literal / multi-line strings with escapes, integers (decimal with `_`,
/// sign, `0x` / `0o` / `0b`), floats (incl. `inf` / `nan`), booleans, arrays
/// (multi-line, trailing comma, comments, mixed types) and single-line inline tables.
/// Dates and times are rejected with "dates and times are not supported".
public enum TOMLParser {
    public static func parse(_ text: String) throws(SpecParseError) -> SpecTable {
        var parser = TOMLDocumentParser(text)
        return try parser.parseDocument()
    }
}

// MARK: - Mutable document model used while parsing

final class TOMLMutableTable {
    enum Kind {
        /// Created as an intermediate of a header path (`[a.b]` creates `a`); may be defined later.
        case implicit
        /// Defined by a `[header]` (or the root, or an `[[array]]` element).
        case explicit
        /// Created by a dotted key (`a.b = 1` creates `a`).
        case dotted
        /// Inline table `{ ... }`; closed once parsed.
        case inline
    }

    enum Item {
        case value(SpecNode)
        case table(TOMLMutableTable)
        case tables(TOMLTableArray)

        var line: Int? {
            switch self {
            case .value(let node): return node.line
            case .table(let table): return table.line
            case .tables(let array): return array.line
            }
        }

        var typeDescription: String {
            switch self {
            case .value(let node): return node.value.typeName
            case .table: return "table"
            case .tables: return "array of tables"
            }
        }
    }

    var kind: Kind
    var line: Int?
    let depth: Int
    var order: [String] = []
    var items: [String: Item] = [:]

    init(kind: Kind, line: Int?, depth: Int) {
        self.kind = kind
        self.line = line
        self.depth = depth
    }

    func set(_ key: String, _ item: Item) {
        if items.updateValue(item, forKey: key) == nil { order.append(key) }
    }

    func freeze() -> SpecTable {
        var entries: [(key: String, node: SpecNode)] = []
        entries.reserveCapacity(order.count)
        for key in order {
            guard let item = items[key] else { continue }
            switch item {
            case .value(let node):
                entries.append((key, node))
            case .table(let table):
                entries.append((key, SpecNode(value: .table(table.freeze()), line: table.line)))
            case .tables(let array):
                let elements = array.elements.map { SpecNode(value: .table($0.freeze()), line: $0.line) }
                entries.append((key, SpecNode(value: .array(elements), line: array.line)))
            }
        }
        return SpecTable(entries: entries, line: line)
    }
}

final class TOMLTableArray {
    var elements: [TOMLMutableTable] = []
    let line: Int
    init(line: Int) { self.line = line }
}

// MARK: - Parser

struct TOMLDocumentParser {
    typealias Cursor = SpecTextCursor

    struct KeyPart {
        var name: String
        var mark: SpecTextMark
    }

    var cur: SpecTextCursor
    let root: TOMLMutableTable
    var current: TOMLMutableTable

    init(_ text: String) {
        cur = SpecTextCursor(text)
        root = TOMLMutableTable(kind: .explicit, line: nil, depth: 0)
        current = root
    }

    // MARK: Document structure

    mutating func parseDocument() throws(SpecParseError) -> SpecTable {
        while true {
            skipWhitespace()
            guard let c = cur.peek() else { break }
            switch c {
            case "#", "\n", "\r":
                try expectLineEnd(after: "comment")
            case "[":
                try parseHeader()
                try expectLineEnd(after: "table header")
            default:
                try parseKeyValue(into: current)
                try expectLineEnd(after: "value")
            }
        }
        return root.freeze()
    }

    mutating func skipWhitespace() {
        while let c = cur.peek(), c == " " || c == "\t" { cur.advance() }
    }

    mutating func skipComment() throws(SpecParseError) {
        cur.advance()  // '#'
        while let c = cur.peek(), c != "\n" {
            if c == "\r" && cur.peek(1) == "\n" { break }
            if Cursor.isControl(c) && c != "\t" {
                throw cur.error("control character \(Cursor.hex(c)) is not allowed in comments")
            }
            cur.advance()
        }
    }

    /// Skips trailing whitespace and comment, then requires a newline or end of input.
    mutating func expectLineEnd(after what: String) throws(SpecParseError) {
        skipWhitespace()
        if cur.peek() == "#" { try skipComment() }
        guard let c = cur.peek() else { return }
        if c == "\n" { cur.advance(); return }
        if c == "\r" {
            if cur.peek(1) == "\n" { cur.advance(2); return }
            throw cur.error("control character U+000D is not allowed (bare carriage return)")
        }
        throw cur.error("unexpected \(Cursor.describe(c)) after \(what)")
    }

    /// Skips whitespace, newlines and comments (inside arrays).
    mutating func skipBlank() throws(SpecParseError) {
        while let c = cur.peek() {
            switch c {
            case " ", "\t", "\n":
                cur.advance()
            case "\r" where cur.peek(1) == "\n":
                cur.advance(2)
            case "#":
                try skipComment()
            default:
                return
            }
        }
    }

    // MARK: Keys

    static func isBareKeyChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x5F, 0x2D: return true
        default: return false
        }
    }

    static func joined(_ key: [KeyPart]) -> String {
        key.map { part in
            part.name.unicodeScalars.allSatisfy(isBareKeyChar) && !part.name.isEmpty
                ? part.name : "\"\(part.name)\""
        }.joined(separator: ".")
    }

    mutating func parseKey() throws(SpecParseError) -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            skipWhitespace()
            parts.append(try parseSimpleKey())
            skipWhitespace()
            guard cur.peek() == "." else { return parts }
            cur.advance()
        }
    }

    mutating func parseSimpleKey() throws(SpecParseError) -> KeyPart {
        let mark = cur.mark
        guard let c = cur.peek() else { throw cur.error("expected a key, found end of input") }
        if c == "\"" {
            if cur.peek(1) == "\"" && cur.peek(2) == "\"" {
                throw cur.error("multi-line strings cannot be used as keys")
            }
            return KeyPart(name: try parseBasicString(), mark: mark)
        }
        if c == "'" {
            if cur.peek(1) == "'" && cur.peek(2) == "'" {
                throw cur.error("multi-line strings cannot be used as keys")
            }
            return KeyPart(name: try parseLiteralString(), mark: mark)
        }
        guard Self.isBareKeyChar(c) else {
            throw cur.error("expected a key, found \(Cursor.describe(c))")
        }
        var name = String.UnicodeScalarView()
        while let k = cur.peek(), Self.isBareKeyChar(k) {
            name.append(k)
            cur.advance()
        }
        return KeyPart(name: String(name), mark: mark)
    }

    // MARK: Key/value pairs and headers

    mutating func parseKeyValue(into table: TOMLMutableTable) throws(SpecParseError) {
        let key = try parseKey()
        let name = Self.joined(key)
        skipWhitespace()
        guard cur.peek() == "=" else {
            throw cur.error("missing '=' after key '\(name.shortened())', found \(Cursor.describe(cur.peek()))")
        }
        cur.advance()
        skipWhitespace()
        let value = try parseValue(depth: table.depth + key.count, key: name)
        try insert(key, value: value, into: table)
    }

    /// Inserts `a.b.c = value` into `table`, creating dotted sub-tables as needed.
    mutating func insert(_ key: [KeyPart], value: SpecValue, into table: TOMLMutableTable) throws(SpecParseError) {
        var t = table
        for (i, part) in key.dropLast().enumerated() {
            if let existing = t.items[part.name] {
                guard case .table(let sub) = existing, sub.kind == .dotted else {
                    let path = Self.joined(Array(key[...i]))
                    throw cur.error(
                        "duplicate key '\(path)' (already defined as \(Self.article(existing.typeDescription))\(Self.onLine(existing.line)))",
                        at: part.mark)
                }
                t = sub
            } else {
                let sub = try newTable(kind: .dotted, line: part.mark.line, parent: t, at: part.mark)
                t.set(part.name, .table(sub))
                t = sub
            }
        }
        let last = key[key.count - 1]
        if let existing = t.items[last.name] {
            throw cur.error(
                "duplicate key '\(Self.joined(key))' (first defined\(Self.onLine(existing.line)))",
                at: last.mark)
        }
        t.set(last.name, .value(SpecNode(value: value, line: key[0].mark.line)))
    }

    static func article(_ noun: String) -> String {
        (noun.first.map { "aeiou".contains($0) } ?? false ? "an " : "a ") + noun
    }

    static func onLine(_ line: Int?) -> String {
        line.map { " on line \($0)" } ?? ""
    }

    func newTable(kind: TOMLMutableTable.Kind, line: Int?, parent: TOMLMutableTable,
                  at mark: SpecTextMark, extra: Int = 1) throws(SpecParseError) -> TOMLMutableTable {
        let depth = parent.depth + extra
        if depth > specMaxNestingDepth {
            throw cur.error("nesting too deep (maximum depth is \(specMaxNestingDepth))", at: mark)
        }
        return TOMLMutableTable(kind: kind, line: line, depth: depth)
    }

    mutating func parseHeader() throws(SpecParseError) {
        let start = cur.mark
        cur.advance()  // '['
        let isArray = cur.peek() == "["
        if isArray { cur.advance() }
        let key = try parseKey()
        if isArray {
            guard cur.peek() == "]" && cur.peek(1) == "]" else {
                throw cur.error("expected ']]' to close array-of-tables header, found \(Cursor.describe(cur.peek()))")
            }
            cur.advance(2)
        } else {
            guard cur.peek() == "]" else {
                throw cur.error("expected ']' to close table header, found \(Cursor.describe(cur.peek()))")
            }
            cur.advance()
        }
        let line = start.line

        var t = root
        for (i, part) in key.dropLast().enumerated() {
            if let existing = t.items[part.name] {
                switch existing {
                case .table(let sub):
                    t = sub
                case .tables(let array):
                    t = array.elements[array.elements.count - 1]
                case .value(let node):
                    let path = Self.joined(Array(key[...i]))
                    throw cur.error(
                        "duplicate key '\(path)' (already defined as \(Self.article(node.value.typeName))\(Self.onLine(node.line)))",
                        at: part.mark)
                }
            } else {
                let sub = try newTable(kind: .implicit, line: line, parent: t, at: part.mark)
                t.set(part.name, .table(sub))
                t = sub
            }
        }

        let last = key[key.count - 1]
        let name = Self.joined(key)
        if isArray {
            let array: TOMLTableArray
            if let existing = t.items[last.name] {
                guard case .tables(let a) = existing else {
                    throw cur.error(
                        "cannot define array of tables '[[\(name)]]': '\(name.shortened())' is already defined as \(Self.article(existing.typeDescription))\(Self.onLine(existing.line))",
                        at: last.mark)
                }
                array = a
            } else {
                array = TOMLTableArray(line: line)
                t.set(last.name, .tables(array))
            }
            let element = try newTable(kind: .explicit, line: line, parent: t, at: last.mark, extra: 2)
            array.elements.append(element)
            current = element
        } else {
            if let existing = t.items[last.name] {
                switch existing {
                case .table(let sub) where sub.kind == .implicit:
                    sub.kind = .explicit
                    sub.line = line
                    current = sub
                    return
                case .table(let sub):
                    throw cur.error("duplicate table '[\(name.shortened())]' (already defined\(Self.onLine(sub.line)))", at: last.mark)
                default:
                    throw cur.error(
                        "duplicate key '\(name.shortened())' (already defined as \(Self.article(existing.typeDescription))\(Self.onLine(existing.line)))",
                        at: last.mark)
                }
            }
            let sub = try newTable(kind: .explicit, line: line, parent: t, at: last.mark)
            t.set(last.name, .table(sub))
            current = sub
        }
    }

    // MARK: Values

    mutating func parseValue(depth: Int, key: String?) throws(SpecParseError) -> SpecValue {
        guard let c = cur.peek(), c != "\n", c != "\r", c != "#" else {
            if let key { throw cur.error("missing value for key '\(key.shortened())'") }
            throw cur.error("expected a value, found \(Cursor.describe(cur.peek()))")
        }
        switch c {
        case "\"":
            if cur.peek(1) == "\"" && cur.peek(2) == "\"" { return .string(try parseMultilineBasicString()) }
            return .string(try parseBasicString())
        case "'":
            if cur.peek(1) == "'" && cur.peek(2) == "'" { return .string(try parseMultilineLiteralString()) }
            return .string(try parseLiteralString())
        case "[":
            return try parseArray(depth: depth)
        case "{":
            return try parseInlineTable(depth: depth)
        default:
            return try parseWordValue()
        }
    }

    static func isWordChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x5F, 0x2D, 0x2B, 0x2E, 0x3A: return true
        default: return false
        }
    }

    /// Booleans, numbers, inf/nan, and (rejected) dates/times.
    mutating func parseWordValue() throws(SpecParseError) -> SpecValue {
        let mark = cur.mark
        var scalars = String.UnicodeScalarView()
        while let c = cur.peek(), Self.isWordChar(c) {
            scalars.append(c)
            cur.advance()
        }
        guard !scalars.isEmpty else {
            throw cur.error("expected a value, found \(Cursor.describe(cur.peek()))")
        }
        let word = String(scalars)
        if word == "true" { return .bool(true) }
        if word == "false" { return .bool(false) }
        if Self.looksLikeDateOrTime(Array(scalars)) {
            throw cur.error("dates and times are not supported", at: mark)
        }
        return try Self.parseNumber(word, at: mark, cursor: cur)
    }

    static func looksLikeDateOrTime(_ s: [Unicode.Scalar]) -> Bool {
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= s.count && range.allSatisfy { Cursor.isDigit(s[$0]) }
        }
        if digits(0..<4) && s.count > 4 && s[4] == "-" { return true }  // 1979-05-27
        if digits(0..<2) && s.count > 2 && s[2] == ":" { return true }  // 07:32:00
        return false
    }

    /// Validates `digit ( '_'? digit )*` for the given digit predicate.
    static func validDigits(_ s: Substring, _ isDigit: (Unicode.Scalar) -> Bool) -> Bool {
        var previousWasDigit = false
        for c in s.unicodeScalars {
            if c == "_" {
                if !previousWasDigit { return false }
                previousWasDigit = false
            } else if isDigit(c) {
                previousWasDigit = true
            } else {
                return false
            }
        }
        return previousWasDigit
    }

    static func parseNumber(_ word: String, at mark: SpecTextMark, cursor: SpecTextCursor) throws(SpecParseError) -> SpecValue {
        var body = Substring(word)
        var sign = ""
        if let first = body.first, first == "+" || first == "-" {
            sign = String(first)
            body = body.dropFirst()
        }
        if body == "inf" { return .float(sign == "-" ? -.infinity : .infinity) }
        if body == "nan" { return .float(.nan) }

        let startsWithDigit = body.unicodeScalars.first.map(Cursor.isDigit) ?? false
        func invalid() -> SpecParseError {
            cursor.error(startsWithDigit ? "invalid number '\(word.shortened())'" : "invalid value '\(word.shortened())'", at: mark)
        }
        guard startsWithDigit else { throw invalid() }

        // Prefixed integers.
        if body.count > 2, body.hasPrefix("0x") || body.hasPrefix("0o") || body.hasPrefix("0b") {
            let radix: Int
            let isDigit: (Unicode.Scalar) -> Bool
            switch body.dropFirst().first {
            case "x":
                radix = 16
                isDigit = { Cursor.hexValue($0) != nil }
            case "o":
                radix = 8
                isDigit = { $0.value >= 0x30 && $0.value <= 0x37 }
            default:
                radix = 2
                isDigit = { $0 == "0" || $0 == "1" }
            }
            guard sign.isEmpty else {
                throw cursor.error("a sign is not allowed on hexadecimal, octal or binary integers ('\(word.shortened())')", at: mark)
            }
            let digits = body.dropFirst(2)
            guard validDigits(digits, isDigit) else { throw invalid() }
            guard let value = Int(String(digits.filter { $0 != "_" }), radix: radix) else {
                throw cursor.error("integer overflow: '\(word.shortened())' does not fit in a 64-bit integer", at: mark)
            }
            return .integer(value)
        }

        // Decimal integer or float: int ('.' frac)? ([eE] [+-]? exp)?
        var mantissa = body
        var exponent: Substring?
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = body[..<e]
            exponent = body[body.index(after: e)...]
        }
        var intPart = mantissa
        var fracPart: Substring?
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = mantissa[..<dot]
            fracPart = mantissa[mantissa.index(after: dot)...]
        }
        guard validDigits(intPart, Cursor.isDigit) else { throw invalid() }
        if let fracPart, !validDigits(fracPart, Cursor.isDigit) { throw invalid() }
        if var exp = exponent {
            if let first = exp.first, first == "+" || first == "-" { exp = exp.dropFirst() }
            guard validDigits(exp, Cursor.isDigit) else { throw invalid() }
        }
        if intPart.count > 1 && intPart.first == "0" {
            throw cursor.error("leading zeros are not allowed ('\(word.shortened())')", at: mark)
        }
        let cleaned = sign + String(body.filter { $0 != "_" })
        if fracPart != nil || exponent != nil {
            guard let value = Double(cleaned) else { throw invalid() }
            guard value.isFinite else {
                throw cursor.error("float overflow: '\(word.shortened())' is out of range for a 64-bit float", at: mark)
            }
            return .float(value)
        }
        guard let value = Int(cleaned) else {
            throw cursor.error("integer overflow: '\(word.shortened())' does not fit in a 64-bit integer", at: mark)
        }
        return .integer(value)
    }

    // MARK: Strings

    mutating func parseBasicString() throws(SpecParseError) -> String {
        let start = cur.mark
        cur.advance()  // '"'
        var out = String.UnicodeScalarView()
        while true {
            guard let c = cur.peek(), c != "\n", c != "\r" || cur.peek(1) != "\n" else {
                throw cur.error("unterminated string", at: start)
            }
            switch c {
            case "\"":
                cur.advance()
                return String(out)
            case "\\":
                try parseEscape(into: &out, start: start)
            default:
                if Cursor.isControl(c) && c != "\t" {
                    throw cur.error("control character \(Cursor.hex(c)) is not allowed in strings")
                }
                out.append(c)
                cur.advance()
            }
        }
    }

    mutating func parseLiteralString() throws(SpecParseError) -> String {
        let start = cur.mark
        cur.advance()  // '\''
        var out = String.UnicodeScalarView()
        while true {
            guard let c = cur.peek(), c != "\n", c != "\r" || cur.peek(1) != "\n" else {
                throw cur.error("unterminated string", at: start)
            }
            if c == "'" {
                cur.advance()
                return String(out)
            }
            if Cursor.isControl(c) && c != "\t" {
                throw cur.error("control character \(Cursor.hex(c)) is not allowed in strings")
            }
            out.append(c)
            cur.advance()
        }
    }

    /// At a backslash: decodes one escape sequence.
    mutating func parseEscape(into out: inout String.UnicodeScalarView, start: SpecTextMark) throws(SpecParseError) {
        let escapeMark = cur.mark
        cur.advance()  // '\\'
        guard let e = cur.peek() else { throw cur.error("unterminated string", at: start) }
        switch e {
        case "b": out.append("\u{08}")
        case "t": out.append("\t")
        case "n": out.append("\n")
        case "f": out.append("\u{0C}")
        case "r": out.append("\r")
        case "\"": out.append("\"")
        case "\\": out.append("\\")
        case "u", "U":
            let count = e == "u" ? 4 : 8
            var value: UInt32 = 0
            for i in 1...count {
                guard let h = cur.peek(i), let v = Cursor.hexValue(h) else {
                    throw cur.error("invalid unicode escape: '\\\(e)' needs \(count) hexadecimal digits", at: escapeMark)
                }
                value = value &* 16 &+ v
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw cur.error("invalid unicode escape: U+\(String(value, radix: 16, uppercase: true)) is not a Unicode scalar value", at: escapeMark)
            }
            out.append(scalar)
            cur.advance(count + 1)
            return
        default:
            throw cur.error("invalid escape sequence '\\\(Cursor.isControl(e) || e == "\n" ? Cursor.hex(e) : String(e))'", at: escapeMark)
        }
        cur.advance()
    }

    /// Skips a newline (LF or CRLF) immediately following an opening `"""` / `'''`.
    mutating func skipOpeningNewline() {
        if cur.peek() == "\n" {
            cur.advance()
        } else if cur.peek() == "\r" && cur.peek(1) == "\n" {
            cur.advance(2)
        }
    }

    /// Handles a run of quote characters inside a multi-line string. Returns true if the string closed.
    mutating func multilineQuotes(_ quote: Unicode.Scalar, into out: inout String.UnicodeScalarView) throws(SpecParseError) -> Bool {
        var n = 0
        while cur.peek(n) == quote { n += 1 }
        if n < 3 {
            for _ in 0..<n { out.append(quote) }
            cur.advance(n)
            return false
        }
        if n > 5 {
            throw cur.error("too many quotes at the end of a multi-line string")
        }
        for _ in 0..<(n - 3) { out.append(quote) }
        cur.advance(n)
        return true
    }

    mutating func parseMultilineBasicString() throws(SpecParseError) -> String {
        let start = cur.mark
        cur.advance(3)
        skipOpeningNewline()
        var out = String.UnicodeScalarView()
        while true {
            guard let c = cur.peek() else { throw cur.error("unterminated multi-line string", at: start) }
            switch c {
            case "\"":
                if try multilineQuotes("\"", into: &out) { return String(out) }
            case "\\":
                // Line-ending backslash: '\' followed by optional whitespace and a newline.
                var j = 1
                while let w = cur.peek(j), w == " " || w == "\t" { j += 1 }
                if cur.peek(j) == "\n" || (cur.peek(j) == "\r" && cur.peek(j + 1) == "\n") {
                    cur.advance(j)
                    while let w = cur.peek() {
                        if w == " " || w == "\t" || w == "\n" {
                            cur.advance()
                        } else if w == "\r" && cur.peek(1) == "\n" {
                            cur.advance(2)
                        } else {
                            break
                        }
                    }
                } else {
                    try parseEscape(into: &out, start: start)
                }
            case "\n":
                out.append("\n")
                cur.advance()
            case "\r" where cur.peek(1) == "\n":
                out.append("\n")
                cur.advance(2)
            default:
                if Cursor.isControl(c) && c != "\t" {
                    throw cur.error("control character \(Cursor.hex(c)) is not allowed in strings")
                }
                out.append(c)
                cur.advance()
            }
        }
    }

    mutating func parseMultilineLiteralString() throws(SpecParseError) -> String {
        let start = cur.mark
        cur.advance(3)
        skipOpeningNewline()
        var out = String.UnicodeScalarView()
        while true {
            guard let c = cur.peek() else { throw cur.error("unterminated multi-line string", at: start) }
            switch c {
            case "'":
                if try multilineQuotes("'", into: &out) { return String(out) }
            case "\n":
                out.append("\n")
                cur.advance()
            case "\r" where cur.peek(1) == "\n":
                out.append("\n")
                cur.advance(2)
            default:
                if Cursor.isControl(c) && c != "\t" {
                    throw cur.error("control character \(Cursor.hex(c)) is not allowed in strings")
                }
                out.append(c)
                cur.advance()
            }
        }
    }

    // MARK: Arrays and inline tables

    mutating func parseArray(depth: Int) throws(SpecParseError) -> SpecValue {
        if depth > specMaxNestingDepth {
            throw cur.error("nesting too deep (maximum depth is \(specMaxNestingDepth))")
        }
        let start = cur.mark
        cur.advance()  // '['
        var items: [SpecNode] = []
        while true {
            try skipBlank()
            guard let c = cur.peek() else { throw cur.error("unterminated array", at: start) }
            if c == "]" {
                cur.advance()
                return .array(items)
            }
            let line = cur.line
            let value = try parseValue(depth: depth + 1, key: nil)
            items.append(SpecNode(value: value, line: line))
            try skipBlank()
            guard let next = cur.peek() else { throw cur.error("unterminated array", at: start) }
            if next == "," {
                cur.advance()
            } else if next == "]" {
                cur.advance()
                return .array(items)
            } else {
                throw cur.error("expected ',' or ']' in array, found \(Cursor.describe(next))")
            }
        }
    }

    mutating func parseInlineTable(depth: Int) throws(SpecParseError) -> SpecValue {
        if depth > specMaxNestingDepth {
            throw cur.error("nesting too deep (maximum depth is \(specMaxNestingDepth))")
        }
        let start = cur.mark
        cur.advance()  // '{'
        let table = TOMLMutableTable(kind: .inline, line: start.line, depth: depth)
        skipWhitespace()
        if cur.peek() == "}" {
            cur.advance()
            return .table(table.freeze())
        }
        while true {
            skipWhitespace()
            try checkInlineTableContinues(start: start)
            let key = try parseKey()
            let name = Self.joined(key)
            skipWhitespace()
            guard cur.peek() == "=" else {
                throw cur.error("missing '=' after key '\(name.shortened())', found \(Cursor.describe(cur.peek()))")
            }
            cur.advance()
            skipWhitespace()
            let value = try parseValue(depth: depth + key.count, key: name)
            try insert(key, value: value, into: table)
            skipWhitespace()
            try checkInlineTableContinues(start: start)
            let c = cur.peek()
            if c == "}" {
                cur.advance()
                return .table(table.freeze())
            }
            guard c == "," else {
                throw cur.error("expected ',' or '}' in inline table, found \(Cursor.describe(c))")
            }
            cur.advance()
            skipWhitespace()
            if cur.peek() == "}" {
                throw cur.error("trailing comma is not allowed in an inline table")
            }
        }
    }

    func checkInlineTableContinues(start: SpecTextMark) throws(SpecParseError) {
        guard let c = cur.peek() else { throw cur.error("unterminated inline table", at: start) }
        if c == "\n" || c == "\r" {
            throw cur.error("newlines are not allowed inside an inline table (it must fit on one line)")
        }
    }
}
