import Foundation
import MLPCore
import MLPTraining
import ZIPFoundation

/// Keras model files, both ways: `.h5` (the Keras legacy layout, written in the tf-keras 2.x flavour that
/// Keras 2 and Keras 3 both load), `.keras` (Keras 3's zip of `config.json`, `metadata.json` and
/// `model.weights.h5`) and `.weights.h5` (Keras 3 weights only). MLPKit's provisional `.json` model file
/// stays readable.
///
/// Every file is built in memory (libhdf5's core driver, an in-memory zip) and written by `AtomicFile`: a
/// temporary file in the same folder renamed over the target, so a failed or interrupted save never
/// destroys the previous file, and a full disk is one error naming the file. Reading never guesses paths: layer and weight names
/// come from the file's attributes (`dense/kernel:0` and `sequential/dense/kernel` styles both work).
public enum KerasFile {
    /// The file format implied by a path's extension.
    public enum Format: Sendable {
        case h5, keras, weightsH5, json

        /// The format named by `path`'s extension (`.weights.h5` is checked before `.h5`/`.hdf5`); throws for any other.
        public init(path: String) throws {
            let lower = path.lowercased()
            if lower.hasSuffix(".weights.h5") { self = .weightsH5 } else if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") {
                self = .h5
            } else if lower.hasSuffix(".keras") { self = .keras } else if lower.hasSuffix(".json") { self = .json } else {
                throw MLPError.invalidArgument("'\(path)': model files end in .h5, .keras, .weights.h5 or .json")
            }
        }
    }

    static let writtenKerasVersion = "2.21.0"
    static let mlpkitVersion = "0.1.0"

    // MARK: Saving

    /// Saves `model` in the format its extension names; `includeOptimizer` keeps the optimizer state so
    /// training can resume.
    public static func save(_ model: Sequential, to path: String, includeOptimizer: Bool = true) throws {
        switch try Format(path: path) {
        case .h5: try AtomicFile.write(try h5Image(model, for: path, includeOptimizer: includeOptimizer), to: path)
        case .keras: try AtomicFile.write(try kerasArchive(model, for: path, includeOptimizer: includeOptimizer), to: path)
        case .weightsH5: try AtomicFile.write(try kerasWeightsImage(model, for: path, includeOptimizer: false), to: path)
        case .json: try ModelFile.save(model, to: path)
        }
    }

    /// tf-keras variable name of a parameter: `dense/kernel:0`.
    static func kerasName(_ layer: Layer, _ parameter: Parameter) -> String { "\(layer.name)/\(parameter.name):0" }

    /// The bytes of a legacy `.h5` file of `model`, built in memory (`path` names the target in errors).
    static func h5Image(_ model: Sequential, for path: String, includeOptimizer: Bool) throws -> Data {
        let file = try HDF5File.inMemory(for: path)
        let root = file.root
        try root.setAttribute("backend", "tensorflow")
        try root.setAttribute("keras_version", writtenKerasVersion)
        try root.setAttribute("mlpkit_version", mlpkitVersion)
        try root.setAttribute("model_config", KerasConfig.json(KerasConfig.modelConfig(model, flavour: .keras2)))
        if let training = KerasConfig.trainingConfig(model) {
            try root.setAttribute("training_config", KerasConfig.json(training))
        }
        if let scaler = model.inputScaler { try root.setAttribute("mlpkit_input_scaler", KerasConfig.json(scaler.json)) }
        let weights = try root.createGroup("model_weights")
        try weights.setAttribute("layer_names", strings: model.layers.map(\.name))
        try weights.setAttribute("backend", "tensorflow")
        try weights.setAttribute("keras_version", writtenKerasVersion)
        for layer in model.layers {
            let group = try weights.createGroup(layer.name)
            try group.setAttribute("weight_names", strings: layer.parameters.map { kerasName(layer, $0) })
            for parameter in layer.parameters {
                try group.writeDataset(kerasName(layer, parameter), shape: parameter.shape, values: model.backend.download(parameter.value))
            }
        }
        if includeOptimizer, let optimizer = model.optimizer {
            let group = try root.createGroup("optimizer_weights")
            var names = ["iteration:0"]
            try group.writeScalar("iteration:0", int64: Int64(optimizer.iterations))
            for layer in model.layers {
                for parameter in layer.parameters where parameter.isTrainable {
                    for (index, slot) in optimizer.slotLayout {
                        guard let values = optimizer.slots.value(parameter, index: index, on: model.backend) else { continue }
                        let name = "\(optimizer.kerasClassName)/\(slot)/\(layer.name)/\(parameter.name):0"
                        try group.writeDataset(name, shape: parameter.shape, values: values)
                        names.append(name)
                    }
                }
            }
            try group.setAttribute("weight_names", strings: names)
        }
        try model.backend.checkError()
        return try file.image()
    }

    /// The keys Keras 3 gives a Sequential's layers in a weights file: the class's snake-case name, numbered
    /// per class in order (`dense`, `dense_1`, `batch_normalization`, …), whatever the layers are called.
    static func weightKeys(_ model: Sequential) -> [String] {
        var counts: [String: Int] = [:]
        return model.layers.map { layer in
            let stem = layer.autoNameStem
            let used = counts[stem, default: 0]
            counts[stem] = used + 1
            return used == 0 ? stem : "\(stem)_\(used)"
        }
    }

    /// Keras 3's weights file: `layers/<key>/vars/<i>`, `optimizer/vars/<i>`.
    /// The bytes of that file, built in memory (`path` names the target in errors).
    static func kerasWeightsImage(_ model: Sequential, for path: String, includeOptimizer: Bool) throws -> Data {
        let file = try HDF5File.inMemory(for: path)
        let root = file.root
        try root.createGroup("vars").setAttribute("name", model.name)
        let layers = try root.createGroup("layers")
        for (layer, key) in zip(model.layers, weightKeys(model)) {
            let vars = try layers.createGroup("\(key)/vars")
            try vars.setAttribute("name", layer.name)
            for (index, parameter) in layer.parameters.enumerated() {
                try vars.writeDataset(String(index), shape: parameter.shape, values: model.backend.download(parameter.value))
            }
        }
        if includeOptimizer, let optimizer = model.optimizer {
            let vars = try root.createGroup("optimizer/vars")
            try vars.setAttribute("name", optimizer.kerasClassName.lowercased())
            try vars.writeScalar("0", int64: Int64(optimizer.iterations))
            try vars.writeDataset("1", shape: [], values: [optimizer.learningRate])
            var next = 2
            for parameter in model.layers.flatMap(\.parameters) where parameter.isTrainable {
                for (index, _) in optimizer.slotLayout {
                    guard let values = optimizer.slots.value(parameter, index: index, on: model.backend) else { continue }
                    try vars.writeDataset(String(next), shape: parameter.shape, values: values)
                    next += 1
                }
            }
        }
        try model.backend.checkError()
        return try file.image()
    }

    /// The bytes of a `.keras` archive of `model`, assembled in memory (`path` names the target in errors).
    static func kerasArchive(_ model: Sequential, for path: String, includeOptimizer: Bool) throws -> Data {
        var config = KerasConfig.modelConfig(model, flavour: .keras3)
        if let training = KerasConfig.trainingConfig(model), let optimizer = training["optimizer_config"] as? [String: Any] {
            var optimizerParameters = optimizer["config"] as? [String: Any] ?? [:]
            optimizerParameters["is_legacy_optimizer"] = nil
            config["compile_config"] = ["optimizer": ["module": "keras.optimizers", "class_name": model.optimizer!.kerasClassName,
                                                      "config": optimizerParameters, "registered_name": NSNull()] as [String: Any],
                                        "loss": training["loss"]!, "loss_weights": NSNull(), "metrics": training["metrics"]!,
                                        "weighted_metrics": NSNull(), "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false]
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        var metadata: [String: Any] = ["keras_version": "3.15.1", "date_saved": formatter.string(from: Date()), "mlpkit_version": mlpkitVersion]
        if let scaler = model.inputScaler { metadata["mlpkit_input_scaler"] = scaler.json }
        let weights = try kerasWeightsImage(model, for: path, includeOptimizer: includeOptimizer)
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            for (name, data) in [("metadata.json", Data(try KerasConfig.json(metadata).utf8)),
                                 ("config.json", Data(try KerasConfig.json(config).utf8)), ("model.weights.h5", weights)] {
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count)) { position, size in
                    data.subdata(in: Int(position)..<(Int(position) + size))
                }
            }
            guard let bytes = archive.data else { throw MLPError.fileNotWritable(path: path, reason: "the in-memory archive is empty") }
            return bytes
        } catch let error as MLPError {
            throw error
        } catch {
            throw MLPError.fileNotWritable(path: path, reason: "cannot assemble the .keras archive: \(error)")
        }
    }

    // MARK: Loading

    /// Loads a model file (format by extension: .h5, .keras, .json) onto `backend`, compiled when the file
    /// has a training config, with the optimizer state restored when it has one. With `compile: false` (Keras'
    /// `load_model(compile=False)`) the training config is not read: architecture and weights only, so a loss or
    /// optimizer MLPKit does not know does not stop a model from predicting.
    public static func load(from path: String, backend: (any Backend)? = nil, compile: Bool = true) throws -> Sequential {
        switch try Format(path: path) {
        case .h5: return try readH5(path, backend: backend, compile: compile)
        case .keras: return try readKeras(path, backend: backend, compile: compile)
        case .json: return try ModelFile.load(from: path, backend: backend, compile: compile)
        case .weightsH5:
            throw MLPError.invalidArgument("'\(path)' holds weights only: build the model, then load them with loadWeights")
        }
    }

    static func readH5(_ path: String, backend: (any Backend)?, compile: Bool = true) throws -> Sequential {
        let file = try HDF5Snapshot(reading: path)
        let root = file.root
        guard let configText = try root.string("model_config") else {
            throw file.bad("no model_config attribute: a weights-only file? Build the model and use loadWeights")
        }
        let model = try KerasConfig.model(from: KerasConfig.parse(configText, source: path, what: "model_config"), source: path,
                                          backend: backend, availableValues: file.totalValues)
        let weights = root.exists("model_weights") ? try root.group("model_weights") : root
        try readLegacyWeights(weights, into: model)
        if let text = try root.string("mlpkit_input_scaler") {
            model.inputScaler = FeatureScaler(json: try KerasConfig.parse(text, source: path, what: "mlpkit_input_scaler"))
        }
        if compile, let trainingText = try root.string("training_config") {
            try KerasConfig.compile(model, trainingConfig: KerasConfig.parse(trainingText, source: path, what: "training_config"),
                                    source: path)
            if root.exists("optimizer_weights") { try readLegacyOptimizer(root.group("optimizer_weights"), into: model) }
        }
        try model.backend.checkError()
        return model
    }

    /// Weights in the legacy layout: `layer_names`, then each layer's `weight_names`, in order.
    static func readLegacyWeights(_ group: HDF5SnapshotGroup, into model: Sequential) throws {
        let file = group.file
        guard let layerNames = try group.stringAttribute("layer_names") else { throw file.bad("no layer_names attribute") }
        let withWeights = try layerNames.filter { name in !(try group.group(name).stringAttribute("weight_names") ?? []).isEmpty }
        let ours = model.layers.filter { !$0.parameters.isEmpty }
        guard withWeights.count == ours.count else {
            throw file.bad("the file has weights for \(withWeights.count) layers, the model has \(ours.count) layers with weights")
        }
        for (name, layer) in zip(withWeights, ours) {
            let layerGroup = try group.group(name)
            let names = try layerGroup.stringAttribute("weight_names") ?? []
            guard names.count == layer.parameters.count else {
                throw file.bad("layer '\(name)' has \(names.count) weights in the file, \(layer.parameters.count) in the model")
            }
            for (weightName, parameter) in zip(names, layer.parameters) {
                let tensor = try layerGroup.readDataset(weightName)
                guard tensor.shape == parameter.shape else {
                    throw file.bad("weight '\(layerGroup.child(weightName))' has shape \(tensor.shape), the model expects \(parameter.shape)")
                }
                model.backend.upload(tensor.scalars, to: parameter.value, offset: 0)
            }
        }
    }

    /// Optimizer state from `optimizer_weights`, tf-keras style (`Adam/m/dense/kernel:0`) or Keras 3 style
    /// (`adam/sequential_dense_kernel_momentum`); state that does not match the optimizer is skipped.
    static func readLegacyOptimizer(_ group: HDF5SnapshotGroup, into model: Sequential) throws {
        guard let optimizer = model.optimizer, let names = try group.stringAttribute("weight_names"), !names.isEmpty else { return }
        let keras3Slot = ["m": "momentum", "v": "velocity", "vhat": "velocity_hat"]
        var restored: [(Parameter, [Int: [Float]])] = []
        for layer in model.layers {
            for parameter in layer.parameters where parameter.isTrainable {
                var values: [Int: [Float]] = [:]
                for (index, slot) in optimizer.slotLayout {
                    let keras2 = "\(optimizer.kerasClassName)/\(slot)/\(layer.name)/\(parameter.name):0"
                    // Keras 3: `<optimizer name>/<model>_<layer>_<variable>_<slot>`; the optimizer name may be numbered.
                    let keras3 = "/\(model.name)_\(layer.name)_\(parameter.name)_\(keras3Slot[slot] ?? slot)"
                    guard let name = names.first(where: { $0 == keras2 || $0.hasSuffix(keras3) }) else { return }
                    let tensor = try group.readDataset(name)
                    guard tensor.scalars.count == parameter.count else { return }
                    values[index] = tensor.scalars
                }
                restored.append((parameter, values))
            }
        }
        for (parameter, values) in restored {
            optimizer.slots.restore(values, count: optimizer.slotCount, for: parameter, on: model.backend)
        }
        if let name = names.first(where: { $0.hasPrefix("iteration") || $0.hasSuffix("/iteration") || $0.hasSuffix("iter:0") }) {
            optimizer.iterations = Int(try group.readDataset(name).scalars.first ?? 0)
        }
    }

    static func readKeras(_ path: String, backend: (any Backend)?, compile: Bool = true) throws -> Sequential {
        let archive = try KerasArchive(reading: path)
        let configText = String(decoding: try archive.entry("config.json"), as: UTF8.self)
        let config = try KerasConfig.parse(configText, source: path, what: "config.json")
        let weights = try HDF5Snapshot(image: try archive.entry("model.weights.h5"), path: path, context: "model.weights.h5: ")
        let model = try KerasConfig.model(from: config, source: path, backend: backend, availableValues: weights.totalValues)
        if compile, let compileConfig = config["compile_config"] as? [String: Any] {
            try KerasConfig.compile(model, trainingConfig: compileConfig, source: path)
        }
        try readKerasWeights(weights, into: model)
        // metadata.json is optional; when present it is read (and checked) like the other entries.
        if archive.has("metadata.json"),
           let scaler = try KerasConfig.parse(String(decoding: try archive.entry("metadata.json"), as: UTF8.self), source: path,
                                              what: "metadata.json")["mlpkit_input_scaler"] as? [String: Any] {
            model.inputScaler = FeatureScaler(json: scaler)
        }
        try model.backend.checkError()
        return model
    }

    /// Keras 3 weights (`layers/<name>/vars/<i>`), matched to the model's layers by name; optimizer state
    /// when the model is compiled and the file has it in the same layout.
    static func readKerasWeights(_ file: HDF5Snapshot, into model: Sequential) throws {
        func bad(_ reason: String) -> MLPError { file.bad(reason) }
        guard file.root.exists("layers") else { throw bad("no 'layers' group in the weights") }
        let layers = try file.root.group("layers")
        for (layer, key) in zip(model.layers, weightKeys(model)) where !layer.parameters.isEmpty {
            guard layers.exists("\(key)/vars") else { throw bad("no weights for layer '\(layer.name)' (layers/\(key))") }
            let vars = try layers.group("\(key)/vars")
            for (index, parameter) in layer.parameters.enumerated() {
                let tensor = try vars.readDataset(String(index))
                guard tensor.shape == parameter.shape else {
                    throw bad("layer '\(layer.name)' weight '\(vars.child(String(index)))' has shape \(tensor.shape), the model expects \(parameter.shape)")
                }
                model.backend.upload(tensor.scalars, to: parameter.value, offset: 0)
            }
        }
        guard let optimizer = model.optimizer, file.root.exists("optimizer/vars") else { return }
        let vars = try file.root.group("optimizer/vars")
        let trainable = model.layers.flatMap(\.parameters).filter(\.isTrainable)
        guard vars.childNames().count == 2 + trainable.count * optimizer.slotLayout.count else { return }
        var next = 2
        for parameter in trainable {
            var values: [Int: [Float]] = [:]
            for (index, _) in optimizer.slotLayout {
                values[index] = try vars.readDataset(String(next)).scalars
                next += 1
            }
            optimizer.slots.restore(values, count: optimizer.slotCount, for: parameter, on: model.backend)
        }
        optimizer.iterations = Int(try vars.readDataset("0").scalars.first ?? 0)
    }

    /// Saves only the weights (Keras 3 `.weights.h5` layout).
    public static func saveWeights(_ model: Sequential, to path: String) throws {
        try AtomicFile.write(try kerasWeightsImage(model, for: path, includeOptimizer: false), to: path)
    }

    /// Loads weights into an existing model: a `.weights.h5` (Keras 3), a legacy `.h5` (full or weights-only),
    /// or a `.keras` file.
    public static func loadWeights(into model: Sequential, from path: String) throws {
        switch try Format(path: path) {
        case .weightsH5:
            let file = try HDF5Snapshot(reading: path)
            if file.root.exists("layers") {
                try readKerasWeights(file, into: model)
            } else {
                try readLegacyWeights(file.root.exists("model_weights") ? file.root.group("model_weights") : file.root, into: model)
            }
        case .h5:
            let file = try HDF5Snapshot(reading: path)
            try readLegacyWeights(file.root.exists("model_weights") ? file.root.group("model_weights") : file.root, into: model)
        case .keras:
            try model.setWeights(try readKeras(path, backend: CPUBackend(threadCount: 1)).weights())
        case .json:
            try ModelFile.loadWeights(into: model, from: path)
        }
        try model.backend.checkError()
    }
}

extension Sequential {
    /// Saves the model in the format `path`'s extension names: `.h5` (Keras legacy layout, loadable by
    /// Keras 2 and 3), `.keras` (Keras 3), `.weights.h5` (weights only) or `.json` (MLPKit's provisional file).
    public func save(to path: String, includeOptimizer: Bool = true) throws {
        try KerasFile.save(self, to: path, includeOptimizer: includeOptimizer)
    }

    /// Loads a model saved by MLPKit or Keras (`.h5`, `.keras`, `.json`); `compile: false` skips the training
    /// config (architecture and weights only), as Keras' `load_model(compile=False)`.
    public static func load(from path: String, backend: (any Backend)? = nil, compile: Bool = true) throws -> Sequential {
        try KerasFile.load(from: path, backend: backend, compile: compile)
    }

    /// A model built from a Keras JSON config (`model.to_json()`), with fresh weights.
    public convenience init(fromKerasConfig json: String, seed: UInt64? = nil, backend: (any Backend)? = nil) throws {
        let (inputDim, layers, name) = try KerasConfig.architecture(from: KerasConfig.parse(json, source: "<config>", what: "the config"),
                                                                   source: "<config>")
        try Sequential.checkBuildable(inputDim: inputDim, layers: layers, source: "<config>")
        self.init(inputDim: inputDim, layers, name: name, seed: seed, backend: backend)
    }

    /// Saves only the weights (Keras 3 `.weights.h5`).
    public func saveWeights(to path: String) throws { try KerasFile.saveWeights(self, to: path) }

    /// Loads weights saved by MLPKit or Keras into this model.
    public func loadWeights(from path: String) throws { try KerasFile.loadWeights(into: self, from: path) }
}
