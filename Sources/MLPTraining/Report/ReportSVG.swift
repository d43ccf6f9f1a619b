import Foundation

/// Stable number spellings for the report: the same value always gives the same text.
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
        // The longest double spelling with a few decimals (`%.3f` of 1.8e308) is 314 characters.
        let capacity = 400
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
            let count = withVaList([value]) { vsnprintf(buffer.baseAddress!, capacity, format, $0) }
            guard count >= 0 else { return "\(value)" }
            return buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: capacity) {
                String(decoding: UnsafeBufferPointer(start: $0, count: min(Int(count), capacity - 1)), as: UTF8.self)
            }
        }
    }

    /// A coordinate: two decimals (`12.50`, `-3.07`), spelled digit by digit (the report spells thousands per page).
    public static func coordinate(_ value: Double) -> String {
        let hundredths = (value * 100).rounded()
        guard value.isFinite, abs(hundredths) < 1e15 else { return cFormatted("%.2f", value) }
        var magnitude = UInt64(abs(hundredths))
        // At most 15 digits, a point and a sign, written backwards from the end of a 24-byte buffer; a String of
        // up to 15 bytes is stored inline, without an allocation.
        var bytes: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &bytes) { buffer in
            var start = buffer.count, digits = 0
            repeat {
                if digits == 2 { start -= 1; buffer[start] = 0x2E }  // "."
                start -= 1
                buffer[start] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
                digits += 1
            } while magnitude > 0 || digits < 3
            if hundredths < 0 { start -= 1; buffer[start] = 0x2D }  // "-"
            return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[start...]), as: UTF8.self)
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
        let xs = epochs.map { Double($0 + 1) }
        func transformed(_ value: Double?) -> Double? {
            guard let value, value.isFinite else { return nil }
            if logScale { return value > 0 ? log10(value) : nil }
            return value
        }
        let all = series.flatMap { $0.values.compactMap(transformed) }
        var (y0, y1) = (all.min() ?? 0, all.max() ?? 1)
        // A constant series: 0 gets 0…1 (fractions stay non-negative), others ±10% (±0.5 decades on a log scale).
        if y1 - y0 < 1e-12 { (y0, y1) = logScale ? (y0 - 0.5, y1 + 0.5) : y0 == 0 ? (0, 1) : (y0 - abs(y0) * 0.1, y1 + abs(y1) * 0.1) }
        let x0 = xs.first ?? 1, x1 = max(xs.last ?? 1, x0 + 1)
        func px(_ x: Double) -> Double { plot.left + (x - x0) / (x1 - x0) * plot.width }
        func py(_ y: Double) -> Double { plot.top + (1 - (y - y0) / (y1 - y0)) * plot.height }
        let c = ReportFormat.coordinate
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(ReportFormat.escape(title))\""
        svg += " data-x-domain=\"\(c(x0)) \(c(x1))\" data-y-domain=\"\(y0) \(y1)\" data-y-scale=\"\(logScale ? "log" : "linear")\""
        svg += " data-plot=\"\(c(plot.left)) \(c(plot.top)) \(c(plot.width)) \(c(plot.height))\">\n"
        svg += "<rect x=\"\(c(plot.left))\" y=\"\(c(plot.top))\" width=\"\(c(plot.width))\" height=\"\(c(plot.height))\" class=\"plot\"/>\n"
        for step in 0...4 {
            let y = y0 + (y1 - y0) * Double(step) / 4
            let label = logScale ? ReportFormat.number(pow(10, y)) : ReportFormat.number(y)
            svg += "<line x1=\"\(c(plot.left))\" x2=\"\(c(plot.left + plot.width))\" y1=\"\(c(py(y)))\" y2=\"\(c(py(y)))\" class=\"grid\"/>"
            svg += "<text x=\"\(c(plot.left - 4))\" y=\"\(c(py(y) + 4))\" class=\"tick\" text-anchor=\"end\">\(label)</text>\n"
        }
        for x in xTicks(x0, x1) {
            svg += "<text x=\"\(c(px(x)))\" y=\"\(c(plot.top + plot.height + 16))\" class=\"tick\" text-anchor=\"middle\">\(Int(x))</text>"
        }
        svg += "<text x=\"\(c(plot.left + plot.width / 2))\" y=\"\(c(plot.top + plot.height + 32))\" class=\"tick\" text-anchor=\"middle\">epoch</text>\n"
        for marker in markers {
            let x = c(px(Double(marker.epoch)))
            svg += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(c(plot.top))\" y2=\"\(c(plot.top + plot.height))\" stroke=\"\(marker.colour)\" class=\"marker\""
            svg += " data-marker=\"\(ReportFormat.escape(marker.label))\" data-epoch=\"\(marker.epoch)\"/>"
            let anchor = px(Double(marker.epoch)) > plot.left + plot.width / 2 ? "end" : "start"
            let labelY = plot.top + 12 + 12 * Double(markers.firstIndex { $0.label == marker.label } ?? 0)
            svg += "<text x=\"\(x)\" y=\"\(c(labelY))\" class=\"tick\" fill=\"\(marker.colour)\" text-anchor=\"\(anchor)\">\(ReportFormat.escape(marker.label))</text>\n"
        }
        for (index, line) in series.enumerated() {
            let colour = palette[index % palette.count]
            let dash = line.name.hasPrefix("val_") ? " stroke-dasharray=\"6 3\"" : ""
            svg += "<polyline data-series=\"\(ReportFormat.escape(line.name))\" points=\""
            svg.reserveCapacity(svg.utf8.count + 16 * xs.count + 200)
            var first = true
            for (x, value) in zip(xs, line.values) {
                guard let y = transformed(value) else { continue }
                if !first { svg += " " }
                first = false
                svg += c(px(x))
                svg += ","
                svg += c(py(y))
            }
            svg += "\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
            let legendX = plot.left + Double(index % 4) * 140, legendY = plot.top + plot.height + 46 + Double(index / 4) * 0
            if index < 4 {
                svg += "<rect x=\"\(c(legendX))\" y=\"\(c(legendY - 8))\" width=\"12\" height=\"4\" fill=\"\(colour)\"/>"
                svg += "<text x=\"\(c(legendX + 16))\" y=\"\(c(legendY - 3))\" class=\"tick\">\(ReportFormat.escape(shortName(line.name)))</text>\n"
            }
        }
        return svg + "</svg>"
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
        let (w, h, base) = (300.0, 110.0, 90.0)
        let c = ReportFormat.coordinate
        let top = Double(histogram.counts.max() ?? 0), barWidth = w / Double(max(1, histogram.counts.count))
        var svg = "<svg class=\"histogram\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"\(ReportFormat.escape(caption))\">\n"
        svg.reserveCapacity(svg.utf8.count + 80 * histogram.counts.count + 600)
        let width = c(barWidth - 1), fill = "\" fill=\"" + colour + "\"/>"
        for (index, count) in histogram.counts.enumerated() where count > 0 {
            let barHeight = top > 0 ? Double(count) / top * (base - 12) : 0
            // Piece by piece: no interpolated string to allocate per bar.
            svg += "<rect x=\""
            svg += c(Double(index) * barWidth)
            svg += "\" y=\""
            svg += c(base - barHeight)
            svg += "\" width=\""
            svg += width
            svg += "\" height=\""
            svg += c(barHeight)
            svg += fill
        }
        svg += "\n<line x1=\"0\" x2=\"\(c(w))\" y1=\"\(c(base))\" y2=\"\(c(base))\" class=\"axis\"/>"
        svg += "<text x=\"0\" y=\"\(c(h - 4))\" class=\"tick\">\(ReportFormat.number(histogram.lower))</text>"
        svg += "<text x=\"\(c(w))\" y=\"\(c(h - 4))\" class=\"tick\" text-anchor=\"end\">\(ReportFormat.number(histogram.upper))</text>"
        svg += "<text x=\"\(c(w / 2))\" y=\"\(c(h - 4))\" class=\"tick\" text-anchor=\"middle\">\(ReportFormat.escape(caption))</text>\n"
        return svg + "</svg>"
    }

    /// Residuals (prediction − target) against targets, with the zero line.
    public static func residuals(_ points: [[Double]]) -> String {
        let c = ReportFormat.coordinate
        let xs = points.map { $0[0] }, ys = points.map { $0[1] }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), limit = max(ys.map(abs).max() ?? 1, 1e-12)
        if x1 - x0 < 1e-12 { (x0, x1) = (x0 - 0.5, x1 + 0.5) }
        limit *= 1.05
        func px(_ x: Double) -> Double { plot.left + (x - x0) / (x1 - x0) * plot.width }
        func py(_ y: Double) -> Double { plot.top + (1 - (y + limit) / (2 * limit)) * plot.height }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"residuals against targets\""
        svg += " data-x-domain=\"\(x0) \(x1)\" data-y-domain=\"\(-limit) \(limit)\" data-plot=\"\(c(plot.left)) \(c(plot.top)) \(c(plot.width)) \(c(plot.height))\">\n"
        svg += "<rect x=\"\(c(plot.left))\" y=\"\(c(plot.top))\" width=\"\(c(plot.width))\" height=\"\(c(plot.height))\" class=\"plot\"/>\n"
        svg += "<line x1=\"\(c(plot.left))\" x2=\"\(c(plot.left + plot.width))\" y1=\"\(c(py(0)))\" y2=\"\(c(py(0)))\" class=\"axis\"/>\n"
        for (y, label) in [(limit, ReportFormat.number(limit)), (0, "0"), (-limit, ReportFormat.number(-limit))] {
            svg += "<text x=\"\(c(plot.left - 4))\" y=\"\(c(py(y) + 4))\" class=\"tick\" text-anchor=\"end\">\(label)</text>"
        }
        svg += "<text x=\"\(c(plot.left))\" y=\"\(c(plot.top + plot.height + 16))\" class=\"tick\">\(ReportFormat.number(x0))</text>"
        svg += "<text x=\"\(c(plot.left + plot.width))\" y=\"\(c(plot.top + plot.height + 16))\" class=\"tick\" text-anchor=\"end\">\(ReportFormat.number(x1))</text>"
        svg += "<text x=\"\(c(plot.left + plot.width / 2))\" y=\"\(c(plot.top + plot.height + 32))\" class=\"tick\" text-anchor=\"middle\">target (y: prediction − target)</text>\n"
        for point in points {
            svg += "<circle cx=\"\(c(px(point[0])))\" cy=\"\(c(py(point[1])))\" r=\"2.5\" fill=\"\(palette[0])\" fill-opacity=\"0.6\"/>"
        }
        return svg + "\n</svg>"
    }
}
