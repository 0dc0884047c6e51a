import Foundation

/// Draws a `Figure` as a self-contained SVG 1.1 document (no scripts, fonts or external
/// references), the way matplotlib would draw the same figure in the notebook: axes box with
/// outward ticks, light grid at major ticks, tab10 colours, a legend in the emptiest corner.
///
/// The output depends only on the figure and the size: coordinates are written with two
/// fixed decimals and nothing reads the clock or the locale, so re-rendering an unchanged
/// figure gives the same bytes (clean diffs of `figures/*.svg`).
///
/// Data that cannot be drawn is skipped, never an error: NaN and infinite coordinates, and
/// values ≤ 0 on a log axis. Two exceptions follow matplotlib's `nonpositive="clip"`: an
/// error bar whose lower end is ≤ 0 on a log axis (or −∞) runs to the bottom of the axes, and
/// a step curve that drops to 0 on a log y axis (a survival curve ending at 0) drops off the
/// bottom.
public enum SVGRenderer {
    public static func render(_ figure: Figure, width: Int = 640, height: Int = 420) -> String {
        precondition(width >= 120 && height >= 100, "an SVG figure needs at least 120×100 pixels, got \(width)×\(height)")
        let layout = PlotLayout(figure: figure, width: Double(width), height: Double(height))
        return SVGDocument(figure: figure, layout: layout).text
    }
}

// MARK: - Geometry

extension SVGRenderer {
    struct Point: Equatable { var x: Double; var y: Double }

    struct Box: Equatable {
        var x: Double, y: Double, width: Double, height: Double
        var maxX: Double { x + width }
        var maxY: Double { y + height }
        var midX: Double { x + width / 2 }
        var midY: Double { y + height / 2 }
        func expanded(by d: Double) -> Box { Box(x: x - d, y: y - d, width: width + 2 * d, height: height + 2 * d) }
        func contains(_ p: Point) -> Bool { p.x >= x && p.x <= maxX && p.y >= y && p.y <= maxY }

        /// Liang–Barsky: the part of the segment a→b inside the box, and whether each end was cut.
        func clip(_ a: Point, _ b: Point) -> (start: Point, end: Point, startCut: Bool, endCut: Bool)? {
            let dx = b.x - a.x, dy = b.y - a.y
            var t0 = 0.0, t1 = 1.0
            for (p, q) in [(-dx, a.x - x), (dx, maxX - a.x), (-dy, a.y - y), (dy, maxY - a.y)] {
                if p == 0 {
                    if q < 0 { return nil }
                } else {
                    let r = q / p
                    if p < 0 { if r > t1 { return nil }; if r > t0 { t0 = r } } else { if r < t0 { return nil }; if r < t1 { t1 = r } }
                }
            }
            return (Point(x: a.x + t0 * dx, y: a.y + t0 * dy), Point(x: a.x + t1 * dx, y: a.y + t1 * dy), t0 > 0, t1 < 1)
        }
    }

    /// Data value → pixel along one axis (linear in the value, or in log₁₀ of it).
    struct AxisMapping: Equatable {
        var scale: Figure.Scale
        /// The axis range in data units.
        var lower: Double, upper: Double
        /// Pixels of `lower` and `upper` (for y, lower is at the bottom: the larger pixel).
        var pixelLower: Double, pixelUpper: Double

        func isDrawable(_ v: Double) -> Bool { v.isFinite && (scale == .linear || v > 0) }

        func pixel(_ v: Double) -> Double? {
            guard isDrawable(v) else { return nil }
            let (t, t0, t1) = scale == .log ? (log10(v), log10(lower), log10(upper)) : (v, lower, upper)
            let p = pixelLower + (t - t0) / (t1 - t0) * (pixelUpper - pixelLower)
            return p.isFinite ? p : nil
        }

        /// The range an axis shows: the forced one when it is usable, else the drawable data with a
        /// 5 % margin (in log₁₀ on log axes), widened when it is a single value.
        static func range(of axis: Figure.Axis, data: [Double]) -> ClosedRange<Double> {
            let log = axis.scale == .log
            func widened(_ v: Double) -> ClosedRange<Double> {
                if log { return v / 2...v * 2 }
                return v == 0 ? -1...1 : v - 0.1 * abs(v)...v + 0.1 * abs(v)
            }
            func degenerate(_ lo: Double, _ hi: Double) -> Bool {
                log ? hi / lo - 1 <= 1e-12 : hi - lo <= 1e-12 * max(abs(lo), abs(hi))
            }
            func usable(_ r: ClosedRange<Double>) -> ClosedRange<Double>? {
                r.lowerBound.isFinite && r.upperBound.isFinite && r.upperBound > r.lowerBound ? r : nil
            }
            if let forced = axis.range, forced.lowerBound.isFinite, forced.upperBound.isFinite, !log || forced.lowerBound > 0 {
                let r = degenerate(forced.lowerBound, forced.upperBound) ? widened(forced.lowerBound) : forced
                if let r = usable(r) { return r }
            }
            let fallback: ClosedRange<Double> = log ? 1...10 : 0...1
            guard let lo = data.min(), let hi = data.max() else { return fallback }
            if degenerate(lo, hi) { return usable(widened(lo)) ?? fallback }
            if log {
                let a = log10(lo), b = log10(hi), m = 0.05 * (b - a)
                return usable(pow(10, a - m)...pow(10, b + m)) ?? lo...hi
            }
            let m = 0.05 * (hi - lo)
            return usable(lo - m...hi + m) ?? lo...hi
        }
    }

    struct ErrorBar: Equatable { var x: Double; var top: Double; var bottom: Double; var capTop: Bool; var capBottom: Bool }

    /// A series in pixels, clipped near the plot area (the SVG clip path does the exact cut).
    struct SeriesGeometry {
        var polylines: [[Point]] = []
        var markers: [Point] = []
        var errorBars: [ErrorBar] = []

        init(_ series: Figure.Series, plot: Box, x: AxisMapping, y: AxisMapping) {
            let n = min(series.x.count, series.y.count)
            switch series.mark {
            case .points:
                let markerArea = plot.expanded(by: 10)
                for i in 0..<n {
                    guard let px = x.pixel(series.x[i]), let py = y.pixel(series.y[i]) else { continue }
                    let p = Point(x: px, y: py)
                    if markerArea.contains(p) { markers.append(p) }
                    guard let lows = series.yLow, let highs = series.yHigh, i < lows.count, i < highs.count,
                          px >= plot.x, px <= plot.maxX else { continue }
                    // An end that cannot be drawn: to the axes' edge for −∞ (or ≤ 0 on log), else no bar.
                    let low = y.pixel(lows[i]) ?? (lows[i] == -.infinity || (y.scale == .log && lows[i] <= 0) ? plot.maxY + 10 : nil)
                    let high = y.pixel(highs[i]) ?? (highs[i] == .infinity ? plot.y - 10 : nil)
                    let ends = [low, high].compactMap { $0 }
                    guard !ends.isEmpty else { continue }
                    let top = (ends + [py]).min()!, bottom = (ends + [py]).max()!
                    let clippedTop = max(top, plot.y), clippedBottom = min(bottom, plot.maxY)
                    guard clippedBottom - clippedTop > 0.01 else { continue }
                    errorBars.append(ErrorBar(x: px, top: clippedTop, bottom: clippedBottom,
                                              capTop: top >= plot.y, capBottom: bottom <= plot.maxY))
                }
            case .line:
                let vertices = (0..<n).map { i -> Point? in
                    guard let px = x.pixel(series.x[i]), let py = y.pixel(series.y[i]) else { return nil }
                    return Point(x: px, y: py)
                }
                polylines = Self.polylines(vertices, clip: plot.expanded(by: 2))
            case .step:
                // matplotlib's where="post": y[i] holds on [x[i], x[i+1]), then the jump.
                func stepY(_ v: Double) -> Double? {
                    if let p = y.pixel(v) { return p }
                    if v == -.infinity || (y.scale == .log && v <= 0) { return plot.maxY + 5 }
                    return v == .infinity ? plot.y - 5 : nil
                }
                let px = (0..<n).map { x.pixel(series.x[$0]) }, py = (0..<n).map { stepY(series.y[$0]) }
                var vertices: [Point?] = []
                for i in 0..<n {
                    if i > 0 {
                        if let a = px[i], let b = py[i - 1] { vertices.append(Point(x: a, y: b)) } else { vertices.append(nil) }
                    }
                    if let a = px[i], let b = py[i] { vertices.append(Point(x: a, y: b)) } else { vertices.append(nil) }
                }
                polylines = Self.polylines(vertices, clip: plot.expanded(by: 2))
            }
        }

        /// Joins consecutive drawable vertices into polylines cut to `clip`; a nil vertex breaks the
        /// line (as NaN does in matplotlib). Collinear interior vertices are dropped.
        static func polylines(_ vertices: [Point?], clip: Box) -> [[Point]] {
            var lines: [[Point]] = [], current: [Point] = []
            func flush() {
                if current.count >= 2 { lines.append(simplified(current)) }
                current = []
            }
            for i in vertices.indices.dropFirst() {
                guard let a = vertices[i - 1], let b = vertices[i], let c = clip.clip(a, b) else { flush(); continue }
                if current.isEmpty || c.startCut { flush(); current = [c.start] }
                current.append(c.end)
                if c.endCut { flush() }
            }
            flush()
            return lines
        }

        static func simplified(_ line: [Point]) -> [Point] {
            var out: [Point] = []
            for p in line {
                if let last = out.last, abs(last.x - p.x) < 0.005, abs(last.y - p.y) < 0.005 { continue }
                if out.count >= 2 {
                    let a = out[out.count - 2], b = out[out.count - 1]
                    let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
                    let dot = (b.x - a.x) * (p.x - b.x) + (b.y - a.y) * (p.y - b.y)
                    if abs(cross) < 1e-6 && dot >= 0 { out[out.count - 1] = p; continue }
                }
                out.append(p)
            }
            return out
        }

        /// How many of the series' markers, error bars and line segments come within the box.
        func covered(by box: Box) -> Int {
            let markerBox = box.expanded(by: 4)
            return markers.filter { markerBox.contains($0) }.count
                + errorBars.filter { box.clip(Point(x: $0.x, y: $0.top), Point(x: $0.x, y: $0.bottom)) != nil }.count
                + polylines.map { line in zip(line, line.dropFirst()).filter { box.clip($0, $1) != nil }.count }.reduce(0, +)
        }
    }
}

// MARK: - Layout

extension SVGRenderer {
    /// Where everything goes, in pixels: margins sized from the labels, the plot area, the
    /// axis mappings, the ticks that keep their labels, the legend's box.
    struct PlotLayout {
        static let tickLength = 5.0, minorTickLength = 2.5
        static let tickFont = 11.0, labelFont = 13.0, titleFont = 14.0, legendFont = 11.0
        static let legendRow = 17.0, legendPadding = 7.0, legendSample = 26.0

        enum LegendPlacement: Equatable { case inside, right }

        var width: Double, height: Double
        var plot: Box
        var x: AxisMapping, y: AxisMapping
        var xTicks: [AxisTick], yTicks: [AxisTick]
        var titleLines: [String]
        var xLabelFont: Double, yLabelFont: Double
        var legendEntries: [(index: Int, name: String)]
        /// Named series left out of a legend too tall for the figure ("… and n more").
        var legendOmitted = 0
        var legendBox: Box?
        var legendPlacement: LegendPlacement?
        var geometry: [SeriesGeometry]
        /// No series has a single drawable point.
        var isEmpty: Bool

        init(figure: Figure, width: Double, height: Double) {
            self.width = width; self.height = height
            let xAxis = figure.x, yAxis = figure.y
            let xProbe = AxisMapping(scale: xAxis.scale, lower: 0, upper: 1, pixelLower: 0, pixelUpper: 1)
            let yProbe = AxisMapping(scale: yAxis.scale, lower: 0, upper: 1, pixelLower: 0, pixelUpper: 1)
            var xs: [Double] = [], ys: [Double] = []
            for s in figure.series {
                for i in 0..<min(s.x.count, s.y.count) where xProbe.isDrawable(s.x[i]) && yProbe.isDrawable(s.y[i]) {
                    xs.append(s.x[i]); ys.append(s.y[i])
                    for ends in [s.yLow, s.yHigh] { if let e = ends, i < e.count, yProbe.isDrawable(e[i]) { ys.append(e[i]) } }
                }
            }
            isEmpty = xs.isEmpty
            let xRange = AxisMapping.range(of: xAxis, data: xs), yRange = AxisMapping.range(of: yAxis, data: ys)
            func ticks(_ scale: Figure.Scale, _ r: ClosedRange<Double>) -> [AxisTick] {
                scale == .log ? AxisTicks.log(lower: r.lowerBound, upper: r.upperBound)
                    : AxisTicks.linear(lower: r.lowerBound, upper: r.upperBound)
            }
            let allXTicks = ticks(xAxis.scale, xRange), allYTicks = ticks(yAxis.scale, yRange)

            titleLines = Self.wrap(figure.title, width: width - 24, fontSize: Self.titleFont)
            legendEntries = figure.series.enumerated().filter { !$0.element.name.isEmpty }.map { ($0.offset, $0.element.name) }

            // Margins, from the sizes of what sits in them.
            let yLabelWidth = allYTicks.compactMap(\.label).map { Self.textWidth($0, fontSize: Self.tickFont) }.max() ?? 0
            let lastXLabel = allXTicks.last { $0.label != nil }?.label ?? ""
            let left = 8 + (yAxis.label.isEmpty ? 0 : Self.labelFont + 8) + yLabelWidth + 3 + Self.tickLength
            let top = titleLines.isEmpty ? 12 : 8 + Double(titleLines.count) * (Self.titleFont + 4) + 8
            let bottom = Self.tickLength + 3 + Self.tickFont + (xAxis.label.isEmpty ? 6 : 8 + Self.labelFont + 6)
            let right = max(16, Self.textWidth(lastXLabel, fontSize: Self.tickFont) / 2 + 6)
            func frame(extraRight: Double) -> Box {
                Box(x: left, y: top, width: max(width - left - right - extraRight, 20), height: max(height - top - bottom, 20))
            }
            func mappings(_ plot: Box) -> (AxisMapping, AxisMapping) {
                (AxisMapping(scale: xAxis.scale, lower: xRange.lowerBound, upper: xRange.upperBound,
                             pixelLower: plot.x, pixelUpper: plot.maxX),
                 AxisMapping(scale: yAxis.scale, lower: yRange.lowerBound, upper: yRange.upperBound,
                             pixelLower: plot.maxY, pixelUpper: plot.y))
            }

            plot = frame(extraRight: 0)
            (x, y) = mappings(plot)
            geometry = figure.series.map { [plot, x, y] in SeriesGeometry($0, plot: plot, x: x, y: y) }

            // Legend: the first empty corner inside the axes (upper right, upper left, lower left,
            // lower right); else to the right, unless that squeezes the axes below 60 % of their
            // width, when the corner covering least goes (matplotlib's loc="best").
            let legendRows = max(2, Int((plot.height - 2 * Self.legendPadding + 4) / Self.legendRow))
            if legendEntries.count > legendRows {
                legendOmitted = legendEntries.count - (legendRows - 1)
                legendEntries = Array(legendEntries.prefix(legendRows - 1))
            }
            if !legendEntries.isEmpty {
                let rows = legendEntries.count + (legendOmitted > 0 ? 1 : 0)
                let textWidth = legendEntries.map { Self.textWidth($0.name, fontSize: Self.legendFont) }.max() ?? 0
                let size = (w: 2 * Self.legendPadding + Self.legendSample + 6 + textWidth,
                            h: 2 * Self.legendPadding + Double(rows) * Self.legendRow - 4)
                let inset = 8.0, gap = 14.0
                var best: (box: Box, covered: Int)?
                if rows <= 6, size.w <= plot.width - 2 * inset, size.h <= plot.height - 2 * inset {
                    let left = plot.x + inset, right = plot.maxX - inset - size.w
                    let top = plot.y + inset, bottom = plot.maxY - inset - size.h
                    for (cx, cy) in [(right, top), (left, top), (left, bottom), (right, bottom)] {
                        let box = Box(x: cx, y: cy, width: size.w, height: size.h)
                        let covered = geometry.map { $0.covered(by: box.expanded(by: 3)) }.reduce(0, +)
                        if covered < best?.covered ?? .max { best = (box, covered) }
                        if covered == 0 { break }
                    }
                }
                if let best, best.covered == 0 || plot.width - size.w - gap < 0.6 * plot.width {
                    legendBox = best.box; legendPlacement = .inside
                } else {
                    plot = frame(extraRight: size.w + gap)
                    (x, y) = mappings(plot)
                    geometry = figure.series.map { [plot, x, y] in SeriesGeometry($0, plot: plot, x: x, y: y) }
                    legendBox = Box(x: plot.maxX + gap, y: plot.y, width: size.w, height: size.h)
                    legendPlacement = .right
                }
            }

            // Thin labels that would collide.
            let (xMap, yMap) = (x, y)
            xTicks = Self.thinned(allXTicks) { a, b in
                guard let pa = xMap.pixel(a.value), let pb = xMap.pixel(b.value) else { return false }
                let halfWidths = (Self.textWidth(a.label!, fontSize: Self.tickFont) + Self.textWidth(b.label!, fontSize: Self.tickFont)) / 2
                return abs(pb - pa) < halfWidths + 6
            }
            yTicks = Self.thinned(allYTicks) { a, b in
                guard let pa = yMap.pixel(a.value), let pb = yMap.pixel(b.value) else { return false }
                return abs(pb - pa) < Self.tickFont + 3
            }
            xLabelFont = Self.fitted(xAxis.label, width: plot.width, fontSize: Self.labelFont)
            yLabelFont = Self.fitted(yAxis.label, width: plot.height, fontSize: Self.labelFont)
        }

        /// Keeps the labels whose rank is a multiple of the smallest n that stops `collide`.
        static func thinned(_ ticks: [AxisTick], collide: (AxisTick, AxisTick) -> Bool) -> [AxisTick] {
            var kept = ticks
            for n in [1, 2, 3, 4, 5, 10, 20, 50, 100] {
                kept = ticks.map { t -> AxisTick in
                    var t = t
                    if t.label != nil && t.rank % n != 0 { t.label = nil; t.isMajor = false }
                    return t
                }
                let labelled = kept.filter { $0.label != nil }
                if !zip(labelled, labelled.dropFirst()).contains(where: collide) { break }
            }
            return kept
        }

        /// An estimate of the rendered width of sans-serif text (DejaVu Sans metrics, the widest
        /// common sans-serif, so the layout errs on the side of room).
        static func textWidth(_ s: String, fontSize: Double) -> Double {
            var em = 0.0
            for c in s {
                switch c {
                case "i", "l", "j", "'", "|", ".", ",", ":", ";", "!": em += 0.3
                case " ", "f", "t", "r", "(", ")", "[", "]", "/", "-": em += 0.38
                case "m", "w": em += 0.9
                case "0"..."9", "a"..."z", "+", "=", "<", ">", "~", "−", "×", "*", "_", "#", "$", "?": em += 0.63
                case "A"..."Z": em += c == "M" || c == "W" ? 0.95 : 0.72
                case "⁰"..."⁹", "¹", "²", "³", "⁻": em += 0.42
                default: em += 0.7
                }
            }
            return em * fontSize
        }

        /// The font size (down to 8) at which `text` fits in `width`.
        static func fitted(_ text: String, width: Double, fontSize: Double) -> Double {
            let w = textWidth(text, fontSize: fontSize)
            return w <= width ? fontSize : max(8, (fontSize * width / w * 10).rounded(.down) / 10)
        }

        /// Greedy word wrap to lines no wider than `width`.
        static func wrap(_ text: String, width: Double, fontSize: Double) -> [String] {
            var lines: [String] = [], line = ""
            for word in text.split(separator: " ", omittingEmptySubsequences: true) {
                let candidate = line.isEmpty ? String(word) : line + " " + word
                if !line.isEmpty && textWidth(candidate, fontSize: fontSize) > width {
                    lines.append(line); line = String(word)
                } else {
                    line = candidate
                }
            }
            if !line.isEmpty { lines.append(line) }
            return lines
        }
    }
}

// MARK: - Writing

private struct SVGDocument {
    typealias Point = SVGRenderer.Point
    typealias Box = SVGRenderer.Box
    typealias PlotLayout = SVGRenderer.PlotLayout
    typealias SeriesGeometry = SVGRenderer.SeriesGeometry

    var lines: [String] = []
    var text: String { lines.joined(separator: "\n") + "\n" }

    init(figure: Figure, layout l: PlotLayout) {
        let plot = l.plot, w = String(Int(l.width)), h = String(Int(l.height))
        let clipID = "clip-" + String(figure.name.map { c in c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_") ? c : "-" })
        lines.append(#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#)
        add("svg", [("xmlns", "http://www.w3.org/2000/svg"), ("version", "1.1"), ("width", w), ("height", h),
                    ("viewBox", "0 0 \(w) \(h)"), ("font-family", "sans-serif"), ("font-size", "11")], open: true)
        if !figure.title.isEmpty { add("title", [], text: figure.title) }
        if !figure.caption.isEmpty { add("desc", [], text: figure.caption) }
        add("rect", [("x", "0"), ("y", "0"), ("width", w), ("height", h), ("fill", "#ffffff")])
        lines.append(#"<defs><clipPath id="\#(clipID)">"# + tag("rect", rect(plot)) + "</clipPath></defs>")

        // Grid at the major ticks.
        var grid = ""
        for t in l.xTicks where t.isMajor { if let p = l.x.pixel(t.value) { grid += "M\(f(p)) \(f(plot.y))V\(f(plot.maxY))" } }
        for t in l.yTicks where t.isMajor { if let p = l.y.pixel(t.value) { grid += "M\(f(plot.x)) \(f(p))H\(f(plot.maxX))" } }
        if !grid.isEmpty { add("path", [("d", grid), ("fill", "none"), ("stroke", "#e3e3e3"), ("stroke-width", "0.8")]) }

        // Data, clipped to the axes.
        add("g", [("clip-path", "url(#\(clipID))")], open: true)
        for (i, series) in figure.series.enumerated() { drawSeries(series, l.geometry[i], color: figure.color(ofSeries: i)) }
        lines.append("</g>")
        if l.isEmpty {
            add("text", [("x", f(plot.midX)), ("y", f(plot.midY + 4)), ("text-anchor", "middle"), ("font-size", "13"),
                         ("font-style", "italic"), ("fill", "#888888")], text: "no data")
        }

        // Axes box, outward ticks, tick labels.
        add("rect", rect(plot) + [("fill", "none"), ("stroke", "#333333"), ("stroke-width", "1")])
        func length(_ t: AxisTick) -> Double { t.isMajor ? PlotLayout.tickLength : PlotLayout.minorTickLength }
        var ticks = ""
        for t in l.xTicks { if let p = l.x.pixel(t.value) { ticks += "M\(f(p)) \(f(plot.maxY))v\(f(length(t)))" } }
        for t in l.yTicks { if let p = l.y.pixel(t.value) { ticks += "M\(f(plot.x)) \(f(p))h\(f(-length(t)))" } }
        if !ticks.isEmpty { add("path", [("d", ticks), ("fill", "none"), ("stroke", "#333333"), ("stroke-width", "0.8")]) }
        add("g", [("fill", "#222222"), ("font-size", f(PlotLayout.tickFont))], open: true)
        let xTickBaseline = plot.maxY + PlotLayout.tickLength + 3 + PlotLayout.tickFont * 0.8
        for t in l.xTicks {
            guard let s = t.label, let p = l.x.pixel(t.value) else { continue }
            add("text", [("x", f(p)), ("y", f(xTickBaseline)), ("text-anchor", "middle")], text: s)
        }
        for t in l.yTicks {
            guard let s = t.label, let p = l.y.pixel(t.value) else { continue }
            let x = plot.x - PlotLayout.tickLength - 3
            add("text", [("x", f(x)), ("y", f(p + PlotLayout.tickFont * 0.35)), ("text-anchor", "end")], text: s)
        }
        lines.append("</g>")

        // Axis labels and title.
        if !figure.x.label.isEmpty {
            let baseline = xTickBaseline + 8 + l.xLabelFont * 0.9
            add("text", [("x", f(plot.midX)), ("y", f(baseline)), ("text-anchor", "middle"), ("font-size", f(l.xLabelFont)),
                         ("fill", "#222222")], text: figure.x.label)
        }
        if !figure.y.label.isEmpty {
            let cx = 8 + l.yLabelFont * 0.8, cy = plot.midY
            add("text", [("x", f(cx)), ("y", f(cy)), ("transform", "rotate(-90 \(f(cx)) \(f(cy)))"), ("text-anchor", "middle"),
                         ("font-size", f(l.yLabelFont)), ("fill", "#222222")], text: figure.y.label)
        }
        for (k, line) in l.titleLines.enumerated() {
            // Centred over the axes as in matplotlib, but kept inside the canvas.
            let half = PlotLayout.textWidth(line, fontSize: PlotLayout.titleFont) / 2
            let cx = min(max(plot.midX, half + 6), l.width - half - 6)
            let baseline = 8 + PlotLayout.titleFont * 0.9 + Double(k) * (PlotLayout.titleFont + 4)
            add("text", [("x", f(cx)), ("y", f(baseline)), ("text-anchor", "middle"), ("font-size", f(PlotLayout.titleFont)),
                         ("fill", "#111111")], text: line)
        }

        if let box = l.legendBox { drawLegend(figure, l, box) }
        lines.append("</svg>")
    }

    mutating func drawSeries(_ series: Figure.Series, _ g: SeriesGeometry, color: String) {
        if !g.errorBars.isEmpty {
            var d = ""
            for b in g.errorBars {
                d += "M\(f(b.x)) \(f(b.top))V\(f(b.bottom))"
                if b.capTop { d += "M\(f(b.x - 3)) \(f(b.top))h6" }
                if b.capBottom { d += "M\(f(b.x - 3)) \(f(b.bottom))h6" }
            }
            add("path", [("d", d), ("fill", "none"), ("stroke", color), ("stroke-width", "1.2")])
        }
        for line in g.polylines {
            let points = line.map { "\(f($0.x)),\(f($0.y))" }.joined(separator: " ")
            add("polyline", [("points", points), ("fill", "none"), ("stroke", color), ("stroke-width", "1.8"),
                             ("stroke-linejoin", "round")] + dash(series.lineStyle))
        }
        if !g.markers.isEmpty {
            lines.append(markerGroup(series.marker, color: color))
            for p in g.markers { lines.append(marker(series.marker, at: p)) }
            lines.append("</g>")
        }
    }

    mutating func drawLegend(_ figure: Figure, _ l: PlotLayout, _ box: Box) {
        add("g", [("font-size", f(PlotLayout.legendFont))], open: true)
        add("rect", rect(box) + [("rx", "2"), ("fill", "#ffffff"), ("fill-opacity", "0.9"),
                                 ("stroke", "#cccccc"), ("stroke-width", "0.8")])
        func rowCenter(_ row: Int) -> Double { box.y + PlotLayout.legendPadding + (Double(row) + 0.5) * PlotLayout.legendRow - 2 }
        let x0 = box.x + PlotLayout.legendPadding, x1 = x0 + PlotLayout.legendSample
        for (row, entry) in l.legendEntries.enumerated() {
            let series = figure.series[entry.index], color = figure.color(ofSeries: entry.index), cy = rowCenter(row)
            switch series.mark {
            case .line, .step:
                add("path", [("d", "M\(f(x0)) \(f(cy))H\(f(x1))"), ("fill", "none"), ("stroke", color), ("stroke-width", "1.8")]
                    + dash(series.lineStyle))
            case .points:
                let center = Point(x: (x0 + x1) / 2, y: cy)
                if series.yLow != nil && series.yHigh != nil {
                    let bar = "M\(f(center.x)) \(f(cy - 6))V\(f(cy + 6))"
                        + "M\(f(center.x - 3)) \(f(cy - 6))h6M\(f(center.x - 3)) \(f(cy + 6))h6"
                    add("path", [("d", bar), ("fill", "none"), ("stroke", color), ("stroke-width", "1.2")])
                }
                lines.append(markerGroup(series.marker, color: color) + marker(series.marker, at: center) + "</g>")
            }
            add("text", [("x", f(x1 + 6)), ("y", f(cy + PlotLayout.legendFont * 0.35)), ("fill", "#222222")], text: entry.name)
        }
        if l.legendOmitted > 0 {
            let cy = rowCenter(l.legendEntries.count)
            add("text", [("x", f(x0)), ("y", f(cy + PlotLayout.legendFont * 0.35)), ("fill", "#555555")],
                text: "… and \(l.legendOmitted) more")
        }
        lines.append("</g>")
    }

    func markerGroup(_ m: Figure.Marker, color: String) -> String {
        m == .openCircle ? tag("g", [("fill", "#ffffff"), ("stroke", color), ("stroke-width", "1.5")], open: true)
            : tag("g", [("fill", color), ("stroke", color), ("stroke-width", "1")], open: true)
    }

    func marker(_ m: Figure.Marker, at p: Point) -> String {
        switch m {
        case .circle, .openCircle:
            return tag("circle", [("cx", f(p.x)), ("cy", f(p.y)), ("r", "3.50")])
        case .square:
            return tag("rect", [("x", f(p.x - 3.2)), ("y", f(p.y - 3.2)), ("width", "6.40"), ("height", "6.40")])
        case .triangle:
            return tag("path", [("d", "M\(f(p.x)) \(f(p.y - 4.4))L\(f(p.x + 3.9)) \(f(p.y + 2.6))L\(f(p.x - 3.9)) \(f(p.y + 2.6))Z")])
        }
    }

    func dash(_ style: Figure.LineStyle) -> [(String, String)] {
        switch style {
        case .solid: return []
        case .dashed: return [("stroke-dasharray", "6 4")]
        case .dotted: return [("stroke-dasharray", "2 3")]
        }
    }

    func rect(_ b: Box) -> [(String, String)] { [("x", f(b.x)), ("y", f(b.y)), ("width", f(b.width)), ("height", f(b.height))] }

    /// `<name a="v" …/>`, `<name …>` when `open`, or `<name …>text</name>`; values and text escaped.
    func tag(_ name: String, _ attributes: [(String, String)], text: String? = nil, open: Bool = false) -> String {
        let head = "<" + name + attributes.map { " \($0.0)=\"\(escaped($0.1))\"" }.joined()
        if let text { return head + ">" + escaped(text) + "</\(name)>" }
        return head + (open ? ">" : "/>")
    }

    mutating func add(_ name: String, _ attributes: [(String, String)], text: String? = nil, open: Bool = false) {
        lines.append(tag(name, attributes, text: text, open: open))
    }
}

private func f(_ v: Double) -> String { SVGRenderer.coordinate(v) }
private func escaped(_ s: String) -> String { SVGRenderer.escaped(s) }

extension SVGRenderer {
    /// A coordinate with exactly two decimals ("-0.5" → "-0.50"); never "nan" or "inf".
    static func coordinate(_ v: Double) -> String {
        guard v.isFinite else { assertionFailure("non-finite SVG coordinate"); return "0.00" }
        let n = Int(max(min((v * 100).rounded(), 1e15), -1e15))
        let a = abs(n), cents = a % 100
        return (n < 0 ? "-" : "") + "\(a / 100)." + (cents < 10 ? "0" : "") + "\(cents)"
    }

    /// XML text and attribute escaping; characters XML 1.0 forbids become spaces.
    static func escaped(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { out += " " } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}
