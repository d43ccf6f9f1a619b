// A consumer of MLPKit for Scripts/check-snippets.sh: built once with the CPU flags and once with a plain
// `swift build -c release` (no flags), it checks the CPU-build notice from the outside and measures what the
// flags are worth.
//
// - no argument: one training step of a small model (the notice, if one is due, goes to stderr), then "fit: ok";
// - `mnist`: the mnist-shaped workload of Benchmarks/workloads.json (784→512→256→10, batch 128, Adam, sparse
//   categorical cross-entropy, 8,192 samples): one warm-up epoch, then timed epochs until two seconds have passed;
//   prints "mnist samples/s: N".
import Foundation
import MLPKit

func data(samples: Int, inputs: Int, classes: Int) -> (x: Tensor, y: Tensor) {
    var random = PhiloxRandom(seed: 11)
    let x = Tensor(shape: [samples, inputs], scalars: (0..<(samples * inputs)).map { _ in random.nextNormal() })
    let y = Tensor(shape: [samples, 1], scalars: (0..<samples).map { _ in Float(random.nextInt(below: classes)) })
    return (x, y)
}

if CommandLine.arguments.dropFirst().first == "mnist" {
    let (x, y) = data(samples: 8192, inputs: 784, classes: 10)
    let model = Sequential(inputDim: 784, [Dense(512, activation: .relu), Dense(256, activation: .relu),
                                           Dense(10, activation: .softmax)], seed: 1)
    try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
    try model.fit(x: x, y: y, batchSize: 128, epochs: 1, verbose: 0, shuffle: false)
    let start = Date()
    var epochs = 0
    repeat {
        try model.fit(x: x, y: y, batchSize: 128, epochs: 1, verbose: 0, shuffle: false)
        epochs += 1
    } while Date().timeIntervalSince(start) < 2
    let rate = Double(epochs * x.rowCount) / Date().timeIntervalSince(start)
    print("mnist samples/s: \(Int(rate.rounded()))")
} else {
    let (x, y) = data(samples: 32, inputs: 14, classes: 7)
    let model = Sequential(inputDim: 14, [Dense(25, activation: .relu), Dense(7, activation: .softmax)], seed: 1)
    try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
    try model.fit(x: x, y: y, batchSize: 32, epochs: 1, verbose: 0, shuffle: false)
    print("fit: ok")
}
