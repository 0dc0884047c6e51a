extension Figure {
    /// The figure's points as a table named after the figure, one row per point in series
    /// order: `series, x, y, y_low, y_high` (the error-bar ends missing where the series has
    /// none). The notebook rebuilds the figure from it; it is also the figure's CSV.
    public func dataTable() -> Table {
        var rows: [[Table.Cell]] = []
        for series in series {
            precondition(series.x.count == series.y.count,
                         "series '\(series.name)' of figure '\(name)': \(series.x.count) x values, \(series.y.count) y values")
            for bound in [series.yLow, series.yHigh] {
                precondition(bound == nil || bound?.count == series.y.count,
                             "series '\(series.name)' of figure '\(name)': error-bar ends must match y in length")
            }
            for j in series.x.indices {
                rows.append([.text(series.name), .number(series.x[j]), .number(series.y[j]),
                             series.yLow.map { .number($0[j]) } ?? .missing,
                             series.yHigh.map { .number($0[j]) } ?? .missing])
            }
        }
        return Table(name: name, columns: ["series", "x", "y", "y_low", "y_high"], rows: rows)
    }
}
