import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// The hooks a callback has into `fit` besides the Keras lifecycle: what it needs of a step, running after the
/// others, and where training starts; and the per-step context the layers receive.
final class StepHookTests: XCTestCase {
    func data(rows: Int, inputs: Int, classes: Int) -> (x: Tensor, y: Tensor) {
        var random = PhiloxRandom(seed: 11, stream: 1)
        let x = Tensor(shape: [rows, inputs], scalars: (0..<(rows * inputs)).map { _ in random.nextNormal() })
        let y = Tensor(shape: [rows, classes], scalars: (0..<rows).flatMap { row in
            (0..<classes).map { Float($0 == row % classes ? 1 : 0) }
        })
        return (x, y)
    }

    /// Records the last layer's activated output next to softmax of its pre-activation after every step.
    final class OutputReader: Callback {
        let readStep: Int
        var agreed: [Int: Bool] = [:]
        init(readStep: Int) { self.readStep = readStep }

        override func needs(forStep batch: Int) -> StepNeeds { batch == readStep ? .layerOutputs : [] }

        override func onTrainBatchEnd(_ batch: Int, logs: Logs?) throws {
            guard let model, let dense = model.layers.last as? Dense else { return }
            let rows = model.currentBatchRows, units = dense.units
            let z = model.backend.download(dense.z!, offset: 0, count: rows * units)
            let y = model.backend.download(dense.y!, offset: 0, count: rows * units)
            var same = true
            for row in 0..<rows {
                let values = z[(row * units)..<((row + 1) * units)]
                let top = values.max()!
                let total = values.reduce(0) { $0 + exp($1 - top) }
                for unit in 0..<units where abs(y[row * units + unit] - exp(values[row * units + unit] - top) / total) > 1e-5 {
                    same = false
                }
            }
            agreed[batch] = same
        }
    }

    /// A softmax output fused with cross-entropy and no metric leaves the softmax out of the step, unless a
    /// callback declares it reads the layer outputs of that step.
    func testDeclaredLayerOutputsNeedComputesTheFusedActivation() throws {
        let (x, y) = data(rows: 16, inputs: 3, classes: 4)
        let model = Sequential(inputDim: 3, [Dense(4, activation: .softmax)], seed: 3)
        try model.compile(optimizer: SGD(), loss: .categoricalCrossentropy(fromLogits: false))
        model.output = { _ in }
        let reader = OutputReader(readStep: 2)
        try model.fit(x: x, y: y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false, callbacks: [reader])
        XCTAssertEqual(reader.agreed[2], true, "the step that declared .layerOutputs computed the softmax")
        XCTAssertEqual(reader.agreed[1], false, "the other steps left it out (their output buffer is unspecified)")
    }

    /// Keeps the order in which its hooks ran, and what `willTrain(after:)` told it.
    final class Recorder: Callback {
        let name: String
        let last: Bool
        let resume: Int?
        var log: (String) -> Void
        var toldOthers: [String] = []
        init(_ name: String, last: Bool = false, resume: Int? = nil, log: @escaping (String) -> Void) {
            self.name = name
            self.last = last
            self.resume = resume
            self.log = log
        }
        override var runsAfterOthers: Bool { last }
        override var resumeEpoch: Int? { resume }
        override func willTrain(after others: [Callback]) { toldOthers = others.compactMap { ($0 as? Recorder)?.name } }
        override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws { log("\(name)@\(epoch)") }
    }

    func testRunsAfterOthersAndResumeEpoch() throws {
        let (x, y) = data(rows: 8, inputs: 3, classes: 2)
        let model = Sequential(inputDim: 3, [Dense(2, activation: .softmax)], seed: 3)
        try model.compile(optimizer: SGD(), loss: .categoricalCrossentropy(fromLogits: false))
        model.output = { _ in }
        var order: [String] = []
        let late = Recorder("late", last: true, resume: 2) { order.append($0) }
        let a = Recorder("a") { order.append($0) }, b = Recorder("b", resume: 1) { order.append($0) }
        let history = try model.fit(x: x, y: y, batchSize: 4, epochs: 4, verbose: 0, callbacks: [late, a, b])
        XCTAssertEqual(history.epoch, [2, 3], "the last resume epoch in running order (late's) replaces initialEpoch")
        XCTAssertEqual(order, ["a@2", "b@2", "late@2", "a@3", "b@3", "late@3"])
        XCTAssertEqual(late.toldOthers, ["a", "b"])
        XCTAssertEqual(a.toldOthers, [], "only callbacks that run after the others are told them")
    }

    /// Layers read the pass from the context alone: a Dense without `needsOutputActivation` writes its
    /// pre-activation values plus bias, one with it the activation of them.
    func testDenseFollowsTheContextsOutputActivation() throws {
        let model = Sequential(inputDim: 2, [Dense(3, activation: .sigmoid, biasInitializer: .constant(0.5))], seed: 5)
        let dense = model.layers[0] as! Dense
        let input = model.backend.makeBuffer([1, -2, 0.5, 3])
        let skipped = model.backend.download(dense.forward(input, rows: 2, context: StepContext(training: true, needsOutputActivation: false)))
        let full = model.backend.download(dense.forward(input, rows: 2, context: StepContext(training: true)))
        XCTAssertEqual(full.count, 6)
        for (linear, activated) in zip(skipped, full) {
            XCTAssertEqual(activated, 1 / (1 + exp(-linear)), accuracy: 1e-6)
        }
        XCTAssertEqual(model.backend.download(dense.forward(input, rows: 2, context: .inference)), full)
    }
}
