// The seed notebook's walk, in order: count the weights, run the sanity procedure, train with early stopping on
// real data, save, load and evaluate.
import Foundation
import MLPKit

// 1. The notebook's network: 14 inputs, 7 classes. Dense parameters are in·units + units.
let notebook = Sequential(inputDim: 14, [
    Dense(25, activation: .relu),
    Dense(36, activation: .relu),
    Dense(47, activation: .relu),
    Dense(7, activation: .softmax),
], seed: 42)
print(notebook.summary())

// 2. Predict on a random tensor, compile, evaluate and fit on random data: the loss must go down.
let sanity = try notebook.sanityCheck(loss: .sparseCategoricalCrossentropy(fromLogits: false))
print("sanity check: prediction shape \(sanity.predictionShape), loss went down: \(sanity.lossWentDown)")
guard sanity.lossWentDown else { fatalError("the sanity procedure failed: the loss did not go down") }

// 3. Real data, with a validation set watched by EarlyStopping.
let digits = Datasets.digits()
let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 1)
let model = Sequential(inputDim: 64, [
    Dense(64, activation: .relu, kernelInitializer: .heNormal),
    Dropout(0.2),
    Dense(10, activation: .softmax),
], seed: 1)
try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
let history = try model.fit(x: split.train.x, y: split.train.y, epochs: 60, verbose: 0, validationSplit: 0.2,
                            callbacks: [EarlyStopping(monitor: "val_loss", patience: 4, verbose: 1, restoreBestWeights: true)])
print("trained \(history.history["loss"]!.count) epochs; best val_loss \(history.history["val_loss"]!.min()!)")

// 4. Save as Keras 3 `.keras`, load it back, and evaluate on the test set.
let file = FileManager.default.temporaryDirectory.appendingPathComponent("seed-notebook-example.keras").path
try model.save(to: file)
let loaded = try Sequential.load(from: file)
let logs = try loaded.evaluate(x: split.test.x, y: split.test.y)
print("test", logs.map { "\($0.0) \(String(format: "%.4f", $0.1))" }.joined(separator: ", "))
try FileManager.default.removeItem(atPath: file)
