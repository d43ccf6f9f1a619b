import Foundation
import XCTest
import MLPModelFiles
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// Model files written by real Keras (Fixtures/models/, Scripts/make-keras-fixtures.py) load and predict as
/// Keras did; files we write round-trip exactly.
final class KerasFileTests: ScratchDirectoryTestCase {
    static let models = KerasReferenceTests.fixtures.appendingPathComponent("models")

    struct Predictions: Decodable {
        let inputs: [[Float]]
        let predictions: [String: [[Float]]]
    }

    func expected() throws -> Predictions {
        try JSONDecoder().decode(Predictions.self, from: Data(contentsOf: Self.models.appendingPathComponent("predictions.json")))
    }

    /// Keras 2 `.h5`, Keras 3 `.h5` and Keras 3 `.keras` files (BatchNorm, Dropout, L1/L2/L1L2 regularizers,
    /// he_normal, an Activation layer, no-bias Dense) predict within 1e-5 of Keras.
    func testKerasWrittenFilesPredictAsKerasDid() throws {
        let reference = try expected()
        let x = Tensor(rows: reference.inputs)
        let files = ["keras2-classifier.h5", "keras2-regressor.h5", "keras3-classifier.h5", "keras3-regressor.h5",
                     "keras3-classifier.keras", "keras3-regressor.keras"]
        for file in files {
            let model = try Sequential.load(from: Self.models.appendingPathComponent(file).path, backend: CPUBackend(threadCount: 1))
            let key = String(file.split(separator: ".")[0])
            assertClose(try model.predict(x).scalars, reference.predictions[key]!.flatMap { $0 }, absolute: 1e-5, relative: 0, file)
            XCTAssertNotNil(model.optimizer, "\(file): compiled from its training config")
            if file.hasSuffix(".h5") {
                XCTAssertEqual(model.optimizer?.kerasClassName, "Adam")
                XCTAssertEqual(model.optimizer?.iterations, 12, "\(file): optimizer state restored (3 epochs × 4 steps)")
            } else {
                // Keras 3.15 left the optimizer out of these files' compile_config; Keras itself then loads
                // them with its default optimizer (RMSprop, step 0), and so does MLPKit.
                XCTAssertEqual(model.optimizer?.kerasClassName, "RMSprop")
            }
        }
        let classifier = try Sequential.load(from: Self.models.appendingPathComponent("keras2-classifier.h5").path)
        XCTAssertEqual(classifier.layers.map(\.kerasClassName), ["Dense", "BatchNormalization", "Dropout", "Dense", "Dense"])
        let dense = classifier.layers[0] as! Dense
        XCTAssertEqual(dense.kernelInitializer, .heNormal)
        XCTAssertEqual(dense.kernelRegularizer!.l2, 0.01, accuracy: 1e-7)
        XCTAssertEqual(dense.biasRegularizer!.l1, 0.001, accuracy: 1e-7)
        XCTAssertEqual(classifier.metrics, [.accuracy])
    }

    /// Keras 3 `.weights.h5` into a model built from the same architecture.
    func testKerasWeightsFileLoadsIntoABuiltModel() throws {
        let reference = try expected()
        let model = try Sequential.load(from: Self.models.appendingPathComponent("keras3-classifier.keras").path)
        let fresh = Sequential(inputDim: 6, [Dense(8, activation: .relu), BatchNormalization(), Dropout(0.25), Dense(5, activation: .tanh),
                                             Dense(3, activation: .softmax)], seed: 1)
        XCTAssertNotEqual(fresh.weights(), model.weights())
        try fresh.loadWeights(from: Self.models.appendingPathComponent("keras3-classifier.weights.h5").path)
        assertClose(try fresh.predict(Tensor(rows: reference.inputs)).scalars, reference.predictions["keras3-classifier"]!.flatMap { $0 },
                    absolute: 1e-5, relative: 0)
    }

    func testSaveLoadSaveIsIdentical() throws {
        var random = PhiloxRandom(seed: 4)
        let x = Tensor(shape: [32, 5], scalars: (0..<160).map { _ in random.nextNormal() })
        let y = Tensor(shape: [32, 1], scalars: (0..<32).map { Float($0 % 3) })
        let model = Sequential(inputDim: 5, [Dense(6, activation: .relu, kernelRegularizer: .l1l2(l1: 0.01, l2: 0.02)), BatchNormalization(),
                                             Dropout(0.1), Dense(4, activation: .selu, kernelInitializer: .lecunNormal), ActivationLayer(.tanh),
                                             Dense(3, activation: .softmax, useBias: false)], seed: 2)
        try model.compile(optimizer: Adam(learningRate: 0.01, amsgrad: true), loss: .sparseCategoricalCrossentropy(fromLogits: false),
                          metrics: [.accuracy])
        model.output = { _ in }
        try model.fit(x: x, y: y, batchSize: 8, epochs: 2, verbose: 0)
        for format in ["h5", "keras"] {
            let first = directory.appendingPathComponent("first.\(format)").path, second = directory.appendingPathComponent("second.\(format)").path
            try model.save(to: first)
            let loaded = try Sequential.load(from: first)
            XCTAssertEqual(loaded.weights(), model.weights(), "\(format): weights bit-identical")
            XCTAssertEqual(loaded.summary(), model.summary())
            XCTAssertEqual(loaded.optimizer?.iterations, model.optimizer?.iterations)
            XCTAssertEqual((loaded.optimizer as? Adam)?.amsgrad, true)
            try loaded.save(to: second)
            XCTAssertEqual(try KerasConfig.json(KerasConfig.modelConfig(loaded, flavour: .keras2)),
                           try KerasConfig.json(KerasConfig.modelConfig(model, flavour: .keras2)), "\(format): config equal")
            let again = try Sequential.load(from: second)
            XCTAssertEqual(again.weights(), model.weights())
            // Training resumes from the restored optimizer state exactly as the original continues (the seed,
            // which fixes dropout masks, is not part of a Keras file).
            loaded.output = { _ in }
            loaded.seed = model.seed
            try model.fit(x: x, y: y, batchSize: 8, epochs: 1, verbose: 0, shuffle: false)
            try loaded.fit(x: x, y: y, batchSize: 8, epochs: 1, verbose: 0, shuffle: false)
            XCTAssertEqual(loaded.weights(), model.weights(), "\(format): continued training matches (optimizer state restored)")
        }
        let weightsOnly = directory.appendingPathComponent("w.weights.h5").path
        try model.saveWeights(to: weightsOnly)
        let other = Sequential(inputDim: 5, [Dense(6, activation: .relu), BatchNormalization(), Dropout(0.1), Dense(4, activation: .selu),
                                             ActivationLayer(.tanh), Dense(3, activation: .softmax, useBias: false)], seed: 99)
        try other.loadWeights(from: weightsOnly)
        XCTAssertEqual(other.weights(), model.weights())
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary files left")
    }

    func testModelFromKerasConfigJSON() throws {
        let json = """
        {"class_name": "Sequential", "config": {"name": "seed", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 14]}},
          {"class_name": "Dense", "config": {"name": "dense", "units": 25, "activation": "relu"}},
          {"class_name": "Dense", "config": {"name": "dense_1", "units": 7, "activation": "softmax"}}]}}
        """
        let model = try Sequential(fromKerasConfig: json, seed: 1)
        XCTAssertEqual(model.parameterCount, 375 + 182)
        XCTAssertEqual(model.name, "seed")
        XCTAssertThrowsError(try Sequential(fromKerasConfig: json.replacingOccurrences(of: "\"Dense\", \"config\": {\"name\": \"dense_1\"",
                                                                                     with: "\"Conv2D\", \"config\": {\"name\": \"conv\""))) {
            XCTAssertTrue("\($0)".contains("unsupported layer class 'Conv2D' (layer 'conv')"), "\($0)")
        }
        XCTAssertThrowsError(try Sequential(fromKerasConfig: "{\"class_name\": \"Functional\", \"config\": {}}")) {
            XCTAssertTrue("\($0)".contains("unsupported model class 'Functional'"), "\($0)")
        }
    }

    func testBadFilesGiveClearErrors() throws {
        let text = directory.appendingPathComponent("text.h5").path
        try "not hdf5".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Sequential.load(from: text)) { XCTAssertTrue("\($0)".contains("not an HDF5 file"), "\($0)") }
        let notZip = directory.appendingPathComponent("bad.keras").path
        try "not a zip".write(toFile: notZip, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Sequential.load(from: notZip)) { XCTAssertTrue("\($0)".contains("not a .keras archive"), "\($0)") }
        XCTAssertThrowsError(try Sequential.load(from: directory.appendingPathComponent("none.h5").path)) {
            XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
        }
        XCTAssertThrowsError(try Sequential.load(from: directory.appendingPathComponent("model.pt").path)) {
            XCTAssertTrue("\($0)".contains("model files end in .h5, .keras, .weights.h5 or .json"), "\($0)")
        }
        // Truncated copies of a valid file: every one is an error.
        let valid = try Data(contentsOf: Self.models.appendingPathComponent("keras2-classifier.h5"))
        for length in stride(from: 0, to: valid.count, by: valid.count / 40) {
            let path = directory.appendingPathComponent("cut-\(length).h5").path
            try valid.prefix(length).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try Sequential.load(from: path), "truncated at \(length) of \(valid.count)")
        }
    }
}
