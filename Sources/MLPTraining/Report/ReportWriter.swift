import Foundation
import MLPCore

/// Writes one self-contained HTML training report (``ReportHTML``) at the end of `fit`, and rewrites it after the
/// epochs through ``AtomicFile`` so it can be watched while training runs.
///
/// After an epoch the page is rewritten unless that would bring the time spent on the report above
/// ``rewriteBudget`` of the elapsed training time (2% by default; a write is estimated by the last one, the first
/// at ``firstWriteEstimate``): every epoch when epochs take long enough to matter (a tenth of a second or more),
/// fewer when they take milliseconds — a run of a fraction of a second gets only the finished page —, so the
/// report costs the run little. A nil budget rewrites after every epoch. No page is synced to disk
/// (``AtomicFile/write(_:to:durable:)`` without `durable`), the finished one neither: replacing the file by name
/// (a swap of names where the OS has one) alone keeps a reader or a killed run from ever seeing part of a page,
/// and the syncs were a third of what the report cost a short run; only an OS crash or power loss right after the
/// run can lose the page.
///
/// It runs after the other callbacks, so it sees their log entries (`learning_rate`), EarlyStopping's stop and
/// restored epoch, and the weights after a restore. Without a ``GradientMonitor`` among the callbacks it runs one
/// itself (every 100th step — the first of each epoch at least —, no warnings: a monitored step costs several
/// times a plain one on small models), whose statistics then land in `History` too. Weight and activation
/// histograms are taken after the first and the latest epoch (activations on `activationSample`'s first
/// ``sampleRows`` rows); the held-out `evaluation` data gets a confusion matrix and per-class scores
/// (classification) or residuals (regression) at the end.
///
/// In a data-parallel `fit` only rank 0's writer does anything (the other ranks' do nothing, so the writer may be
/// given to every rank or to rank 0 alone), and its evaluation and histograms are computed by rank 0 on its own,
/// without collectives.
///
/// ```swift
/// let report = ReportWriter(path: "run.html", evaluation: (xTest, yTest))
/// try model.fit(x: x, y: y, epochs: 20, validationSplit: 0.2, callbacks: [EarlyStopping(patience: 3), report])
/// ```
public final class ReportWriter: Callback {
    /// The HTML file written.
    public let path: String
    /// The page's title.
    public let title: String
    /// The run's settings shown in the report (timing is added: start, duration, samples/s).
    public let settings: [TrainingReport.Setting]
    /// Held-out data evaluated at the end of training, and how to name it.
    public let evaluation: (x: Tensor, y: Tensor, source: String)?
    /// Rows per batch of the evaluation at the end of training (`evaluate`'s `batchSize`).
    public let evaluationBatchSize: Int
    /// Rows whose layer outputs make the activation histograms (the evaluation data's when nil).
    public let activationSample: Tensor?
    /// The most rows of the sample used for activation histograms.
    public static let sampleRows = 256
    /// The most residual points kept for regression.
    public static let residualLimit = 500
    /// The largest fraction of the elapsed training time that the per-epoch rewrites may take; nil rewrites after
    /// every epoch.
    public let rewriteBudget: Double?
    /// The report as collected so far.
    public private(set) var report: TrainingReport
    /// The loss and metrics of the evaluation at the end of training, as `evaluate` returned them (nil before it
    /// and without evaluation data): `mlp train` prints these for its test data instead of evaluating it again.
    public private(set) var evaluationLogs: Logs?

    private var monitor: GradientMonitor?
    private var earlyStopping: EarlyStopping?
    private var started = Date()
    private var samples = 0
    private var startedText = ""
    private var lastWriteSeconds = ReportWriter.firstWriteEstimate
    /// What the first write is taken to cost before one was measured (1 ms: a page of a small model renders and
    /// writes in about that here), so that the budget also decides whether the first epoch's page is written.
    public static let firstWriteEstimate = 0.001
    /// Whether this process writes (rank 0 of the job, or a single process): set when training starts.
    private var writes = true
    private var firstDistributions: [TrainingReport.Distribution] = [], latestDistributions: [TrainingReport.Distribution] = []
    /// Seconds spent building and writing the report, for the cost figures.
    public private(set) var writingSeconds: Double = 0

    /// Creates the writer; the file's folder is checked when training starts.
    public init(path: String, title: String = "Training report", settings: [TrainingReport.Setting] = [],
                evaluation: (x: Tensor, y: Tensor, source: String)? = nil, evaluationBatchSize: Int = 32,
                activationSample: Tensor? = nil, rewriteBudget: Double? = 0.02) {
        self.path = path
        self.evaluationBatchSize = evaluationBatchSize
        self.rewriteBudget = rewriteBudget
        self.title = title
        self.settings = settings
        self.evaluation = evaluation
        self.activationSample = activationSample
        report = TrainingReport(title: title)
    }

    public override var runsAfterOthers: Bool { true }

    public override func willTrain(after others: [Callback]) {
        earlyStopping = others.compactMap { $0 as? EarlyStopping }.last
        monitor = others.contains { $0 is GradientMonitor } ? nil : GradientMonitor(every: 100, warnAfter: 0)
    }

    public override func needs(forStep batch: Int) -> StepNeeds { writes ? monitor?.needs(forStep: batch) ?? [] : [] }

    public override func onTrainBegin(logs: Logs) throws {
        writes = model?.distribution.isWriter ?? true
        guard writes else { return }
        try AtomicFile.checkWritable(path)
        started = Date()
        startedText = ReportWriter.utcText(started)
        samples = 0
        writingSeconds = 0
        lastWriteSeconds = ReportWriter.firstWriteEstimate
        firstDistributions = []
        latestDistributions = []
        report = TrainingReport(title: title)
        evaluationLogs = nil
        report.summary = model?.summary()
        if let earlyStopping {
            report.monitor = earlyStopping.monitor
            report.monitorMode = earlyStopping.mode == .max ? "max" : "min"
        }
        monitor?.model = model
        try monitor?.onTrainBegin(logs: logs)
    }

    public override func onEpochBegin(_ epoch: Int) throws {
        guard writes else { return }
        try monitor?.onEpochBegin(epoch)
    }

    public override func onTrainBatchBegin(_ batch: Int) throws {
        guard writes else { return }
        try monitor?.onTrainBatchBegin(batch)
    }

    public override func onTrainBatchEnd(_ batch: Int, logs: Logs?) throws {
        guard writes else { return }
        samples += model?.currentBatchRows ?? 0
        try monitor?.onTrainBatchEnd(batch, logs: logs)
    }

    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        guard writes else { return }
        try monitor?.onEpochEnd(epoch, logs: &logs)
        let clock = Date()
        report.append(epoch: epoch, logs: logs)
        if report.monitor == nil || report.series(report.monitor!) == nil {
            report.monitor = report.series("val_loss") != nil ? "val_loss" : "loss"
            report.monitorMode = MonitorMode.auto.resolved(for: report.monitor!) == .max ? "max" : "min"
        }
        if firstDistributions.isEmpty { try takeDistributions(epoch: epoch) }
        // Within budget when the rewrite (estimated by the last one) keeps the report's share of the run small.
        let elapsed = clock.timeIntervalSince(started)
        if rewriteBudget.map({ writingSeconds + lastWriteSeconds <= $0 * elapsed }) ?? true {
            if epoch != report.epochs.first { try takeDistributions(epoch: epoch) }
            try write(finished: false)
            lastWriteSeconds = Date().timeIntervalSince(clock)
        }
        writingSeconds += Date().timeIntervalSince(clock)
    }

    public override func onTrainEnd(logs: Logs) throws {
        guard writes else { return }
        let clock = Date()
        if let earlyStopping {
            if earlyStopping.stoppedEpoch > 0 { report.stoppedEpoch = earlyStopping.stoppedEpoch }
            if earlyStopping.restoreBestWeights && !report.epochs.isEmpty {
                report.restoredEpoch = earlyStopping.bestEpoch
                // The weights now are the restored ones: the last histograms show them.
                try takeDistributions(epoch: earlyStopping.bestEpoch)
            }
        }
        // The last epoch's histograms, unless the last rewrite (or a restore) already took them.
        if report.restoredEpoch == nil, let last = report.epochs.last, last != report.epochs.first,
           latestDistributions.first?.epoch != last {
            try takeDistributions(epoch: last)
        }
        if let evaluation, let model {
            let evaluated = try ReportWriter.evaluation(of: model, x: evaluation.x, y: evaluation.y, source: evaluation.source,
                                                        batchSize: evaluationBatchSize)
            report.evaluation = evaluated.evaluation
            evaluationLogs = evaluated.logs
        } else {
            report.omitted.append("Evaluation: no held-out data was given (mlp train --test-data, or ReportWriter(evaluation:)).")
        }
        try write(finished: true)
        writingSeconds += Date().timeIntervalSince(clock)
    }

    /// `date` as ISO 8601 in UTC (`2026-12-02T13:15:00Z`), without creating an `ISO8601DateFormatter` (milliseconds).
    static func utcText(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down)), parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// The histograms after `epoch`: the first epoch's are kept, the latest replace the previous latest.
    private func takeDistributions(epoch: Int) throws {
        guard let model else { return }
        let taken = try ReportWriter.distributions(of: model, epoch: epoch, sample: activationSample ?? evaluation?.x)
        if firstDistributions.isEmpty { firstDistributions = taken } else { latestDistributions = taken }
        report.distributions = firstDistributions + latestDistributions
    }

    /// Rows of the activation sample run through the model at a time.
    ///
    /// The products of such a slice stay on the calling thread: handing a larger one to the CPU backend's pool
    /// costs more than it saves on a model of this size (its worker then spins 0.2 ms waiting for more).
    static let sampleChunkRows = 64

    /// The kernels' and (with a sample) the layer outputs' histograms of every Dense layer.
    public static func distributions(of model: Sequential, epoch: Int, sample: Tensor?) throws -> [TrainingReport.Distribution] {
        var result: [TrainingReport.Distribution] = []
        // Each layer's outputs on the sample's first `sampleRows` rows, `sampleChunkRows` rows at a time.
        var outputs: [[Float]]?
        if let sample {
            let rows = min(sample.rowCount, sampleRows)
            var gathered = [[Float]](repeating: [], count: model.layers.count)
            for start in stride(from: 0, to: rows, by: sampleChunkRows) {
                for (index, output) in try model.layerOutputs(sample.rows(start..<min(rows, start + sampleChunkRows))).enumerated() {
                    gathered[index] += output.scalars
                }
            }
            outputs = gathered
        }
        for (index, layer) in model.layers.enumerated() {
            guard let dense = layer as? Dense else { continue }
            result.append(.init(layer: dense.name, kind: "weights", epoch: epoch,
                                histogram: .init(model.backend.download(dense.kernel.value))))
            if let outputs {
                result.append(.init(layer: dense.name, kind: "activations", epoch: epoch, histogram: .init(outputs[index])))
            }
        }
        return result
    }

    /// Evaluates `model` on `x`, `y`: the logs, and a confusion matrix (classification losses) or residuals.
    public static func evaluate(_ model: Sequential, x: Tensor, y: Tensor, source: String, batchSize: Int = 32) throws
        -> TrainingReport.Evaluation {
        try evaluation(of: model, x: x, y: y, source: source, batchSize: batchSize).evaluation
    }

    /// ``evaluate(_:x:y:source:batchSize:)``'s record and the logs `evaluate` returned.
    static func evaluation(of model: Sequential, x: Tensor, y: Tensor, source: String, batchSize: Int) throws
        -> (evaluation: TrainingReport.Evaluation, logs: Logs) {
        // On this process alone: inside a data-parallel fit, evaluate would split the batches among ranks that are
        // not evaluating (a writer on rank 0 only), and wait for them.
        // One pass gives both: the logs `evaluate` returns and the outputs `predict` returns.
        let (logs, prediction) = try model.locally { try model.evaluateAndPredict(x: x, y: y, batchSize: batchSize) }
        let rows = x.rowCount, width = prediction.columnCount
        let settings = logs.map { TrainingReport.Setting($0.0, ReportFormat.number(Double($0.1))) }
        func predictedClass(_ row: Int) -> Int {
            if width == 1 { return prediction.scalars[row] > 0.5 ? 1 : 0 }
            let slice = prediction.scalars[(row * width)..<((row + 1) * width)]
            return slice.indices.max { slice[$0] < slice[$1] }! - row * width
        }
        switch model.loss {
        case .sparseCategoricalCrossentropy, .categoricalCrossentropy, .binaryCrossentropy:
            let classes = max(2, width)
            var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
            let targetWidth = y.columnCount
            for row in 0..<rows {
                let target: Int
                if targetWidth > 1 {
                    let slice = y.scalars[(row * targetWidth)..<((row + 1) * targetWidth)]
                    target = slice.indices.max { slice[$0] < slice[$1] }! - row * targetWidth
                } else {
                    target = width == 1 ? (y.scalars[row] > 0.5 ? 1 : 0) : Int(y.scalars[row])
                }
                guard (0..<classes).contains(target) else { continue }
                confusion[target][predictedClass(row)] += 1
            }
            return (.init(source: source, logs: settings, confusion: confusion, residuals: nil), logs)
        default:
            let targetWidth = y.columnCount
            let step = max(1, rows / residualLimit)
            let residuals = stride(from: 0, to: rows, by: step).prefix(residualLimit).map { row -> [Double] in
                let target = Double(y.scalars[row * targetWidth]), predicted = Double(prediction.scalars[row * width])
                return [target, predicted - target]
            }.filter { $0.allSatisfy(\.isFinite) }
            return (.init(source: source, logs: settings, confusion: nil, residuals: residuals), logs)
        }
    }

    /// Writes the page; `finished` adds the timing settings.
    private func write(finished: Bool) throws {
        let seconds = Date().timeIntervalSince(started)
        report.settings = settings + [
            .init("started", startedText),
            .init(finished ? "duration" : "elapsed so far", ReportFormat.cFormatted("%.2f s", seconds)),
            .init("samples/s", ReportFormat.cFormatted("%.0f", Double(samples) / max(seconds, 1e-9))),
            .init("status", finished ? "finished after \(report.epochs.count) epochs" : "training (epoch \(report.epochs.count) done)"),
        ]
        // Not synced to disk, the finished page neither (the type's comment says why).
        try AtomicFile.write(Data(ReportHTML.renderBytes(report)), to: path, durable: false)
    }
}
