import ArgumentParser
import Foundation
import MLPKit

/// `mlp report`: the training report (``ReportHTML``) rebuilt from saved files: a history, a model, test data.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Build an HTML training report from saved files (what they hold: a history, a model, test data).")

    @Option(help: "A history JSON file: `mlp train --history-json` output or Keras' History.history dict.")
    var history: String?
    @Option(help: "A model file (.h5, .keras, .json): its summary, weight distributions and, with --data, the evaluation.")
    var model: String?
    @Option(help: "Labelled test data (CSV with a header row) to evaluate --model on.")
    var data: String?
    @OptionGroup var labels: LabelOptions
    @Option(help: "The HTML file to write.")
    var output: String
    @Option(help: "The page's title.")
    var title: String = "Training report"

    func run() throws {
        try reportingErrors {
            guard history != nil || model != nil else { throw MLPError.invalidArgument("report needs --history FILE, --model FILE or both") }
            if data != nil && model == nil { throw MLPError.invalidArgument("--data needs --model FILE (the model to evaluate)") }
            try AtomicFile.checkWritable(output)
            var report = TrainingReport(title: title)
            report.settings = [.init("built by", "mlp report")] + [("history", history), ("model", model), ("data", data)]
                .compactMap { name, value in value.map { TrainingReport.Setting(name, $0) } }
            if let history {
                let (epochs, series) = try Report.readHistory(history)
                report.epochs = epochs
                report.series = series
                report.monitor = series.contains { $0.name == "val_loss" } ? "val_loss" : series.contains { $0.name == "loss" } ? "loss" : nil
                report.omitted.append("Early stopping: a history file does not record where EarlyStopping stopped or which epoch it restored.")
            } else {
                report.omitted.append("Training curves and gradient health: no --history file was given.")
            }
            if let model {
                let network = try Report.loadModel(model)
                report.summary = network.summary()
                let loaded = try data.map {
                    try LabeledData(path: $0, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns, requireLabels: true)
                }
                if let loaded, let path = data {
                    try checkFeatureCount(loaded.x, model: network, path: path)
                    if let loss = network.loss {
                        try loaded.checkLabels(loss: loss, outputUnits: network.outputUnits)
                        report.evaluation = try ReportWriter.evaluate(network, x: loaded.x, y: loaded.y!, source: path)
                    } else {
                        report.omitted.append("Evaluation: \(model) was saved without a loss (not compiled).")
                    }
                } else {
                    report.omitted.append("Evaluation: no --data file was given.")
                }
                report.distributions = try ReportWriter.distributions(of: network, epoch: max(0, (report.epochs.last ?? 0)), sample: loaded?.x)
                report.omitted.append("First-epoch distributions: a model file holds only its final weights.")
            } else {
                report.omitted.append("Model summary, distributions and evaluation: no --model file was given.")
            }
            try writeAtomically(ReportHTML.render(report), to: output)
        }
    }

    /// The model compiled as saved, else (a training config MLPKit cannot read) uncompiled.
    static func loadModel(_ path: String) throws -> Sequential {
        do {
            return try Sequential.load(from: path)
        } catch {
            guard let plain = try? Sequential.load(from: path, compile: false) else { throw error }
            return plain
        }
    }

    /// A `{"loss": [..], "val_loss": [..], …}` file (Python's `NaN`/`Infinity` allowed), keys in the file's order.
    static func readHistory(_ path: String) throws -> (epochs: [Int], series: [TrainingReport.Series]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "it cannot be read" : "no such file")
        }
        let text = String(decoding: data, as: UTF8.self)
        let plain = text.replacingOccurrences(of: #"(?<![\w".])-?(NaN|Infinity)(?![\w"])"#, with: "null", options: .regularExpression)
        guard let object = try? JSONSerialization.jsonObject(with: Data(plain.utf8)), let dictionary = object as? [String: Any] else {
            throw MLPError.invalidArgument("\(path) is not a history JSON object ({\"loss\": [...], ...})")
        }
        var series: [TrainingReport.Series] = []
        for (key, value) in dictionary {
            guard let list = value as? [Any] else {
                throw MLPError.invalidArgument("\(path): '\(key)' is not a list of numbers")
            }
            let values: [Double?] = try list.map { item in
                if item is NSNull { return nil }
                guard let number = item as? NSNumber else {
                    throw MLPError.invalidArgument("\(path): '\(key)' holds \(item), not a number")
                }
                return number.doubleValue.isFinite ? number.doubleValue : nil
            }
            series.append(.init(name: key, values: values))
        }
        let count = series.map(\.values.count).max() ?? 0
        for index in series.indices { series[index].values += Array(repeating: nil, count: count - series[index].values.count) }
        // The file's order (JSON objects have none once parsed): where each key first appears.
        func position(_ key: String) -> Int {
            text.range(of: "\"\(key)\"").map { text.distance(from: text.startIndex, to: $0.lowerBound) } ?? Int.max
        }
        series.sort { (position($0.name), $0.name) < (position($1.name), $1.name) }
        return (Array(0..<count), series)
    }
}

extension Train {
    /// The `--report` callback: settings from the flags, evaluation on `--test-data` (or the validation data),
    /// activations on that data or the training data.
    func makeReportWriter(_ path: String, network: Sequential, validation: (x: Tensor, y: Tensor)?, test: (x: Tensor, y: Tensor)?,
                          trainX: Tensor) -> ReportWriter {
        let evaluation = test.map { ($0.x, $0.y, testData ?? (idx != nil ? "the IDX t10k files" : "the digits test split")) }
            ?? validation.map { ($0.x, $0.y, "the validation data \(validationData ?? "")") }
        var settings: [TrainingReport.Setting] = [
            .init("command line", CommandLine.arguments.joined(separator: " ")),
            // The class name (`CPUBackend`) as `String(describing:)` spells it, without its protocol conformance lookups (half a millisecond).
            .init("device", _typeName(type(of: network.backend), qualified: false)),
            .init("seed", runOptions.seed.map(String.init) ?? "none (random)"),
            .init("data", data ?? idx ?? "the embedded digits"),
        ]
        if let validationData { settings.append(.init("validation data", validationData)) }
        if let testData { settings.append(.init("test data", testData)) }
        settings.append(.init("epochs, batch size", "\(epochs), \(batchSize)"))
        return ReportWriter(path: path, settings: settings, evaluation: evaluation, evaluationBatchSize: batchSize,
                            activationSample: evaluation?.0 ?? trainX)
    }
}
