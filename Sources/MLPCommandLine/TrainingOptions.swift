import ArgumentParser
import Foundation
import MLPKit

/// Optimizer settings and callbacks for `mlp train`.
struct TrainingOptions: ParsableArguments {
    @OptionGroup var optimizerOptions: OptimizerOptions
    var optimizer: OptimizerName? { optimizerOptions.optimizer }
    var learningRate: Float? { optimizerOptions.learningRate }
    func makeOptimizer() throws -> Optimizer { try optimizerOptions.makeOptimizer() }

    @Option(help: "EarlyStopping: monitor=val_loss,patience=N,min-delta=X,mode=auto|min|max,baseline=X,restore-best-weights,start-from-epoch=N,verbose=N.")
    var earlyStopping: String?
    @Option(help: "ModelCheckpoint: PATH-TEMPLATE[,save-best-only][,weights-only][,monitor=NAME][,mode=…], e.g. 'ckpt-{epoch:02d}-{val_loss:.4f}.h5'.")
    var checkpoint: String?
    @Option(help: "BackupAndRestore: a folder for per-epoch backups; an interrupted run with the same flags resumes from it.")
    var backupDir: String?
    @Option(help: "ReduceLROnPlateau: monitor=val_loss,factor=0.1,patience=10,min-delta=1e-4,cooldown=0,min-lr=0,mode=auto.")
    var reduceLrOnPlateau: String?
    @Option(help: "CSVLogger: write epoch results to this CSV file.")
    var csvLog: String?
    @Flag(help: "TerminateOnNaN: stop as soon as the loss is NaN or infinite (reads the loss every batch).")
    var terminateOnNan = false
    @Option(help: "TensorBoard: write logs to this folder (runs train/ and validation/); open with `tensorboard --logdir`.")
    var tensorboard: String?
    @Option(parsing: .unconditional, help: "TensorBoard: weight (and activation) histograms every N epochs (0: none).")
    var histogramFreq: Int = 0
    @Option(parsing: .unconditional, help: "TensorBoard: when to write scalars (N: every N batches).")
    var updateFreq = UpdateFrequencyArgument(.epoch)
    @Option(parsing: .unconditional, help: "TensorBoard: samples whose last-hidden-layer activations go to the projector at train end (0: none).")
    var embeddingsSamples: Int = 0

    func validate() throws {
        try FlagCheck.count(histogramFreq, "--histogram-freq", 0...FlagCheck.maxCount)
        try FlagCheck.count(embeddingsSamples, "--embeddings-samples", 0...FlagCheck.maxCount)
    }

    /// The TensorBoard callback, if asked for; `x`/`labels` feed activation histograms and the projector.
    func makeTensorBoard(x: Tensor, labels: Tensor?) throws -> TensorBoard? {
        guard let tensorboard else { return nil }
        let frequency = updateFreq.frequency
        let sample = histogramFreq > 0 ? x.rows(0..<min(64, x.rowCount)) : nil
        var embeddings: (x: Tensor, labels: [String])?
        if embeddingsSamples > 0 {
            let count = min(embeddingsSamples, x.rowCount)
            let names = (0..<count).map { row -> String in
                guard let labels else { return String(row) }
                let values = Array(labels.row(row))
                return values.count == 1 ? (values[0] == values[0].rounded() ? String(Int(values[0])) : String(values[0]))
                    : String(values.indices.max { values[$0] < values[$1] } ?? 0)
            }
            embeddings = (x.rows(0..<count), names)
        }
        return TensorBoard(logDir: tensorboard, histogramFreq: histogramFreq, updateFreq: frequency, activationSample: sample,
                           embeddingsSample: embeddings)
    }

    /// The callbacks these flags ask for, in a fixed order.
    /// Drops the flags of the callbacks that write files (checkpoints, CSV log, TensorBoard): a rank other than 0 of a
    /// data-parallel job runs without them.
    mutating func dropFileWritingCallbacks() {
        checkpoint = nil
        csvLog = nil
        tensorboard = nil
    }

    func makeCallbacks() throws -> [Callback] {
        var callbacks: [Callback] = []
        if let earlyStopping {
            let o = try KeyValueOptions(earlyStopping, flag: "--early-stopping",
                                        valid: ["monitor", "patience", "min-delta", "mode", "baseline", "restore-best-weights",
                                                "start-from-epoch", "verbose"])
            callbacks.append(EarlyStopping(monitor: o.string("monitor") ?? "val_loss", minDelta: try o.float("min-delta") ?? 0,
                                           patience: try o.count("patience") ?? 0, verbose: try o.count("verbose", 0...2) ?? 1,
                                           mode: try o.mode(), baseline: try o.float("baseline"),
                                           restoreBestWeights: try o.bool("restore-best-weights"),
                                           startFromEpoch: try o.count("start-from-epoch") ?? 0))
        }
        if let reduceLrOnPlateau {
            let o = try KeyValueOptions(reduceLrOnPlateau, flag: "--reduce-lr-on-plateau",
                                        valid: ["monitor", "factor", "patience", "min-delta", "cooldown", "min-lr", "mode", "verbose"])
            let factor = try o.float("factor") ?? 0.1
            guard factor > 0 && factor < 1 else {
                throw MLPError.invalidArgument("--reduce-lr-on-plateau: factor must be in (0, 1), got \(FlagCheck.text(factor))")
            }
            let minimum = try o.float("min-lr") ?? 0
            guard minimum >= 0 else { throw MLPError.invalidArgument("--reduce-lr-on-plateau: min-lr must be ≥ 0, got \(FlagCheck.text(minimum))") }
            callbacks.append(ReduceLROnPlateau(monitor: o.string("monitor") ?? "val_loss", factor: factor,
                                               patience: try o.count("patience") ?? 10, verbose: try o.count("verbose", 0...2) ?? 1,
                                               mode: try o.mode(), minDelta: try o.float("min-delta") ?? 1e-4,
                                               cooldown: try o.count("cooldown") ?? 0, minLearningRate: minimum))
        }
        if let checkpoint {
            let parts = checkpoint.split(separator: ",", maxSplits: 1).map(String.init)
            let o = try KeyValueOptions(parts.count > 1 ? parts[1] : "", flag: "--checkpoint",
                                        valid: ["save-best-only", "weights-only", "monitor", "mode", "verbose"])
            callbacks.append(ModelCheckpoint(filepath: parts[0], monitor: o.string("monitor") ?? "val_loss",
                                             verbose: try o.count("verbose", 0...2) ?? 0, saveBestOnly: try o.bool("save-best-only"),
                                             saveWeightsOnly: try o.bool("weights-only"), mode: try o.mode()))
        }
        if let csvLog { callbacks.append(CSVLogger(filename: csvLog)) }
        if terminateOnNan { callbacks.append(TerminateOnNaN()) }
        if let backupDir { callbacks.append(BackupAndRestore(backupDirectory: backupDir)) }
        return callbacks
    }
}

/// The optimizer flags (`mlp train`, `mlp diagnose`).
struct OptimizerOptions: ParsableArguments {
    @Option(help: "One of \(OptimizerName.allCases.map(\.rawValue).joined(separator: ", ")) (default: adam).",
            transform: { try OptimizerName(keras: $0) })
    var optimizer: OptimizerName?
    @Option(parsing: .unconditional, help: "Learning rate (default: the optimizer's Keras default).")
    var learningRate: Float?
    @Option(help: "A learning-rate schedule: exponential:decay-steps=N,decay-rate=R[,staircase] or cosine:decay-steps=N[,alpha=A].")
    var lrSchedule: String?
    @Option(parsing: .unconditional, help: "Momentum (sgd, rmsprop).")
    var momentum: Float?
    @Flag(help: "Nesterov momentum (sgd).")
    var nesterov = false
    @Flag(help: "AMSGrad (adam, adamw).")
    var amsgrad = false
    @Flag(help: "Centered RMSprop (rmsprop).")
    var centered = false
    @Option(parsing: .unconditional, help: "Decoupled weight decay (any optimizer; adamw defaults to 0.004).")
    var weightDecay: Float?
    @Option(parsing: .unconditional, help: "Clip each gradient to this L2 norm.")
    var clipnorm: Float?
    @Option(parsing: .unconditional, help: "Clip all gradients together to this global L2 norm.")
    var globalClipnorm: Float?
    @Option(parsing: .unconditional, help: "Clip gradient values to [-X, X].")
    var clipvalue: Float?

    func validate() throws {
        try FlagCheck.number(learningRate, "--learning-rate", atLeast: 0)
        try FlagCheck.number(momentum, "--momentum", atLeast: 0, atMost: 1)
        try FlagCheck.number(weightDecay, "--weight-decay", atLeast: 0)
        try FlagCheck.number(clipnorm, "--clipnorm", atLeast: 0, open: true)
        try FlagCheck.number(globalClipnorm, "--global-clipnorm", atLeast: 0, open: true)
        try FlagCheck.number(clipvalue, "--clipvalue", atLeast: 0, open: true)
        if let lrSchedule { _ = try OptimizerOptions.schedule(lrSchedule) }
    }

    /// The optimizer these flags describe; options that do not apply to it are an error.
    func makeOptimizer() throws -> Optimizer {
        let name = optimizer ?? .adam
        func reject(_ flag: String, _ set: Bool, unless allowed: [OptimizerName]) throws {
            if set && !allowed.contains(name) {
                throw MLPError.invalidArgument("\(flag) applies to \(allowed.map(\.rawValue).joined(separator: " and ")), not \(name.rawValue)")
            }
        }
        try reject("--momentum", momentum != nil, unless: [.sgd, .rmsprop])
        try reject("--nesterov", nesterov, unless: [.sgd])
        try reject("--amsgrad", amsgrad, unless: [.adam, .adamw])
        try reject("--centered", centered, unless: [.rmsprop])
        let schedule = try lrSchedule.map(OptimizerOptions.schedule(_:))
        let optimizer: Optimizer
        switch name {
        case .sgd: optimizer = SGD(learningRate: learningRate ?? 0.01, momentum: momentum ?? 0, nesterov: nesterov)
        case .rmsprop: optimizer = RMSprop(learningRate: learningRate ?? 0.001, momentum: momentum ?? 0, centered: centered)
        case .adagrad: optimizer = Adagrad(learningRate: learningRate ?? 0.001)
        case .adam: optimizer = Adam(learningRate: learningRate ?? 0.001, amsgrad: amsgrad)
        case .adamw: optimizer = AdamW(learningRate: learningRate ?? 0.001, weightDecay: weightDecay ?? 0.004, amsgrad: amsgrad)
        case .nadam: optimizer = Nadam(learningRate: learningRate ?? 0.001)
        }
        if let schedule { optimizer.learningRateSchedule = schedule }
        if let weightDecay { optimizer.weightDecay = weightDecay }
        optimizer.clipnorm = clipnorm
        optimizer.globalClipnorm = globalClipnorm
        optimizer.clipvalue = clipvalue
        try optimizer.validate()
        return optimizer
    }

    static func schedule(_ text: String) throws -> LearningRateSchedule {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let kind = parts[0].lowercased()
        let options = try KeyValueOptions(parts.count > 1 ? parts[1] : "", flag: "--lr-schedule",
                                          valid: ["initial", "decay-steps", "decay-rate", "staircase", "alpha"])
        guard let steps = try options.int("decay-steps"), (1...FlagCheck.maxCount).contains(steps) else {
            throw MLPError.invalidArgument("--lr-schedule: '\(text)' needs decay-steps=N (N > 0)")
        }
        func initial() throws -> Float {
            let value = try options.float("initial") ?? 0.001
            guard value >= 0 else { throw MLPError.invalidArgument("--lr-schedule: initial must be ≥ 0, got \(FlagCheck.text(value))") }
            return value
        }
        switch kind {
        case "exponential":
            guard let rate = try options.float("decay-rate"), rate > 0 else {
                throw MLPError.invalidArgument("--lr-schedule: exponential needs decay-rate=R with R > 0")
            }
            return .exponentialDecay(initial: try initial(), decaySteps: steps, decayRate: rate,
                                     staircase: try options.bool("staircase"))
        case "cosine":
            let alpha = try options.float("alpha") ?? 0
            guard (0...1).contains(alpha) else {
                throw MLPError.invalidArgument("--lr-schedule: alpha must be in [0, 1], got \(FlagCheck.text(alpha))")
            }
            return .cosineDecay(initial: try initial(), decaySteps: steps, alpha: alpha)
        default:
            throw MLPError.unknownName(kind: "learning-rate schedule", received: kind, valid: ["exponential", "cosine"])
        }
    }
}
