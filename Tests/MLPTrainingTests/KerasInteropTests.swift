import Foundation
import XCTest
import MLPModelFiles
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// Files MLPKit writes, loaded by real Keras 3 and Keras 2 (tf-keras), predict within 1e-5 of MLPKit.
///
/// Needs Python with tensorflow-cpu and tf-keras: set `MLPKIT_KERAS_PYTHON` to that interpreter (`.ci/run` makes
/// a virtual environment and sets it). Without it the test is skipped — except under `CI=true`, where it fails.
final class KerasInteropTests: ScratchDirectoryTestCase {
    func testKerasLoadsOurFiles() throws {
        let python = try interopPython(with: "tensorflow-cpu and tf-keras", for: "Keras interop test")

        var random = PhiloxRandom(seed: 8)
        let x = Tensor(shape: [64, 6], scalars: (0..<384).map { _ in random.nextNormal() })
        let y = Tensor(shape: [64, 1], scalars: (0..<64).map { Float($0 % 3) })
        let classifier = Sequential(inputDim: 6, [
            Dense(8, activation: .relu, kernelInitializer: .heNormal, kernelRegularizer: .l2(0.01), biasRegularizer: .l1(0.001)),
            BatchNormalization(), Dropout(0.25), Dense(5, activation: .gelu), ActivationLayer(.tanh),
            Dense(3, activation: .softmax, useBias: false),
        ], seed: 3)
        try classifier.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        classifier.output = { _ in }
        try classifier.fit(x: x, y: y, batchSize: 16, epochs: 3, verbose: 0)
        let regressor = Sequential(inputDim: 6, [Dense(7, activation: .selu, kernelRegularizer: .l1l2(l1: 0.01, l2: 0.02)),
                                                 Dense(2, activation: .linear)], seed: 4)
        try regressor.compile(optimizer: SGD(learningRate: 0.05, momentum: 0.9, nesterov: true), loss: .meanSquaredError)
        regressor.output = { _ in }
        try regressor.fit(x: x, y: Tensor(shape: [64, 2], scalars: x.scalars.prefix(128).map { $0 }), batchSize: 16, epochs: 2, verbose: 0)

        var files: [String: Tensor] = [:]
        for (name, model) in [("classifier", classifier), ("regressor", regressor)] {
            let predictions = try model.predict(x.rows(0..<10))
            for format in ["h5", "keras"] {
                let path = directory.appendingPathComponent("\(name).\(format)").path
                try model.save(to: path)
                files[path] = predictions
            }
        }
        let inputs = directory.appendingPathComponent("inputs.json")
        try JSONSerialization.data(withJSONObject: ["inputs": (0..<10).map { Array(x.row($0)).map(Double.init) }]).write(to: inputs)
        let run = try runProcess(python, [repositoryFile("Scripts/keras-interop-check.py").path, inputs.path] + files.keys.sorted())
        XCTAssertEqual(run.status, 0, run.stderr)
        let results = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout + run.stderr)
        XCTAssertEqual(results.count, 6, "Keras 3 and Keras 2 for each .h5, Keras 3 for each .keras: \(results.keys.sorted())")
        for (key, value) in results {
            let file = String(key.split(separator: " ")[1])
            guard let rows = value as? [[Double]] else {
                XCTFail("\(key): \(value)")
                continue
            }
            let ours = files.first { $0.key.hasSuffix("/" + file) }!.value
            assertClose(rows.flatMap { $0 }.map(Float.init), ours.scalars, absolute: 1e-5, relative: 0, key)
        }
    }
}
