import Foundation
import MLPCore

/// One Dense layer's health over the monitored steps of an epoch (see ``GradientMonitor``).
///
/// With `n` monitored steps, `R` rows in them and `u` units:
/// - `gradientNorm` = √(Σ‖∂L/∂W‖² / n): the root mean square over the steps of the kernel gradient's L2 norm;
/// - `weightNorm` = √(Σ‖W‖² / n), `W` after each update;
/// - `updateRatio` = √(Σ‖ΔW‖² / Σ‖W‖²): how far a step moves the kernel, relative to its size;
/// - `deadFraction` (ReLU and ReLU6 layers): the mean over steps of the fraction of units whose output is 0 for
///   every sample of the batch;
/// - `saturatedFraction` (sigmoid: output ≤ 0.01 or > 0.99; tanh: ≤ −0.99 or > 0.99): the fraction of the R·u
///   outputs in those ranges;
/// - `activationMean`, `activationStd`: over the R·u outputs.
public struct LayerStatistics: Equatable, Sendable {
    /// The layer's name.
    public var layer: String
    /// The root mean square of the kernel gradient's L2 norm over the monitored steps.
    public var gradientNorm: Float
    /// The same for the bias (nil without one).
    public var biasGradientNorm: Float? = nil
    /// The root mean square of the kernel's L2 norm after each update.
    public var weightNorm: Float
    /// √(Σ‖ΔW‖² / Σ‖W‖²): how far a step moves the kernel relative to its size.
    public var updateRatio: Float
    /// The mean fraction of units that output 0 for a whole batch (ReLU and ReLU6 layers; nil otherwise).
    public var deadFraction: Float?
    /// The fraction of outputs in the flat ends (sigmoid and tanh layers; nil otherwise).
    public var saturatedFraction: Float?
    /// The mean of the layer's outputs.
    public var activationMean: Float
    /// The standard deviation of the layer's outputs.
    public var activationStd: Float

    /// Creates a record of measured values.
    public init(layer: String, gradientNorm: Float, weightNorm: Float, updateRatio: Float, deadFraction: Float?, saturatedFraction: Float?,
                activationMean: Float, activationStd: Float) {
        self.layer = layer
        self.gradientNorm = gradientNorm
        self.weightNorm = weightNorm
        self.updateRatio = updateRatio
        self.deadFraction = deadFraction
        self.saturatedFraction = saturatedFraction
        self.activationMean = activationMean
        self.activationStd = activationStd
    }

    /// The `History` keys and values: `grad_norm/<layer>` (the kernel), `grad_norm/<layer>/bias`, `weight_norm/<layer>`, `update_ratio/<layer>`,
    /// `activation_mean/<layer>`, `activation_std/<layer>`, and where they apply `dead_fraction/<layer>`,
    /// `saturated_fraction/<layer>`.
    public var logs: Logs { Array(zip(logKeys, logValues)) }

    /// The keys of ``logs``, in order: the same for every epoch of a layer (which values a layer has does not change).
    var logKeys: [String] {
        var keys = ["grad_norm/" + layer]
        if biasGradientNorm != nil { keys.append("grad_norm/" + layer + "/bias") }
        keys += ["weight_norm/" + layer, "update_ratio/" + layer, "activation_mean/" + layer, "activation_std/" + layer]
        if deadFraction != nil { keys.append("dead_fraction/" + layer) }
        if saturatedFraction != nil { keys.append("saturated_fraction/" + layer) }
        return keys
    }

    /// The values of ``logs``, in the order of ``logKeys``.
    var logValues: [Float] {
        var values = [gradientNorm]
        if let biasGradientNorm { values.append(biasGradientNorm) }
        values += [weightNorm, updateRatio, activationMean, activationStd]
        if let deadFraction { values.append(deadFraction) }
        if let saturatedFraction { values.append(saturatedFraction) }
        return values
    }
}

/// Gathers ``LayerStatistics`` for every Dense layer during `fit`, on the device: every `every`-th step its
/// sums are added to per-layer device buffers (existing backend ops only — sums of squares, column sums,
/// threshold counts, copies — so both backends compute the same), and they are read once per epoch. No step
/// waits on the host. Each epoch's statistics land in the epoch logs (so in `History`) under the keys of
/// ``LayerStatistics/logs`` and in ``statistics``. When a layer is diagnosed `vanishing` or `exploding`
/// (``LayerDiagnosis``, thresholds in ``GradientVerdict``) for `warnAfter` consecutive epochs, the monitor prints
/// one warning naming the layer and the usual remedies.
///
/// ```swift
/// let monitor = GradientMonitor(every: 10)
/// let history = try model.fit(x: x, y: y, epochs: 5, callbacks: [monitor])
/// print(history.history["grad_norm/dense"]!)
/// ```
public final class GradientMonitor: Callback {
    /// Steps between monitored steps (1 monitors every step).
    public let every: Int
    /// Where the epoch's gradient norms and gradient and activation histograms also go: a `TensorBoard`
    /// callback (its `train` run) or any other ``SummaryWriter``.
    public let tensorBoard: (any SummaryWriter)?
    /// The last epoch's statistics, in model order.
    public private(set) var statistics: [LayerStatistics] = []
    /// Every epoch's statistics.
    public private(set) var epochs: [[LayerStatistics]] = []

    private var probes: [DenseProbe] = []
    /// ``LayerStatistics/logKeys`` of each probe's layer, spelled at the first epoch of a fit.
    private var logKeys: [[String]] = []
    private var monitoredSteps = 0, monitoredRows = 0

    /// Consecutive epochs a layer must be diagnosed `vanishing` or `exploding` (``LayerDiagnosis``) before the
    /// monitor prints a warning, once per layer and kind; 0 never warns.
    public let warnAfter: Int
    private var streaks: [String: (verdict: GradientVerdict, epochs: Int)] = [:]
    private var warned: Set<String> = []

    /// Creates the monitor: every 10th step measured, a warning after 3 bad epochs in a row, no TensorBoard by default.
    public init(every: Int = 10, warnAfter: Int = 3, tensorBoard: (any SummaryWriter)? = nil) {
        precondition(every >= 1, "GradientMonitor(every:) needs a positive interval")
        self.every = every
        self.warnAfter = warnAfter
        self.tensorBoard = tensorBoard
    }

    public override func onTrainBegin(logs: Logs) throws {
        guard let model else { return }
        probes = model.layers.compactMap { $0 as? Dense }.map { DenseProbe(layer: $0, backend: model.backend) }
        logKeys = []
        epochs = []
        streaks = [:]
        warned = []
    }

    public override func onEpochBegin(_ epoch: Int) throws {
        for probe in probes { probe.reset() }
        monitoredSteps = 0
        monitoredRows = 0
    }

    /// The probes read every Dense layer's activated output after a monitored step; the TensorBoard histograms
    /// read them after the epoch's last step, whichever it is.
    public override func needs(forStep batch: Int) -> StepNeeds {
        batch % every == 0 || tensorBoard != nil ? .layerOutputs : []
    }

    public override func onTrainBatchBegin(_ batch: Int) throws {
        guard batch % every == 0 else { return }
        for probe in probes { probe.beforeStep() }
    }

    public override func onTrainBatchEnd(_ batch: Int, logs: Logs?) throws {
        guard batch % every == 0, let rows = model?.currentBatchRows else { return }
        for probe in probes { probe.afterStep(rows: rows) }
        monitoredSteps += 1
        monitoredRows += rows
    }

    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        guard monitoredSteps > 0 else { return }
        statistics = probes.map { $0.read(steps: monitoredSteps, rows: monitoredRows) }
        epochs.append(statistics)
        // The keys are spelled once per layer and fit: each epoch's are the same.
        if logKeys.count != statistics.count { logKeys = statistics.map(\.logKeys) }
        for (index, layer) in statistics.enumerated() {
            let values = layer.logValues
            if logKeys[index].count != values.count { logKeys[index] = layer.logKeys }
            logs += zip(logKeys[index], values)
        }
        if let tensorBoard, tensorBoard.isOpen {
            let rows = model?.currentBatchRows ?? 0
            try tensorBoard.writeSummaries(zip(probes, statistics).flatMap { $0.summaryValues($1, rows: rows) }, step: epoch)
        }
        guard warnAfter > 0 else { return }
        for diagnosis in LayerDiagnosis.diagnose(statistics) {
            let name = diagnosis.statistics.layer, verdict = diagnosis.verdict
            guard verdict == .vanishing || verdict == .exploding else {
                streaks[name] = nil
                continue
            }
            let epochs = streaks[name]?.verdict == verdict ? streaks[name]!.epochs + 1 : 1
            streaks[name] = (verdict, epochs)
            if epochs >= warnAfter, warned.insert(name + "/" + verdict.rawValue).inserted {
                message(String(format: "GradientMonitor: layer '%@' has %@ gradients (norm %.2e, %.2e× the output layer's) for %d epochs; %@.",
                               name as NSString, verdict.rawValue as NSString, Double(diagnosis.statistics.gradientNorm),
                               Double(diagnosis.relativeGradientNorm), epochs, verdict.remedy as NSString))
            }
        }
    }
}

/// The device buffers and ops behind one Dense layer's statistics.
final class DenseProbe {
    // Slots of the per-step and per-epoch sums.
    static let gradientSquares = 0, weightSquares = 1, updateSquares = 2, outputSum = 3, outputSquares = 4
    static let deadCounts = 5 // 4 confusion counts at threshold 0 on the column sums
    static let saturationCounts = 9 // 4 counts at each of 2 thresholds on the outputs
    static let biasGradientSquares = 17
    static let slots = 18

    let layer: Dense
    let backend: any Backend
    let step: DeviceBuffer, total: DeviceBuffer
    let previousKernel: DeviceBuffer, columnSums: DeviceBuffer, scalar: DeviceBuffer
    let deadThreshold: DeviceBuffer, saturationThresholds: DeviceBuffer?
    var zeros: DeviceBuffer

    init(layer: Dense, backend: any Backend) {
        self.layer = layer
        self.backend = backend
        step = DenseProbe.zeroBuffer(count: DenseProbe.slots, backend: backend)
        total = DenseProbe.zeroBuffer(count: DenseProbe.slots, backend: backend)
        previousKernel = backend.makeBuffer(count: layer.kernel.count)
        columnSums = backend.makeBuffer(count: layer.units)
        scalar = backend.makeBuffer(count: 1)
        deadThreshold = backend.makeBuffer([0])
        switch layer.activation {
        case .sigmoid: saturationThresholds = backend.makeBuffer([0.01, 0.99])
        case .tanh: saturationThresholds = backend.makeBuffer([-0.99, 0.99])
        default: saturationThresholds = nil
        }
        zeros = DenseProbe.zeroBuffer(count: layer.units, backend: backend)
    }

    static func zeroBuffer(count: Int, backend: any Backend) -> DeviceBuffer {
        let buffer = backend.makeBuffer(count: count)
        backend.fill(buffer, value: 0, offset: 0, count: count)
        return buffer
    }

    var tracksDeadUnits: Bool { layer.activation == .relu || layer.activation == .relu6 }

    func reset() { backend.fill(total, value: 0, offset: 0, count: DenseProbe.slots) }

    /// Before the step's update: the kernel as it is now.
    func beforeStep() {
        backend.copy(layer.kernel.value, sourceOffset: 0, to: previousKernel, destinationOffset: 0, count: layer.kernel.count)
    }

    /// After the update: this step's sums, added to the epoch's.
    func afterStep(rows: Int) {
        guard let y = layer.y, let gradient = layer.kernel.gradient else { return }
        let kernel = layer.kernel, units = layer.units, outputs = rows * units
        backend.fill(step, value: 0, offset: 0, count: DenseProbe.slots)
        backend.accumulateSumOfSquares(gradient, count: kernel.count, accumulator: step, index: DenseProbe.gradientSquares)
        if let bias = layer.bias, let biasGradient = bias.gradient {
            backend.accumulateSumOfSquares(biasGradient, count: bias.count, accumulator: step, index: DenseProbe.biasGradientSquares)
        }
        backend.accumulateSumOfSquares(kernel.value, count: kernel.count, accumulator: step, index: DenseProbe.weightSquares)
        // previous − current = −ΔW, through the plain SGD update with learning rate 1.
        backend.sgdUpdate(weights: previousKernel, gradients: kernel.value, velocity: nil, count: kernel.count, learningRate: 1,
                          momentum: 0, nesterov: false)
        backend.accumulateSumOfSquares(previousKernel, count: kernel.count, accumulator: step, index: DenseProbe.updateSquares)
        backend.accumulateSumOfSquares(y, count: outputs, accumulator: step, index: DenseProbe.outputSquares)
        backend.columnSums(y, rows: rows, columns: units, into: columnSums)
        backend.columnSums(columnSums, rows: units, columns: 1, into: scalar)
        backend.copy(scalar, sourceOffset: 0, to: step, destinationOffset: DenseProbe.outputSum, count: 1)
        if tracksDeadUnits {
            // Column sums of non-negative outputs: ≤ 0 means the unit gave 0 for the whole batch.
            backend.confusionCounts(predictions: columnSums, targets: zeros, count: units, thresholds: deadThreshold, thresholdCount: 1,
                                    accumulator: step, index: DenseProbe.deadCounts)
        }
        if let saturationThresholds {
            if zeros.count < outputs { zeros = DenseProbe.zeroBuffer(count: outputs, backend: backend) }
            backend.confusionCounts(predictions: y, targets: zeros, count: outputs, thresholds: saturationThresholds, thresholdCount: 2,
                                    accumulator: step, index: DenseProbe.saturationCounts)
        }
        // total += step (SGD with learning rate −1).
        backend.sgdUpdate(weights: total, gradients: step, velocity: nil, count: DenseProbe.slots, learningRate: -1, momentum: 0,
                          nesterov: false)
    }

    /// The epoch's statistics from `steps` monitored steps of `rows` rows in all (one device read).
    func read(steps: Int, rows: Int) -> LayerStatistics {
        let sums = backend.download(total)
        let outputs = Float(rows * layer.units)
        let mean = sums[DenseProbe.outputSum] / outputs
        let variance = max(0, sums[DenseProbe.outputSquares] / outputs - mean * mean)
        // Confusion counts against all-zero targets: [tp, fp, tn, fn]; fp = above the threshold, tn = at or below.
        let dead = tracksDeadUnits ? sums[DenseProbe.deadCounts + 2] / Float(steps * layer.units) : nil
        let saturated = saturationThresholds == nil ? nil
            : (sums[DenseProbe.saturationCounts + 2] + sums[DenseProbe.saturationCounts + 4 + 1]) / outputs
        var statistics = LayerStatistics(layer: layer.name, gradientNorm: (sums[DenseProbe.gradientSquares] / Float(steps)).squareRoot(),
                               weightNorm: (sums[DenseProbe.weightSquares] / Float(steps)).squareRoot(),
                               updateRatio: (sums[DenseProbe.updateSquares] / max(sums[DenseProbe.weightSquares], .leastNormalMagnitude)).squareRoot(),
                               deadFraction: dead, saturatedFraction: saturated, activationMean: mean, activationStd: variance.squareRoot())
        if layer.bias != nil { statistics.biasGradientNorm = (sums[DenseProbe.biasGradientSquares] / Float(steps)).squareRoot() }
        return statistics
    }

    /// Summary values for the epoch: the gradient norms, and histograms of the epoch's last step's kernel
    /// gradient and outputs (one read each, at epoch end).
    func summaryValues(_ statistics: LayerStatistics, rows: Int) -> [SummaryValue] {
        let name = layer.name
        var values: [SummaryValue] = [.scalar(tag: "gradients/\(name)/kernel/norm", value: statistics.gradientNorm)]
        if let biasNorm = statistics.biasGradientNorm { values.append(.scalar(tag: "gradients/\(name)/bias/norm", value: biasNorm)) }
        if let gradient = layer.kernel.gradient {
            values.append(.histogram(tag: "gradients/\(name)/kernel/histogram", values: backend.download(gradient)))
        }
        if let y = layer.y, rows > 0 {
            values.append(.histogram(tag: "activations/\(name)/histogram", values: backend.download(y, offset: 0, count: rows * layer.units)))
        }
        return values
    }
}
