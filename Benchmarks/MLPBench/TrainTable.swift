import ArgumentParser
import Foundation
import MLPKit

/// Training throughput (samples/s, one epoch after a warm-up epoch) on the CPU backend and the device.
func benchTraining(device: (any Backend)?, quick: Bool) throws {
    print("Training throughput, samples/s (Adam, sparse categorical cross-entropy, one epoch after a warm-up)")
    let digits = Datasets.digits()
    let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 0)
    for workload in try WorkloadsFile.shared().trainTable {
        let x: Tensor, y: Tensor
        if workload.dataset == "digits" {
            (x, y) = split.train
        } else {
            var random = PhiloxRandom(seed: 3)
            x = Tensor(shape: [workload.samples, workload.inputs], scalars: (0..<(workload.samples * workload.inputs)).map { _ in random.nextUniform() })
            y = Tensor(shape: [workload.samples, 1], scalars: (0..<workload.samples).map { _ in Float(random.nextInt(below: workload.classes)) })
        }
        var line = "  \(workload.name):"
        var rates: [Double] = []
        var losses: [Float] = []
        for backend in [CPUBackend() as any Backend] + (device.map { [$0] } ?? []) {
            // The CPU gets fewer samples on the big workloads (time), the rate is per sample either way.
            let cpuCount = min(x.rowCount, 2 * workload.batch * max(1, 4096 / workload.hidden[0]))
            let count = quick || (backend is CPUBackend && workload.inputs > 64) ? min(x.rowCount, cpuCount) : x.rowCount
            let xs = x.rows(0..<count), ys = y.rows(0..<count)
            let model = Sequential(inputDim: workload.inputs,
                                   workload.hidden.map { Dense($0, activation: .relu) } + [Dense(workload.classes, activation: .softmax)],
                                   seed: 1, backend: backend)
            try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
            try model.fit(x: xs, y: ys, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
            var history = History()
            let time = try seconds { history = try model.fit(x: xs, y: ys, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false) }
            rates.append(Double(count) / time)
            losses.append(history.history["loss"]![0])
            line += String(format: "  %@ %.0f", backend is CPUBackend ? "CPU" : "device", Double(count) / time)
        }
        if rates.count == 2 { line += String(format: "  (device/CPU %.1f×)", rates[1] / rates[0]) }
        print(line)
    }
}

/// `mlp-bench train-table [--device D] [--quick]`: the older training table.
struct TrainTableCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-table",
        abstract: "The older training table (train_table of Benchmarks/workloads.json): samples/s on the CPU backend and the device.")

    @OptionGroup var device: DeviceOptions
    @Flag(help: "Fewer samples on the device as well (a dry run).") var quick = false

    func run(on backend: (any Backend)?) throws { try benchTraining(device: backend, quick: quick) }
}
