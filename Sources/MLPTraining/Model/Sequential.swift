#if canImport(Glibc)
// `@preconcurrency` (before Foundation, which imports Glibc too): C's `stdout` is imported as a global `var`, which
// Swift 6 refuses to read; the C runtime sets it once at start-up and the stream locks itself on every call, so
// reading it from any thread is safe.
@preconcurrency import Glibc
#endif
import Foundation
import MLPCore

/// A linear stack of layers on one backend: Keras' `Sequential`, for rank-2 data (samples × features).
///
/// Layers are built as they are added (the input width is known), so ``parameterCount`` and
/// ``summary(style:)`` work before any data is seen. Names follow Keras (`dense`, `dense_1`, …), unique
/// within the model.
///
/// ```swift
/// let model = Sequential(inputDim: 14, [
///     Dense(25, activation: .relu), Dense(36, activation: .relu),
///     Dense(47, activation: .relu), Dense(7, activation: .softmax),
/// ])
/// print(model.summary())             // Total params: 3386 (13.23 KB)
/// try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
/// let history = try model.fit(x: x, y: y, batchSize: 32, epochs: 10, validationSplit: 0.2)
/// ```
public final class Sequential {
    /// The model name shown by `summary()`.
    public var name: String
    /// Features per sample.
    public let inputDim: Int
    /// The layers, in order; add them with `add(_:)` or the initializer.
    public private(set) var layers: [Layer] = []
    /// Where the weights live and the maths runs.
    public let backend: any Backend
    /// The seed of every random choice the model makes (initial weights, shuffles, dropout masks).
    public internal(set) var seed: UInt64
    /// Feature scaling fitted on the training data, saved with the model: `fit`, `evaluate` and `predict`
    /// apply it to the raw features they are given (arrays and batch sources alike).
    public var inputScaler: FeatureScaler?
    /// Set by a callback to end `fit` after the current batch.
    public var stopTraining = false
    /// Rows in the training batch being processed (for callbacks that look at the step's buffers).
    var currentBatchRows = 0
    /// The job the running `fit` trains in (``SingleProcess`` outside `fit`); callbacks read its rank and size.
    public internal(set) var distribution: any Communicator = SingleProcess()
    /// The data-parallel bookkeeping of the running (or last) `fit`.
    let distributedState = DistributedState()
    /// Receives progress and summary text; standard output by default.
    public var output: (String) -> Void = Sequential.standardOutput
    /// Whether the output is a terminal (progress bars redraw in place); detected for standard output.
    public var outputIsTerminal: Bool = isatty(STDOUT_FILENO) != 0

    var compilation: Compilation?
    private var autoNameCounts: [String: Int] = [:]

    /// - Parameters:
    ///   - inputDim: features per sample (> 0).
    ///   - layers: the stack, in order.
    ///   - name: the model's name in `summary()` and model files (`sequential` by default, as in Keras).
    ///   - seed: fixes initial weights and shuffling; a random seed when `nil`.
    ///   - backend: defaults to a shared `CPUBackend`.
    public init(inputDim: Int, _ layers: [Layer] = [], name: String = "sequential", seed: UInt64? = nil,
                backend: (any Backend)? = nil) {
        precondition(inputDim > 0, "Sequential needs a positive input width, got \(inputDim)")
        self.inputDim = inputDim
        self.name = name
        self.seed = seed ?? UInt64.random(in: 0...UInt64.max)
        self.backend = backend ?? CPUBackend.shared
        for layer in layers { add(layer) }
    }

    /// Appends `layer`, naming and building it.
    public func add(_ layer: Layer) {
        precondition(layer.backend == nil, "layer '\(layer.name)' already belongs to a model")
        if !layer.nameWasGiven { layer.name = Sequential.autoName(stem: layer.autoNameStem, counts: &autoNameCounts) }
        var random = PhiloxRandom(seed: seed, stream: PhiloxStream.layer(layers.count))
        layer.randomStream = PhiloxStream.dropout(layers.count)
        layer.build(inputUnits: layers.last?.outputUnits ?? inputDim, backend: backend, random: &random)
        layers.append(layer)
    }

    /// Output width of the last layer (the input width for an empty model).
    public var outputUnits: Int { layers.last?.outputUnits ?? inputDim }

    /// Number of values in all variables (Keras' `count_params()`).
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    /// Values updated by training.
    public var trainableParameterCount: Int { layers.reduce(0) { $0 + $1.trainableParameterCount } }
    /// Values not updated by gradients (BatchNormalization's moving statistics).
    public var nonTrainableParameterCount: Int { parameterCount - trainableParameterCount }

    /// The variables' values in Keras' `get_weights()` order (per layer: kernel, bias, …).
    public func weights() -> [Tensor] {
        layers.flatMap(\.parameters).map { Tensor(shape: $0.shape, scalars: backend.download($0.value)) }
    }

    /// Replaces every variable's value (Keras' `set_weights()`); shapes must match ``weights()``.
    public func setWeights(_ values: [Tensor]) throws {
        let parameters = layers.flatMap(\.parameters)
        guard values.count == parameters.count else {
            throw MLPError.shapeMismatch("set_weights got \(values.count) arrays, the model has \(parameters.count) variables")
        }
        for (parameter, value) in zip(parameters, values) where parameter.shape != value.shape {
            throw MLPError.shapeMismatch("variable '\(parameter.name)' has shape \(parameter.shape), got \(value.shape)")
        }
        for (parameter, value) in zip(parameters, values) {
            backend.upload(value.scalars, to: parameter.value, offset: 0)
        }
    }

    /// Writes to the C `stdout` stream (shared with Swift's `print`, so output stays in order) and flushes,
    /// so a redrawn progress bar shows at once.
    static func standardOutput(_ text: String) {
        fputs(text, stdout)
        fflush(stdout)
    }
}
