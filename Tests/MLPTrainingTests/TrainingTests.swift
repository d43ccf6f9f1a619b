import XCTest
import MLPModelFiles
@testable import MLPTraining
import MLPCore
import MLPTestSupport

final class TrainingTests: XCTestCase {
    /// The acceptance bar: ≥ 95 % test accuracy on the embedded digits within 30 epochs on the CPU backend.
    func testDigitsReachNinetyFivePercentWithinThirtyEpochs() throws {
        let digits = Datasets.digits()
        XCTAssertEqual(digits.x.shape, [1797, 64])
        XCTAssertEqual(Set(digits.y.scalars), Set((0..<10).map(Float.init)))
        let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 0)
        XCTAssertEqual(split.train.x.rowCount, 1438)
        XCTAssertEqual(split.test.x.rowCount, 359)
        let model = Sequential(inputDim: 64, [Dense(64, activation: .relu), Dense(32, activation: .relu),
                                              Dense(10, activation: .softmax)], seed: 42)
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        let history = try model.fit(x: split.train.x, y: split.train.y, batchSize: 32, epochs: 30, verbose: 0)
        let test = try model.evaluate(x: split.test.x, y: split.test.y)
        XCTAssertEqual(test.map(\.0), ["loss", "accuracy"])
        XCTAssertGreaterThanOrEqual(test[1].1, 0.95, "test accuracy \(test[1].1)")
        let losses = history.history["loss"]!
        XCTAssertEqual(losses.count, 30)
        XCTAssertLessThan(losses.last!, losses.first! / 5)
        // predict agrees with evaluate's accuracy.
        let predictions = try model.predict(split.test.x)
        XCTAssertEqual(predictions.shape, [359, 10])
        var correct = 0
        for row in 0..<359 {
            let scores = Array(predictions.row(row))
            if Float(scores.firstIndex(of: scores.max()!)!) == split.test.y.scalars[row] { correct += 1 }
            XCTAssertEqual(scores.reduce(0, +), 1, accuracy: 1e-4)
        }
        XCTAssertEqual(Float(correct) / 359, test[1].1, accuracy: 1e-6)
    }

    func tinyProblem() -> (x: Tensor, y: Tensor) {
        var random = PhiloxRandom(seed: 5, stream: 3)
        let x = Tensor(shape: [40, 3], scalars: (0..<120).map { _ in random.nextNormal() })
        let y = Tensor(shape: [40, 1], scalars: (0..<40).map { Float(x[$0, 0] + x[$0, 1] > 0 ? 1 : 0) })
        return (x, y)
    }

    func testSameSeedGivesTheSameNumbers() throws {
        func run(seed: UInt64) throws -> [Float] {
            let model = Sequential(inputDim: 3, [Dense(8, activation: .relu), Dense(1, activation: .sigmoid)], seed: seed)
            try model.compile(optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy(fromLogits: false), metrics: [.accuracy])
            let data = tinyProblem()
            return try model.fit(x: data.x, y: data.y, batchSize: 8, epochs: 3, verbose: 0).history["loss"]!
        }
        XCTAssertEqual(try run(seed: 7), try run(seed: 7))
        XCTAssertNotEqual(try run(seed: 7), try run(seed: 8))
    }

    /// With the loss fused into the last softmax/sigmoid and no metric reading the probabilities, a training step
    /// leaves that activation out; the losses and weights are bit-identical to a run that computes it (an accuracy
    /// metric reads the probabilities, so it keeps the activation), and predict still applies it.
    func testLeavingTheFusedOutputActivationOutChangesNoNumber() throws {
        let data = tinyProblem()
        let classes = Tensor(shape: [40, 1], scalars: (0..<40).map { Float(abs(Int((data.x[$0, 0] * 7).rounded())) % 3) })
        let cases: [(name: String, layers: () -> [Layer], loss: Loss, y: Tensor)] = [
            ("Dense softmax", { [Dense(8, activation: .relu), Dense(3, activation: .softmax)] },
             .sparseCategoricalCrossentropy(fromLogits: false), classes),
            ("Activation softmax", { [Dense(8, activation: .relu), Dense(3), ActivationLayer(.softmax)] },
             .sparseCategoricalCrossentropy(fromLogits: false), classes),
            ("Dense sigmoid", { [Dense(8, activation: .relu), Dense(1, activation: .sigmoid)] },
             .binaryCrossentropy(fromLogits: false), data.y)]
        for test in cases {
            func run(metrics: [Metric]) throws -> (model: Sequential, losses: [Float]) {
                let model = Sequential(inputDim: 3, test.layers(), seed: 5)
                try model.compile(optimizer: Adam(learningRate: 0.01), loss: test.loss,
                                  metrics: metrics)
                let losses = try model.fit(x: data.x, y: test.y, batchSize: 8, epochs: 3, verbose: 0).history["loss"]!
                return (model, losses)
            }
            let skipping = try run(metrics: []), computing = try run(metrics: [.accuracy])
            XCTAssertEqual(skipping.losses.map(\.bitPattern), computing.losses.map(\.bitPattern), test.name)
            for (a, b) in zip(skipping.model.weights(), computing.model.weights()) {
                XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), test.name)
            }
            // The skipping run's activated output is the pre-activation copy (Dense) or was never written
            // (Activation layer); the other run's is the activation of it.
            func outputs(_ model: Sequential) -> (preActivation: [Float], activated: [Float]?) {
                let layer = model.layers[model.layers.count - 1]
                let activated = (layer as? Dense)?.y ?? (layer as! ActivationLayer).y
                return (model.backend.download(layer.preActivationOutput!), activated.map { model.backend.download($0) })
            }
            let skipped = outputs(skipping.model), computed = outputs(computing.model)
            if test.layers().last is Dense {
                XCTAssertEqual(skipped.activated.map { Array($0.prefix(skipped.preActivation.count)) }, skipped.preActivation, test.name)
            } else {
                XCTAssertNil(skipped.activated, test.name)
            }
            XCTAssertNotEqual(computed.activated.map { Array($0.prefix(computed.preActivation.count)) }, computed.preActivation, test.name)
            let predicted = try skipping.model.predict(data.x)
            XCTAssertTrue(predicted.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, test.name)
            XCTAssertEqual(predicted.scalars, try computing.model.predict(data.x).scalars, test.name)
        }
    }

    func testHistoryKeysAndValidationSplitTakesTheLastSamples() throws {
        let data = tinyProblem()
        let model = Sequential(inputDim: 3, [Dense(1, activation: .sigmoid)], seed: 1)
        try model.compile(optimizer: SGD(learningRate: 0.1), loss: .binaryCrossentropy(fromLogits: false), metrics: [.accuracy])
        let history = try model.fit(x: data.x, y: data.y, batchSize: 10, epochs: 2, verbose: 0, validationSplit: 0.25, shuffle: false)
        XCTAssertEqual(history.keys, ["loss", "accuracy", "val_loss", "val_accuracy"])
        XCTAssertEqual(history.epoch, [0, 1])
        // val_* after the last epoch equals evaluate on the last 10 samples.
        let held = try model.evaluate(x: data.x.rows(30..<40), y: data.y.rows(30..<40))
        XCTAssertEqual(history.history["val_loss"]!.last!, held[0].1, accuracy: 1e-6)
        XCTAssertEqual(history.history["val_accuracy"]!.last!, held[1].1, accuracy: 1e-6)
        XCTAssertTrue(history.jsonString().hasPrefix("{\"loss\": ["), history.jsonString())
    }

    /// With shuffle off and one batch per epoch, the first epoch's reported loss is the loss of the
    /// initial weights, and one SGD step moves each weight by −lr·gradient.
    func testOneSGDStepMovesWeightsByTheGradient() throws {
        let data = tinyProblem()
        let model = Sequential(inputDim: 3, [Dense(2, activation: .tanh), Dense(1)], seed: 4)
        try model.compile(optimizer: SGD(learningRate: 0.1), loss: .meanSquaredError)
        let before = model.weights()
        let initialLoss = try model.evaluate(x: data.x, y: data.y, batchSize: 40)[0].1
        let buffers = StepBuffers(batchSize: 40, xColumns: 3, yColumns: 1, outputColumns: 1, accumulatorWidth: 1, backend: model.backend)
        model.backend.upload(data.x.scalars, to: buffers.x, offset: 0)
        model.backend.upload(data.y.scalars, to: buffers.y, offset: 0)
        model.computeGradients(rows: 40, buffers: buffers, compiled: model.compilation!)
        let gradients = model.layers.flatMap(\.parameters).map { model.backend.download($0.gradient!) }
        let history = try model.fit(x: data.x, y: data.y, batchSize: 40, epochs: 1, verbose: 0, shuffle: false)
        XCTAssertEqual(history.history["loss"]![0], initialLoss, accuracy: 1e-6)
        for (index, (old, new)) in zip(before, model.weights()).enumerated() {
            assertClose(new.scalars, zip(old.scalars, gradients[index]).map { $0 - 0.1 * $1 }, absolute: 1e-6, "variable \(index)")
        }
    }

    /// Adam's bias-corrected step over three iterations, against the formula evaluated in Double.
    func testAdamOptimizerFollowsKerasFormula() throws {
        let backend = CPUBackend(threadCount: 1)
        let parameter = Parameter(name: "w", shape: [1], isTrainable: true, initialValues: [1], backend: backend)
        let adam = Adam(learningRate: 0.01)
        var w = 1.0, m = 0.0, v = 0.0
        for (step, g) in [0.5, -0.25, 1.0].enumerated() {
            backend.upload([Float(g)], to: parameter.gradient!, offset: 0)
            adam.apply(to: [parameter], on: backend)
            let t = Double(step + 1)
            let alpha = 0.01 * (1 - pow(0.999, t)).squareRoot() / (1 - pow(0.9, t))
            m += (g - m) * 0.1
            v += (g * g - v) * 0.001
            w -= alpha * m / (v.squareRoot() + 1e-7)
            XCTAssertEqual(Double(backend.download(parameter.value)[0]), w, accuracy: 1e-6, "step \(step + 1)")
        }
        XCTAssertEqual(adam.iterations, 3)
    }

    func testUserMistakesThrowClearErrors() throws {
        let model = Sequential(inputDim: 3, [Dense(3, activation: .softmax)], seed: 1)
        let x = Tensor(shape: [2, 3], repeating: 0)
        XCTAssertThrowsError(try model.fit(x: x, y: Tensor(shape: [2, 1], scalars: [0, 1]))) { error in
            XCTAssertTrue("\(error)".contains("compile"), "\(error)")
        }
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        XCTAssertThrowsError(try model.fit(x: Tensor(shape: [2, 4], repeating: 0), y: Tensor(shape: [2, 1], scalars: [0, 1]))) { error in
            XCTAssertEqual("\(error)", "training data has 4 features per sample, the model expects 3")
        }
        XCTAssertThrowsError(try model.fit(x: x, y: Tensor(shape: [2, 1], scalars: [0, 3]))) { error in
            XCTAssertEqual(error as? MLPError, .labelOutOfRange("training data: label 3.0 of sample 1 is not a class index 0..2 of the 3-unit output layer"))
        }
        XCTAssertThrowsError(try model.fit(x: x, y: Tensor(shape: [3, 1], scalars: [0, 1, 2])))
        XCTAssertThrowsError(try model.fit(x: x, y: Tensor(shape: [2, 1], scalars: [0, 1]), validationSplit: 1.5))
        XCTAssertThrowsError(try Loss(keras: "hinge")) { error in
            XCTAssertTrue("\(error)".hasPrefix("unknown loss 'hinge'; expected one of: mean_squared_error"), "\(error)")
        }
        XCTAssertThrowsError(try Activation(keras: "rleu")) { error in
            XCTAssertTrue("\(error)".hasPrefix("unknown activation 'rleu'"), "\(error)")
        }
        XCTAssertThrowsError(try OptimizerName(keras: "adamax"))
    }

    func testProgressOutputFollowsKeras2() throws {
        let data = tinyProblem()
        let model = Sequential(inputDim: 3, [Dense(1, activation: .sigmoid)], seed: 1)
        var text = ""
        model.output = { text += $0 }
        model.outputIsTerminal = false
        try model.compile(optimizer: SGD(), loss: .binaryCrossentropy(fromLogits: false), metrics: [.accuracy])
        try model.fit(x: data.x, y: data.y, batchSize: 32, epochs: 2, verbose: 1)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, text)
        XCTAssertEqual(lines[0], "Epoch 1/2")
        let pattern = #"^2/2 \[==============================\] - \d+s \d+(us|ms|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}$"#
        XCTAssertNotNil(lines[1].range(of: pattern, options: .regularExpression), lines[1])
        text = ""
        try model.fit(x: data.x, y: data.y, batchSize: 32, epochs: 1, verbose: 2)
        XCTAssertNotNil(text.range(of: #"^Epoch 1/1\n2/2 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - \d+(us|ms|s)/epoch - \d+(us|ms|s)/step\n$"#,
                                   options: .regularExpression), text)
        text = ""
        try model.fit(x: data.x, y: data.y, epochs: 1, verbose: 0)
        XCTAssertEqual(text, "")
        XCTAssertEqual(ProgressBar.formatValue(0.00012345), "1.2345e-04")
        XCTAssertEqual(ProgressBar.formatValue(0.5), "0.5000")
    }

    func testSanityCheckOnRandomData() throws {
        let model = Sequential(inputDim: 14, [Dense(25, activation: .relu), Dense(36, activation: .relu),
                                              Dense(47, activation: .relu), Dense(7, activation: .softmax)], seed: 3)
        let report = try model.sanityCheck(loss: .sparseCategoricalCrossentropy(fromLogits: false))
        XCTAssertEqual(report.predictionShape, [64, 7])
        XCTAssertTrue(report.lossWentDown, "\(report.initialLogs) → \(report.losses)")
    }
}

/// The README's examples, compiled and run (on the embedded digits, briefly).
final class ReadmeExampleTests: XCTestCase {
    func testTrainingControlsExample() throws {
        let digits = Datasets.digits()
        let (x, y) = (digits.x.rows(0..<400), digits.y.rows(0..<400))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlpkit-readme-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = Sequential(inputDim: 64, [
            Dense(64, activation: .relu, kernelInitializer: .heNormal, kernelRegularizer: .l2(0.001)),
            BatchNormalization(),
            Dropout(0.3),
            Dense(10, activation: .softmax),
        ], seed: 1)
        model.output = { _ in }
        try model.compile(optimizer: Nadam(clipnorm: 1), loss: .sparseCategoricalCrossentropy(fromLogits: false),
                          metrics: [.accuracy, .loss(.sparseCategoricalCrossentropy(fromLogits: false))])
        let history = try model.fit(x: x, y: y, epochs: 8, validationSplit: 0.2, callbacks: [
            EarlyStopping(monitor: "val_loss", patience: 5, verbose: 1, restoreBestWeights: true),
            ReduceLROnPlateau(factor: 0.5, patience: 2),
            ModelCheckpoint(filepath: directory + "/ckpt-{epoch:02d}-{val_loss:.4f}.h5", saveBestOnly: true),
            BackupAndRestore(backupDirectory: directory + "/backup"),
        ])
        XCTAssertEqual(history.keys, ["loss", "accuracy", "sparse_categorical_crossentropy", "val_loss", "val_accuracy",
                                      "val_sparse_categorical_crossentropy", "learning_rate"])
        let losses = history.history["loss"]!, data = history.history["sparse_categorical_crossentropy"]!
        XCTAssertTrue(zip(losses, data).allSatisfy { $0 > $1 }, "loss includes the L2 penalty")
        XCTAssertGreaterThan(history.history["val_accuracy"]!.last!, 0.5, "learning (10 classes: chance is 0.1)")
    }
}
