// Format-neutral tree produced by the TOML and JSON spec parsers.
//
// Every node remembers the 1-based source line of the key that introduced it
// (or of the array element / `[[table]]` header), so validation code can say
// "learning_rate must be > 0, got -0.1 (experiment 'sgd', line 12)".

#if canImport(Diffusion)
import Diffusion  // MessageText (the fuzzers compile this file together with it, in one module)
#endif

/// A value together with the source line it came from.
public struct SpecNode: Sendable, Equatable {
    public var value: SpecValue
    /// 1-based line of the key (or of the array element / `[[table]]` header); nil if unknown.
    public var line: Int?

    public init(value: SpecValue, line: Int? = nil) {
        self.value = value
        self.line = line
    }
}

/// A parsed spec value.
///
/// Equality is structural; two `.float(.nan)` values compare equal so that
/// whole trees containing `nan` can be compared.
public enum SpecValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([SpecNode])
    case table(SpecTable)

    /// "string", "integer", "float", "boolean", "array" or "table".
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .bool: return "boolean"
        case .array: return "array"
        case .table: return "table"
        }
    }

    /// The value as text that ignores where it was written: no line numbers, a table's keys
    /// in sorted order, every number as the shortest text of its Double (so `2` and `2.0`
    /// agree), strings quoted with Swift escapes (no dependency beyond this file: the fuzzers
    /// compile it alone). Two values with equal `canonical` read alike.
    public var canonical: String {
        switch self {
        case .string(let s): return s.debugDescription
        case .integer(let i):
            let x = Double(i)
            return x.magnitude < 0x1p53 ? "\(x)" : "\(i)"
        case .float(let x): return "\(x)"
        case .bool(let b): return b ? "true" : "false"
        case .array(let items): return "[" + items.map(\.value.canonical).joined(separator: ",") + "]"
        case .table(let t):
            return "{" + t.entries.sorted { $0.key < $1.key }
                .map { $0.key.debugDescription + "=" + $0.node.value.canonical }.joined(separator: ",") + "}"
        }
    }

    public static func == (lhs: SpecValue, rhs: SpecValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.float(a), .float(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.bool(a), .bool(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.table(a), .table(b)): return a == b
        default: return false
        }
    }
}

/// An ordered table of key → node.
///
/// Equality compares `line` and the entries pairwise in insertion order.
public struct SpecTable: Sendable, Equatable {
    /// Entries in source (insertion) order. Keys are unique.
    public var entries: [(key: String, node: SpecNode)]
    /// Line of the table header (`[name]`, `[[name]]`, inline table, or the first
    /// dotted key that created it); nil for the root.
    public var line: Int?

    public init(entries: [(key: String, node: SpecNode)] = [], line: Int? = nil) {
        self.entries = entries
        self.line = line
    }

    public subscript(key: String) -> SpecNode? {
        for entry in entries where entry.key == key { return entry.node }
        return nil
    }

    public var keys: [String] { entries.map(\.key) }

    public static func == (lhs: SpecTable, rhs: SpecTable) -> Bool {
        guard lhs.line == rhs.line, lhs.entries.count == rhs.entries.count else { return false }
        for (a, b) in zip(lhs.entries, rhs.entries) where a.key != b.key || a.node != b.node {
            return false
        }
        return true
    }
}

/// A syntax error with its 1-based position.
public struct SpecParseError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public let line: Int
    public let column: Int

    public init(message: String, line: Int, column: Int) {
        // one bounded line, whatever the input quoted into it (a key may hold an escaped newline)
        self.message = MessageText.oneLine(message)
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

// MARK: - Shared scanning support (internal)

/// Maximum nesting depth of arrays / tables accepted by both parsers.
let specMaxNestingDepth = 64

/// A position in the source text.
struct SpecTextMark {
    var pos: Int
    var line: Int
    var column: Int
}

/// A cursor over Unicode scalars that tracks line and column (columns count scalars).
struct SpecTextCursor {
    let scalars: [Unicode.Scalar]
    var pos = 0
    var line = 1
    var lineStart = 0

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" {  // byte-order mark
            pos = 1
            lineStart = 1
        }
    }

    var atEnd: Bool { pos >= scalars.count }
    var column: Int { pos - lineStart + 1 }
    var mark: SpecTextMark { SpecTextMark(pos: pos, line: line, column: column) }

    func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let i = pos + offset
        return i < scalars.count ? scalars[i] : nil
    }

    mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where pos < scalars.count {
            if scalars[pos] == "\n" {
                line += 1
                lineStart = pos + 1
            }
            pos += 1
        }
    }

    func error(_ message: String) -> SpecParseError {
        SpecParseError(message: message, line: line, column: column)
    }

    func error(_ message: String, at mark: SpecTextMark) -> SpecParseError {
        SpecParseError(message: message, line: mark.line, column: mark.column)
    }

    /// Human-readable description of a scalar for error messages.
    static func describe(_ c: Unicode.Scalar?) -> String {
        guard let c else { return "end of input" }
        if c == "\n" || c == "\r" { return "end of line" }
        if isControl(c) { return hex(c) }
        return "'\(Character(c))'"
    }

    static func hex(_ c: Unicode.Scalar) -> String {
        let digits = String(c.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static func isControl(_ c: Unicode.Scalar) -> Bool {
        c.value < 0x20 || c.value == 0x7F
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool {
        c.value >= 0x30 && c.value <= 0x39
    }

    static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x30...0x39: return c.value - 0x30
        case 0x41...0x46: return c.value - 0x41 + 10
        case 0x61...0x66: return c.value - 0x61 + 10
        default: return nil
        }
    }
}
