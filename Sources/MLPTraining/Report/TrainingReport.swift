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
        public init(_ values: [Float], bins: Int = 24) {
            var lower = Float.infinity, upper = -Float.infinity, nonFinite = 0
            for value in values {
                guard value.isFinite else { nonFinite += 1; continue }
                lower = Swift.min(lower, value)
                upper = Swift.max(upper, value)
            }
            var counts = [Int](repeating: 0, count: Swift.max(1, bins))
            if lower <= upper {
                let width = upper > lower ? (upper - lower) / Float(counts.count) : 1
                for value in values where value.isFinite {
                    counts[Swift.min(counts.count - 1, Int((value - lower) / width))] += 1
                }
            } else {
                (lower, upper) = (0, 0)
            }
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
        for (key, value) in logs {
            let number: Double? = value.isFinite ? Double(value) : nil
            if let index = series.firstIndex(where: { $0.name == key }) {
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

    /// The report as JSON: sorted keys, so the same report gives the same bytes.
    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Every Double in a report is finite (non-finite values are stored as nil), which JSON always holds.
        guard let data = try? encoder.encode(self) else { preconditionFailure("a training report holds a value JSON cannot") }
        return String(decoding: data, as: UTF8.self)
    }
}
