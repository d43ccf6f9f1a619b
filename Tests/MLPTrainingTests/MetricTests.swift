import Foundation
import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// Precision, recall, AUC, top-k and weighted training against Keras 3.15 (keras-metrics.json).
final class MetricTests: XCTestCase {
    struct Fixture: Decodable {
        struct Weighted: Decodable {
            struct Run: Decodable { let weights: [[Float]]; let loss: [Float] }
            let x: [[Float]]
            let y: [Float]
            let sample_weight: [Float]
            let class_weight: [Float]
            let initial_weights: [[Float]]
            let runs: [String: Run]
        }
        let binary_predictions: [Float]
        let binary_targets: [Float]
        let values: [String: Float]
        let topk_predictions: [[Float]]
        let topk_labels: [Int]
        let weighted: Weighted
    }

    func load() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: KerasReferenceTests.fixtures.appendingPathComponent("keras-metrics.json")))
    }

    /// The metrics through `evaluate` on a model that outputs its input (a Dense with identity weights),
    /// in two batches, so the epoch counts accumulate as Keras' do.
    func testPrecisionRecallAUCMatchKeras() throws {
        let fixture = try load()
        let model = Sequential(inputDim: 1, [Dense(1)], seed: 0)
        try model.setWeights([Tensor(shape: [1, 1], scalars: [1]), Tensor(shape: [1], scalars: [0])])
        try model.compile(optimizer: SGD(), loss: .binaryCrossentropy(fromLogits: false), metrics: [.precision, .recall, .auc])
        let x = Tensor(shape: [40, 1], scalars: fixture.binary_predictions), y = Tensor(shape: [40, 1], scalars: fixture.binary_targets)
        let logs = try model.evaluate(x: x, y: y, batchSize: 25)
        XCTAssertEqual(logs.map(\.0), ["loss", "precision", "recall", "auc"])
        XCTAssertEqual(logValue("precision", in: logs)!, fixture.values["precision"]!, accuracy: 1e-6)
        XCTAssertEqual(logValue("recall", in: logs)!, fixture.values["recall"]!, accuracy: 1e-6)
        XCTAssertEqual(logValue("auc", in: logs)!, fixture.values["auc"]!, accuracy: 1e-5)
    }

    func testTopKMatchesKeras() throws {
        let fixture = try load()
        let x = Tensor(rows: fixture.topk_predictions)
        let identity = Tensor(shape: [6, 6], scalars: (0..<36).map { $0 % 7 == 0 ? 1 : 0 })
        for (metric, loss, targets, key) in [
            (Metric.sparseTopKCategoricalAccuracy(k: 2), Loss.sparseCategoricalCrossentropy(fromLogits: false),
             Tensor(shape: [30, 1], scalars: fixture.topk_labels.map(Float.init)), "sparse_top_2"),
            (Metric.topKCategoricalAccuracy(k: 3), Loss.categoricalCrossentropy(fromLogits: false),
             Tensor(shape: [30, 6], scalars: fixture.topk_labels.flatMap { label in (0..<6).map { $0 == label ? Float(1) : 0 } }), "top_3"),
        ] {
            let model = Sequential(inputDim: 6, [Dense(6)], seed: 0)
            try model.setWeights([identity, Tensor(shape: [6], repeating: 0)])
            try model.compile(optimizer: SGD(), loss: loss, metrics: [metric])
            XCTAssertEqual(try model.evaluate(x: x, y: targets)[1].1, fixture.values[key]!, accuracy: 1e-6, key)
        }
        let sparse = Sequential(inputDim: 6, [Dense(6, activation: .softmax)], seed: 0)
        XCTAssertThrowsError(try sparse.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.auc]))
    }

    /// Two epochs of SGD with sample weights, and with class weights, give Keras' weights and losses.
    func testWeightedTrainingMatchesKeras() throws {
        let fixture = try load().weighted
        let x = Tensor(rows: fixture.x), y = Tensor(shape: [fixture.y.count, 1], scalars: fixture.y)
        for (label, run) in fixture.runs {
            let model = Sequential(inputDim: 4, [Dense(3, activation: .softmax)], seed: 0)
            try model.setWeights([Tensor(shape: [4, 3], scalars: fixture.initial_weights[0]), Tensor(shape: [3], scalars: fixture.initial_weights[1])])
            try model.compile(optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy(fromLogits: false))
            let classWeight = label == "class_weight" ? Dictionary(uniqueKeysWithValues: fixture.class_weight.enumerated().map { ($0.offset, $0.element) }) : nil
            let history = try model.fit(x: x, y: y, batchSize: 8, epochs: 2, verbose: 0, shuffle: false, classWeight: classWeight,
                                        sampleWeight: label == "sample_weight" ? fixture.sample_weight : nil)
            assertClose(history.history["loss"]!, run.loss, absolute: 1e-5, relative: 1e-5, "\(label) loss")
            for (actual, expected) in zip(model.weights(), run.weights) {
                assertClose(actual.scalars, expected, absolute: 1e-5, relative: 1e-5, "\(label) weights")
            }
        }
        let model = Sequential(inputDim: 4, [Dense(3, activation: .softmax)], seed: 0)
        try model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        XCTAssertThrowsError(try model.fit(x: x, y: y, verbose: 0, classWeight: [0: 1], sampleWeight: fixture.sample_weight))
    }

    /// `loss` includes the penalties; a loss-named metric reports the data loss alone.
    func testUnregularizedLossMetric() throws {
        let model = Sequential(inputDim: 2, [Dense(1, kernelRegularizer: .l2(0.5))], seed: 3)
        try model.compile(optimizer: SGD(), loss: .meanSquaredError, metrics: [try Metric(keras: "mse")])
        let x = Tensor(rows: [[1, 2], [3, 4]]), y = Tensor(rows: [[1], [0]])
        let logs = try model.evaluate(x: x, y: y)
        XCTAssertEqual(logs.map(\.0), ["loss", "mean_squared_error"])
        let kernel = model.weights()[0].scalars
        XCTAssertEqual(logs[0].1 - logs[1].1, 0.5 * kernel.map { $0 * $0 }.reduce(0, +), accuracy: 1e-5)
    }
}
