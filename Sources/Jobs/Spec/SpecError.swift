/// A job spec that cannot run, with the key path, the value, what is required, and where.
/// Printed as one line: `experiment[2].learning_rate must be > 0, got -0.1 (experiment 'sgd', line 12)`.
public struct SpecError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads one table of a spec, remembering which keys were read so that everything else
/// can be reported as unknown.
public struct TableReader {
    let table: SpecTable
    let path: String
    let context: String?
    private(set) var used: Set<String> = []

    init(_ table: SpecTable, path: String, context: String? = nil) {
        self.table = table
        self.path = path
        self.context = context
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func location(_ line: Int?) -> String {
        var parts: [String] = []
        if let context { parts.append(context) }
        if let line { parts.append("line \(line)") }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))"
    }

    func error(_ key: String, _ message: String, line: Int? = nil) -> SpecError {
        SpecError("\(keyPath(key)) \(message)\(location(line ?? table[key]?.line ?? table.line))")
    }

    func has(_ key: String) -> Bool { table[key] != nil }

    mutating func node(_ key: String) -> SpecNode? {
        used.insert(key)
        return table[key]
    }

    /// A value as written, at most about 80 characters of it (`String.shortened`).
    static func describe(_ value: SpecValue) -> String { describeInFull(value).shortened() }

    private static func describeInFull(_ value: SpecValue) -> String {
        switch value {
        case .string(let s): "\"\(s)\""
        case .integer(let i): String(i)
        case .float(let x): "\(x)"
        case .bool(let b): b ? "true" : "false"
        case .array(let items): "[" + items.prefix(40).map { describeInFull($0.value) }.joined(separator: ", ") + (items.count > 40 ? ", …]" : "]")
        case .table: "{…}"
        }
    }

    mutating func string(_ key: String, required: Bool = false, allowed: [String]? = nil) throws(SpecError) -> String? {
        guard let n = node(key) else {
            if required { throw error(key, "is required") }
            return nil
        }
        guard case .string(let s) = n.value else {
            throw error(key, "must be a string, got \(n.value.typeName) \(TableReader.describe(n.value))", line: n.line)
        }
        if let allowed, !allowed.contains(s) {
            throw error(key, "must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(s.shortened())\"", line: n.line)
        }
        return s
    }

    static func number(_ v: SpecValue) -> Double? {
        switch v {
        case .integer(let i): Double(i)
        case .float(let x): x
        default: nil
        }
    }

    mutating func double(_ key: String) throws(SpecError) -> Double? {
        guard let n = node(key) else { return nil }
        guard let x = TableReader.number(n.value) else {
            throw error(key, "must be a number, got \(n.value.typeName) \(TableReader.describe(n.value))", line: n.line)
        }
        return x
    }

    /// A number or an array of numbers (a sweep axis).
    mutating func sweep(_ key: String) throws(SpecError) -> [Double]? {
        guard let n = node(key) else { return nil }
        if let x = TableReader.number(n.value) { return [x] }
        guard case .array(let items) = n.value else {
            throw error(key, "must be a number or an array of numbers, got \(n.value.typeName) \(TableReader.describe(n.value))", line: n.line)
        }
        guard !items.isEmpty else { throw error(key, "must not be an empty array", line: n.line) }
        var values: [Double] = []
        for item in items {
            guard let x = TableReader.number(item.value) else {
                throw error(key, "must contain only numbers, got \(item.value.typeName) \(TableReader.describe(item.value))", line: item.line ?? n.line)
            }
            values.append(x)
        }
        return values
    }

    mutating func integer(_ key: String) throws(SpecError) -> Int? {
        guard let n = node(key) else { return nil }
        switch n.value {
        case .integer(let i): return i
        case .float(let x) where x == x.rounded() && abs(x) < 9e15: return Int(x)
        default:
            throw error(key, "must be an integer, got \(n.value.typeName) \(TableReader.describe(n.value))", line: n.line)
        }
    }

    mutating func bool(_ key: String) throws(SpecError) -> Bool? {
        guard let n = node(key) else { return nil }
        guard case .bool(let b) = n.value else {
            throw error(key, "must be true or false, got \(n.value.typeName) \(TableReader.describe(n.value))", line: n.line)
        }
        return b
    }

    /// A plain array of numbers (a vector, not a sweep).
    mutating func vector(_ key: String) throws(SpecError) -> [Double]? {
        guard let n = node(key) else { return nil }
        guard case .array(let items) = n.value else {
            if let x = TableReader.number(n.value) { return [x] }
            throw error(key, "must be an array of numbers, got \(n.value.typeName) \(TableReader.describe(n.value))", line: n.line)
        }
        var values: [Double] = []
        for item in items {
            guard let x = TableReader.number(item.value) else {
                throw error(key, "must contain only numbers, got \(item.value.typeName) \(TableReader.describe(item.value))", line: item.line ?? n.line)
            }
            values.append(x)
        }
        return values
    }

    mutating func table(_ key: String, required: Bool = false, context: String? = nil) throws(SpecError) -> TableReader? {
        guard let n = node(key) else {
            if required { throw error(key, "is required (a table)") }
            return nil
        }
        guard case .table(let t) = n.value else {
            throw error(key, "must be a table, got \(n.value.typeName) \(TableReader.describe(n.value))", line: n.line)
        }
        return TableReader(t, path: keyPath(key), context: context ?? self.context)
    }

    /// Rejects keys that were never read, naming the allowed ones.
    func rejectUnknown(allowed: [String]? = nil) throws(SpecError) {
        for (key, n) in table.entries where !used.contains(key) {
            let hint = (allowed ?? Array(used).sorted()).map { "'\($0)'" }.joined(separator: ", ")
            throw SpecError("unknown key '\(keyPath(key).shortened())'\(location(n.line)); allowed here: \(hint)")
        }
    }
}
