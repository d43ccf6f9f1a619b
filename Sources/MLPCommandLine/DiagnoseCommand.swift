import ArgumentParser
import Foundation
import MLPKit

/// `mlp diagnose`: a short training from the model's initialization with a GradientMonitor on every step, then a
/// per-layer table (or JSON) of gradient health and a recommendation.
struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagnose",
        abstract: "Train a few steps from initialization and report each layer's gradient health: norm, ratio to the output layer, update ratio, dead and saturated units, verdict ok | vanishing | exploding | dead.")

    @OptionGroup var model: ModelOptions
    @Option(help: "A labelled CSV file (default: the embedded UCI digits).")
    var data: String?
    @OptionGroup var labels: LabelOptions
    @Option(help: "Loss name (default from the output layer).")
    var loss: String?
    @OptionGroup var optimizerOptions: OptimizerOptions
    @Option(parsing: .unconditional, help: "Training steps to run.")
    var steps: Int = 50
    @Option(parsing: .unconditional, help: "Samples per step.")
    var batchSize: Int = 32
    @Flag(help: "Print {\"layers\": [...]} as JSON instead of the table.")
    var json = false
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        try FlagCheck.count(steps, "--steps", 1...FlagCheck.maxCount)
        try FlagCheck.count(batchSize, "--batch-size", 1...FlagCheck.maxCount)
    }

    func run() throws {
        try reportingErrors {
            let (x, y, output, oneHot): (Tensor, Tensor, LayerSpec, Bool)
            let chosenLoss = try loss.map { try Loss(keras: $0) }
            if let data {
                let real = try LabeledData(path: data, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns, requireLabels: true)
                (x, y, output, oneHot) = (real.x, real.y!, try model.outputSpec() ?? real.inferredOutput(loss: chosenLoss), real.oneHot)
            } else {
                let digits = Datasets.digits()
                (x, y, output, oneHot) = (digits.x, digits.y, try model.outputSpec() ?? LayerSpec(units: 10, activation: .softmax), false)
            }
            let inputDim = x.columnCount
            if let declared = model.inputDim, declared != inputDim {
                throw MLPError.shapeMismatch("the data has \(inputDim) feature columns but --input-dim is \(declared)")
            }
            let lossKind = chosenLoss ?? defaultLoss(for: output, oneHotTargets: oneHot)
            let (backend, announcement) = try runOptions.backend(work: model.stepWork(inputDim: inputDim, output: output, batchSize: batchSize))
            let optimizer = try optimizerOptions.makeOptimizer()
            try checkFits(try model.size(inputDim: inputDim, output: output), optimizer: optimizer, batchSize: batchSize, on: backend)
            if !json { print(announcement, terminator: "") }
            let network = try model.makeModel(inputDim: inputDim, output: output, seed: runOptions.seed, backend: backend)
            try network.compile(optimizer: optimizer, loss: lossKind)
            network.output = { _ in }
            let layers = try network.diagnose(x: x, y: y, batchSize: batchSize, steps: steps)
            if json {
                print(Diagnose.json(layers))
            } else {
                print(Diagnose.table(layers, steps: steps, batchSize: batchSize), terminator: "")
            }
        }
    }

    static func json(_ layers: [LayerDiagnosis]) -> String {
        func number(_ value: Float?) -> Any { value.map { $0.isFinite ? Double($0) as Any : NSNull() } ?? NSNull() }
        let objects: [[String: Any]] = layers.map {
            ["name": $0.statistics.layer, "grad_norm": number($0.statistics.gradientNorm), "relative_grad_norm": number($0.relativeGradientNorm),
             "update_ratio": number($0.statistics.updateRatio), "dead_fraction": number($0.statistics.deadFraction),
             "saturated_fraction": number($0.statistics.saturatedFraction), "verdict": $0.verdict.rawValue]
        }
        // Every value is a string, a finite number or null, which JSON always holds.
        guard let data = try? JSONSerialization.data(withJSONObject: ["layers": objects], options: [.sortedKeys]) else {
            preconditionFailure("the diagnosis holds a value JSON cannot: \(objects)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func table(_ layers: [LayerDiagnosis], steps: Int, batchSize: Int) -> String {
        func scientific(_ value: Float) -> String { value.isNaN ? "nan" : value.isFinite ? String(format: "%.2e", Double(value)) : "\(value)" }
        func percent(_ value: Float?) -> String { value.map { String(format: "%.1f%%", Double($0) * 100) } ?? "-" }
        var text = "Gradient health over \(steps) steps of \(batchSize) samples (last epoch's statistics):\n"
        text += "Layer".padding(toLength: 12, withPad: " ", startingAt: 0) + "Grad norm   ÷ output    Update/W    Dead    Saturated  Verdict\n"
        for layer in layers {
            text += layer.statistics.layer.padding(toLength: 12, withPad: " ", startingAt: 0)
            text += [scientific(layer.statistics.gradientNorm), scientific(layer.relativeGradientNorm), scientific(layer.statistics.updateRatio)]
                .map { $0.padding(toLength: 12, withPad: " ", startingAt: 0) }.joined()
            text += percent(layer.statistics.deadFraction).padding(toLength: 8, withPad: " ", startingAt: 0)
            text += percent(layer.statistics.saturatedFraction).padding(toLength: 11, withPad: " ", startingAt: 0)
            text += layer.verdict.rawValue + "\n"
        }
        for verdict in [GradientVerdict.exploding, .dead, .vanishing] {
            let names = layers.filter { $0.verdict == verdict }.map(\.statistics.layer)
            guard !names.isEmpty else { continue }
            return text + "Recommendation: \(verdict.rawValue) in \(names.joined(separator: ", ")): \(verdict.remedy).\n"
        }
        return text + "Recommendation: none; every layer's gradients are within the thresholds (vanishing below 1% of the output layer's, exploding above 100× or update ratio above 1, dead from 50% of units).\n"
    }
}
