import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Reporting

@Suite struct SVGRendererTests {
    // MARK: Sample figures (also written as PNGs when SVG_SAMPLES_DIR is set)

    /// Log y mean exit time against linear 1/ε: Monte Carlo points with error bars (one a
    /// censoring-dominated bound), a dashed Arrhenius fit and a dotted theory line.
    static let arrhenius: Figure = {
        let inverseEps = [2.0, 3, 4, 5, 6, 7, 8]
        let tau = inverseEps.map { 1.8 * exp(0.25 * $0 * 2) }
        let fitX = stride(from: 1.8, through: 8.2, by: 0.2).map { $0 }
        return Figure(
            name: "arrhenius", title: "Mean exit time vs 1/ε (double well, ΔV = 1/4)",
            x: Figure.Axis("1/ε"), y: Figure.Axis("mean exit time", scale: .log),
            series: [
                Figure.Series("Monte Carlo (Euler–Maruyama)", mark: .points, x: inverseEps, y: tau,
                              yLow: tau.map { $0 * 0.9 }, yHigh: tau.map { $0 * 1.12 }),
                Figure.Series("Arrhenius fit, slope 0.50 ± 0.01", mark: .line, x: fitX, y: fitX.map { 1.75 * exp(0.5 * $0) },
                              lineStyle: .dashed),
                Figure.Series("Kramers", mark: .line, x: fitX, y: fitX.map { 2.2 * exp(0.5 * $0) }, lineStyle: .dotted),
                Figure.Series("censored (lower bound)", mark: .points, x: [8.5], y: [1.8 * exp(8.5 * 0.5) * 0.8], marker: .openCircle,
                              colorIndex: 0),
            ],
            caption: "Error bars are 95 % intervals.")
    }()

    /// Survival curves on a log y axis, ending at 0 (drawn dropping off the bottom).
    static let survival: Figure = {
        var series: [Figure.Series] = []
        for (k, (rate, eta)) in zip([0.5, 1.0, 2.0], ["0.05", "0.1", "0.2"]).enumerated() {
            var t = [0.0], s = [1.0]
            var u: UInt64 = 12345 &+ UInt64(k)
            for i in 1...60 {
                u = u &* 6364136223846793005 &+ 1442695040888963407
                t.append(t.last! + Double(u >> 11) / Double(1 << 53) * 0.2 / rate)
                s.append(i == 60 ? 0 : exp(-rate * t.last!))
            }
            series.append(Figure.Series("η = \(eta)", mark: .step, x: t, y: s))
        }
        return Figure(name: "survival", title: "Survival P(τ > t)", x: Figure.Axis("t"), y: Figure.Axis("P(τ > t)", scale: .log),
                      series: series)
    }()

    /// A ratio plot against a log x axis, with a reference line at 1.
    static let ratio: Figure = {
        let eta = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]
        let r = [1.01, 0.98, 1.03, 1.08, 1.15, 1.32, 1.61]
        return Figure(
            name: "ratio", title: "SGD / SDE mean exit time",
            x: Figure.Axis("learning rate η", scale: .log), y: Figure.Axis("ratio τ_SGD / τ_SDE"),
            series: [
                Figure.Series("ratio", mark: .points, x: eta, y: r, yLow: r.map { $0 - 0.04 }, yHigh: r.map { $0 + 0.04 },
                              marker: .square),
                Figure.Series("", mark: .line, x: [1e-4, 1], y: [1, 1], lineStyle: .dashed, colorIndex: 7),
            ])
    }()

    static let samples = [arrhenius, survival, ratio]

    @Test func writeSamplesWhenAsked() throws {
        guard let directory = ProcessInfo.processInfo.environment["SVG_SAMPLES_DIR"] else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var small = Self.arrhenius
        small.name = "arrhenius-small"
        let empty = Figure(name: "empty", title: "No data", x: Figure.Axis("x"), y: Figure.Axis("y", scale: .log), series: [])
        let sizes = (Self.samples + [Self.manySeries, Self.edgeCases, Self.scientific, empty]).map { ($0, 640, 420) }
            + [(small, 400, 260)]
        for (figure, width, height) in sizes {
            let svg = "\(directory)/\(figure.name).svg"
            try SVGRenderer.render(figure, width: width, height: height).write(toFile: svg, atomically: true, encoding: .utf8)
            let convert = Process()
            convert.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            convert.arguments = ["rsvg-convert", "-o", "\(directory)/\(figure.name).png", svg]
            try convert.run()
            convert.waitUntilExit()
        }
    }

    static let manySeries = Figure(
        name: "many", title: "Eight series push the legend outside", x: Figure.Axis("x"), y: Figure.Axis("y"),
        series: (0..<8).map { k in
            let x = stride(from: 0.0, through: 1.0, by: 0.1).map { $0 }
            return Figure.Series("series \(k)", mark: k % 2 == 0 ? .line : .points, x: x, y: x.map { Double(k) + $0 * $0 },
                                 marker: [.circle, .square, .triangle, .openCircle][k % 4])
        })

    /// Small and negative values on linear axes, a long title and a long y label.
    static let scientific: Figure = {
        let x = stride(from: -2e-5, through: 6e-5, by: 5e-6).map { $0 }
        return Figure(
            name: "scientific",
            title: "A deliberately long title that has to be wrapped onto a second line because it does not fit the width",
            x: Figure.Axis("step size h"), y: Figure.Axis("a long y axis label with units (iterations × 10³)"),
            series: [Figure.Series("−x·1e6", mark: .line, x: x, y: x.map { -$0 * 1e6 }),
                     Figure.Series("data", mark: .points, x: x, y: x.map { 20 - $0 * 1e6 }, marker: .square)])
    }()

    static let edgeCases = Figure(
        name: "edge", title: "Edge cases: NaN, non-positive on log, one decade", x: Figure.Axis("x"),
        y: Figure.Axis("y", scale: .log),
        series: [Figure.Series("a & b <c>", mark: .line, x: [0, 1, 2, 3, 4, 5], y: [0.2, .nan, 0.3, -1, 0.5, 0.6]),
                 Figure.Series("points", mark: .points, x: [1, 2, 3, .nan], y: [0.25, 0, 0.4, 0.3],
                               yLow: [0.2, 0.1, -1, 0.2], yHigh: [0.3, 0.2, 0.5, 0.4], marker: .triangle)])

    // MARK: Well-formed, deterministic, escaped

    @Test(arguments: samples + [manySeries, edgeCases, scientific])
    func outputIsWellFormedXML(figure: Figure) throws {
        let svg = SVGRenderer.render(figure)
        let parsed = try #require(XMLSummary(svg))
        #expect(parsed.root == "svg")
        #expect(svg.contains(#"xmlns="http://www.w3.org/2000/svg""#))
        #expect(svg.contains(#"viewBox="0 0 640 420""#))
        #expect(!svg.contains("href"), "no external references")
        #expect(!svg.contains("<script"))
        #expect(parsed.elements["clipPath"] == 1)
    }

    @Test func renderingIsDeterministic() {
        for figure in Self.samples {
            #expect(SVGRenderer.render(figure) == SVGRenderer.render(figure))
            #expect(SVGRenderer.render(figure, width: 800, height: 500) == SVGRenderer.render(figure, width: 800, height: 500))
        }
    }

    @Test func textIsEscaped() throws {
        let title = #"a < b & "c" 'd' > e"#
        let figure = Figure(name: "x\"><script>", title: title, x: Figure.Axis("<x>"), y: Figure.Axis("y & z"),
                            series: [Figure.Series("<script>alert(1)</script>", mark: .points, x: [1, 2], y: [3, 4])],
                            caption: "caption & <more>")
        let svg = SVGRenderer.render(figure)
        #expect(!svg.contains("<script"))
        #expect(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        let parsed = try #require(XMLSummary(svg))
        #expect(parsed.texts.contains(title))
        #expect(parsed.texts.contains("<x>") && parsed.texts.contains("y & z"))
        #expect(parsed.texts.contains("<script>alert(1)</script>"))
        #expect(SVGRenderer.escaped("\u{1}ok\u{1F}") == " ok ", "control characters are not allowed in XML 1.0")
    }

    @Test func coordinatesHaveTwoFixedDecimals() {
        #expect(SVGRenderer.coordinate(0) == "0.00")
        #expect(SVGRenderer.coordinate(-0.001) == "0.00")
        #expect(SVGRenderer.coordinate(12.345678) == "12.35")
        #expect(SVGRenderer.coordinate(-3.1) == "-3.10")
        #expect(SVGRenderer.coordinate(7) == "7.00")
        #expect(SVGRenderer.coordinate(0.05) == "0.05")
    }

    // MARK: Ticks

    @Test func linearTicksAreNice() {
        // Largest 1-2-5 step with 4…8 ticks inside the range.
        #expect(AxisTicks.linearValues(lower: 0.13, upper: 0.87) == [0.2, 0.4, 0.6, 0.8])
        #expect(AxisTicks.linearValues(lower: 0, upper: 1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(AxisTicks.linearValues(lower: -3.7, upper: 12.2) == [-2, 0, 2, 4, 6, 8, 10, 12])
        #expect(AxisTicks.linearValues(lower: 0, upper: 20) == [0, 5, 10, 15, 20])
        #expect(AxisTicks.linearValues(lower: 1950, upper: 2030) == [1960, 1980, 2000, 2020])
        // No 1-2-5 step fits (2 gives 9 ticks, 5 gives 3): the 2.5 step.
        #expect(AxisTicks.linearValues(lower: 0.1, upper: 19.9) == [2.5, 5, 7.5, 10, 12.5, 15, 17.5])
        // Values are the decimals themselves, not accumulated sums.
        #expect(AxisTicks.linearValues(lower: 0.05, upper: 0.75).contains(0.3))
        #expect(AxisTicks.linear(lower: 0.05, upper: 0.75).map(\.label) == ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"])
    }

    /// The definition, checked over many ranges: 4…8 ticks, all inside, equally spaced by a
    /// step m·10ᵉ with m ∈ {1, 2, 2.5, 5}, and 2.5 only when no 1-2-5 step gives 4…8.
    @Test func linearTickCountsStayInBounds() throws {
        var u: UInt64 = 2024
        for _ in 0..<2000 {
            u = u &* 6364136223846793005 &+ 1442695040888963407
            let a = (Double(u >> 11) / Double(1 << 53) - 0.5) * pow(10, Double(Int(u % 13) - 6))
            let span = Double((u >> 20) % 10_000 + 1) / 1000 * pow(10, Double(Int((u >> 40) % 13) - 6))
            let ticks = AxisTicks.linearValues(lower: a, upper: a + span)
            #expect((4...8).contains(ticks.count), "range [\(a), \(a + span)] gave \(ticks)")
            #expect(ticks.allSatisfy { $0 >= a - 1e-9 * span && $0 <= a + span + 1e-9 * span })
            let step = try #require(AxisTicks.linearStep(lower: a, upper: a + span))
            #expect([1, 2, 5, 25].contains(step.units))
            if step.units == 25 {
                for m in [1, 2, 5] {
                    for e in -10...10 {
                        let count = AxisTicks.indices(AxisTicks.Step(units: m, exponent: e), lower: a, upper: a + span)?.count ?? 0
                        #expect(!(4...8).contains(count))
                    }
                }
            }
        }
    }

    @Test func linearLabelsUseJustEnoughDigits() {
        #expect(AxisTicks.linear(lower: 0, upper: 1).map(\.label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(AxisTicks.linear(lower: -10, upper: 35).map(\.label) == ["−10", "0", "10", "20", "30"])
        #expect(AxisTicks.linear(lower: 0, upper: 5.5e-5).map(\.label)
                == ["0", "10⁻⁵", "2×10⁻⁵", "3×10⁻⁵", "4×10⁻⁵", "5×10⁻⁵"])
        #expect(AxisTicks.linear(lower: 0, upper: 3.2e6).map(\.label) == ["0", "10⁶", "2×10⁶", "3×10⁶"])
        #expect(AxisTicks.linear(lower: 0, upper: 1.6e6).map(\.label) == ["0", "5×10⁵", "10⁶", "1.5×10⁶"])
        #expect(AxisTicks.linear(lower: 0.1, upper: 19.9).map(\.label) == ["2.5", "5.0", "7.5", "10.0", "12.5", "15.0", "17.5"])
    }

    @Test func logTicksAtDecades() {
        let ticks = AxisTicks.log(lower: 3e-4, upper: 2e2)
        #expect(ticks.compactMap(\.label) == ["10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹", "10²"])
        #expect(ticks.filter(\.isMajor).map(\.value) == [1e-3, 1e-2, 1e-1, 1, 10, 100])
        // Minors 2…9 × 10ᵏ inside the range, unlabelled: 3…9 × 10⁻⁴, 8 in each full decade, 2 × 10².
        let minors = ticks.filter { !$0.isMajor }
        #expect(minors.allSatisfy { $0.label == nil })
        #expect(minors.count == 7 + 5 * 8 + 1)
        #expect(minors.first!.value == 3e-4 && minors.last!.value == 200)
    }

    @Test func logTicksLabelMinorsWithinADecade() {
        #expect(AxisTicks.log(lower: 0.15, upper: 0.8).compactMap(\.label) == ["0.2", "0.3", "0.5"])
        #expect(AxisTicks.log(lower: 0.5, upper: 3).compactMap(\.label) == ["0.5", "1", "2"])
        // Under 0.6 decades: the range's linear ticks (log minors would leave stretches unlabelled).
        #expect(AxisTicks.log(lower: 2.1, upper: 4.9).compactMap(\.label) == ["2.5", "3.0", "3.5", "4.0", "4.5"])
        #expect(AxisTicks.log(lower: 0.78, upper: 1.3).compactMap(\.label)
                == AxisTicks.linear(lower: 0.78, upper: 1.3).compactMap(\.label))
        #expect(AxisTicks.log(lower: 1.5e-6, upper: 8e-6).compactMap(\.label) == ["2×10⁻⁶", "3×10⁻⁶", "5×10⁻⁶"])
        #expect(AxisTicks.log(lower: 0.21, upper: 0.45).compactMap(\.label) == ["0.25", "0.30", "0.35", "0.40", "0.45"])
        // Not two minors in range: also the range's linear ticks.
        #expect(AxisTicks.log(lower: 3.1, upper: 3.9).compactMap(\.label) == ["3.2", "3.4", "3.6", "3.8"])
        // Many decades: at most 8 labels, on a regular subset.
        let wide = AxisTicks.log(lower: 1e-30, upper: 1e10).compactMap(\.label)
        #expect(wide.count <= 8 && wide.contains("10⁰"))
    }

    // MARK: Placement

    /// Forced ranges map linearly (or linearly in log₁₀) onto the plot box; markers are drawn
    /// at exactly those pixels.
    @Test func pointsLandAtTheirPixels() throws {
        let figure = Figure(name: "p", title: "t", x: Figure.Axis("x", range: 0...10),
                            y: Figure.Axis("y", scale: .log, range: 1...1000),
                            series: [Figure.Series("", mark: .points, x: [2, 7.5], y: [10, 500])])
        let layout = SVGRenderer.PlotLayout(figure: figure, width: 640, height: 420)
        let plot = layout.plot
        #expect(plot.x > 20 && plot.maxX < 640 && plot.y > 10 && plot.maxY < 420)
        #expect(layout.x.lower == 0 && layout.x.upper == 10 && layout.y.lower == 1 && layout.y.upper == 1000)
        let svg = SVGRenderer.render(figure)
        for (x, y) in [(2.0, 10.0), (7.5, 500.0)] {
            let px = plot.x + x / 10 * plot.width
            let py = plot.maxY - log10(y) / 3 * plot.height
            #expect(plot.contains(SVGRenderer.Point(x: px, y: py)))
            let circle = #"<circle cx="\#(SVGRenderer.coordinate(px))" cy="\#(SVGRenderer.coordinate(py))""#
            #expect(svg.contains(circle), "expected \(circle)")
        }
        // Forced-range ends carry the labelled ticks 0 and 10, 10⁰ and 10³.
        #expect(layout.xTicks.first?.label == "0" && layout.xTicks.last?.label == "10")
        #expect(layout.yTicks.compactMap(\.label) == ["10⁰", "10¹", "10²", "10³"])
    }

    /// Step curves are right-continuous (matplotlib where="post"): across, then down.
    @Test func stepIsHorizontalThenVertical() throws {
        let figure = Figure(name: "s", title: "", x: Figure.Axis("t", range: 0...4), y: Figure.Axis("S", range: 0...1),
                            series: [Figure.Series("", mark: .step, x: [0, 1, 3], y: [1, 0.5, 0.25])])
        let layout = SVGRenderer.PlotLayout(figure: figure, width: 640, height: 420)
        let p = layout.plot
        func px(_ x: Double) -> Double { p.x + x / 4 * p.width }
        func py(_ y: Double) -> Double { p.maxY - y * p.height }
        let expected = [(0.0, 1.0), (1, 1), (1, 0.5), (3, 0.5), (3, 0.25)]
        #expect(layout.geometry[0].polylines.count == 1)
        let points = expected.map { "\(SVGRenderer.coordinate(px($0.0))),\(SVGRenderer.coordinate(py($0.1)))" }.joined(separator: " ")
        #expect(SVGRenderer.render(figure).contains(#"<polyline points="\#(points)""#))
    }

    @Test func autoRangeCoversDataAndErrorBarsWithAMargin() {
        let figure = Figure(name: "r", title: "", x: Figure.Axis("x"), y: Figure.Axis("y", scale: .log),
                            series: [Figure.Series("", mark: .points, x: [1, 3], y: [10, 100], yLow: [5, 90], yHigh: [20, 400])])
        let layout = SVGRenderer.PlotLayout(figure: figure, width: 640, height: 420)
        #expect(abs(layout.x.lower - 0.9) < 1e-12 && abs(layout.x.upper - 3.1) < 1e-12)
        let margin = 0.05 * (log10(400) - log10(5))
        #expect(abs(log10(layout.y.lower) - (log10(5) - margin)) < 1e-12)
        #expect(abs(log10(layout.y.upper) - (log10(400) + margin)) < 1e-12)
    }

    @Test func singleValueStillGivesAnAxis() throws {
        for scale in [Figure.Scale.linear, .log] {
            let figure = Figure(name: "one", title: "", x: Figure.Axis("x"), y: Figure.Axis("y", scale: scale),
                                series: [Figure.Series("", mark: .points, x: [2, 2], y: [5, 5])])
            let layout = SVGRenderer.PlotLayout(figure: figure, width: 640, height: 420)
            #expect(layout.x.lower < 2 && layout.x.upper > 2 && layout.y.lower < 5 && layout.y.upper > 5)
            #expect(layout.xTicks.compactMap(\.label).count >= 2 && layout.yTicks.compactMap(\.label).count >= 2)
            let svg = SVGRenderer.render(figure)
            #expect(try #require(XMLSummary(svg)).elements["circle"] == 2)
        }
        let zero = Figure(name: "z", title: "", x: Figure.Axis("x", range: 3...3), y: Figure.Axis("y"),
                          series: [Figure.Series("", mark: .points, x: [3], y: [0])])
        let layout = SVGRenderer.PlotLayout(figure: zero, width: 640, height: 420)
        #expect(layout.y.lower == -1 && layout.y.upper == 1 && layout.x.lower < 3 && layout.x.upper > 3)
    }

    // MARK: Undrawable data

    @Test func nanAndNonPositiveOnLogAreSkipped() throws {
        let figure = Figure(name: "n", title: "", x: Figure.Axis("x"), y: Figure.Axis("y", scale: .log),
                            series: [Figure.Series("pts", mark: .points, x: [1, 2, 3, 4, .nan, 6, .infinity],
                                                   y: [.nan, .infinity, -1, 0, 5, 7, 8]),
                                     Figure.Series("line", mark: .line, x: [1, 2, 3, 4, 5], y: [1, .nan, 2, -3, 4])])
        let svg = SVGRenderer.render(figure)
        #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        let parsed = try #require(XMLSummary(svg))
        #expect(parsed.elements["circle"] == 1 + 1, "one drawable point, one legend marker")
        // The line breaks at NaN and at −3, leaving three isolated points: no segment to draw.
        let layout = SVGRenderer.PlotLayout(figure: figure, width: 640, height: 420)
        #expect(layout.geometry[1].polylines.isEmpty)
        #expect(layout.y.lower > 0 && layout.y.lower < 1 && layout.y.upper > 7)
    }

    @Test func extremeValuesNeverReachTheDocument() throws {
        let huge = [-1.7e308, -1e300, 0, 1e-300, 1e300, 1.7e308]
        for range in [nil, 0.0...1.0] {
            for scale in [Figure.Scale.linear, .log] {
                let figure = Figure(name: "x", title: "", x: Figure.Axis("x", range: range), y: Figure.Axis("y", scale: scale),
                                    series: [Figure.Series("a", mark: .line, x: huge, y: huge.reversed()),
                                             Figure.Series("b", mark: .step, x: huge, y: huge),
                                             Figure.Series("c", mark: .points, x: huge, y: huge, yLow: huge, yHigh: huge)])
                let svg = SVGRenderer.render(figure)
                #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
                #expect(XMLSummary(svg) != nil)
            }
        }
    }

    @Test func lineBreaksAtUndrawablePoints() {
        let figure = Figure(name: "b", title: "", x: Figure.Axis("x"), y: Figure.Axis("y", scale: .log),
                            series: [Figure.Series("", mark: .line, x: [1, 2, 3, 4, 5, 6], y: [1, 2, 0, 3, 4, .nan])])
        let layout = SVGRenderer.PlotLayout(figure: figure, width: 640, height: 420)
        #expect(layout.geometry[0].polylines.map(\.count) == [2, 2])
    }

    /// An error bar's lower end ≤ 0 on a log axis runs to the bottom of the axes, without a cap.
    @Test func errorBarToNonPositiveRunsToTheBottom() throws {
        let layout = SVGRenderer.PlotLayout(figure: Self.edgeCases, width: 640, height: 420)
        let bars = layout.geometry[1].errorBars
        #expect(bars.count == 2, "the point at y = 0 and the one at x = NaN have no bar")
        let open = try #require(bars.last)
        #expect(open.bottom == layout.plot.maxY && !open.capBottom && open.capTop)
    }

    @Test func noDataRendersAxesAndANote() throws {
        for series in [[], [Figure.Series("empty", mark: .line, x: [], y: [])],
                       [Figure.Series("undrawable", mark: .points, x: [.nan, 1], y: [1, .nan], yLow: [0, 0], yHigh: [2, 2])]] {
            let figure = Figure(name: "none", title: "Nothing", x: Figure.Axis("x"), y: Figure.Axis("y", scale: .log), series: series)
            let svg = SVGRenderer.render(figure)
            let parsed = try #require(XMLSummary(svg))
            #expect(parsed.texts.contains("no data"))
            #expect(parsed.elements["polyline"] == nil && (parsed.elements["circle"] ?? 0) <= 1)
            #expect(!svg.lowercased().contains("nan"))
        }
    }

    // MARK: Marks and legend

    @Test func marksAndStyles() throws {
        let svg = SVGRenderer.render(Self.arrhenius)
        #expect(svg.contains(#"stroke-dasharray="6 4""#) && svg.contains(#"stroke-dasharray="2 3""#))
        #expect(svg.contains(##"<g fill="#ffffff" stroke="#1f77b4" stroke-width="1.5">"##), "open circle: hollow, series colour")
        let layout = SVGRenderer.PlotLayout(figure: Self.arrhenius, width: 640, height: 420)
        #expect(layout.geometry[0].errorBars.count == 7 && layout.geometry[0].errorBars.allSatisfy { $0.capTop && $0.capBottom })
        let parsed = try #require(XMLSummary(svg))
        #expect(parsed.texts.contains("Kramers"))
    }

    @Test func legendOnlyWhenNamedAndClearOfData() throws {
        let unnamed = Figure(name: "u", title: "", x: Figure.Axis("x"), y: Figure.Axis("y"),
                             series: [Figure.Series("", mark: .line, x: [0, 1], y: [0, 1])])
        #expect(SVGRenderer.PlotLayout(figure: unnamed, width: 640, height: 420).legendBox == nil)
        for figure in Self.samples + [Self.manySeries] {
            let layout = SVGRenderer.PlotLayout(figure: figure, width: 640, height: 420)
            let box = try #require(layout.legendBox)
            #expect(layout.legendEntries.count == figure.series.filter { !$0.name.isEmpty }.count)
            #expect(box.maxX <= 640 && box.maxY <= 420)
            if layout.legendPlacement == .inside {
                #expect(layout.geometry.allSatisfy { $0.covered(by: box) == 0 }, "\(figure.name): legend over data")
            } else {
                #expect(box.x > layout.plot.maxX)
            }
        }
        #expect(SVGRenderer.PlotLayout(figure: Self.manySeries, width: 640, height: 420).legendPlacement == .right)
        // A legend taller than the axes is cut, with a note of how many were left out.
        let crowd = Figure(name: "crowd", title: "", x: Figure.Axis("x"), y: Figure.Axis("y"),
                           series: (0..<40).map { Figure.Series("s\($0)", mark: .line, x: [0, 1], y: [0, Double($0)]) })
        let layout = SVGRenderer.PlotLayout(figure: crowd, width: 640, height: 420)
        let box = try #require(layout.legendBox)
        #expect(layout.legendOmitted > 0 && layout.legendEntries.count + layout.legendOmitted == 40)
        #expect(box.maxY <= layout.plot.maxY + 1)
        #expect(try #require(XMLSummary(SVGRenderer.render(crowd))).texts.contains("… and \(layout.legendOmitted) more"))
    }

    @Test func tickLabelsDoNotOverlap() {
        for figure in Self.samples + [Self.manySeries, Self.edgeCases] {
            let layout = SVGRenderer.PlotLayout(figure: figure, width: 400, height: 260)
            let xs = layout.xTicks.filter { $0.label != nil }
            for (a, b) in zip(xs, xs.dropFirst()) {
                let gap = layout.x.pixel(b.value)! - layout.x.pixel(a.value)!
                let width = { SVGRenderer.PlotLayout.textWidth($0, fontSize: SVGRenderer.PlotLayout.tickFont) }
                let need = (width(a.label!) + width(b.label!)) / 2
                #expect(gap >= need, "\(figure.name): \(a.label!) and \(b.label!)")
            }
        }
    }
}

/// What XMLParser saw: whether the document is well-formed, the root, element counts and
/// the text of each element.
private final class XMLSummary: NSObject, XMLParserDelegate {
    var root: String?
    var elements: [String: Int] = [:]
    var texts: [String] = []
    private var text = ""

    init?(_ document: String) {
        super.init()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = self
        guard parser.parse() else { return nil }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if root == nil { root = name }
        elements[name, default: 0] += 1
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if !text.isEmpty { texts.append(text) }
        text = ""
    }
}
