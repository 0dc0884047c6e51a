import CSV
import Foundation

extension Table {
    /// The table as CSV (RFC 4180 quoting by CSV.swift: a field holding a comma, a quote or
    /// a line break is quoted, quotes doubled), a header row of the column names, records
    /// ended by LF, the last one included.
    ///
    /// Numbers are written in their shortest round-trip form (`"\(double)"`), so reading
    /// them back gives the same bits; non-finite values are `nan`, `inf`, `-inf` and a
    /// missing cell is an empty field — the spellings pandas' `read_csv` reads as such.
    public func csv() -> String {
        let stream = OutputStream(toMemory: ())
        // An in-memory stream neither fails to open nor to take bytes: a throw here is a bug.
        let writer = try! CSVWriter(stream: stream)
        for fields in [columns] + rows.map({ $0.map(Table.csvField) }) {
            // A lone empty field would be a blank line, which readers skip: quote it.
            try! writer.write(row: fields, quotedAtIndex: { _ in fields == [""] })
        }
        stream.close()
        let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func csvField(_ cell: Cell) -> String {
        switch cell {
        case .text(let text): text
        case .integer(let value): String(value)
        case .number(let value): value.isNaN ? "nan" : "\(value)"  // "-nan" is not a pandas spelling
        case .missing: ""
        }
    }
}
