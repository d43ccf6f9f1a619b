import Foundation
import MLPCore
import MLPTraining

/// Writes TensorBoard logs while training: Keras' `TensorBoard` callback, plus what Keras 3 dropped.
///
/// - `logDir/train` and `logDir/validation` runs: `epoch_loss`, `epoch_<metric>`, `epoch_learning_rate` (train)
///   at step = epoch; validation values under the same tags (`epoch_loss`), and
///   `evaluation_<name>_vs_iterations` at step = optimizer steps; `batch_<name>` every batch (`.batch`) or
///   every N batches (`.every(N)`), at step = optimizer steps; `epoch_steps_per_second` when asked.
/// - Weight histograms per variable every `histogramFreq` epochs (`sequential/dense/kernel/histogram`), and
///   with `activationSample` the activations of every layer on that fixed batch
///   (`sequential/dense/activation/histogram`).
/// - `writeGraph`: the layer graph as a `GraphDef`, so TensorBoard's Graphs tab draws the model; the model
///   config (JSON) and `summary()` as text summaries (`keras`, `model_summary`).
/// - `embeddingsSample`: at train end the last hidden layer's activations on those samples, with their labels,
///   for TensorBoard's projector (`projector_config.pbtxt`, `embeddings/tensors.tsv`, `embeddings/metadata.tsv`).
///
/// Event files are flushed at every epoch end and on close; records already written survive a killed process.
/// A log folder that cannot be created is an error at `fit` start.
public final class TensorBoard: Callback {
    /// How often batch-level scalars are written.
    public enum UpdateFrequency: Equatable, Sendable {
        case epoch, batch
        case every(Int)
    }

    /// The folder that receives the `train` and `validation` runs (`logs` by default).
    public let logDir: String
    /// Epochs between weight (and activation) histograms; 0 (the default) writes none.
    public let histogramFreq: Int
    /// Whether the layer graph, the model config and `summary()` are written (true by default).
    public let writeGraph: Bool
    /// How often batch-level scalars are written (`.epoch` by default: none).
    public let updateFreq: UpdateFrequency
    /// Whether `epoch_steps_per_second` is written (false by default).
    public let writeStepsPerSecond: Bool
    /// A fixed batch whose per-layer activations are histogrammed with the weights; nil for none.
    public let activationSample: Tensor?
    /// Samples and their labels for the projector, written at train end; nil for none.
    public let embeddingsSample: (x: Tensor, labels: [String])?

    var train: EventFileWriter?
    var validation: EventFileWriter?
    var epochStart = Date()
    var batchesThisEpoch = 0

    /// Creates the callback with Keras' names and defaults; the folders are created at `fit` start.
    public init(logDir: String = "logs", histogramFreq: Int = 0, writeGraph: Bool = true, updateFreq: UpdateFrequency = .epoch,
                writeStepsPerSecond: Bool = false, activationSample: Tensor? = nil, embeddingsSample: (x: Tensor, labels: [String])? = nil) {
        self.logDir = logDir
        self.histogramFreq = histogramFreq
        self.writeGraph = writeGraph
        self.updateFreq = updateFreq
        self.writeStepsPerSecond = writeStepsPerSecond
        self.activationSample = activationSample
        self.embeddingsSample = embeddingsSample
    }

    public override var needsBatchLogs: Bool { updateFreq != .epoch }

    var trainDirectory: String { (logDir as NSString).appendingPathComponent("train") }
    var validationDirectory: String { (logDir as NSString).appendingPathComponent("validation") }

    public override func onTrainBegin(logs: Logs) throws {
        guard let model else { return }
        train = try EventFileWriter(directory: trainDirectory)
        validation = try EventFileWriter(directory: validationDirectory)
        if writeGraph {
            var event = Mlpkit_Tensorboard_Event()
            event.wallTime = Date().timeIntervalSince1970
            event.graphDef = try TensorBoard.graph(of: model).serializedData()
            try train?.write(event)
            let config = try KerasConfig.json(KerasConfig.modelConfig(model, flavour: .keras3))
            try train?.write([EventFileWriter.text("keras", config), EventFileWriter.text("model_summary", "```\n" + model.summary() + "```")],
                             step: 0)
        }
        try train?.flush()
    }

    public override func onEpochBegin(_ epoch: Int) throws {
        epochStart = Date()
        batchesThisEpoch = 0
    }

    public override func onTrainBatchEnd(_ batch: Int, logs: Logs?) throws {
        batchesThisEpoch += 1
        guard let logs, let step = model?.optimizer?.iterations else { return }
        let due: Bool
        switch updateFreq {
        case .epoch: due = false
        case .batch: due = true
        case .every(let n): due = step % max(n, 1) == 0
        }
        if due { try train?.write(logs.map { EventFileWriter.scalar("batch_" + $0.0, $0.1) }, step: step) }
    }

    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        guard let model else { return }
        var trainValues: [Mlpkit_Tensorboard_Summary.Value] = []
        var validationValues: [Mlpkit_Tensorboard_Summary.Value] = []
        var evaluationValues: [Mlpkit_Tensorboard_Summary.Value] = []
        for (key, value) in logs {
            if key.hasPrefix("val_") {
                let name = String(key.dropFirst(4))
                validationValues.append(EventFileWriter.scalar("epoch_" + name, value))
                evaluationValues.append(EventFileWriter.scalar("evaluation_\(name)_vs_iterations", value))
            } else if key != "learning_rate" {
                trainValues.append(EventFileWriter.scalar("epoch_" + key, value))
            }
        }
        if let rate = model.optimizer?.learningRate { trainValues.append(EventFileWriter.scalar("epoch_learning_rate", rate)) }
        if writeStepsPerSecond {
            trainValues.append(EventFileWriter.scalar("epoch_steps_per_second", Float(Double(batchesThisEpoch) / max(Date().timeIntervalSince(epochStart), 1e-9))))
        }
        if histogramFreq > 0 && epoch % histogramFreq == 0 {
            for layer in model.layers {
                for parameter in layer.parameters {
                    trainValues.append(EventFileWriter.histogram("\(model.name)/\(layer.name)/\(parameter.name)/histogram",
                                                                 model.backend.download(parameter.value)))
                }
            }
            if let activationSample {
                for (layer, output) in zip(model.layers, try model.layerOutputs(activationSample)) {
                    trainValues.append(EventFileWriter.histogram("\(model.name)/\(layer.name)/activation/histogram", output.scalars))
                }
            }
        }
        try train?.write(trainValues, step: epoch)
        try validation?.write(validationValues, step: epoch)
        try validation?.write(evaluationValues, step: model.optimizer?.iterations ?? epoch)
        try train?.flush()
        try validation?.flush()
    }

    public override func onTrainEnd(logs: Logs) throws {
        if let embeddingsSample, let model { try writeProjector(model: model, sample: embeddingsSample) }
        try train?.close()
        try validation?.close()
        train = nil
        validation = nil
    }

    /// The last hidden layer's activations as `embeddings/tensors.tsv`, the labels as
    /// `embeddings/metadata.tsv`, and `projector_config.pbtxt` pointing at them (in the log folder).
    func writeProjector(model: Sequential, sample: (x: Tensor, labels: [String])) throws {
        let outputs = try model.layerOutputs(sample.x)
        guard let hidden = outputs.count >= 2 ? outputs[outputs.count - 2] : outputs.last else { return }
        let folder = (logDir as NSString).appendingPathComponent("embeddings")
        try EventFileWriter.makeFolder(folder)
        var tensors = ""
        for row in 0..<hidden.rowCount { tensors += hidden.row(row).map { String($0) }.joined(separator: "\t") + "\n" }
        try AtomicFile.write(Data(tensors.utf8), to: (folder as NSString).appendingPathComponent("tensors.tsv"))
        try AtomicFile.write(Data(sample.labels.map { $0 + "\n" }.joined().utf8),
                             to: (folder as NSString).appendingPathComponent("metadata.tsv"))
        let config = """
        embeddings {
          tensor_name: "\(model.name)/last_hidden_layer"
          tensor_shape: \(hidden.rowCount)
          tensor_shape: \(hidden.columnCount)
          tensor_path: "embeddings/tensors.tsv"
          metadata_path: "embeddings/metadata.tsv"
        }

        """
        try AtomicFile.write(Data(config.utf8), to: (logDir as NSString).appendingPathComponent("projector_config.pbtxt"))
    }

    /// The layer graph: an input placeholder and, per layer, its ops in a name scope (`dense/MatMul`,
    /// `dense/BiasAdd`, `dense/Relu`), each reading the previous one.
    static func graph(of model: Sequential) -> Mlpkit_Tensorboard_GraphDef {
        var graph = Mlpkit_Tensorboard_GraphDef()
        graph.versions.producer = 22
        func node(_ name: String, _ op: String, _ inputs: [String], units: Int? = nil) -> Mlpkit_Tensorboard_NodeDef {
            var node = Mlpkit_Tensorboard_NodeDef()
            node.name = name
            node.op = op
            node.input = inputs
            var dtype = Mlpkit_Tensorboard_AttrValue()
            dtype.type = .dtFloat
            node.attr["T"] = dtype
            if let units {
                var shape = Mlpkit_Tensorboard_TensorShapeProto()
                var batch = Mlpkit_Tensorboard_TensorShapeProto.Dim()
                batch.size = -1
                var width = Mlpkit_Tensorboard_TensorShapeProto.Dim()
                width.size = Int64(units)
                shape.dim = [batch, width]
                var attribute = Mlpkit_Tensorboard_AttrValue()
                attribute.shape = shape
                node.attr["_output_shapes"] = attribute
            }
            return node
        }
        graph.node.append(node("input", "Placeholder", [], units: model.inputDim))
        var previous = "input"
        for layer in model.layers {
            let scope = layer.name
            var ops: [(String, String)] = []
            switch layer {
            case let dense as Dense:
                ops.append(("MatMul", "MatMul"))
                if dense.useBias { ops.append(("BiasAdd", "BiasAdd")) }
                if dense.activation != .linear { ops.append((dense.activation.rawValue, dense.activation.rawValue.capitalized)) }
            case is BatchNormalization: ops.append(("FusedBatchNorm", "FusedBatchNormV3"))
            case is Dropout: ops.append(("dropout", "Dropout"))
            case let activation as ActivationLayer: ops.append((activation.activation.rawValue, activation.activation.rawValue.capitalized))
            default: ops.append(("op", layer.kerasClassName))
            }
            for (index, op) in ops.enumerated() {
                let name = "\(scope)/\(op.0)"
                graph.node.append(node(name, op.1, [previous], units: index == ops.count - 1 ? layer.outputUnits : nil))
                previous = name
            }
        }
        return graph
    }
}
