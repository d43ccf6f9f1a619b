import Foundation
import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// Regularization, Dropout, BatchNormalization and the initializers, against hand computations and Keras.
final class LayerTests: XCTestCase {
    func testRegularizedLossIsDataLossPlusPenalty() throws {
        let model = Sequential(inputDim: 2, [Dense(1, kernelRegularizer: .l2(0.1), biasRegularizer: .l1(0.2))], seed: 1)
        try model.setWeights([Tensor(shape: [2, 1], scalars: [0.5, -1.5]), Tensor(shape: [1], scalars: [-2])])
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let x = Tensor(rows: [[1, 2], [0, -1], [3, 1]]), y = Tensor(rows: [[0], [1], [-1]])
        // predictions: 0.5 − 3 − 2 = −4.5, 1.5 − 2 = −0.5, 1.5 − 1.5 − 2 = −2
        let data: Float = (4.5 * 4.5 + 1.5 * 1.5 + 1 * 1) / 3
        let penalty: Float = 0.1 * (0.25 + 2.25) + 0.2 * 2
        let logs = try model.evaluate(x: x, y: y)
        XCTAssertEqual(logs[0].1, data + penalty, accuracy: 1e-5)
        // One SGD step on the full batch: the penalty's gradient moves the weights too.
        let history = try model.fit(x: x, y: y, batchSize: 3, epochs: 1, verbose: 0, shuffle: false)
        XCTAssertEqual(history.history["loss"]![0], data + penalty, accuracy: 1e-5)
        // d/dw: 2/3·Σ(p−y)·x + 2·0.1·w ; d/db: 2/3·Σ(p−y) + 0.2·sign(b)
        let residuals: [Float] = [-4.5, -1.5, -1]
        let gradW0 = 2 / 3 * (residuals[0] * 1 + residuals[1] * 0 + residuals[2] * 3) + 0.2 * 0.5
        let gradW1 = 2 / 3 * (residuals[0] * 2 + residuals[1] * -1 + residuals[2] * 1) + 0.2 * -1.5
        let gradB = 2 / 3 * residuals.reduce(0, +) + 0.2 * -1
        let after = model.weights()
        assertClose(after[0].scalars, [0.5 - 0.01 * gradW0, -1.5 - 0.01 * gradW1], absolute: 1e-6)
        assertClose(after[1].scalars, [-2 - 0.01 * gradB], absolute: 1e-6)
    }

    func testDropoutScalesKeptUnitsAndIsIdentityInInference() throws {
        let model = Sequential(inputDim: 1000, [Dropout(0.3)], seed: 4)
        let layer = model.layers[0]
        let backend = model.backend
        let input = backend.makeBuffer([Float](repeating: 2, count: 1000))
        let inference = backend.download(layer.forward(input, rows: 1, context: .inference))
        XCTAssertEqual(inference, [Float](repeating: 2, count: 1000))
        let step0 = StepContext(training: true, seed: 4, step: 0)
        let trained = backend.download(layer.forward(input, rows: 1, context: step0))
        XCTAssertTrue(trained.allSatisfy { $0 == 0 || abs($0 - 2 / 0.7) < 1e-6 }, "kept units scaled by 1/(1−rate)")
        let dropped = Float(trained.filter { $0 == 0 }.count) / 1000
        XCTAssertEqual(dropped, 0.3, accuracy: 0.04)
        // The backward pass uses the same mask; another step uses another.
        let gradient = backend.download(layer.backward(backend.makeBuffer([Float](repeating: 1, count: 1000)), rows: 1, context: step0,
                                                       gradientIsPreActivation: false, needsInputGradient: true)!)
        XCTAssertEqual(gradient.map { $0 == 0 }, trained.map { $0 == 0 })
        let step1 = StepContext(training: true, seed: 4, step: 1)
        XCTAssertNotEqual(backend.download(layer.forward(input, rows: 1, context: step1)).map { $0 == 0 }, trained.map { $0 == 0 })
    }

    struct BatchNormFixture: Decodable {
        let x: [[Float]]
        let gamma, beta, moving_mean, moving_variance: [Float]
        let training_output: [[Float]]
        let moving_mean_after, moving_variance_after: [Float]
        let inference_output_after: [[Float]]
    }

    /// One training call and one inference call of Keras 3's BatchNormalization (keras-batchnorm.json).
    func testBatchNormalizationMatchesKeras() throws {
        let fixture = try JSONDecoder().decode(BatchNormFixture.self, from: Data(contentsOf:
            KerasReferenceTests.fixtures.appendingPathComponent("keras-batchnorm.json")))
        let model = Sequential(inputDim: 3, [BatchNormalization()], seed: 0)
        XCTAssertEqual(model.layers[0].parameters.map(\.name), ["gamma", "beta", "moving_mean", "moving_variance"])
        XCTAssertEqual(model.trainableParameterCount, 6)
        XCTAssertEqual(model.nonTrainableParameterCount, 6)
        try model.setWeights([fixture.gamma, fixture.beta, fixture.moving_mean, fixture.moving_variance].map { Tensor(shape: [3], scalars: $0) })
        let layer = model.layers[0]
        let input = model.backend.makeBuffer(fixture.x.flatMap { $0 })
        let training = model.backend.download(layer.forward(input, rows: fixture.x.count, context: StepContext(training: true)))
        assertClose(training, fixture.training_output.flatMap { $0 }, absolute: 1e-5, relative: 1e-5, "training output")
        let weights = model.weights()
        assertClose(weights[2].scalars, fixture.moving_mean_after, absolute: 1e-6, "moving mean")
        assertClose(weights[3].scalars, fixture.moving_variance_after, absolute: 1e-6, "moving variance")
        let inference = model.backend.download(layer.forward(input, rows: fixture.x.count, context: .inference))
        assertClose(inference, fixture.inference_output_after.flatMap { $0 }, absolute: 1e-5, relative: 1e-5, "inference output")
    }

    func testBatchNormalizationSummaryCountsNonTrainable() throws {
        let model = Sequential(inputDim: 10, [Dense(64, activation: .relu), BatchNormalization(), Dropout(0.2), Dense(1)], seed: 0)
        let text = model.summary()
        XCTAssertTrue(text.contains(" batch_normalization (Batch  (None, 64)                256       \n Normalization)                                                  \n"), text)
        XCTAssertTrue(text.contains(" dropout (Dropout)           (None, 64)                0         \n"), text)
        XCTAssertTrue(text.contains("Total params: 1025 (4.00 KB)\nTrainable params: 897 (3.50 KB)\nNon-trainable params: 128 (512.00 Byte)\n"), text)
    }

    /// Sample statistics of every initializer against its formula (fan in 200, fan out 100, 20 000 draws).
    func testInitializersMatchTheirFormulas() {
        let fanIn = 200, fanOut = 100, count = 20_000
        func stats(_ initializer: Initializer) -> (mean: Double, std: Double, low: Float, high: Float) {
            var random = PhiloxRandom(seed: 12)
            let values = initializer.values(count: count, fanIn: fanIn, fanOut: fanOut, random: &random)
            let mean = values.reduce(0.0) { $0 + Double($1) } / Double(count)
            let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(count)
            return (mean, variance.squareRoot(), values.min()!, values.max()!)
        }
        let uniform: [(Initializer, Double)] = [(.glorotUniform, (6.0 / 300).squareRoot()), (.heUniform, (6.0 / 200).squareRoot()),
                                                (.lecunUniform, (3.0 / 200).squareRoot())]
        for (initializer, limit) in uniform {
            let s = stats(initializer)
            XCTAssertLessThanOrEqual(Double(s.high), limit)
            XCTAssertGreaterThanOrEqual(Double(s.low), -limit)
            XCTAssertEqual(s.std, limit / 3.0.squareRoot(), accuracy: limit * 0.02, "\(initializer)")
            XCTAssertEqual(s.mean, 0, accuracy: limit * 0.02)
        }
        // Truncated normals: σ as intended (the 0.8796 correction), nothing beyond 2 corrected σ.
        let normal: [(Initializer, Double)] = [(.glorotNormal, (2.0 / 300).squareRoot()), (.heNormal, (2.0 / 200).squareRoot()),
                                               (.lecunNormal, (1.0 / 200).squareRoot())]
        for (initializer, sigma) in normal {
            let s = stats(initializer)
            XCTAssertEqual(s.std, sigma, accuracy: sigma * 0.03, "\(initializer)")
            XCTAssertLessThanOrEqual(Double(max(abs(s.low), abs(s.high))), 2 * sigma / 0.87962566103423978 + 1e-6)
        }
        let plain = stats(.randomNormal(mean: 1, stddev: 0.05))
        XCTAssertEqual(plain.mean, 1, accuracy: 0.002)
        XCTAssertEqual(plain.std, 0.05, accuracy: 0.002)
        let truncated = stats(.truncatedNormal(mean: 0, stddev: 0.05))
        XCTAssertLessThanOrEqual(Double(max(abs(truncated.low), abs(truncated.high))), 0.1 + 1e-6)
        let bounded = stats(.randomUniform(minval: -0.05, maxval: 0.05))
        XCTAssertGreaterThanOrEqual(bounded.low, -0.05)
        XCTAssertLessThan(bounded.high, 0.05)
        XCTAssertEqual(stats(.zeros).high, 0)
        XCTAssertEqual(stats(.ones).low, 1)
        XCTAssertEqual(try Initializer(keras: "he_normal"), .heNormal)
        XCTAssertEqual(try Initializer(keras: "GlorotUniform"), .glorotUniform)
    }
}
