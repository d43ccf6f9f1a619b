import Foundation
import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// A training config's loss in every form Keras writes it (Fixtures/models/loss-*, written by
/// `Scripts/make-keras-fixtures.py --loss-forms`): as a function, a class and a string, from Keras 3 (.keras,
/// .h5) and tf-keras (.h5).
final class KerasLossFormTests: XCTestCase {
    static let models = KerasFileTests.models

    /// Each file loads compiled with sparse categorical cross-entropy and predicts within 1e-5 of Keras.
    func testKerasFilesCompiledWithALossFunctionClassOrStringLoadAndPredict() throws {
        let reference = try JSONDecoder().decode(KerasFileTests.Predictions.self,
                                                 from: Data(contentsOf: Self.models.appendingPathComponent("loss-forms.json")))
        XCTAssertEqual(reference.predictions.count, 6)
        let x = Tensor(rows: reference.inputs)
        for (name, expected) in reference.predictions.sorted(by: { $0.key < $1.key }) {
            let files = name.hasSuffix("keras3") ? [name + ".keras", name + ".h5"] : [name + ".h5"]
            for file in files {
                let model = try Sequential.load(from: Self.models.appendingPathComponent(file).path, backend: CPUBackend(threadCount: 1))
                XCTAssertEqual(model.loss, .sparseCategoricalCrossentropy(fromLogits: false), file)
                XCTAssertEqual(model.metrics, [.accuracy], file)
                assertClose(try model.predict(x).scalars, expected.flatMap { $0 }, absolute: 1e-5, relative: 0, file)
            }
        }
    }

    /// The forms parsed directly, with `from_logits`, tf-keras' `fn` and Keras 2's per-output dict; a loss MLPKit
    /// does not know, or an `ignore_class`, is an error naming the file.
    func testLossConfigForms() throws {
        func loss(_ value: Any) throws -> Loss { try KerasConfig.loss(from: value, source: "m.keras") }
        XCTAssertEqual(try loss("mse"), .meanSquaredError)
        XCTAssertEqual(try loss(["module": "builtins", "class_name": "function", "config": "mean_absolute_error",
                                 "registered_name": "function"]), .meanAbsoluteError)
        XCTAssertEqual(try loss(["class_name": "CategoricalCrossentropy", "config": ["from_logits": true]]),
                       .categoricalCrossentropy(fromLogits: true))
        XCTAssertEqual(try loss(["class_name": "BinaryCrossentropy",
                                 "config": ["from_logits": false, "fn": "binary_crossentropy", "reduction": "auto"]]),
                       .binaryCrossentropy(fromLogits: false))
        XCTAssertEqual(try loss(["dense_2": "mse"]), .meanSquaredError)
        XCTAssertEqual(try loss(["sparse_categorical_crossentropy"]), .sparseCategoricalCrossentropy(fromLogits: false))
        XCTAssertThrowsError(try loss(["class_name": "function", "config": "huber"])) { error in
            XCTAssertTrue("\(error)".contains("unknown loss 'huber'"), "\(error)")
        }
        XCTAssertThrowsError(try loss(["class_name": "SparseCategoricalCrossentropy", "config": ["ignore_class": 0]])) { error in
            XCTAssertTrue("\(error)".contains("ignore_class"), "\(error)")
        }
        XCTAssertThrowsError(try loss(42)) { error in
            XCTAssertTrue("\(error)".contains("m.keras"), "\(error)")
        }
    }

    /// `compile: false` (Keras' `load_model(compile=False)`) reads architecture and weights only: a file whose
    /// loss MLPKit does not know still loads and predicts, uncompiled; the default load names the loss.
    func testAnUnknownLossDoesNotStopAnUncompiledLoad() throws {
        let model = Sequential(inputDim: 2, [Dense(3, activation: .softmax)], seed: 1)
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loss-forms-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.json").path
        try model.save(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "\"sparse_categorical_crossentropy\"", with: "\"huber\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Sequential.load(from: path)) { error in
            XCTAssertTrue("\(error)".contains("unknown loss 'huber'"), "\(error)")
        }
        let uncompiled = try Sequential.load(from: path, compile: false)
        XCTAssertNil(uncompiled.loss)
        let x = Tensor(shape: [1, 2], scalars: [0.5, -1])
        XCTAssertEqual(try uncompiled.predict(x).scalars, try model.predict(x).scalars)
    }
}
