import ArgumentParser
import Foundation
import MLPDistributed
import MLPKit

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a CSV file, or on the embedded digits data set when no --data is given.")

    @Option(help: "Training data: a CSV file with a header row.")
    var data: String?
    @Option(help: "Train on MNIST IDX files in this folder (train-*-idx?-ubyte[.gz]) and report on its t10k-* files.")
    var idx: String?
    @Flag(help: "Stream --data (or uncompressed --idx files) from disk in batches, never loading the whole file; shuffling then permutes the batch order.")
    var stream = false
    @Option(help: "Shuffle the training data every epoch: true or false.")
    var shuffle: Bool = true
    @Option(parsing: .unconditional, help: "Threads preparing batches ahead when streaming.")
    var workers: Int = 1
    @Option(parsing: .unconditional, help: "Batches prepared ahead when streaming.")
    var prefetch: Int = 4
    @Flag(help: "Standardize the features ((x − mean)/std, fitted on the training data and saved with the model).")
    var standardize = false
    @Option(help: "Missing cells (empty, NA, NaN, null, ?): error | skip | fill=VALUE.")
    var missing: String = "error"
    @Option(name: .customLong("model"), help: "Continue training a saved model (.h5, .keras, .json): architecture, loss, metrics and optimizer state come from the file.")
    var startModel: String?
    @OptionGroup var labels: LabelOptions
    @OptionGroup var model: ModelOptions
    @Option(help: "Loss name (default from the output layer: softmax → sparse_categorical_crossentropy, sigmoid → binary_crossentropy, else mean_squared_error).")
    var loss: String?
    @OptionGroup var training: TrainingOptions
    @Option(help: "Metrics, comma-separated (accuracy, precision, recall, auc, top_k_categorical_accuracy, mse, …); default accuracy for classification.")
    var metrics: String?
    @Option(parsing: .unconditional, help: "Class weights as CLASS=WEIGHT pairs, e.g. 0=1,1=5 (classes not named weigh 1).")
    var classWeight: String?
    @Option(parsing: .unconditional, help: "Passes over the training data.")
    var epochs: Int = 20
    @Option(parsing: .unconditional, help: "Samples per gradient step.")
    var batchSize: Int = 32
    @Option(parsing: .unconditional, help: "Fraction of the training data (the last samples) held out for validation.")
    var validationSplit: Double = 0
    @Option(help: "A CSV file to validate on after each epoch (overrides --validation-split).")
    var validationData: String?
    @Option(help: "A CSV file to evaluate on after training.")
    var testData: String?
    @OptionGroup var runOptions: RunOptions
    @Option(name: .customLong("verbose"), parsing: .unconditional, help: "0 silent, 1 progress bar, 2 one line per epoch.")
    var verbosity: Verbosity = .progressBar
    var verbose: Int { verbosity.rawValue }
    @Option(help: "Write Keras' History.history as JSON to this file.")
    var historyJson: String?
    @Option(help: "Save the trained model to this file.")
    var save: String?
    @Option(name: .customLong("report"), help: "Write a self-contained HTML training report to this file (refreshed after epochs while that takes under 2% of the run).")
    var reportPath: String?

    func validate() throws {
        try FlagCheck.count(workers, "--workers", 0...256)
        try FlagCheck.count(prefetch, "--prefetch", 1...1024)
        try FlagCheck.count(epochs, "--epochs", 0...FlagCheck.maxCount)
        try FlagCheck.count(batchSize, "--batch-size", 1...FlagCheck.maxCount)
        try FlagCheck.number(validationSplit, "--validation-split", atLeast: 0, atMost: 1, openAbove: true)
        if let classWeight { _ = try Train.parseClassWeights(classWeight) }
    }

    /// The steps in order: flags that can be checked before any work, the data, the model (built from the flags
    /// or loaded with `--model`), the validation and test files, the callbacks, `fit`, then the report and the
    /// files written after training.
    ///
    /// Under `mlp train` started by `mpirun -np N` the same steps run on every rank, data-parallel (see
    /// `Distributed.md`); ranks other than 0 print nothing and write no file.
    func run() throws {
        try reportingErrors {
            let mpi = try MPICommunicator.launched()
            let job: any Communicator = mpi ?? SingleProcess()
            var command = self
            if !job.isWriter { command.keepFilesAndOutputToRankZero() }
            try command.run(in: job)
            mpi?.finalize()
        }
    }

    /// The steps of ``run()`` in the job `job`.
    func run(in job: any Communicator) throws {
        try checkFlagsBeforeWork()
        var callbacks = try training.makeCallbacks()
        let chosenLoss = try loss.map { try Loss(keras: $0) }
        var data = try loadTrainingData(chosenLoss: chosenLoss, job: job)
        let network = try buildOrLoadModel(&data, chosenLoss: chosenLoss, job: job)
        let held = try loadHeldOutData(lossKind: data.lossKind, outputUnits: data.output.units)
        let test = held.test ?? data.test
        if let board = try training.makeTensorBoard(x: held.validation?.x ?? test?.x ?? data.train.x,
                                                    labels: held.validation?.y ?? test?.y ?? data.train.y) {
            callbacks.insert(board, at: 0)
        }
        let reportWriter = reportPath.map { makeReportWriter($0, network: network, validation: held.validation, test: test, trainX: data.train.x) }
        if let reportWriter { callbacks.append(reportWriter) }
        if !job.isWriter { network.output = { _ in } }  // callbacks' messages (early stopping…) too
        let history = try fit(network, data: data, validation: held.validation, callbacks: callbacks, job: job)
        if job.size > 1 && verbose > 0 {
            let buckets = network.allreduceBucketCount > 1 ? " in \(network.allreduceBucketCount) buckets" : ""
            print(String(format: "Data-parallel: %d ranks, global batch %d, gradient allreduce %.3f ms/step", job.size, batchSize,
                         network.allreduceSecondsPerStep * 1000) + buckets)
        }
        // The report evaluated the test data (when there is some) at the end of training: its logs are the test line's.
        if job.isWriter { try report(network, history: history, test: test, evaluated: test == nil ? nil : reportWriter?.evaluationLogs) }
    }

    /// A rank other than 0: silent, and without the flags that write files (rank 0 writes them); `--backup-dir`
    /// stays, since every rank reads the backup (only rank 0 writes it).
    mutating func keepFilesAndOutputToRankZero() {
        verbosity = .silent
        save = nil
        historyJson = nil
        reportPath = nil
        training.dropFileWritingCallbacks()
    }

    /// This rank's place on its machine: its local rank of the job's local size (`OMPI_COMM_WORLD_LOCAL_RANK` of
    /// `OMPI_COMM_WORLD_LOCAL_SIZE` under `mpirun`).
    static func localPlacement(_ job: any Communicator) -> (rank: Int, size: Int) {
        (job.localRank, max(job.localSize, 1))
    }

    /// `error`, `skip`, `fill=0`.
    static func missingPolicy(_ text: String) throws -> MissingValuePolicy {
        switch text.lowercased() {
        case "error": return .error
        case "skip": return .skipRow
        default:
            guard text.lowercased().hasPrefix("fill=") else {
                throw MLPError.invalidArgument("--missing must be error, skip or fill=VALUE, got '\(text)'")
            }
            guard let value = CSVNumber.finiteValue(text.dropFirst(5)) else {
                throw MLPError.invalidArgument("--missing fill=VALUE needs a finite decimal number, got '\(text.dropFirst(5))'")
            }
            return .fill(value)
        }
    }

    /// `0=1,1=5` → [0: 1, 1: 5].
    static func parseClassWeights(_ text: String) throws -> [Int: Float] {
        var weights: [Int: Float] = [:]
        for item in text.split(separator: ",") {
            let pair = item.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let label = Int(pair[0]), let weight = Float(pair[1]), weight.isFinite, weight >= 0 else {
                throw MLPError.invalidArgument("--class-weight: '\(item)' is not CLASS=WEIGHT (for example 0=1,1=5)")
            }
            weights[label] = weight
        }
        return weights
    }
}
