import Foundation

/// Stable number spellings for the report: the same value always gives the same text. `mlp train`'s `auto`
/// device line and the device cost model's reasons use ``cFormatted(_:_:)`` too, for the same reason.
///
/// None goes through Foundation's `String(format:)`, which is slow (tens of thousands of instructions a call) and
/// whose first use costs a run that is over in a tenth of a second more than the rest of the page: the C library's
/// `vsnprintf` spells the `printf` formats (in the C locale, the one a Swift program runs in), and coordinates are
/// spelled digit by digit.
public enum ReportFormat {
    /// Four significant digits (`0.1235`, `1.235e-05`, C's `%.4g`); `-` for nil.
    public static func number(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value.isFinite ? cFormatted("%.4g", value) : "\(value)"
    }

    /// `value` spelled by C's `printf` with `format`, which takes one `double` (`%.4g`, `%.2f s`).
    public static func cFormatted(_ format: String, _ value: Double) -> String {
        var text = "\(value)"
        _ = withCFormatted(format, value) { text = String(decoding: $0, as: UTF8.self) }
        return text
    }

    /// Calls `body` with the bytes of ``cFormatted(_:_:)``'s spelling; false (without calling it) when `vsnprintf`
    /// failed.
    static func withCFormatted(_ format: String, _ value: Double, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        // The longest double spelling with a few decimals (`%.3f` of 1.8e308) is 314 characters.
        let capacity = 400
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
            let count = withVaList([value]) { vsnprintf(buffer.baseAddress!, capacity, format, $0) }
            guard count >= 0 else { return false }
            buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: capacity) {
                body(UnsafeBufferPointer(start: $0, count: min(Int(count), capacity - 1)))
            }
            return true
        }
    }

    /// A coordinate: two decimals (`12.50`, `-3.07`), spelled digit by digit (the report spells thousands per page).
    public static func coordinate(_ value: Double) -> String {
        var text = ""
        if !withCoordinateDigits(of: value, { text = String(decoding: $0, as: UTF8.self) }) { text = cFormatted("%.2f", value) }
        return text
    }

    /// Calls `body` with the bytes of ``coordinate(_:)``'s spelling of `value`; false (without calling it) when
    /// that is not spelled digit by digit (not finite, or 10¹³ or more: C's `%.2f`).
    static func withCoordinateDigits(of value: Double, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        let hundredths = (value * 100).rounded()
        guard value.isFinite, abs(hundredths) < 1e15 else { return false }
        var magnitude = UInt64(abs(hundredths))
        // At most 15 digits, a point and a sign, written backwards from the end of a 24-byte buffer.
        var bytes: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { buffer in
            var start = buffer.count, digits = 0
            repeat {
                if digits == 2 { start -= 1; buffer[start] = 0x2E }  // "."
                start -= 1
                buffer[start] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
                digits += 1
            } while magnitude > 0 || digits < 3
            if hundredths < 0 { start -= 1; buffer[start] = 0x2D }  // "-"
            body(UnsafeBufferPointer(start: (buffer.baseAddress! + start).assumingMemoryBound(to: UInt8.self), count: buffer.count - start))
        }
        return true
    }

    /// Calls `body` with the bytes of `value` in decimal (`String(value)`'s spelling).
    static func withDecimalDigits(of value: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var magnitude = value.magnitude
        // At most 20 digits and a sign, written backwards from the end of a 24-byte buffer.
        var bytes: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { buffer in
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { start -= 1; buffer[start] = 0x2D }  // "-"
            body(UnsafeBufferPointer(start: (buffer.baseAddress! + start).assumingMemoryBound(to: UInt8.self), count: buffer.count - start))
        }
    }

    /// A fraction as a percentage with one decimal; `-` for nil.
    public static func percent(_ value: Double?) -> String { value.map { cFormatted("%.1f%%", $0 * 100) } ?? "-" }

    /// `text` with `&`, `<`, `>` and `"` escaped for HTML text and attributes.
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 }) else { return text }
        // Byte by byte: the four are ASCII, so no other byte of a UTF-8 sequence can be one of them.
        var escaped: [UInt8] = []
        escaped.reserveCapacity(text.utf8.count + 64)
        for byte in text.utf8 {
            switch byte {
            case 0x26: escaped += "&amp;".utf8
            case 0x3C: escaped += "&lt;".utf8
            case 0x3E: escaped += "&gt;".utf8
            case 0x22: escaped += "&quot;".utf8
            default: escaped.append(byte)
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }
}

/// The report's inline SVG figures: no script, no fonts, scaled by their `viewBox`.
///
/// A line chart's `<svg>` carries its axis transform: `data-x-domain="x0 x1"`, `data-y-domain="y0 y1"` (log10
/// values when `data-y-scale="log"`) and `data-plot="left top width height"`; a point (x, y) of a polyline is at
/// `left + (x − x0) / (x1 − x0) · width`, `top + (1 − (y − y0) / (y1 − y0)) · height`. The x values are 1-based epochs.
public enum ReportSVG {
    /// The series colours, in order.
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                 "#bcbd22", "#17becf"]

    /// A vertical mark on a chart at a 1-based epoch.
    public struct Marker {
        /// The 1-based epoch.
        public var epoch: Int
        /// Its label.
        public var label: String
        /// Its colour.
        public var colour: String
        /// Creates a marker.
        public init(epoch: Int, label: String, colour: String) {
            self.epoch = epoch
            self.label = label
            self.colour = colour
        }
    }

    static let width = 640.0, height = 250.0
    static let plot = (left: 64.0, top: 12.0, width: 560.0, height: 180.0)

    /// A line chart of `series` over 1-based `epochs`; nil values (and, on a log scale, values ≤ 0) are left out.
    public static func lineChart(title: String, epochs: [Int], series: [(name: String, values: [Double?])], markers: [Marker] = [],
                                 logScale: Bool = false) -> String {
        var text = ReportText()
        lineChart(into: &text, title: title, epochs: epochs, series: series, markers: markers, logScale: logScale)
        return text.string
    }

    /// ``lineChart(title:epochs:series:markers:logScale:)``, appended to `svg`.
    static func lineChart(into svg: inout ReportText, title: String, epochs: [Int], series: [(name: String, values: [Double?])],
                          markers: [Marker] = [], logScale: Bool = false) {
        let xs = epochs.map { Double($0 + 1) }
        func transformed(_ value: Double?) -> Double? {
            guard let value, value.isFinite else { return nil }
            if logScale { return value > 0 ? log10(value) : nil }
            return value
        }
        // The first lowest and highest values, as `min()` and `max()` of them all would find them.
        var (y0, y1) = (Double.infinity, -Double.infinity)
        for line in series {
            for value in line.values {
                guard let y = transformed(value) else { continue }
                if y < y0 { y0 = y }
                if y > y1 { y1 = y }
            }
        }
        if y0 > y1 { (y0, y1) = (0, 1) }
        // A constant series: 0 gets 0…1 (fractions stay non-negative), others ±10% (±0.5 decades on a log scale).
        if y1 - y0 < 1e-12 { (y0, y1) = logScale ? (y0 - 0.5, y1 + 0.5) : y0 == 0 ? (0, 1) : (y0 - abs(y0) * 0.1, y1 + abs(y1) * 0.1) }
        let x0 = xs.first ?? 1, x1 = max(xs.last ?? 1, x0 + 1)
        func px(_ x: Double) -> Double { plot.left + (x - x0) / (x1 - x0) * plot.width }
        func py(_ y: Double) -> Double { plot.top + (1 - (y - y0) / (y1 - y0)) * plot.height }
        openSVG(into: &svg, class: "chart", width: width, height: height, label: title)
        svg.raw("\" data-x-domain=\"")
        svg.coordinate(x0)
        svg.raw(" ")
        svg.coordinate(x1)
        svg.raw("\" data-y-domain=\"")
        svg.text(y0.description)
        svg.raw(" ")
        svg.text(y1.description)
        svg.raw("\" data-y-scale=\"")
        if logScale { svg.raw("log") } else { svg.raw("linear") }
        svg.raw("\" data-plot=\"")
        plotBox(into: &svg, separator: " ")
        svg.raw("\">\n<rect ")
        plotRectangle(into: &svg)
        for step in 0...4 {
            let y = y0 + (y1 - y0) * Double(step) / 4
            svg.raw("<line x1=\"")
            svg.coordinate(plot.left)
            svg.raw("\" x2=\"")
            svg.coordinate(plot.left + plot.width)
            svg.raw("\" y1=\"")
            svg.coordinate(py(y))
            svg.raw("\" y2=\"")
            svg.coordinate(py(y))
            svg.raw("\" class=\"grid\"/><text x=\"")
            svg.coordinate(plot.left - 4)
            svg.raw("\" y=\"")
            svg.coordinate(py(y) + 4)
            svg.raw("\" class=\"tick\" text-anchor=\"end\">")
            svg.number(logScale ? pow(10, y) : y)
            svg.raw("</text>\n")
        }
        for x in xTicks(x0, x1) {
            svg.raw("<text x=\"")
            svg.coordinate(px(x))
            svg.raw("\" y=\"")
            svg.coordinate(plot.top + plot.height + 16)
            svg.raw("\" class=\"tick\" text-anchor=\"middle\">")
            svg.integer(Int(x))
            svg.raw("</text>")
        }
        svg.raw("<text x=\"")
        svg.coordinate(plot.left + plot.width / 2)
        svg.raw("\" y=\"")
        svg.coordinate(plot.top + plot.height + 32)
        svg.raw("\" class=\"tick\" text-anchor=\"middle\">epoch</text>\n")
        for marker in markers {
            let x = px(Double(marker.epoch))
            svg.raw("<line x1=\"")
            svg.coordinate(x)
            svg.raw("\" x2=\"")
            svg.coordinate(x)
            svg.raw("\" y1=\"")
            svg.coordinate(plot.top)
            svg.raw("\" y2=\"")
            svg.coordinate(plot.top + plot.height)
            svg.raw("\" stroke=\"")
            svg.text(marker.colour)
            svg.raw("\" class=\"marker\" data-marker=\"")
            svg.escaped(marker.label)
            svg.raw("\" data-epoch=\"")
            svg.integer(marker.epoch)
            svg.raw("\"/>")
            let labelY = plot.top + 12 + 12 * Double(markers.firstIndex { $0.label == marker.label } ?? 0)
            svg.raw("<text x=\"")
            svg.coordinate(x)
            svg.raw("\" y=\"")
            svg.coordinate(labelY)
            svg.raw("\" class=\"tick\" fill=\"")
            svg.text(marker.colour)
            svg.raw("\" text-anchor=\"")
            if x > plot.left + plot.width / 2 { svg.raw("end") } else { svg.raw("start") }
            svg.raw("\">")
            svg.escaped(marker.label)
            svg.raw("</text>\n")
        }
        for (index, line) in series.enumerated() {
            let colour = palette[index % palette.count]
            svg.raw("<polyline data-series=\"")
            svg.escaped(line.name)
            svg.raw("\" points=\"")
            var first = true
            for (x, value) in zip(xs, line.values) {
                guard let y = transformed(value) else { continue }
                if !first { svg.raw(" ") }
                first = false
                svg.coordinate(px(x))
                svg.raw(",")
                svg.coordinate(py(y))
            }
            svg.raw("\" fill=\"none\" stroke=\"")
            svg.text(colour)
            svg.raw("\" stroke-width=\"2\"")
            if line.name.hasPrefix("val_") { svg.raw(" stroke-dasharray=\"6 3\"") }
            svg.raw("/>\n")
            let legendX = plot.left + Double(index % 4) * 140, legendY = plot.top + plot.height + 46 + Double(index / 4) * 0
            if index < 4 {
                svg.raw("<rect x=\"")
                svg.coordinate(legendX)
                svg.raw("\" y=\"")
                svg.coordinate(legendY - 8)
                svg.raw("\" width=\"12\" height=\"4\" fill=\"")
                svg.text(colour)
                svg.raw("\"/><text x=\"")
                svg.coordinate(legendX + 16)
                svg.raw("\" y=\"")
                svg.coordinate(legendY - 3)
                svg.raw("\" class=\"tick\">")
                svg.escaped(shortName(line.name))
                svg.raw("</text>\n")
            }
        }
        svg.raw("</svg>")
    }

    /// The plot area's `left top width height` (`data-plot`), `separator` between them.
    private static func plotBox(into svg: inout ReportText, separator: StaticString) {
        svg.coordinate(plot.left)
        svg.raw(separator)
        svg.coordinate(plot.top)
        svg.raw(separator)
        svg.coordinate(plot.width)
        svg.raw(separator)
        svg.coordinate(plot.height)
    }

    /// An `<svg>` element's start up to its label's closing quote's place: class, whole-number view box, role and
    /// the (escaped) label; the caller adds its own attributes and the tag's end.
    private static func openSVG(into svg: inout ReportText, class name: StaticString, width: Double, height: Double, label: String) {
        svg.raw("<svg class=\"")
        svg.raw(name)
        svg.raw("\" viewBox=\"0 0 ")
        svg.integer(Int(width))
        svg.raw(" ")
        svg.integer(Int(height))
        svg.raw("\" role=\"img\" aria-label=\"")
        svg.escaped(label)
    }

    /// The plot area's attributes and class after `<rect `, and the line's end.
    private static func plotRectangle(into svg: inout ReportText) {
        svg.raw("x=\"")
        svg.coordinate(plot.left)
        svg.raw("\" y=\"")
        svg.coordinate(plot.top)
        svg.raw("\" width=\"")
        svg.coordinate(plot.width)
        svg.raw("\" height=\"")
        svg.coordinate(plot.height)
        svg.raw("\" class=\"plot\"/>\n")
    }

    /// A layer-qualified key without its prefix (`grad_norm/dense_1` → `dense_1`).
    static func shortName(_ name: String) -> String {
        guard let slash = name.firstIndex(of: "/") else { return name }
        return String(name[name.index(after: slash)...])
    }

    /// At most 10 integer epochs between `x0` and `x1`.
    static func xTicks(_ x0: Double, _ x1: Double) -> [Double] {
        let span = x1 - x0, step = max(1, (span / 9).rounded(.up))
        return Array(stride(from: x0, through: x1, by: step))
    }

    /// A histogram's bars, with its range under them.
    public static func histogram(_ histogram: TrainingReport.Histogram, caption: String, colour: String) -> String {
        var text = ReportText()
        self.histogram(into: &text, histogram, caption: caption, colour: colour)
        return text.string
    }

    /// ``histogram(_:caption:colour:)``, appended to `svg`.
    static func histogram(into svg: inout ReportText, _ histogram: TrainingReport.Histogram, caption: String, colour: String) {
        let (w, h, base) = (300.0, 110.0, 90.0)
        let top = Double(histogram.counts.max() ?? 0), barWidth = w / Double(max(1, histogram.counts.count))
        openSVG(into: &svg, class: "histogram", width: w, height: h, label: caption)
        svg.raw("\">\n")
        for (index, count) in histogram.counts.enumerated() where count > 0 {
            let barHeight = top > 0 ? Double(count) / top * (base - 12) : 0
            svg.raw("<rect x=\"")
            svg.coordinate(Double(index) * barWidth)
            svg.raw("\" y=\"")
            svg.coordinate(base - barHeight)
            svg.raw("\" width=\"")
            svg.coordinate(barWidth - 1)
            svg.raw("\" height=\"")
            svg.coordinate(barHeight)
            svg.raw("\" fill=\"")
            svg.text(colour)
            svg.raw("\"/>")
        }
        svg.raw("\n<line x1=\"0\" x2=\"")
        svg.coordinate(w)
        svg.raw("\" y1=\"")
        svg.coordinate(base)
        svg.raw("\" y2=\"")
        svg.coordinate(base)
        svg.raw("\" class=\"axis\"/><text x=\"0\" y=\"")
        svg.coordinate(h - 4)
        svg.raw("\" class=\"tick\">")
        svg.number(histogram.lower)
        svg.raw("</text><text x=\"")
        svg.coordinate(w)
        svg.raw("\" y=\"")
        svg.coordinate(h - 4)
        svg.raw("\" class=\"tick\" text-anchor=\"end\">")
        svg.number(histogram.upper)
        svg.raw("</text><text x=\"")
        svg.coordinate(w / 2)
        svg.raw("\" y=\"")
        svg.coordinate(h - 4)
        svg.raw("\" class=\"tick\" text-anchor=\"middle\">")
        svg.escaped(caption)
        svg.raw("</text>\n</svg>")
    }

    /// Residuals (prediction − target) against targets, with the zero line.
    public static func residuals(_ points: [[Double]]) -> String {
        var text = ReportText()
        residuals(into: &text, points)
        return text.string
    }

    /// ``residuals(_:)``, appended to `svg`.
    static func residuals(into svg: inout ReportText, _ points: [[Double]]) {
        let xs = points.map { $0[0] }, ys = points.map { $0[1] }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), limit = max(ys.map(abs).max() ?? 1, 1e-12)
        if x1 - x0 < 1e-12 { (x0, x1) = (x0 - 0.5, x1 + 0.5) }
        limit *= 1.05
        func px(_ x: Double) -> Double { plot.left + (x - x0) / (x1 - x0) * plot.width }
        func py(_ y: Double) -> Double { plot.top + (1 - (y + limit) / (2 * limit)) * plot.height }
        openSVG(into: &svg, class: "chart", width: width, height: height, label: "residuals against targets")
        svg.raw("\" data-x-domain=\"")
        svg.text(x0.description)
        svg.raw(" ")
        svg.text(x1.description)
        svg.raw("\" data-y-domain=\"")
        svg.text((-limit).description)
        svg.raw(" ")
        svg.text(limit.description)
        svg.raw("\" data-plot=\"")
        plotBox(into: &svg, separator: " ")
        svg.raw("\">\n<rect ")
        plotRectangle(into: &svg)
        svg.raw("<line x1=\"")
        svg.coordinate(plot.left)
        svg.raw("\" x2=\"")
        svg.coordinate(plot.left + plot.width)
        svg.raw("\" y1=\"")
        svg.coordinate(py(0))
        svg.raw("\" y2=\"")
        svg.coordinate(py(0))
        svg.raw("\" class=\"axis\"/>\n")
        for (y, label) in [(limit, ReportFormat.number(limit)), (0, "0"), (-limit, ReportFormat.number(-limit))] {
            svg.raw("<text x=\"")
            svg.coordinate(plot.left - 4)
            svg.raw("\" y=\"")
            svg.coordinate(py(y) + 4)
            svg.raw("\" class=\"tick\" text-anchor=\"end\">")
            svg.text(label)
            svg.raw("</text>")
        }
        svg.raw("<text x=\"")
        svg.coordinate(plot.left)
        svg.raw("\" y=\"")
        svg.coordinate(plot.top + plot.height + 16)
        svg.raw("\" class=\"tick\">")
        svg.number(x0)
        svg.raw("</text><text x=\"")
        svg.coordinate(plot.left + plot.width)
        svg.raw("\" y=\"")
        svg.coordinate(plot.top + plot.height + 16)
        svg.raw("\" class=\"tick\" text-anchor=\"end\">")
        svg.number(x1)
        svg.raw("</text><text x=\"")
        svg.coordinate(plot.left + plot.width / 2)
        svg.raw("\" y=\"")
        svg.coordinate(plot.top + plot.height + 32)
        svg.raw("\" class=\"tick\" text-anchor=\"middle\">target (y: prediction − target)</text>\n")
        for point in points {
            svg.raw("<circle cx=\"")
            svg.coordinate(px(point[0]))
            svg.raw("\" cy=\"")
            svg.coordinate(py(point[1]))
            svg.raw("\" r=\"2.5\" fill=\"")
            svg.text(palette[0])
            svg.raw("\" fill-opacity=\"0.6\"/>")
        }
        svg.raw("\n</svg>")
    }
}


/// The report page's text as it is written: UTF-8 bytes appended to one growing buffer, numbers spelled straight
/// into it.
///
/// A page holds thousands of short pieces (tags, attributes, coordinates); appending each to one byte buffer
/// costs a copy, where `String` concatenation and interpolation cost a temporary string (and often an allocation)
/// per piece. The bytes are those the `String` code spelled: ``ReportFormat``'s spellings, the same escaping.
struct ReportText {
    /// The text so far, UTF-8.
    private(set) var bytes: [UInt8] = []

    /// An empty text with room for `capacity` bytes.
    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// The text as a `String`.
    var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends a literal (markup), as it is.
    mutating func raw(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends `text` as it is (already markup, or known to need no escaping).
    mutating func text(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Appends UTF-8 bytes as they are.
    mutating func append(_ utf8: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: utf8) }

    /// Appends one byte (an ASCII character).
    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    /// Appends another text.
    mutating func text(_ other: ReportText) { bytes.append(contentsOf: other.bytes) }

    /// Appends `text` with `&`, `<`, `>` and `"` escaped for HTML text and attributes (``ReportFormat/escape(_:)``).
    mutating func escaped(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            // Byte by byte: the four are ASCII, so no other byte of a UTF-8 sequence can be one of them.
            var plain = 0  // bytes since the last escape, appended together
            for (index, byte) in utf8.enumerated() {
                guard byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plain..<index]))
                plain = index + 1
                switch byte {
                case 0x26: raw("&amp;")
                case 0x3C: raw("&lt;")
                case 0x3E: raw("&gt;")
                default: raw("&quot;")
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plain...]))
        }
    }

    /// Appends `value` in decimal.
    mutating func integer(_ value: Int) {
        ReportFormat.withDecimalDigits(of: value) { bytes.append(contentsOf: $0) }
    }

    /// Appends ``ReportFormat/coordinate(_:)``'s spelling of `value`.
    mutating func coordinate(_ value: Double) {
        guard ReportFormat.withCoordinateDigits(of: value, { bytes.append(contentsOf: $0) }) else {
            cFormatted("%.2f", value)
            return
        }
    }

    /// Appends ``ReportFormat/number(_:)``'s spelling of `value` (`%.4g`, `-` for nil).
    mutating func number(_ value: Double?) {
        guard let value else { return bytes.append(0x2D) }  // "-"
        if value.isFinite { cFormatted("%.4g", value) } else { text("\(value)") }
    }

    /// Appends ``ReportFormat/cFormatted(_:_:)``'s spelling of `value`.
    mutating func cFormatted(_ format: String, _ value: Double) {
        if !ReportFormat.withCFormatted(format, value, { bytes.append(contentsOf: $0) }) { text("\(value)") }
    }
}
