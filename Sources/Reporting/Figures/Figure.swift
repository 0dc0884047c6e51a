/// A figure as data: what to draw, not how. The same value is rendered to SVG for the
/// Markdown report (`SVGRenderer`) and to matplotlib code for the notebook
/// (`NotebookWriter`), so both show the same thing from the same numbers.
///
/// Colours are assigned by series index from matplotlib's `tab10` cycle, so the SVG and
/// the notebook agree without the figure naming colours.
public struct Figure: Sendable, Equatable {
    public enum Scale: String, Sendable, Equatable { case linear, log }

    public struct Axis: Sendable, Equatable {
        public var label: String
        public var scale: Scale
        /// A forced range; nil lets the renderer fit the data (with a margin).
        public var range: ClosedRange<Double>?
        public init(_ label: String, scale: Scale = .linear, range: ClosedRange<Double>? = nil) {
            self.label = label; self.scale = scale; self.range = range
        }
    }

    /// How a series is drawn.
    public enum Mark: String, Sendable, Equatable {
        /// Markers at (x, y), with vertical error bars when `yLow`/`yHigh` are given.
        case points
        /// A polyline through the points in order (fits, theory curves).
        case line
        /// A right-continuous step function (survival curves, empirical CDFs).
        case step
    }

    public enum LineStyle: String, Sendable, Equatable { case solid, dashed, dotted }

    public enum Marker: String, Sendable, Equatable {
        case circle
        /// A hollow marker: a point that is only a bound (censoring-dominated).
        case openCircle = "open-circle"
        case square, triangle
    }

    public struct Series: Sendable, Equatable {
        public var name: String
        public var mark: Mark
        public var x: [Double]
        public var y: [Double]
        /// Lower and upper ends of the error bar (absolute values, not offsets); both or neither.
        public var yLow: [Double]?
        public var yHigh: [Double]?
        public var lineStyle: LineStyle
        public var marker: Marker
        /// Index into the tab10 colour cycle; nil = the series' position in the figure.
        public var colorIndex: Int?

        public init(_ name: String, mark: Mark, x: [Double], y: [Double], yLow: [Double]? = nil, yHigh: [Double]? = nil,
                    lineStyle: LineStyle = .solid, marker: Marker = .circle, colorIndex: Int? = nil) {
            self.name = name; self.mark = mark; self.x = x; self.y = y; self.yLow = yLow; self.yHigh = yHigh
            self.lineStyle = lineStyle; self.marker = marker; self.colorIndex = colorIndex
        }
    }

    /// File stem: the SVG is `figures/<name>.svg`.
    public var name: String
    public var title: String
    public var x: Axis
    public var y: Axis
    public var series: [Series]
    /// One or two sentences shown under the figure in the report.
    public var caption: String

    public init(name: String, title: String, x: Axis, y: Axis, series: [Series], caption: String = "") {
        self.name = name; self.title = title; self.x = x; self.y = y; self.series = series; self.caption = caption
    }

    /// matplotlib's tab10 colours, in order.
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public func color(ofSeries i: Int) -> String {
        Figure.palette[(series[i].colorIndex ?? i) % Figure.palette.count]
    }
}

/// A table as data: column names and rows of cells, for Markdown, CSV and the notebook.
public struct Table: Sendable, Equatable {
    public enum Cell: Sendable, Equatable {
        case text(String)
        case number(Double)
        case integer(Int)
        case missing
    }
    /// File stem for the CSV (`<name>.csv`) and the notebook's DataFrame variable.
    public var name: String
    public var columns: [String]
    public var rows: [[Cell]]
    public init(name: String, columns: [String], rows: [[Cell]]) {
        self.name = name; self.columns = columns; self.rows = rows
    }
}
