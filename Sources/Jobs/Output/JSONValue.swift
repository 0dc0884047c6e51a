import Foundation

/// A JSON value with ordered object keys and a deterministic serialiser, so the same
/// results always print the same bytes (Foundation's serialiser reorders keys and its
/// number formatting varies).
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    public static func number(_ x: Double?) -> JSONValue {
        guard let x else { return .null }
        return .double(x)
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
        return nil
    }

    /// Compact when `indent` is nil, else pretty with that many spaces per level.
    public func serialized(indent: Int? = nil) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    /// A parameter as written: a whole number as an integer (`1`, not `1.0`), any other in
    /// the shortest form that reads back to the same double.
    public static func shortest(_ x: Double) -> JSONValue {
        x.isFinite && x == x.rounded() && abs(x) < 1e15 ? .int(Int(x)) : .double(x)
    }

    private func write(into out: inout String, indent: Int?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let x):
            if x.isNaN || x.isInfinite { out += "null"; return }
            // an integral value as "%.1f" would print it (with its sign: -0.0), without Foundation's formatter
            if x == x.rounded(), abs(x) < 1e15 { out += x == 0 && x.sign == .minus ? "-0.0" : "\(Int64(x)).0" } else { out += "\(x)" }
        case .string(let s): JSONValue.escape(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            let scalar = items.allSatisfy { if case .array = $0 { false } else if case .object = $0 { false } else { true } }
            out += "["
            for (k, item) in items.enumerated() {
                if k > 0 { out += indent == nil || scalar ? (indent == nil ? "," : ", ") : "," }
                if let indent, !scalar { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                item.write(into: &out, indent: indent, level: level + 1)
            }
            if let indent, !scalar { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{"
            for (k, (key, value)) in pairs.enumerated() {
                if k > 0 { out += "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                JSONValue.escape(key, into: &out)
                out += indent == nil ? ":" : ": "
                value.write(into: &out, indent: indent, level: level + 1)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "}"
        }
    }

    /// `s` as a JSON string literal, escaped exactly as Python's `json.dumps(ensure_ascii=False)`
    /// does (so notebooks written here are byte-identical to nbformat's own output).
    public static func quoted(_ s: String) -> String {
        var out = ""
        escape(s, into: &out)
        return out
    }

    static func escape(_ s: String, into out: inout String) {
        out += "\""
        // most strings need no escape: appended whole
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        out += "\""
    }
}
