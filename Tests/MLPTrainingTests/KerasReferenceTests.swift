import Foundation
import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// MLPKit against numbers produced by real Keras (`Scripts/make-keras-fixtures.py`, Keras 3.15 on
/// tensorflow-cpu 2.21, and tf-keras 2.21 for the summary text).
final class KerasReferenceTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Reference: Decodable {
        struct LossCase: Decodable {
            let name: String
            let from_logits: Bool
            let predictions: [[Float]]
            let targets: [[Float]]
            let value: Float
        }
        struct Training: Decodable {
            struct Run: Decodable {
                let weights: [AnyArray]
                let loss: [Float]
                let accuracy: [Float]
            }
            let x: [[Float]]
            let y: [Float]
            let initial_weights: [AnyArray]
            let batch_size: Int
            let epochs: Int
            let runs: [String: Run]
        }
        let activation_input: [Float]
        let activations: [String: [Float]]
        let softmax_input: [[Float]]
        let softmax: [[Float]]
        let losses: [LossCase]
        let training: Training
    }

    /// A 1-D or 2-D JSON array, flattened.
    struct AnyArray: Decodable {
        let values: [Float]
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let matrix = try? container.decode([[Float]].self) { values = matrix.flatMap { $0 } } else { values = try container.decode([Float].self) }
        }
    }

    func load() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("keras-reference.json")))
    }

    func testSummaryIsByteIdenticalToTfKeras() throws {
        let expected = try String(contentsOf: Self.fixtures.appendingPathComponent("seed-summary-tf-keras.txt"), encoding: .utf8)
        let model = Sequential(inputDim: 14, [Dense(25, activation: .relu), Dense(36, activation: .relu),
                                              Dense(47, activation: .relu), Dense(7, activation: .softmax)], seed: 0)
        XCTAssertEqual(model.summary(), expected)
    }

    func testActivationsMatchKeras() throws {
        let reference = try load()
        let backend = CPUBackend(threadCount: 1)
        for (name, expected) in reference.activations {
            let activation = try Activation(keras: name)
            let y = backend.makeBuffer(count: expected.count)
            backend.biasActivationForward(preActivation: backend.makeBuffer(reference.activation_input), bias: nil, output: y,
                                          rows: 1, columns: expected.count, activation: activation)
            assertClose(backend.download(y), expected, absolute: 1e-6, relative: 1e-5, name)
        }
        let input = reference.softmax_input.flatMap { $0 }
        let y = backend.makeBuffer(count: input.count)
        backend.biasActivationForward(preActivation: backend.makeBuffer(input), bias: nil, output: y, rows: 2, columns: 3, activation: .softmax)
        assertClose(backend.download(y), reference.softmax.flatMap { $0 }, absolute: 1e-6, "softmax")
    }

    func testLossesMatchKeras() throws {
        let backend = CPUBackend(threadCount: 1)
        for lossCase in try load().losses {
            let loss = try Loss(keras: lossCase.name, fromLogits: lossCase.from_logits)
            let rows = lossCase.predictions.count, columns = lossCase.predictions[0].count
            let accumulator = backend.makeBuffer([0])
            backend.lossForwardBackward(loss, predictions: backend.makeBuffer(lossCase.predictions.flatMap { $0 }),
                                        targets: backend.makeBuffer(lossCase.targets.flatMap { $0 }), rows: rows, columns: columns,
                                        gradient: nil, gradientScale: 0, accumulator: accumulator, accumulatorIndex: 0)
            XCTAssertEqual(backend.download(accumulator)[0] / Float(rows), lossCase.value, accuracy: 1e-6 + 1e-5 * abs(lossCase.value),
                           "\(lossCase.name) from_logits=\(lossCase.from_logits)")
        }
    }

    /// Two epochs of mini-batch training from the same weights: the weights and History losses Keras got.
    func testTrainingStepsMatchKeras() throws {
        let training = try load().training
        let x = Tensor(rows: training.x)
        let y = Tensor(shape: [training.y.count, 1], scalars: training.y)
        let optimizers: [String: () -> Optimizer] = [
            "sgd": { SGD(learningRate: 0.1) },
            "sgd_momentum": { SGD(learningRate: 0.05, momentum: 0.9) },
            "sgd_nesterov": { SGD(learningRate: 0.05, momentum: 0.9, nesterov: true) },
            "adam": { Adam(learningRate: 0.01) },
            "rmsprop": { RMSprop(learningRate: 0.01) },
        ]
        XCTAssertEqual(Set(optimizers.keys), Set(training.runs.keys))
        for (name, make) in optimizers {
            let run = training.runs[name]!
            let model = Sequential(inputDim: 6, [Dense(5, activation: .tanh), Dense(3, activation: .softmax)], seed: 0,
                                   backend: CPUBackend(threadCount: 1))
            try model.setWeights(zip(model.weights(), training.initial_weights).map { Tensor(shape: $0.shape, scalars: $1.values) })
            try model.compile(optimizer: make(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
            let history = try model.fit(x: x, y: y, batchSize: training.batch_size, epochs: training.epochs, verbose: 0, shuffle: false)
            assertClose(history.history["loss"]!, run.loss, absolute: 1e-5, relative: 1e-5, "\(name) loss")
            assertClose(history.history["accuracy"]!, run.accuracy, absolute: 1e-6, "\(name) accuracy")
            for (index, (actual, expected)) in zip(model.weights(), run.weights).enumerated() {
                assertClose(actual.scalars, expected.values, absolute: 1e-5, relative: 1e-4, "\(name) weight \(index)")
            }
        }
    }
}
