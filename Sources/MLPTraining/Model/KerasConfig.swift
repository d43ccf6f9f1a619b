import Foundation
import MLPCore

/// Keras' JSON configs for a Sequential model and its training settings, in the Keras 2 (tf-keras) flavour
/// written to `.h5` files and the Keras 3 flavour of `.keras` files; reading accepts both.
public enum KerasConfig {
    /// Which Keras writes the config.
    public enum Flavour: Sendable { case keras2, keras3 }

    // MARK: Writing

    /// `{"class_name": "Sequential", "config": {...}}` for `model`.
    public static func modelConfig(_ model: Sequential, flavour: Flavour) -> [String: Any] {
        let batchShape: [Any] = [NSNull(), model.inputDim]
        var layers: [[String: Any]] = []
        switch flavour {
        case .keras2:
            layers.append(["class_name": "InputLayer", "config": [
                "batch_input_shape": batchShape, "dtype": "float32", "sparse": false, "ragged": false,
                "name": (model.layers.first?.name ?? "sequential") + "_input"] as [String: Any]])
        case .keras3:
            layers.append(["module": "keras.layers", "class_name": "InputLayer", "registered_name": NSNull(), "config": [
                "batch_shape": batchShape, "dtype": "float32", "sparse": false, "ragged": false, "name": "input_layer",
                "optional": false] as [String: Any]])
        }
        var width = model.inputDim
        for (index, layer) in model.layers.enumerated() {
            var config = layerConfig(layer, flavour: flavour)
            if flavour == .keras2 && index == 0 { config["batch_input_shape"] = batchShape }
            var entry: [String: Any] = ["class_name": layer.kerasClassName, "config": config]
            if flavour == .keras3 {
                entry["module"] = "keras.layers"
                entry["registered_name"] = NSNull()
                entry["build_config"] = ["input_shape": [NSNull(), width] as [Any]]
            }
            layers.append(entry)
            width = layer.outputUnits
        }
        var config: [String: Any] = ["name": model.name, "layers": layers]
        var root: [String: Any] = ["class_name": "Sequential", "config": config]
        if flavour == .keras3 {
            config["trainable"] = true
            config["dtype"] = dtypePolicy
            config["build_input_shape"] = batchShape
            root = ["module": "keras", "class_name": "Sequential", "config": config, "registered_name": NSNull(),
                    "build_config": ["input_shape": batchShape]]
        }
        return root
    }

    static var dtypePolicy: [String: Any] { ["module": "keras", "class_name": "DTypePolicy", "config": ["name": "float32"],
                                               "registered_name": NSNull()] }

    static func layerConfig(_ layer: Layer, flavour: Flavour) -> [String: Any] {
        var config: [String: Any] = ["name": layer.name, "trainable": true,
                                     "dtype": flavour == .keras2 ? "float32" as Any : dtypePolicy as Any]
        switch layer {
        case let dense as Dense:
            config["units"] = dense.units
            config["activation"] = dense.activation.rawValue
            config["use_bias"] = dense.useBias
            config["kernel_initializer"] = initializerConfig(dense.kernelInitializer)
            config["bias_initializer"] = initializerConfig(dense.biasInitializer)
            config["kernel_regularizer"] = dense.kernelRegularizer.map(regularizerConfig) ?? NSNull()
            config["bias_regularizer"] = dense.biasRegularizer.map(regularizerConfig) ?? NSNull()
            config["kernel_constraint"] = NSNull()
            config["bias_constraint"] = NSNull()
            if flavour == .keras2 { config["activity_regularizer"] = NSNull() }
        case let dropout as Dropout:
            config["rate"] = Double(dropout.rate)
            config["noise_shape"] = NSNull()
            config["seed"] = NSNull()
        case let norm as BatchNormalization:
            config["axis"] = flavour == .keras2 ? [1] as Any : -1 as Any
            config["momentum"] = Double(norm.momentum)
            config["epsilon"] = Double(norm.epsilon)
            config["center"] = true
            config["scale"] = true
            config["beta_initializer"] = initializerConfig(.zeros)
            config["gamma_initializer"] = initializerConfig(.ones)
            config["moving_mean_initializer"] = initializerConfig(.zeros)
            config["moving_variance_initializer"] = initializerConfig(.ones)
            for key in ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"] { config[key] = NSNull() }
        case let activation as ActivationLayer:
            config["activation"] = activation.activation.rawValue
        default:
            break
        }
        return config
    }

    static func initializerConfig(_ initializer: Initializer) -> [String: Any] {
        var parameters: [String: Any] = [:]
        switch initializer {
        case .zeros, .ones: break
        case .constant(let value): parameters["value"] = Double(value)
        case let .randomNormal(mean, stddev), let .truncatedNormal(mean, stddev):
            parameters = ["mean": Double(mean), "stddev": Double(stddev), "seed": NSNull()]
        case let .randomUniform(low, high): parameters = ["minval": Double(low), "maxval": Double(high), "seed": NSNull()]
        default: parameters["seed"] = NSNull()
        }
        return ["module": "keras.initializers", "class_name": initializer.kerasClassName, "config": parameters,
                "registered_name": NSNull()]
    }

    static func regularizerConfig(_ regularizer: Regularizer) -> [String: Any] {
        var parameters: [String: Any] = [:]
        if regularizer.kerasClassName != "L2" { parameters["l1"] = Double(regularizer.l1) }
        if regularizer.kerasClassName != "L1" { parameters["l2"] = Double(regularizer.l2) }
        return ["module": "keras.regularizers", "class_name": regularizer.kerasClassName, "config": parameters,
                "registered_name": NSNull()]
    }

    /// Keras' `training_config` (h5) / the core of `compile_config` (.keras), or nil before `compile`.
    public static func trainingConfig(_ model: Sequential) -> [String: Any]? {
        guard let optimizer = model.optimizer, let loss = model.loss else { return nil }
        var optimizerParameters: [String: Any] = ["name": optimizer.kerasClassName.lowercased()]
        for (key, value) in optimizer.config { optimizerParameters[key] = value.json }
        let lossValue: Any = loss.isFromLogits
            ? ["class_name": lossClassNames[loss.kerasName] ?? loss.kerasName, "config": ["from_logits": true, "reduction": "sum_over_batch_size"]] as [String: Any]
            : loss.kerasName as Any
        // tf-keras writes its (non-legacy) optimizers as "Custom>Adam" with is_legacy_optimizer false; a plain
        // "Adam" would make tf-keras build its legacy optimizer, which rejects weight_decay. Keras 3 reads both.
        optimizerParameters["is_legacy_optimizer"] = false
        return ["loss": lossValue, "metrics": model.metrics.map(\.kerasName), "weighted_metrics": NSNull(), "loss_weights": NSNull(),
                "optimizer_config": ["class_name": "Custom>" + optimizer.kerasClassName, "config": optimizerParameters] as [String: Any]]
    }

    static let lossClassNames = [
        "binary_crossentropy": "BinaryCrossentropy", "categorical_crossentropy": "CategoricalCrossentropy",
        "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy", "mean_squared_error": "MeanSquaredError",
        "mean_absolute_error": "MeanAbsoluteError",
    ]

    // MARK: Reading

    /// Builds the Sequential model a Keras config describes (`model.to_json()`, an `.h5`'s `model_config`,
    /// a `.keras` file's `config.json`), with fresh weights. `source` names the file in errors.
    /// `availableValues`, when given, is how many numbers the file holds: a config that needs more weights
    /// than that is an error before anything is allocated.
    public static func model(from root: [String: Any], source: String, seed: UInt64? = nil, backend: (any Backend)? = nil,
                             availableValues: Int? = nil) throws -> Sequential {
        let (inputDim, layers, name) = try architecture(from: root, source: source)
        // The memory check first (it names the bytes a model needs), then the file's own consistency.
        try Sequential.checkBuildable(inputDim: inputDim, layers: layers, source: source)
        try checkWeightCount(inputDim: inputDim, layers: layers, availableValues: availableValues, source: source)
        return Sequential(inputDim: inputDim, layers, name: name, seed: seed, backend: backend)
    }

    /// The most values one weight tensor may have: what one dataset of a model file can hold.
    static let maxTensorValues = 1 << 31 - 1

    /// Refuses, before the model is built, layers whose weights overflow or exceed ``maxTensorValues`` in one
    /// tensor, and (when `availableValues` is given) configs needing more weights than the file holds.
    package static func checkWeightCount(inputDim: Int, layers: [Layer], availableValues: Int?, source: String) throws {
        func bad(_ reason: String) -> MLPError { .malformedFile(path: source, line: 0, reason: reason) }
        var width = inputDim, total = 0
        for layer in layers {
            var count = 0
            if let dense = layer as? Dense {
                let (kernel, overflow) = width.multipliedReportingOverflow(by: dense.units)
                guard !overflow, kernel <= maxTensorValues else {
                    throw bad("Dense layer '\(layer.name)' would have \(width) × \(dense.units) kernel weights, more than \(maxTensorValues) in one tensor")
                }
                count = kernel + (dense.useBias ? dense.units : 0)
                width = dense.units
            } else if layer is BatchNormalization {
                count = 4 * width   // gamma, beta, moving mean, moving variance
            }
            let (sum, overflow) = total.addingReportingOverflow(count)
            guard !overflow else { throw bad("the model config's weight count overflows") }
            total = sum
        }
        if let availableValues, total > availableValues {
            throw bad("the model config needs \(total) weights, but the file holds only \(availableValues) numbers")
        }
    }

    /// The input width, unbuilt layers and name a Keras config describes.
    package static func architecture(from root: [String: Any], source: String) throws -> (inputDim: Int, layers: [Layer], name: String) {
        try namingSource(source) { try readArchitecture(from: root, source: source) }
    }

    /// Runs `body`, turning an unknown name (activation, initializer, loss, optimizer…) into an error that
    /// names the file it came from.
    package static func namingSource<T>(_ source: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as MLPError {
            if case .unknownName = error { throw MLPError.malformedFile(path: source, line: 0, reason: "\(error)") }
            throw error
        }
    }

    private static func readArchitecture(from root: [String: Any], source: String) throws -> (inputDim: Int, layers: [Layer], name: String) {
        func bad(_ reason: String) -> MLPError { .malformedFile(path: source, line: 0, reason: reason) }
        let className = root["class_name"] as? String ?? "?"
        guard className == "Sequential" else {
            throw bad("unsupported model class '\(className)': MLPKit reads Sequential models")
        }
        guard let config = root["config"] as? [String: Any] else { throw bad("the model config has no 'config'") }
        let entries: [[String: Any]]
        if let list = config["layers"] as? [[String: Any]] { entries = list } else if let list = root["config"] as? [[String: Any]] { entries = list } else {
            throw bad("the model config has no layer list")
        }
        var inputDim: Int?
        var layers: [Layer] = []
        for entry in entries {
            let layerClass = entry["class_name"] as? String ?? "?"
            let layerConfig = entry["config"] as? [String: Any] ?? [:]
            let name = layerConfig["name"] as? String
            if inputDim == nil, let shape = (layerConfig["batch_input_shape"] ?? layerConfig["batch_shape"]) as? [Any], let last = shape.last as? Int {
                inputDim = last
            }
            if inputDim == nil, let dim = layerConfig["input_dim"] as? Int { inputDim = dim }
            if inputDim == nil, let shape = layerConfig["input_shape"] as? [Any], let last = shape.last as? Int { inputDim = last }
            if inputDim == nil, let build = (entry["build_config"] as? [String: Any])?["input_shape"] as? [Any], let last = build.last as? Int {
                inputDim = last
            }
            switch layerClass {
            case "InputLayer":
                continue
            case "Dense":
                guard let units = layerConfig["units"] as? Int, units > 0 else { throw bad("Dense layer '\(name ?? "?")' has no units") }
                layers.append(Dense(units, activation: try activation(layerConfig["activation"], source: source),
                                    useBias: layerConfig["use_bias"] as? Bool ?? true,
                                    kernelInitializer: try initializer(layerConfig["kernel_initializer"], default: .glorotUniform, source: source),
                                    biasInitializer: try initializer(layerConfig["bias_initializer"], default: .zeros, source: source),
                                    kernelRegularizer: try regularizer(layerConfig["kernel_regularizer"], source: source),
                                    biasRegularizer: try regularizer(layerConfig["bias_regularizer"], source: source), name: name))
            case "Dropout":
                guard let rate = (layerConfig["rate"] as? NSNumber)?.floatValue, rate >= 0, rate < 1 else {
                    throw bad("Dropout layer '\(name ?? "?")' has no rate in [0, 1)")
                }
                layers.append(Dropout(rate, name: name))
            case "BatchNormalization":
                if (layerConfig["center"] as? Bool) == false || (layerConfig["scale"] as? Bool) == false {
                    throw bad("BatchNormalization layer '\(name ?? "?")' without center or scale is not supported")
                }
                layers.append(BatchNormalization(momentum: (layerConfig["momentum"] as? NSNumber)?.floatValue ?? 0.99,
                                                 epsilon: (layerConfig["epsilon"] as? NSNumber)?.floatValue ?? 1e-3, name: name))
            case "Activation":
                layers.append(ActivationLayer(try activation(layerConfig["activation"], source: source), name: name))
            default:
                throw bad("unsupported layer class '\(layerClass)' (layer '\(name ?? "?")'); MLPKit supports InputLayer, Dense, Dropout, BatchNormalization and Activation")
            }
        }
        guard let inputDim, inputDim > 0 else { throw bad("the model config does not give the input shape") }
        return (inputDim, layers, config["name"] as? String ?? "sequential")
    }

    static func activation(_ value: Any?, source: String) throws -> Activation {
        if value == nil || value is NSNull { return .linear }
        if let name = value as? String { return try Activation(keras: name) }
        if let dict = value as? [String: Any], let name = (dict["config"] as? String) ?? (dict["class_name"] as? String) {
            return try Activation(keras: name)
        }
        throw MLPError.malformedFile(path: source, line: 0, reason: "unreadable activation \(String(describing: value))")
    }

    static func initializer(_ value: Any?, default fallback: Initializer, source: String) throws -> Initializer {
        guard let value, !(value is NSNull) else { return fallback }
        if let name = value as? String { return try Initializer(keras: name) }
        guard let dict = value as? [String: Any], let className = dict["class_name"] as? String else { return fallback }
        let parameters = dict["config"] as? [String: Any] ?? [:]
        func number(_ key: String, _ fallback: Float) -> Float { (parameters[key] as? NSNumber)?.floatValue ?? fallback }
        switch className {
        case "RandomNormal": return .randomNormal(mean: number("mean", 0), stddev: number("stddev", 0.05))
        case "RandomUniform": return .randomUniform(minval: number("minval", -0.05), maxval: number("maxval", 0.05))
        case "TruncatedNormal": return .truncatedNormal(mean: number("mean", 0), stddev: number("stddev", 0.05))
        case "Constant": return .constant(number("value", 0))
        default: return try Initializer(keras: className)
        }
    }

    static func regularizer(_ value: Any?, source: String) throws -> Regularizer? {
        guard let dict = value as? [String: Any], let className = dict["class_name"] as? String else { return nil }
        let parameters = dict["config"] as? [String: Any] ?? [:]
        let l1 = (parameters["l1"] as? NSNumber)?.floatValue ?? 0, l2 = (parameters["l2"] as? NSNumber)?.floatValue ?? 0
        switch className {
        case "L1", "L1L2", "L2", "l1", "l2", "l1_l2": return Regularizer(l1: l1, l2: l2)
        default:
            throw MLPError.malformedFile(path: source, line: 0, reason: "unsupported regularizer class '\(className)'")
        }
    }

    /// Compiles `model` as a Keras `training_config` / `compile_config` says; unknown parts are an error.
    public static func compile(_ model: Sequential, trainingConfig: [String: Any], source: String) throws {
        try namingSource(source) { try compileChecked(model, trainingConfig: trainingConfig, source: source) }
    }

    private static func compileChecked(_ model: Sequential, trainingConfig: [String: Any], source: String) throws {
        let loss = try self.loss(from: trainingConfig["loss"], source: source)
        var metrics: [Metric] = []
        func collect(_ value: Any) {
            if let name = value as? String, let metric = try? Metric(keras: name) { metrics.append(metric) }
            if let list = value as? [Any] { list.forEach(collect) }
            if let dict = value as? [String: Any], let name = (dict["config"] as? [String: Any])?["name"] as? String,
               let metric = try? Metric(keras: name) { metrics.append(metric) }
        }
        collect(trainingConfig["metrics"] ?? [])
        let optimizerDict = (trainingConfig["optimizer_config"] ?? trainingConfig["optimizer"]) as? [String: Any] ?? [:]
        try model.compile(optimizer: optimizer(from: optimizerDict, source: source), loss: loss, metrics: metrics)
    }

    /// A training config's loss in each form Keras writes: a name (`"mse"`), a function
    /// (`{"class_name": "function", "config": "sparse_categorical_crossentropy"}`, Keras 3 with
    /// `loss=keras.losses.fn`), or a class (`{"class_name": "SparseCategoricalCrossentropy", "config":
    /// {"from_logits": false, …}}`, also `{"fn": …}` in tf-keras); a one-element list or a one-output dict too.
    static func loss(from value: Any?, source: String) throws -> Loss {
        if let name = value as? String { return try Loss(keras: name) }
        if let list = value as? [Any], list.count == 1 { return try loss(from: list[0], source: source) }
        guard let dict = value as? [String: Any] else {
            throw MLPError.malformedFile(path: source, line: 0, reason: "the training config has no loss MLPKit can read")
        }
        guard let className = dict["class_name"] as? String else {
            // Keras 2's per-output form: {"dense_2": "mse"}.
            if dict.count == 1, let only = dict.values.first { return try loss(from: only, source: source) }
            throw MLPError.malformedFile(path: source, line: 0, reason: "the training config's loss has no class_name")
        }
        if className == "function" {
            guard let name = dict["config"] as? String else {
                throw MLPError.malformedFile(path: source, line: 0, reason: "the training config's loss function has no name")
            }
            return try Loss(keras: name)
        }
        let config = dict["config"] as? [String: Any] ?? [:]
        if let ignored = config["ignore_class"], !(ignored is NSNull) {
            throw MLPError.malformedFile(path: source, line: 0, reason: "the loss \(className) sets ignore_class, which MLPKit does not support")
        }
        let name = lossClassNames.first { $0.value == className }?.key ?? className
        return try Loss(keras: name, fromLogits: config["from_logits"] as? Bool ?? false)
    }

    static func optimizer(from dict: [String: Any], source: String) throws -> Optimizer {
        var className = dict["class_name"] as? String ?? "RMSprop"
        if className.hasPrefix("Custom>") { className = String(className.dropFirst(7)) }
        let c = dict["config"] as? [String: Any] ?? [:]
        func number(_ key: String) -> Float? { (c[key] as? NSNumber)?.floatValue }
        var rate = number("learning_rate")
        var schedule: LearningRateSchedule?
        if let scheduleDict = c["learning_rate"] as? [String: Any], let sc = scheduleDict["config"] as? [String: Any] {
            let initial = (sc["initial_learning_rate"] as? NSNumber)?.floatValue ?? 0.001
            rate = initial
            switch scheduleDict["class_name"] as? String {
            case "ExponentialDecay":
                schedule = .exponentialDecay(initial: initial, decaySteps: sc["decay_steps"] as? Int ?? 1,
                                             decayRate: (sc["decay_rate"] as? NSNumber)?.floatValue ?? 1, staircase: sc["staircase"] as? Bool ?? false)
            case "CosineDecay":
                schedule = .cosineDecay(initial: initial, decaySteps: sc["decay_steps"] as? Int ?? 1, alpha: (sc["alpha"] as? NSNumber)?.floatValue ?? 0)
            default: break
            }
        }
        let optimizer: Optimizer
        switch try OptimizerName(keras: className) {
        case .sgd: optimizer = SGD(learningRate: rate ?? 0.01, momentum: number("momentum") ?? 0, nesterov: c["nesterov"] as? Bool ?? false)
        case .rmsprop: optimizer = RMSprop(learningRate: rate ?? 0.001, rho: number("rho") ?? 0.9, momentum: number("momentum") ?? 0,
                                           epsilon: number("epsilon") ?? 1e-7, centered: c["centered"] as? Bool ?? false)
        case .adagrad: optimizer = Adagrad(learningRate: rate ?? 0.001, initialAccumulatorValue: number("initial_accumulator_value") ?? 0.1,
                                           epsilon: number("epsilon") ?? 1e-7)
        case .adam: optimizer = Adam(learningRate: rate ?? 0.001, beta1: number("beta_1") ?? 0.9, beta2: number("beta_2") ?? 0.999,
                                     epsilon: number("epsilon") ?? 1e-7, amsgrad: c["amsgrad"] as? Bool ?? false)
        case .adamw: optimizer = AdamW(learningRate: rate ?? 0.001, weightDecay: number("weight_decay") ?? 0.004, beta1: number("beta_1") ?? 0.9,
                                       beta2: number("beta_2") ?? 0.999, epsilon: number("epsilon") ?? 1e-7, amsgrad: c["amsgrad"] as? Bool ?? false)
        case .nadam: optimizer = Nadam(learningRate: rate ?? 0.001, beta1: number("beta_1") ?? 0.9, beta2: number("beta_2") ?? 0.999,
                                       epsilon: number("epsilon") ?? 1e-7)
        }
        if let schedule { optimizer.learningRateSchedule = schedule }
        if let decay = number("weight_decay") { optimizer.weightDecay = decay }
        optimizer.clipnorm = number("clipnorm")
        optimizer.globalClipnorm = number("global_clipnorm")
        optimizer.clipvalue = number("clipvalue")
        return optimizer
    }

    /// JSON text for a config (slashes unescaped, as Python writes them).
    package static func json(_ object: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    package static func parse(_ text: String, source: String, what: String) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw MLPError.malformedFile(path: source, line: 0, reason: "\(what) is not valid JSON")
        }
        return object
    }
}

extension ConfigValue {
    /// The value as `JSONSerialization` takes it (for model configs and files).
    package var json: Any {
        switch self {
        case .int(let v): return v
        case .double(let v): return v
        case .string(let v): return v
        case .bool(let v): return v
        case .null: return NSNull()
        }
    }
}
