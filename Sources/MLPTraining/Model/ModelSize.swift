import Foundation
import MLPCore

/// The sizes of a Sequential stack computed from its shapes alone — nothing is allocated — in checked
/// arithmetic: per-layer widths and Keras' parameter counts (what `summary()` prints), and the bytes a training
/// run needs (``memoryEstimate(optimizerSlots:batchSize:)``), so a model too large for the machine is refused
/// before its first buffer is made.
///
/// ```swift
/// let size = try ModelSize(inputDim: 64, [Dense(100_000_000, activation: .relu), Dense(10)])
/// size.parameters                                        // 7_500_000_010
/// try size.memoryEstimate(optimizerSlots: 2, batchSize: 32).check(against: .host())   // throws: needs 112 GiB
/// ```
public struct ModelSize: Equatable, Sendable {
    /// One layer's row of the summary.
    public struct LayerSize: Equatable, Sendable {
        /// The layer's name (`dense_1`).
        public let name: String
        /// The layer's Keras class name (`Dense`).
        public let kerasClassName: String
        /// Values per input row.
        public let inputUnits: Int
        /// Values per output row.
        public let outputUnits: Int
        /// Parameters updated by training (Dense: `inputUnits·units + units`).
        public let trainableParameters: Int
        /// Parameters not updated by gradients (BatchNormalization's moving statistics).
        public let nonTrainableParameters: Int
        /// Work-buffer values per batch row in a training step (outputs and gradients).
        public let workValuesPerRow: Int
        /// All the layer's parameters.
        public var parameters: Int { trainableParameters + nonTrainableParameters }
    }

    /// Features per sample.
    public let inputDim: Int
    /// One entry per layer, in model order.
    public let layers: [LayerSize]
    /// Trainable parameters of the whole model (`summary()`'s "Trainable params").
    public let trainableParameters: Int
    /// Non-trainable parameters of the whole model.
    public let nonTrainableParameters: Int
    /// Keras' `count_params()`.
    public let parameters: Int

    /// Sizes `layers` on `inputDim` features, naming them as ``Sequential/add(_:)`` would (auto-names from
    /// `dense` on, or the layers' own names once built). Throws when the input width is not positive or a count
    /// overflows `Int`, naming the layer.
    public init(inputDim: Int, _ layers: [Layer]) throws {
        guard inputDim > 0 else { throw MLPError.invalidArgument("the input width must be positive, got \(inputDim)") }
        let names = Sequential.layerNames(layers)
        var width = inputDim, trainable = 0, frozen = 0
        var sizes: [LayerSize] = []
        for (layer, name) in zip(layers, names) {
            let next = layer.outputUnits(forInput: width)
            guard let counts = layer.variableCounts(forInput: width), let work = layer.workValuesPerRow(forInput: width) else {
                throw ModelSize.tooLarge("layer '\(name)' (\(layer.kerasClassName), \(width) inputs, \(next) outputs) has more than \(Int.max) parameters")
            }
            let (sumTrainable, o1) = trainable.addingReportingOverflow(counts.trainable)
            let (sumFrozen, o2) = frozen.addingReportingOverflow(counts.nonTrainable)
            let (_, o3) = sumTrainable.addingReportingOverflow(sumFrozen)
            guard !(o1 || o2 || o3) else { throw ModelSize.tooLarge("more than \(Int.max) parameters in all") }
            (trainable, frozen) = (sumTrainable, sumFrozen)
            sizes.append(LayerSize(name: name, kerasClassName: layer.kerasClassName, inputUnits: width, outputUnits: next,
                                   trainableParameters: counts.trainable, nonTrainableParameters: counts.nonTrainable,
                                   workValuesPerRow: work))
            width = next
        }
        self.inputDim = inputDim
        self.layers = sizes
        trainableParameters = trainable
        nonTrainableParameters = frozen
        parameters = trainable + frozen
    }

    /// The output width (the input width for an empty stack).
    public var outputUnits: Int { layers.last?.outputUnits ?? inputDim }

    /// The bytes a training run holds on its backend, in float32 values:
    ///
    /// - weights: every parameter; gradients: every trainable parameter;
    /// - optimizer state: `optimizerSlots` values per trainable parameter (``Optimizer/slotCount``: 2 for Adam);
    /// - activations: per batch row, each layer's work buffers, the input batch, the targets and the loss gradient.
    ///
    /// The training data itself is not counted. Sizes that overflow `Int` are refused.
    public func memoryEstimate(optimizerSlots: Int, batchSize: Int) throws -> MemoryEstimate {
        precondition(optimizerSlots >= 0 && batchSize >= 0, "memoryEstimate needs non-negative counts")
        func product(_ values: Int...) throws -> Int {
            try values.reduce(1) { total, value in
                let (result, overflow) = total.multipliedReportingOverflow(by: value)
                guard !overflow else { throw ModelSize.tooLarge("it needs more than \(Int.max) bytes") }
                return result
            }
        }
        func sum(_ values: [Int]) throws -> Int {
            try values.reduce(0) { total, value in
                let (result, overflow) = total.addingReportingOverflow(value)
                guard !overflow else { throw ModelSize.tooLarge("it needs more than \(Int.max) bytes") }
                return result
            }
        }
        let perRow = try sum(layers.map(\.workValuesPerRow) + [inputDim, outputUnits, outputUnits])
        // A layer's variables together bound its largest variable (a Dense kernel plus its bias).
        let widest = layers.reduce(max(inputDim, outputUnits)) { max($0, $1.inputUnits, $1.outputUnits) }
        let largest = max(try product(widest, batchSize, 4), try product(layers.map(\.parameters).max() ?? 0, 4))
        return MemoryEstimate(weightBytes: try product(parameters, 4), gradientBytes: try product(trainableParameters, 4),
                              optimizerBytes: try product(trainableParameters, optimizerSlots, 4),
                              activationBytes: try product(perRow, batchSize, 4), largestBufferBytes: largest, batchSize: batchSize)
    }

    static func tooLarge(_ reason: String) -> MLPError {
        .invalidArgument("the model is too large: \(reason)")
    }
}

/// What ``ModelSize/memoryEstimate(optimizerSlots:batchSize:)`` counts, in bytes.
public struct MemoryEstimate: Equatable, Sendable {
    /// The weights (4 bytes a parameter).
    public let weightBytes: Int
    /// The gradients (one per trainable parameter).
    public let gradientBytes: Int
    /// The optimizer's slots (`optimizerSlots` per trainable parameter: Adam 2, SGD with momentum 1).
    public let optimizerBytes: Int
    /// The layers' outputs and gradients for one batch.
    public let activationBytes: Int
    /// The largest single buffer (a layer's variables, or a batch of its widest rows), for per-allocation limits.
    public let largestBufferBytes: Int
    /// The batch size the activations were counted for.
    public let batchSize: Int

    /// Everything together; saturates at `Int.max`.
    public var totalBytes: Int {
        [gradientBytes, optimizerBytes, activationBytes].reduce(weightBytes, Self.sum)
    }

    /// Throws, in one line with the sizes in bytes and binary units, when the estimate exceeds `limit`.
    public func check(against limit: MemoryLimit) throws {
        let advice = "use fewer or narrower layers" + (batchSize > 0 ? " or a smaller --batch-size" : "")
        if totalBytes > limit.totalBytes {
            let parts = batchSize > 0
                ? "training it needs \(Self.bytes(totalBytes)): weights \(Self.short(weightBytes)), gradients and optimizer state \(Self.short(Self.sum(gradientBytes, optimizerBytes))), activations for batches of \(batchSize) \(Self.short(activationBytes))"
                : "its weights and gradients need \(Self.bytes(totalBytes))"
            throw MLPError.invalidArgument("the model is too large: \(parts); the limit is \(Self.bytes(limit.totalBytes)), \(limit.name); \(advice)")
        }
        if let bufferBytes = limit.bufferBytes, largestBufferBytes > bufferBytes {
            throw MLPError.invalidArgument("the model is too large: its largest buffer needs \(Self.bytes(largestBufferBytes)); the limit is \(Self.bytes(bufferBytes)), \(limit.bufferName); \(advice)")
        }
    }

    static func sum(_ a: Int, _ b: Int) -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : result
    }

    /// `104.3 GiB (112000000000 bytes)`.
    public static func bytes(_ count: Int) -> String {
        count < 1024 ? "\(count) bytes" : "\(short(count)) (\(count) bytes)"
    }

    /// `104.3 GiB`, in binary units.
    static func short(_ count: Int) -> String {
        var size = Double(count), unit = 0
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        while size >= 1024 && unit < units.count - 1 { size /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", size, units[unit])
    }
}

/// How much memory a model may use: in all, and (OpenCL's `CL_DEVICE_MAX_MEM_ALLOC_SIZE`) per buffer.
public struct MemoryLimit: Equatable, Sendable {
    /// The most bytes in all.
    public let totalBytes: Int
    /// The most bytes in one buffer; nil when there is no per-buffer limit (the host).
    public let bufferBytes: Int?
    /// What the limit is, for messages: `this machine's physical memory`.
    public let name: String
    /// What the per-buffer limit is, for messages.
    public let bufferName: String

    /// Creates a limit; `name` and `bufferName` say what it is in messages ("this machine's physical memory").
    public init(totalBytes: Int, bufferBytes: Int? = nil, name: String, bufferName: String = "the largest allocation") {
        self.totalBytes = totalBytes
        self.bufferBytes = bufferBytes
        self.name = name
        self.bufferName = bufferName
    }

    /// The memory a CPU run may use: `MLPKIT_MEMORY_LIMIT` (bytes) when set, else the smaller of the machine's
    /// physical memory (`sysconf(_SC_PHYS_PAGES) × page size`) and the cgroup's `memory.max` when there is one.
    /// The whole of it, not a fraction: a model that needs more cannot run without swapping.
    public static func host(environment: [String: String] = ProcessInfo.processInfo.environment) -> MemoryLimit {
        if let text = environment["MLPKIT_MEMORY_LIMIT"], let bytes = Int(text), bytes > 0 {
            return MemoryLimit(totalBytes: bytes, name: "set by MLPKIT_MEMORY_LIMIT")
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        let (physical, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        var limit = MemoryLimit(totalBytes: pages > 0 && pageSize > 0 && !overflow ? physical : .max, name: "this machine's physical memory")
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes > 0, bytes < limit.totalBytes {
            limit = MemoryLimit(totalBytes: bytes, name: "this container's memory limit (cgroup memory.max)")
        }
        return limit
    }
}

extension Sequential {
    /// The names ``add(_:)`` gives `layers` in a new model: a given (or already assigned) name is kept, others
    /// get Keras' auto-names (`dense`, `dense_1`, …).
    static func layerNames(_ layers: [Layer]) -> [String] {
        var counts: [String: Int] = [:]
        return layers.map { layer in
            if layer.nameWasGiven || layer.backend != nil { return layer.name }
            return autoName(stem: layer.autoNameStem, counts: &counts)
        }
    }

    /// `stem`, then `stem_1`, `stem_2`, … as `counts` records the stems used.
    static func autoName(stem: String, counts: inout [String: Int]) -> String {
        let used = counts[stem, default: 0]
        counts[stem] = used + 1
        return used == 0 ? stem : "\(stem)_\(used)"
    }

    /// This model's sizes (see ``ModelSize``).
    public var size: ModelSize {
        // The layers were built, so their counts fit in Int.
        do { return try ModelSize(inputDim: inputDim, layers) } catch { preconditionFailure("a built model's size overflows: \(error)") }
    }

    /// Throws when a model of `layers` on `inputDim` features cannot be built: a size that overflows, or weights
    /// larger than ``MemoryLimit/host(environment:)``. `source` (a file) prefixes the message. Loaders call this
    /// before ``init(inputDim:_:name:seed:backend:)`` allocates.
    public static func checkBuildable(inputDim: Int, layers: [Layer], source: String? = nil) throws {
        do {
            let size = try ModelSize(inputDim: inputDim, layers)
            try size.memoryEstimate(optimizerSlots: 0, batchSize: 0).check(against: .host())
        } catch let error as MLPError {
            guard let source else { throw error }
            throw MLPError.invalidArgument("\(source): \(error)")
        }
    }
}
