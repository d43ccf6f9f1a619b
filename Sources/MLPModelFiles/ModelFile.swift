import Foundation
import MLPCore
import MLPTraining

/// MLPKit's provisional model file: JSON holding the model config (Keras-shaped), the compile config and
/// every weight. Keras-compatible `.h5`/`.keras` files replace it as the default in the model-files work;
/// this format stays readable.
///
/// Writes go through `AtomicFile`: a temporary file in the same folder, then a rename, so an interrupted
/// or failed save never leaves a half-written file or destroys the previous one.
public enum ModelFile {
    static let format = "mlpkit-model-v0"

    /// Saves the model's architecture, compile settings (if compiled) and weights to `path`; with
    /// `weightsOnly`, the same file without the compile settings (load it with ``loadWeights(into:from:)``).
    public static func save(_ model: Sequential, to path: String, weightsOnly: Bool = false) throws {
        var layers: [[String: Any]] = []
        for layer in model.layers {
            var config: [String: Any] = ["name": layer.name]
            for (key, value) in layer.config { config[key] = value.json }
            layers.append(["class_name": layer.kerasClassName, "config": config])
        }
        var weights: [[String: Any]] = []
        for layer in model.layers {
            for parameter in layer.parameters {
                weights.append(["name": "\(layer.name)/\(parameter.name)", "shape": parameter.shape,
                                "values": model.backend.download(parameter.value).map(Double.init)])
            }
        }
        var root: [String: Any] = [
            "format": format,
            "model_config": ["class_name": "Sequential",
                             "config": ["name": model.name, "input_dim": model.inputDim, "layers": layers]],
            "seed": String(model.seed),
            "weights": weights,
        ]
        if let scaler = model.inputScaler { root["input_scaler"] = scaler.json }
        if !weightsOnly, let optimizer = model.optimizer, let loss = model.loss {
            var optimizerConfig: [String: Any] = [:]
            for (key, value) in optimizer.config { optimizerConfig[key] = value.json }
            root["training_config"] = [
                "loss": loss.kerasName, "from_logits": loss.isFromLogits,
                "metrics": model.metrics.map(\.kerasName),
                "optimizer_config": ["class_name": optimizer.kerasClassName, "config": optimizerConfig],
            ]
        }
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]) } catch {
            throw MLPError.fileNotWritable(path: path, reason: "JSON cannot hold the model (a weight or setting is NaN or infinite)")
        }
        try writeAtomically(data, to: path)
    }

    /// Writes `data` to `path` atomically (see `AtomicFile.write(_:to:)`): readers see the old file or the
    /// new one, never a half-written one; a failure names `path` and the OS's reason.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        try AtomicFile.write(data, to: path)
    }

    /// Replaces `model`'s weights with those saved in `path` (a full or weights-only file of the same
    /// architecture).
    public static func loadWeights(into model: Sequential, from path: String) throws {
        let saved = try load(from: path, backend: CPUBackend(threadCount: 1))
        do { try model.setWeights(saved.weights()) } catch let error as MLPError {
            throw MLPError.malformedFile(path: path, line: 0, reason: "weights do not fit the model: \(error)")
        }
    }

    /// Loads a model saved by ``save(_:to:weightsOnly:)`` onto `backend`, compiled again if it was compiled
    /// (and `compile` is true).
    public static func load(from path: String, backend: (any Backend)? = nil, compile: Bool = true) throws -> Sequential {
        try KerasConfig.namingSource(path) { try loadChecked(from: path, backend: backend, compile: compile) }
    }

    private static func loadChecked(from path: String, backend: (any Backend)?, compile: Bool) throws -> Sequential {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be opened" : "no such file")
        }
        func bad(_ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: reason) }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw bad("not an MLPKit model file (not JSON)")
        }
        guard root["format"] as? String == format else { throw bad("not an MLPKit model file (format is not \(format))") }
        guard let modelConfig = (root["model_config"] as? [String: Any])?["config"] as? [String: Any],
              let inputDim = modelConfig["input_dim"] as? Int, inputDim > 0,
              let layerConfigs = modelConfig["layers"] as? [[String: Any]] else {
            throw bad("model_config is missing input_dim or layers")
        }
        let seed = (root["seed"] as? String).flatMap(UInt64.init) ?? 0
        var layers: [Layer] = []
        for entry in layerConfigs {
            guard let className = entry["class_name"] as? String, let config = entry["config"] as? [String: Any],
                  let name = config["name"] as? String else { throw bad("a layer entry lacks class_name or config.name") }
            switch className {
            case "Dense":
                guard let units = config["units"] as? Int, units > 0 else { throw bad("Dense layer '\(name)' lacks units") }
                func regularizer(_ prefix: String) -> Regularizer? {
                    guard config[prefix + "_l1"] != nil || config[prefix + "_l2"] != nil else { return nil }
                    return Regularizer(l1: Float(config[prefix + "_l1"] as? Double ?? 0), l2: Float(config[prefix + "_l2"] as? Double ?? 0))
                }
                layers.append(Dense(units, activation: try Activation(keras: config["activation"] as? String ?? "linear"),
                                    useBias: config["use_bias"] as? Bool ?? true,
                                    kernelRegularizer: regularizer("kernel_regularizer"), biasRegularizer: regularizer("bias_regularizer"),
                                    name: name))
            case "Dropout":
                guard let rate = config["rate"] as? Double, rate >= 0, rate < 1 else { throw bad("Dropout layer '\(name)' lacks a rate in [0, 1)") }
                layers.append(Dropout(Float(rate), name: name))
            case "BatchNormalization":
                layers.append(BatchNormalization(momentum: Float(config["momentum"] as? Double ?? 0.99),
                                                 epsilon: Float(config["epsilon"] as? Double ?? 1e-3), name: name))
            case "Activation":
                layers.append(ActivationLayer(try Activation(keras: config["activation"] as? String ?? "linear"), name: name))
            default:
                throw bad("unsupported layer class '\(className)'")
            }
        }
        try Sequential.checkBuildable(inputDim: inputDim, layers: layers, source: path)
        guard let weights = root["weights"] as? [[String: Any]] else { throw bad("no weights") }
        let tensors = try weights.map { entry -> Tensor in
            guard let shape = entry["shape"] as? [Int], let values = entry["values"] as? [Double],
                  shape.allSatisfy({ $0 >= 0 }),
                  shape.reduce((1, false), { product, dimension in
                      let (next, overflow) = product.0.multipliedReportingOverflow(by: dimension)
                      return (next, product.1 || overflow)
                  }) == (values.count, false) else {
                throw bad("weight '\(entry["name"] ?? "?")' is malformed")
            }
            let scalars = values.map(Float.init)
            if let index = scalars.firstIndex(where: { !$0.isFinite }) {
                throw bad("weight '\(entry["name"] ?? "?")' holds \(values[index]) at index \(index): weights must be finite float32 numbers")
            }
            return Tensor(shape: shape, scalars: scalars)
        }
        try KerasConfig.checkWeightCount(inputDim: inputDim, layers: layers, availableValues: tensors.reduce(0) { $0 + $1.scalars.count },
                                         source: path)
        let model = Sequential(inputDim: inputDim, layers, name: modelConfig["name"] as? String ?? "sequential",
                               seed: seed, backend: backend)
        do { try model.setWeights(tensors) } catch let error as MLPError { throw bad("weights do not fit the model: \(error)") }
        model.inputScaler = (root["input_scaler"] as? [String: Any]).flatMap(FeatureScaler.init(json:))
        if compile, let training = root["training_config"] as? [String: Any], let lossName = training["loss"] as? String {
            let optimizerConfig = training["optimizer_config"] as? [String: Any]
            let optimizerName = try OptimizerName(keras: optimizerConfig?["class_name"] as? String ?? "rmsprop")
            let learningRate = ((optimizerConfig?["config"] as? [String: Any])?["learning_rate"] as? Double).map(Float.init)
            try model.compile(optimizer: optimizerName.make(learningRate: learningRate),
                              loss: Loss(keras: lossName, fromLogits: training["from_logits"] as? Bool ?? false),
                              metrics: ((training["metrics"] as? [String]) ?? []).map { try Metric(keras: $0) })
        }
        return model
    }
}
