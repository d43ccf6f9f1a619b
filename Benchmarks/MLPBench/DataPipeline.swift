import ArgumentParser
import Foundation
import MLPKit

/// (a) CSV parse throughput; (b) step time of a slow generator with and without prefetch, against the same
/// batches from memory.
func benchData() throws {
    print("Data pipeline")
    var random = PhiloxRandom(seed: 7)
    var text = (0..<16).map { "f\($0)" }.joined(separator: ",") + ",label\n"
    for _ in 0..<40_000 {
        text += (0..<16).map { _ in String(format: "%.5f", Double(random.nextNormal())) }.joined(separator: ",") + ",\(random.nextInt(below: 10))\n"
    }
    let megabytes = Double(text.utf8.count) / 1_048_576
    let parseTime = try seconds { _ = try CSVTable(text: text) }
    let path = NSTemporaryDirectory() + "mlpbench-\(ProcessInfo.processInfo.processIdentifier).csv"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let scanTime = try seconds { _ = try StreamingCSVSource(path: path, batchSize: 128) }
    print(String(format: "  CSV parse, in memory: %.1f MB/s (%.1f MB in %.2f s); streaming scan: %.1f MB/s", megabytes / parseTime, megabytes,
                 parseTime, megabytes / scanTime))

    let table = try CSVTable(text: text)
    let x = table.tensor(columns: Array(0..<16)), y = table.tensor(columns: [16])
    let memory = ArraySource(x: x, y: y, batchSize: 128)
    // A generator that costs 3 ms a batch (as parsing or augmenting would), then returns the in-memory batch.
    let slow = GeneratorSource(count: memory.batchCount) { index in
        Thread.sleep(forTimeInterval: 0.003)
        return try memory.batch(index)
    }
    func stepTime(_ source: BatchSource, workers: Int) throws -> Double {
        let model = Sequential(inputDim: 16, [Dense(256, activation: .relu), Dense(256, activation: .relu), Dense(10, activation: .softmax)],
                               seed: 1, backend: CPUBackend())
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        try model.fit(source.take(20), epochs: 1, verbose: 0, shuffle: false, workers: workers, prefetch: 8)
        let steps = source.batchCount!
        return try seconds { try model.fit(source, epochs: 1, verbose: 0, shuffle: false, workers: workers, prefetch: 8) } / Double(steps)
    }
    let inMemory = try stepTime(memory, workers: 0)
    let noPrefetch = try stepTime(slow, workers: 0)
    let prefetched = try stepTime(slow, workers: 2)
    print(String(format: "  step time: in memory %.2f ms; 3 ms/batch generator without prefetch %.2f ms (%.2f× in-memory), with 2 workers %.2f ms (%.2f× in-memory)",
                 inMemory * 1e3, noPrefetch * 1e3, noPrefetch / inMemory, prefetched * 1e3, prefetched / inMemory))
}

/// `mlp-bench data`.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "CSV parse MB/s (in memory, streaming scan), and a slow generator's step time with and without prefetch.")

    func run() throws { try benchData() }
}
