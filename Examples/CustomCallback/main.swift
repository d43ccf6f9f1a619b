// A callback of your own: record each epoch's loss and stop training once the training accuracy reaches a target.
import MLPKit

final class StopAtAccuracy: Callback {
    let target: Float
    private(set) var losses: [Float] = []

    init(target: Float) {
        self.target = target
        super.init()
    }

    override func onTrainBegin(logs: Logs) throws {
        losses = []                                   // Keras' rule: callbacks reset their state at train begin
    }

    override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        if let loss = logValue("loss", in: logs) { losses.append(loss) }
        if let accuracy = logValue("accuracy", in: logs), accuracy >= target {
            print("epoch \(epoch + 1): accuracy \(accuracy) reached \(target), stopping")
            model?.stopTraining = true
        }
    }
}

let digits = Datasets.digits()
let model = Sequential(inputDim: 64, [Dense(32, activation: .relu), Dense(10, activation: .softmax)], seed: 3)
try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
let stopper = StopAtAccuracy(target: 0.95)
let history = try model.fit(x: digits.x, y: digits.y, epochs: 100, verbose: 0, callbacks: [stopper])
print("losses per epoch:", stopper.losses.map { String(format: "%.3f", $0) }.joined(separator: " "))
precondition(stopper.losses.count == history.history["loss"]!.count, "the callback saw every epoch")
precondition(stopper.losses.count < 100, "training stopped before the last epoch")
