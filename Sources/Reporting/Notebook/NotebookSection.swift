/// One section of an exported notebook: a Markdown heading and text, then a code cell per
/// table (a pandas DataFrame) and per figure (rebuilt with matplotlib), in that order.
public struct NotebookSection: Sendable, Equatable {
    /// The section's heading, without Markdown's `##`.
    public var heading: String
    /// Markdown shown under the heading.
    public var text: String
    public var tables: [Table]
    public var figures: [Figure]

    public init(heading: String, text: String = "", tables: [Table] = [], figures: [Figure] = []) {
        self.heading = heading; self.text = text; self.tables = tables; self.figures = figures
    }
}
