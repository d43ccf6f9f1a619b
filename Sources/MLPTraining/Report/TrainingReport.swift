import Foundation
import MLPCore

/// Everything a training report shows, as data: what ``ReportWriter`` collects during `fit` and what `mlp report`
/// rebuilds from saved files; ``ReportHTML`` draws it. Codable (its JSON is embedded in the page as inert data).
///
/// Series hold one value per epoch (nil where an epoch has none, NaN and infinities included as nil). Keys follow
/// `History`: `loss`, metrics, `val_*`, `learning_rate`, and the ``GradientMonitor`` keys (`grad_norm/<layer>`, …).
public struct TrainingReport: Codable, Equatable, Sendable {
    /// One named value of the run's settings (command line, device, seed, data files, timing).
    public struct Setting: Codable, Equatable, Sendable {
        /// What the value is (`command line`, `device`, …).
        public var name: String
        /// The value, as text.
        public var value: String
        /// Creates a setting.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// One logged quantity over the epochs.
    public struct Series: Codable, Equatable, Sendable {
        /// The `History` key.
        public var name: String
        /// One value per epoch of ``TrainingReport/epochs``; nil when missing or not finite.
        public var values: [Double?]
        /// Creates a series.
        public init(name: String, values: [Double?]) {
            self.name = name
            self.values = values
        }
    }

    /// A histogram of one layer's weights or activations at one epoch.
    public struct Distribution: Codable, Equatable, Sendable {
        /// The layer's name.
        public var layer: String
        /// `weights` (the kernel) or `activations` (the layer's outputs on a sample).
        public var kind: String
        /// The epoch (0-based) after which it was measured.
        public var epoch: Int
        /// The histogram.
        public var histogram: Histogram
        /// Creates a distribution record.
        public init(layer: String, kind: String, epoch: Int, histogram: Histogram) {
            self.layer = layer
            self.kind = kind
            self.epoch = epoch
            self.histogram = histogram
        }
    }

    /// Equal-width bins over `[lower, upper]`; non-finite values are counted apart.
    public struct Histogram: Codable, Equatable, Sendable {
        /// The lowest finite value.
        public var lower: Double
        /// The highest finite value.
        public var upper: Double
        /// The count in each bin.
        public var counts: [Int]
        /// Values that were NaN or infinite.
        public var nonFinite: Int

        /// Bins `values` into `bins` equal-width bins between their finite minimum and maximum.
        ///
        /// Eight values at a time (`SIMD8` compares, blends and arithmetic, which the compiler keeps as vector
        /// instructions; the standard library's generic `pointwiseMin` and `rounded` go lane by lane): one pass for
        /// the finite minimum, maximum and the non-finite count, one for the bin indices, each `(value − lower) /
        /// width` in `Float` as one value at a time gives it, then counted (the same counts).
        public init(_ values: [Float], bins: Int = 24) {
            var lower = Float.infinity, upper = -Float.infinity, nonFinite = 0
            let binCount = Swift.max(1, bins)
            // One more slot than bins: where the non-finite values of a vector are counted, then dropped.
            var counts = [Int](repeating: 0, count: binCount + 1)
            values.withUnsafeBufferPointer { values in
                let count = values.count
                guard let base = values.baseAddress else { return }
                typealias Vector = SIMD8<Float>
                // Bin indices go through a float's bits (below), which hold integers below 2²² exactly.
                let lanes = Vector.scalarCount, whole = binCount < 1 << 22 ? count - count % lanes : 0
                func load(_ index: Int) -> Vector { UnsafeRawPointer(base + index).loadUnaligned(as: Vector.self) }
                let infinity = Vector(repeating: .infinity), minusInfinity = Vector(repeating: -.infinity)
                // Both comparisons are false for NaN.
                func finite(_ vector: Vector) -> SIMDMask<Vector.MaskStorage> { (vector .> minusInfinity) .& (vector .< infinity) }
                var lowest = infinity, highest = minusInfinity
                var nonFiniteLanes = SIMD8<Int32>()
                var index = 0
                while index < whole {
                    let vector = load(index), mask = finite(vector)
                    lowest.replace(with: vector, where: mask .& (vector .< lowest))
                    highest.replace(with: vector, where: mask .& (vector .> highest))
                    nonFiniteLanes &-= unsafeBitCast(.!mask, to: SIMD8<Int32>.self)  // a set lane is −1
                    index += lanes
                }
                for lane in 0..<lanes {
                    lower = Swift.min(lower, lowest[lane])
                    upper = Swift.max(upper, highest[lane])
                    nonFinite += Int(nonFiniteLanes[lane])
                }
                for value in values[whole...] {
                    guard value.isFinite else { nonFinite += 1; continue }
                    lower = Swift.min(lower, value)
                    upper = Swift.max(upper, value)
                }
                guard lower <= upper else { return }
                let width = upper > lower ? (upper - lower) / Float(binCount) : 1, last = binCount - 1
                counts.withUnsafeMutableBufferPointer { counts in
                    // value ≥ lower, so the quotient is ≥ 0; NaN or ∞ (a width that underflowed or overflowed) falls
                    // in the last bin instead of trapping.
                    let lowerVector = Vector(repeating: lower), widthVector = Vector(repeating: width)
                    let lastVector = Vector(repeating: Float(last)), dropped = Vector(repeating: Float(binCount))
                    // x + 2²³ for 0 ≤ x < 2²² is x rounded to the nearest integer n, in the low 23 bits; n − 1 where
                    // n > x makes it x truncated, as `Int(x)` truncates.
                    let magic = Vector(repeating: 8_388_608), mantissa = SIMD8<UInt32>(repeating: 0x7F_FFFF)
                    index = 0
                    while index < whole {
                        let vector = load(index)
                        var bin = (vector - lowerVector) / widthVector
                        bin.replace(with: lastVector, where: .!(bin .< lastVector))
                        bin.replace(with: dropped, where: .!finite(vector))
                        let shifted = bin + magic
                        let nearest = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) & mantissa
                        let slots = nearest &+ unsafeBitCast((shifted - magic) .> bin, to: SIMD8<UInt32>.self)  // + (−1)
                        for lane in 0..<lanes { counts[Int(slots[lane])] &+= 1 }
                        index += lanes
                    }
                    for value in values[whole...] where value.isFinite {
                        let bin = (value - lower) / width
                        counts[bin < Float(last) ? Int(bin) : last] += 1
                    }
                }
            }
            counts.removeLast()
            if lower > upper { (lower, upper) = (0, 0) }
            // Signed zeros (as in ReLU outputs) spelled as 0, whichever the minimum found first.
            if lower == 0 { lower = 0 }
            if upper == 0 { upper = 0 }
            self.lower = Double(lower)
            self.upper = Double(upper)
            self.counts = counts
            self.nonFinite = nonFinite
        }
    }

    /// How the model did on held-out data after training.
    public struct Evaluation: Codable, Equatable, Sendable {
        /// Where the data came from (`--test-data test.csv`, `the validation data`).
        public var source: String
        /// The loss and metrics `evaluate` returned, in order.
        public var logs: [Setting]
        /// Classification: `confusion[true][predicted]` counts; nil for regression.
        public var confusion: [[Int]]?
        /// Regression: (target, prediction − target) pairs of the first output, at most ``ReportWriter/residualLimit``.
        public var residuals: [[Double]]?
        /// Creates an evaluation record.
        public init(source: String, logs: [Setting], confusion: [[Int]]?, residuals: [[Double]]?) {
            self.source = source
            self.logs = logs
            self.confusion = confusion
            self.residuals = residuals
        }
    }

    /// The page's title.
    public var title: String
    /// The run's settings, in order.
    public var settings: [Setting] = []
    /// The model's Keras summary text; nil when unknown.
    public var summary: String?
    /// The epochs that ran (0-based).
    public var epochs: [Int] = []
    /// Every logged quantity, in `History` order.
    public var series: [Series] = []
    /// The quantity the best epoch is chosen by (EarlyStopping's monitor, else `val_loss`, else `loss`).
    public var monitor: String?
    /// Whether lower (`min`) or higher (`max`) ``monitor`` values are better.
    public var monitorMode: String = "min"
    /// The epoch at which EarlyStopping stopped training; nil when it ran to the end.
    public var stoppedEpoch: Int?
    /// The epoch whose weights EarlyStopping restored (`restore_best_weights`); nil otherwise.
    public var restoredEpoch: Int?
    /// Weight and activation histograms per layer, first and last epoch.
    public var distributions: [Distribution] = []
    /// The held-out evaluation; nil without held-out data.
    public var evaluation: Evaluation?
    /// One line per section that could not be built, saying why.
    public var omitted: [String] = []

    /// Creates an empty report with a title.
    public init(title: String) { self.title = title }

    /// The series named `name`, if any.
    public func series(_ name: String) -> Series? { series.first { $0.name == name } }

    /// The best epoch by ``monitor`` and ``monitorMode`` (the first of equal values); nil without values.
    public var bestEpoch: Int? {
        guard let monitor, let values = series(monitor)?.values else { return nil }
        var best: (epoch: Int, value: Double)?
        for (index, value) in values.enumerated() {
            guard let value, index < epochs.count else { continue }
            if best == nil || (monitorMode == "max" ? value > best!.value : value < best!.value) { best = (epochs[index], value) }
        }
        return best?.epoch
    }

    /// Appends one epoch's logs: new keys get nil for the earlier epochs, missing ones nil for this epoch.
    public mutating func append(epoch: Int, logs: Logs) {
        epochs.append(epoch)
        for (position, (key, value)) in logs.enumerated() {
            let number: Double? = value.isFinite ? Double(value) : nil
            // Epoch logs come with the same keys in the same order: the series at the key's position is tried first.
            if position < series.count && series[position].name == key {
                series[position].values.append(number)
            } else if let index = series.firstIndex(where: { $0.name == key }) {
                series[index].values.append(number)
            } else {
                series.append(Series(name: key, values: Array(repeating: nil, count: epochs.count - 1) + [number]))
            }
        }
        for index in series.indices where series[index].values.count < epochs.count { series[index].values.append(nil) }
    }

    /// The layers with ``GradientMonitor`` statistics (`grad_norm/<layer>` series), in order.
    public var monitoredLayers: [String] {
        series.compactMap { $0.name.hasPrefix("grad_norm/") && !$0.name.hasSuffix("/bias") ? String($0.name.dropFirst(10)) : nil }
    }

    /// The ``GradientMonitor`` statistics of epoch index `index` (into ``epochs``), layer by layer, as
    /// `mlp diagnose` reads them; nil when a layer lacks a value.
    public func layerStatistics(at index: Int) -> [LayerStatistics]? {
        var layers: [LayerStatistics] = []
        for layer in monitoredLayers {
            func value(_ key: String) -> Float? { series(key + "/" + layer)?.values[index].map(Float.init) }
            guard let gradient = value("grad_norm"), let weight = value("weight_norm"), let update = value("update_ratio") else { return nil }
            layers.append(LayerStatistics(layer: layer, gradientNorm: gradient, weightNorm: weight, updateRatio: update,
                                          deadFraction: value("dead_fraction"), saturatedFraction: value("saturated_fraction"),
                                          activationMean: value("activation_mean") ?? 0, activationStd: value("activation_std") ?? 0))
        }
        return layers.isEmpty ? nil : layers
    }

    /// The report as JSON: the keys of its `Codable` form in sorted order (nil values left out), so the same report
    /// gives the same bytes and `JSONDecoder` reads it back into an equal report. Numbers are spelled as Swift's
    /// `description` spells them (the shortest text that reads back to the same `Double`); a value that is not
    /// finite, which a report built by ``ReportWriter`` never holds, is written as `null`. `<`, `>` and `&` in
    /// strings are written as `\u003c`, `\u003e` and `\u0026`, so the text can sit inside an HTML `<script>` element
    /// as it is.
    ///
    /// Written by hand rather than through `JSONEncoder`: the report is written at the end of every training run,
    /// and the encoder's generic paths (and their first-use runtime lookups) cost more than the rest of the page.
    public func jsonString() -> String {
        jsonText().string
    }

    /// ``jsonString()``'s text, as bytes.
    func jsonText() -> ReportText {
        var json = ReportJSON()
        json.text = ReportText(capacity: 8192 + 64 * epochs.count * series.count)
        json.open("{")
        json.key("distributions")
        json.array(distributions) { json, item in
            json.open("{")
            json.key("epoch"); json.integer(item.epoch)
            json.key("histogram")
            json.open("{")
            json.key("counts"); json.array(item.histogram.counts) { $0.integer($1) }
            json.key("lower"); json.number(item.histogram.lower)
            json.key("nonFinite"); json.integer(item.histogram.nonFinite)
            json.key("upper"); json.number(item.histogram.upper)
            json.close("}")
            json.key("kind"); json.string(item.kind)
            json.key("layer"); json.string(item.layer)
            json.close("}")
        }
        json.key("epochs"); json.array(epochs) { $0.integer($1) }
        if let evaluation {
            json.key("evaluation")
            json.open("{")
            if let confusion = evaluation.confusion {
                json.key("confusion"); json.array(confusion) { json, row in json.array(row) { $0.integer($1) } }
            }
            json.key("logs"); json.array(evaluation.logs) { $0.setting($1) }
            if let residuals = evaluation.residuals {
                json.key("residuals"); json.array(residuals) { json, pair in json.array(pair) { $0.number($1) } }
            }
            json.key("source"); json.string(evaluation.source)
            json.close("}")
        }
        if let monitor { json.key("monitor"); json.string(monitor) }
        json.key("monitorMode"); json.string(monitorMode)
        json.key("omitted"); json.array(omitted) { $0.string($1) }
        if let restoredEpoch { json.key("restoredEpoch"); json.integer(restoredEpoch) }
        json.key("series")
        json.array(series) { json, item in
            json.open("{")
            json.key("name"); json.string(item.name)
            json.key("values"); json.array(item.values) { json, value in
                if let value { json.number(value) } else { json.null() }
            }
            json.close("}")
        }
        json.key("settings"); json.array(settings) { $0.setting($1) }
        if let stoppedEpoch { json.key("stoppedEpoch"); json.integer(stoppedEpoch) }
        if let summary { json.key("summary"); json.string(summary) }
        json.key("title"); json.string(title)
        json.close("}")
        return json.text
    }
}

/// The JSON text of a ``TrainingReport``, appended piece by piece to one ``ReportText`` (commas placed by
/// ``open(_:)``, ``key(_:)`` and the values).
struct ReportJSON {
    var text = ReportText()
    /// Whether the next member or element is the first of its object or array (no comma before it).
    private var first = true

    mutating func open(_ bracket: StaticString) {
        separate()
        text.raw(bracket)
        first = true
    }

    mutating func close(_ bracket: StaticString) {
        text.raw(bracket)
        first = false
    }

    mutating func key(_ name: StaticString) {
        separate()
        text.raw("\"")
        text.raw(name)
        text.raw("\":")
        first = true  // the value follows without a comma
    }

    private mutating func separate() {
        if !first { text.raw(",") }
        first = false
    }

    mutating func array<Items: Sequence>(_ items: Items, _ element: (inout ReportJSON, Items.Element) -> Void) {
        open("[")
        for item in items { element(&self, item) }
        close("]")
    }

    mutating func null() {
        separate()
        text.raw("null")
    }

    mutating func integer(_ value: Int) {
        separate()
        text.integer(value)
    }

    /// The shortest spelling that reads back to `value`; `null` when it is not finite.
    mutating func number(_ value: Double) {
        separate()
        if value.isFinite { text.text(value.description) } else { text.raw("null") }
    }

    mutating func setting(_ setting: TrainingReport.Setting) {
        open("{")
        key("name"); string(setting.name)
        key("value"); string(setting.value)
        close("}")
    }

    /// `value` quoted, with `"`, `\\` and control characters escaped, and `<`, `>`, `&` as `\u` escapes.
    mutating func string(_ value: String) {
        separate()
        text.raw("\"")
        var value = value
        value.withUTF8 { utf8 in
            // Byte by byte: every byte escaped is ASCII, so none is part of a longer UTF-8 sequence.
            var plain = 0  // bytes since the last escape, appended together
            for (index, byte) in utf8.enumerated() {
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x3C || byte == 0x3E || byte == 0x26 else { continue }
                text.append(UnsafeBufferPointer(rebasing: utf8[plain..<index]))
                plain = index + 1
                switch byte {
                case 0x22: text.raw(#"\""#)
                case 0x5C: text.raw(#"\\"#)
                case 0x0A: text.raw(#"\n"#)
                case 0x0D: text.raw(#"\r"#)
                case 0x09: text.raw(#"\t"#)
                case 0x3C: text.raw(#"\u003c"#)
                case 0x3E: text.raw(#"\u003e"#)
                case 0x26: text.raw(#"\u0026"#)
                default:
                    func hexDigit(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x57 + value }  // 0-9, a-f
                    text.raw(#"\u00"#)
                    text.append(hexDigit(byte >> 4))
                    text.append(hexDigit(byte & 15))
                }
            }
            text.append(UnsafeBufferPointer(rebasing: utf8[plain...]))
        }
        text.raw("\"")
    }
}
