// Data that does not sit in memory: a CSV streamed from disk, and an endless generator that computes its batches,
// both prepared by two worker threads while the model trains. The batch order (and so the trained model) is the
// same for any number of workers.
import Foundation
import MLPKit

// A CSV on disk: 2 features, label 1 inside the unit circle, 0 outside.
let path = FileManager.default.temporaryDirectory.appendingPathComponent("streaming-example.csv").path
var text = "x1,x2,label\n"
var random = SystemRandomNumberGenerator()
for _ in 0..<4000 {
    let a = Float.random(in: -1.5...1.5, using: &random), b = Float.random(in: -1.5...1.5, using: &random)
    text += "\(a),\(b),\(a * a + b * b < 1 ? 1 : 0)\n"
}
try text.write(toFile: path, atomically: true, encoding: .utf8)
defer { try? FileManager.default.removeItem(atPath: path) }

let model = Sequential(inputDim: 2, [Dense(16, activation: .relu), Dense(16, activation: .relu),
                                     Dense(1, activation: .sigmoid)], seed: 5)
try model.compile(optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy(fromLogits: false), metrics: [.accuracy])

let stream = try StreamingCSVSource(path: path, labelColumn: "label", batchSize: 64)   // rows are read per batch
_ = try model.fit(stream, epochs: 5, verbose: 2, workers: 2, prefetch: 8)

// An endless source: each batch is computed from its index (here the same circle, freshly sampled).
let endless = GeneratorSource(count: nil) { index in
    var generator = PhiloxRandom(seed: UInt64(index), stream: 7)
    var x = [Float](), y = [Float]()
    for _ in 0..<64 {
        let a = generator.nextUniform() * 3 - 1.5, b = generator.nextUniform() * 3 - 1.5
        x += [a, b]
        y.append(a * a + b * b < 1 ? 1 : 0)
    }
    return Batch(x: Tensor(shape: [64, 2], scalars: x), y: Tensor(shape: [64, 1], scalars: y))
}
let history = try model.fit(endless, epochs: 3, stepsPerEpoch: 50, verbose: 2, workers: 2, prefetch: 8)
print("final accuracy on generated batches:", history.history["accuracy"]!.last!)
