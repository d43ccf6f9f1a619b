import ArgumentParser
import Foundation
import MallocCounter
import MLPKit

/// A fixed-seed synthetic workload: a random linear teacher labels random inputs, so the loss can go down.
/// The suite's three (seed, mnist, wide) and the older table's are in `Benchmarks/workloads.json`.
struct Workload: Decodable {
    var name: String
    let inputs: Int
    let hidden: [Int]
    let classes: Int
    let batch: Int
    let samples: Int
    /// The older training table's data: `digits` (the embedded digits' training split) or `uniform` (uniform
    /// inputs, random labels); nil for the suite's (``data(samples:)``).
    var dataset: String? = nil
    /// Adam in the suite (and in the tf.keras reference); `train --optimizer NAME` picks another.
    var optimizer = OptimizerName.adam

    private enum CodingKeys: String, CodingKey { case name, inputs, hidden, classes, batch, samples, dataset = "data" }

    /// The suite's workload `name`, from `Benchmarks/workloads.json`.
    static func named(_ name: WorkloadName) throws -> Workload { try WorkloadsFile.shared().workload(name) }

    func data(samples count: Int? = nil) -> (x: Tensor, y: Tensor) {
        let n = count ?? samples
        var random = PhiloxRandom(seed: 11)
        let x = Tensor(shape: [n, inputs], scalars: (0..<(n * inputs)).map { _ in random.nextNormal() })
        let teacher = (0..<(inputs * classes)).map { _ in random.nextNormal() }
        var labels = [Float]()
        labels.reserveCapacity(n)
        for row in 0..<n {
            var best = 0, bestScore = -Float.infinity
            for c in 0..<classes {
                var score: Float = 0
                for j in 0..<inputs { score += x[row, j] * teacher[j * classes + c] }
                if score > bestScore { bestScore = score; best = c }
            }
            labels.append(Float(best))
        }
        return (x, Tensor(shape: [n, 1], scalars: labels))
    }

    /// Floating-point operations of one training sample: forward `2·m·n` per Dense layer, backward `2·m·n` for
    /// the weight gradient and `2·m·n` for the input gradient (not for the first layer: neither MLPKit nor Keras
    /// computes the gradient of the data). Bias, activation, loss and optimizer work are left out.
    var trainingFlopsPerSample: Double {
        let widths = [inputs] + hidden + [classes]
        let products = zip(widths, widths.dropFirst()).map { Double($0 * $1) }
        return 6 * products.reduce(0, +) - 2 * products[0]
    }

    /// Floating-point operations of one predicted sample: `2·m·n` per Dense layer.
    var predictionFlopsPerSample: Double {
        let widths = [inputs] + hidden + [classes]
        return 2 * zip(widths, widths.dropFirst()).map { Double($0 * $1) }.reduce(0, +)
    }

    func model(backend: any Backend) throws -> Sequential {
        let model = Sequential(inputDim: inputs, hidden.map { Dense($0, activation: .relu) } + [Dense(classes, activation: .softmax)],
                               seed: 1, backend: backend)
        try model.compile(optimizer: optimizer.make(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        return model
    }
}

extension Workload {
    /// A workload of the file; the suite's take their name from their key (`name` left out).
    init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try values.decodeIfPresent(String.self, forKey: .name) ?? "", inputs: try values.decode(Int.self, forKey: .inputs),
                  hidden: try values.decode([Int].self, forKey: .hidden), classes: try values.decode(Int.self, forKey: .classes),
                  batch: try values.decode(Int.self, forKey: .batch), samples: try values.decode(Int.self, forKey: .samples),
                  dataset: try values.decodeIfPresent(String.self, forKey: .dataset))
    }
}

struct TrainResult {
    let samplesPerSecond: Double
    let predictSamplesPerSecond: Double
    let losses: [Float]
    let allocationsPerStep: Double
    /// The process's peak resident memory after the run, MiB (getrusage; a process-wide high-water mark).
    let peakMemoryMiB: Double

    var json: [String: Any] {
        ["samples_per_second": samplesPerSecond, "predict_samples_per_second": predictSamplesPerSecond,
         "final_loss": Double(losses.last ?? .nan), "epoch_losses": losses.map(Double.init), "allocations_per_step": allocationsPerStep,
         "peak_memory_mib": peakMemoryMiB]
    }
}

/// Steady state: one warm-up epoch, then `timedEpochs` timed epochs, and more until `minimumSeconds` have passed
/// (the losses are the warm-up's and the first timed epochs'); prediction: the median of the timed passes after a
/// warm-up call, three or as many as fill `minimumSeconds`; allocations per
/// step from two epochs of different lengths (their difference cancels the per-epoch allocations).
/// `timedEpochs` and `minimumSeconds` default to the workloads file's `protocol`.
func runWorkload(_ workload: Workload, backend: any Backend, samples: Int? = nil, timedEpochs: Int? = nil,
                 minimumSeconds: Double? = nil) throws -> TrainResult {
    let timing = try WorkloadsFile.shared().protocol
    let timedEpochs = timedEpochs ?? timing.timedEpochs, minimumSeconds = minimumSeconds ?? timing.minimumSeconds
    let (x, y) = workload.data(samples: samples)
    let model = try workload.model(backend: backend)
    model.output = { _ in }
    var losses: [Float] = []
    losses += try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false).history["loss"]!
    var history = History()
    var time = try seconds { history = try model.fit(x: x, y: y, batchSize: workload.batch, epochs: timedEpochs, verbose: 0, shuffle: false) }
    losses += history.history["loss"]!
    var timedSamples = timedEpochs * x.rowCount
    if time < minimumSeconds {
        // Short epochs (the seed's take ~10 ms): more of them, so that one scheduling hiccup cannot decide the figure.
        let more = Int(((minimumSeconds - time) / (time / Double(timedEpochs))).rounded(.up))
        time += try seconds { try model.fit(x: x, y: y, batchSize: workload.batch, epochs: more, verbose: 0, shuffle: false) }
        timedSamples += more * x.rowCount
    }
    _ = try model.predict(x.rows(0..<min(x.rowCount, 1024)), batchSize: workload.batch)
    var passes: [Double] = []
    repeat {
        passes.append(try seconds { _ = try model.predict(x, batchSize: workload.batch) })
    } while passes.count < 3 || passes.reduce(0, +) < minimumSeconds
    let predictTime = middle(passes)
    // Allocations: an epoch of 4 steps and one of 12 steps.
    let (ax, ay) = x.rowCount >= 12 * workload.batch ? (x, y) : workload.data(samples: 12 * workload.batch)
    let short = ax.rows(0..<(4 * workload.batch)), long = ax.rows(0..<(12 * workload.batch))
    let shortY = ay.rows(0..<(4 * workload.batch)), longY = ay.rows(0..<(12 * workload.batch))
    try model.fit(x: short, y: shortY, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
    let a0 = mlp_allocation_count()
    try model.fit(x: short, y: shortY, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
    let a1 = mlp_allocation_count()
    try model.fit(x: long, y: longY, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
    let a2 = mlp_allocation_count()
    let perStep = (Double(a2 - a1) - Double(a1 - a0)) / 8
    return TrainResult(samplesPerSecond: Double(timedSamples) / time, predictSamplesPerSecond: Double(x.rowCount) / predictTime,
                       losses: losses, allocationsPerStep: perStep, peakMemoryMiB: peakMemoryMiB())
}

/// `mlp-bench train --workload W [--device D] [--json] [--epochs N] [--optimizer NAME]`: one workload, for scripts.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "One workload's steady state: training and prediction samples/s, losses, allocations per step, peak memory.")

    @OptionGroup var workloadOptions: WorkloadOptions
    @OptionGroup var device: DeviceOptions
    @OptionGroup var output: JSONOptions
    @Option(help: "Timed epochs after the warm-up (default: timed_epochs of the workloads file), e.g. for a profiler.")
    var epochs: Int?
    @Option(help: ArgumentHelp("A Keras optimizer name with its defaults, instead of Adam.", valueName: "name"),
            transform: { try OptimizerName(keras: $0) })
    var optimizer: OptimizerName?

    func validate() throws {
        guard workloadOptions.workload != nil else { throw ValidationError("train needs --workload (seed, mnist or wide)") }
        if let epochs, epochs <= 0 { throw ValidationError("--epochs needs a positive count (received \(epochs))") }
    }

    func run() throws {
        var workload = try Workload.named(workloadOptions.workload!)  // checked by `validate`
        if let optimizer { workload.optimizer = optimizer }
        let result = try runWorkload(workload, backend: try device.backend(or: .cpu), timedEpochs: epochs)
        output.print(result.json)
    }
}
