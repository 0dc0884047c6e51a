// A strict JSON (RFC 8259) parser producing the same `SpecTable` tree as the
// TOML parser, with the source line of every key and array element.

/// Parses JSON job specs into a `SpecTable`.
///
/// The top level must be an object. Numbers without '.', 'e' or 'E' become
/// `.integer` (an error if they overflow `Int`), all others `.float`.
/// `null` is rejected; duplicate keys are errors.
public enum JSONSpecParser {
    public static func parse(_ text: String) throws(SpecParseError) -> SpecTable {
        var parser = JSONDocumentParser(text)
        return try parser.parseDocument()
    }
}

struct JSONDocumentParser {
    typealias Cursor = SpecTextCursor
    var cur: SpecTextCursor

    init(_ text: String) {
        cur = SpecTextCursor(text)
    }

    mutating func parseDocument() throws(SpecParseError) -> SpecTable {
        skipWhitespace()
        guard cur.peek() == "{" else {
            throw cur.error("the top level of a JSON spec must be an object, found \(Cursor.describe(cur.peek()))")
        }
        var root = try parseObject(depth: 0)
        root.line = nil
        skipWhitespace()
        if let c = cur.peek() {
            throw cur.error("unexpected \(Cursor.describe(c)) after the top-level object")
        }
        return root
    }

    mutating func skipWhitespace() {
        while let c = cur.peek(), c == " " || c == "\t" || c == "\n" || c == "\r" { cur.advance() }
    }

    func tooDeep() -> SpecParseError {
        cur.error("nesting too deep (maximum depth is \(specMaxNestingDepth))")
    }

    mutating func parseObject(depth: Int) throws(SpecParseError) -> SpecTable {
        if depth > specMaxNestingDepth { throw tooDeep() }
        let start = cur.mark
        cur.advance()  // '{'
        var table = SpecTable(entries: [], line: start.line)
        var seen: [String: Int] = [:]
        skipWhitespace()
        if cur.peek() == "}" {
            cur.advance()
            return table
        }
        while true {
            skipWhitespace()
            guard let c = cur.peek() else { throw cur.error("unterminated object", at: start) }
            guard c == "\"" else { throw cur.error("expected a string key, found \(Cursor.describe(c))") }
            let keyMark = cur.mark
            let key = try parseString()
            if let first = seen[key] {
                throw cur.error("duplicate key '\(key.shortened())' (first defined on line \(first))", at: keyMark)
            }
            seen[key] = keyMark.line
            skipWhitespace()
            guard cur.peek() == ":" else {
                throw cur.error("missing ':' after key '\(key.shortened())', found \(Cursor.describe(cur.peek()))")
            }
            cur.advance()
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            table.entries.append((key, SpecNode(value: value, line: keyMark.line)))
            skipWhitespace()
            guard let next = cur.peek() else { throw cur.error("unterminated object", at: start) }
            if next == "}" {
                cur.advance()
                return table
            }
            guard next == "," else {
                throw cur.error("expected ',' or '}' in object, found \(Cursor.describe(next))")
            }
            cur.advance()
            skipWhitespace()
            if cur.peek() == "}" { throw cur.error("trailing comma is not allowed in JSON") }
        }
    }

    mutating func parseArray(depth: Int) throws(SpecParseError) -> SpecValue {
        if depth > specMaxNestingDepth { throw tooDeep() }
        let start = cur.mark
        cur.advance()  // '['
        var items: [SpecNode] = []
        skipWhitespace()
        if cur.peek() == "]" {
            cur.advance()
            return .array(items)
        }
        while true {
            skipWhitespace()
            guard cur.peek() != nil else { throw cur.error("unterminated array", at: start) }
            let line = cur.line
            items.append(SpecNode(value: try parseValue(depth: depth + 1), line: line))
            skipWhitespace()
            guard let next = cur.peek() else { throw cur.error("unterminated array", at: start) }
            if next == "]" {
                cur.advance()
                return .array(items)
            }
            guard next == "," else {
                throw cur.error("expected ',' or ']' in array, found \(Cursor.describe(next))")
            }
            cur.advance()
            skipWhitespace()
            if cur.peek() == "]" { throw cur.error("trailing comma is not allowed in JSON") }
        }
    }

    mutating func parseValue(depth: Int) throws(SpecParseError) -> SpecValue {
        guard let c = cur.peek() else { throw cur.error("expected a value, found end of input") }
        switch c {
        case "{": return .table(try parseObject(depth: depth))
        case "[": return try parseArray(depth: depth)
        case "\"": return .string(try parseString())
        case "-", "0"..."9": return try parseNumber()
        default:
            let mark = cur.mark
            var word = String.UnicodeScalarView()
            while let w = cur.peek(), w.properties.isAlphabetic || Cursor.isDigit(w) || w == "_" {
                word.append(w)
                cur.advance()
            }
            switch String(word) {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null": throw cur.error("null is not supported in specs", at: mark)
            case "": throw cur.error("expected a value, found \(Cursor.describe(c))", at: mark)
            case let other: throw cur.error("invalid value '\(other.shortened())'", at: mark)
            }
        }
    }

    mutating func parseNumber() throws(SpecParseError) -> SpecValue {
        let mark = cur.mark
        var text = String.UnicodeScalarView()
        var isFloat = false
        func take(_ cur: inout SpecTextCursor, _ text: inout String.UnicodeScalarView) {
            text.append(cur.peek()!)
            cur.advance()
        }
        func digits(_ cur: inout SpecTextCursor, _ text: inout String.UnicodeScalarView) -> Int {
            var n = 0
            while let d = cur.peek(), Cursor.isDigit(d) {
                take(&cur, &text)
                n += 1
            }
            return n
        }
        if cur.peek() == "-" { take(&cur, &text) }
        if cur.peek() == "0" {
            take(&cur, &text)
            if let d = cur.peek(), Cursor.isDigit(d) {
                throw cur.error("leading zeros are not allowed in numbers", at: mark)
            }
        } else if digits(&cur, &text) == 0 {
            throw cur.error("invalid number: expected a digit, found \(Cursor.describe(cur.peek()))")
        }
        if cur.peek() == "." {
            isFloat = true
            take(&cur, &text)
            if digits(&cur, &text) == 0 {
                throw cur.error("invalid number: expected a digit after '.', found \(Cursor.describe(cur.peek()))")
            }
        }
        if cur.peek() == "e" || cur.peek() == "E" {
            isFloat = true
            take(&cur, &text)
            if cur.peek() == "+" || cur.peek() == "-" { take(&cur, &text) }
            if digits(&cur, &text) == 0 {
                throw cur.error("invalid number: expected a digit in exponent, found \(Cursor.describe(cur.peek()))")
            }
        }
        let string = String(text)
        if isFloat {
            guard let value = Double(string) else { throw cur.error("invalid number '\(string)'", at: mark) }
            guard value.isFinite else {
                throw cur.error("float overflow: '\(string)' is out of range for a 64-bit float", at: mark)
            }
            return .float(value)
        }
        guard let value = Int(string) else {
            throw cur.error("integer overflow: '\(string)' does not fit in a 64-bit integer", at: mark)
        }
        return .integer(value)
    }

    mutating func parseString() throws(SpecParseError) -> String {
        let start = cur.mark
        cur.advance()  // '"'
        var out = String.UnicodeScalarView()
        while true {
            guard let c = cur.peek() else { throw cur.error("unterminated string", at: start) }
            switch c {
            case "\"":
                cur.advance()
                return String(out)
            case "\\":
                let escapeMark = cur.mark
                cur.advance()
                guard let e = cur.peek() else { throw cur.error("unterminated string", at: start) }
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "/": out.append("/")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    cur.advance()
                    let high = try hex4(escapeMark)
                    if (0xD800...0xDBFF).contains(high) {
                        guard cur.peek() == "\\" && cur.peek(1) == "u" else {
                            throw cur.error("invalid unicode escape: unpaired surrogate", at: escapeMark)
                        }
                        cur.advance(2)
                        let low = try hex4(escapeMark)
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw cur.error("invalid unicode escape: unpaired surrogate", at: escapeMark)
                        }
                        out.append(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!)
                    } else {
                        guard let scalar = Unicode.Scalar(high) else {
                            throw cur.error("invalid unicode escape: unpaired surrogate", at: escapeMark)
                        }
                        out.append(scalar)
                    }
                    continue
                default:
                    let shown = Cursor.isControl(e) ? Cursor.hex(e) : String(e)
                    throw cur.error("invalid escape sequence '\\\(shown)'", at: escapeMark)
                }
                cur.advance()
            default:
                if c.value < 0x20 {
                    if c == "\n" || c == "\r" { throw cur.error("unterminated string", at: start) }
                    throw cur.error("control character \(Cursor.hex(c)) is not allowed in strings")
                }
                out.append(c)
                cur.advance()
            }
        }
    }

    /// Reads exactly four hex digits at the cursor.
    mutating func hex4(_ escapeMark: SpecTextMark) throws(SpecParseError) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 {
            guard let h = cur.peek(i), let v = Cursor.hexValue(h) else {
                throw cur.error("invalid unicode escape: '\\u' needs 4 hexadecimal digits", at: escapeMark)
            }
            value = value * 16 + v
        }
        cur.advance(4)
        return value
    }
}
