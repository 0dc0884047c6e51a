import Foundation

/// Key-level differences between two job specs (line numbers and formatting ignored).
public enum SpecDiff {
    /// Canonical text of a value, without source lines.
    static func canonical(_ v: SpecValue) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return "\(i)"
        case .float(let x): return x.isNaN ? "nan" : "\(x)f"
        case .bool(let b): return b ? "true" : "false"
        case .array(let items): return "[" + items.map { canonical($0.value) }.joined(separator: ",") + "]"
        case .table(let t): return "{" + t.entries.map { "\($0.key)=\(canonical($0.node.value))" }.joined(separator: ",") + "}"
        }
    }

    static func root(_ text: String) throws(SpecParseError) -> SpecTable {
        text.drop { $0.isWhitespace }.first == "{" ? try JSONSpecParser.parse(text) : try TOMLParser.parse(text)
    }

    /// Human-readable differences, empty when the two specs mean the same.
    public static func differences(old: String, new: String) -> [String] {
        if old == new { return [] }
        let a: SpecTable, b: SpecTable
        do { a = try root(old); b = try root(new) } catch { return ["the stored spec does not parse (\(error))"] }
        var out: [String] = []
        let keys = a.keys + b.keys.filter { !a.keys.contains($0) }
        for key in keys where key != "experiment" {
            let x = a[key].map { canonical($0.value) }, y = b[key].map { canonical($0.value) }
            if x != y { out.append("'\(key)'") }
        }
        func experiments(_ t: SpecTable) -> [SpecTable] {
            guard case .array(let items)? = t["experiment"]?.value else { return [] }
            return items.compactMap { if case .table(let e) = $0.value { e } else { nil } }
        }
        let ea = experiments(a), eb = experiments(b)
        if ea.count != eb.count { out.append("experiment count \(ea.count) → \(eb.count)") }
        for (k, (x, y)) in zip(ea, eb).enumerated() {
            let ks = x.keys + y.keys.filter { !x.keys.contains($0) }
            let changed = ks.filter { key in x[key].map { canonical($0.value) } != y[key].map { canonical($0.value) } }
            if !changed.isEmpty {
                let name = (y["name"]?.value).flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "#\(k + 1)"
                out.append("experiment[\(k + 1)] '\(name)' (\(changed.joined(separator: ", ")))")
            }
        }
        return out
    }
}
