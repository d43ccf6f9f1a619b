import XCTest
import MLPKit
import MLPTestSupport
@testable import MLPTensorBoard
@testable import MLPTraining

/// ``GradientMonitor``'s statistics against a hand computation on a tiny model (2 → 3 ReLU → 2 softmax, fixed
/// weights, one SGD step on 4 samples).
final class GradientMonitorTests: XCTestCase {
    let x: [[Float]] = [[1, -1], [0.5, 2], [-1, -0.5], [2, 0]]
    let labels: [Float] = [0, 1, 1, 0]
    // Kernel rows are inputs, columns units (Keras layout); the third hidden unit is dead on this batch.
    let w1: [[Float]] = [[0.5, -0.3, -1], [0.2, 0.4, -1]], b1: [Float] = [0.1, 0, -5]
    let w2: [[Float]] = [[0.3, -0.2], [-0.5, 0.6], [0.7, 0.1]], b2: [Float] = [0, 0.05]
    let learningRate: Float = 0.1

    func model(backend: any Backend) throws -> Sequential {
        let model = Sequential(inputDim: 2, [Dense(3, activation: .relu, name: "hidden"), Dense(2, activation: .softmax, name: "out")],
                               seed: 1, backend: backend)
        try model.setWeights([Tensor(rows: w1), Tensor(shape: [3], scalars: b1), Tensor(rows: w2), Tensor(shape: [2], scalars: b2)])
        try model.compile(optimizer: SGD(learningRate: learningRate), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        model.output = { _ in }
        return model
    }

    func train(_ model: Sequential) throws -> (GradientMonitor, History) {
        let monitor = GradientMonitor(every: 1)
        let history = try model.fit(x: Tensor(rows: x), y: Tensor(shape: [4, 1], scalars: labels), batchSize: 4, epochs: 1, verbose: 0,
                                    shuffle: false, callbacks: [monitor])
        return (monitor, history)
    }

    /// The hand computation: forward, mean cross-entropy gradient, backward, one SGD step, then each statistic
    /// from its definition.
    func expected() -> [LayerStatistics] {
        func matmul(_ a: [[Float]], _ b: [[Float]]) -> [[Float]] {
            a.map { row in (0..<b[0].count).map { j in zip(row, b).map { $0 * $1[j] }.reduce(0, +) } }
        }
        func transpose(_ a: [[Float]]) -> [[Float]] { (0..<a[0].count).map { j in a.map { $0[j] } } }
        func norm(_ a: [[Float]]) -> Float { a.flatMap { $0 }.map { $0 * $0 }.reduce(0, +).squareRoot() }
        let z1 = matmul(x, w1).map { zip($0, b1).map(+) }
        let y1 = z1.map { $0.map { max($0, 0) } }
        let z2 = matmul(y1, w2).map { zip($0, b2).map(+) }
        let y2 = z2.map { row -> [Float] in let e = row.map { exp($0 - row.max()!) }; let s = e.reduce(0, +); return e.map { $0 / s } }
        let n = Float(x.count)
        let dz2 = y2.enumerated().map { i, row in row.enumerated().map { j, p in (p - (Float(j) == labels[i] ? 1 : 0)) / n } }
        let dw2 = matmul(transpose(y1), dz2), db2 = (0..<2).map { j in dz2.map { $0[j] }.reduce(0, +) }
        let dy1 = matmul(dz2, transpose(w2))
        let dz1 = zip(dy1, z1).map { zip($0, $1).map { $1 > 0 ? $0 : 0 } }
        let dw1 = matmul(transpose(x), dz1), db1 = (0..<3).map { j in dz1.map { $0[j] }.reduce(0, +) }
        let newW1 = zip(w1, dw1).map { zip($0, $1).map { $0 - learningRate * $1 } }
        let newW2 = zip(w2, dw2).map { zip($0, $1).map { $0 - learningRate * $1 } }
        func stats(_ name: String, _ dw: [[Float]], _ db: [Float], _ newW: [[Float]], _ y: [[Float]], dead: Float?) -> LayerStatistics {
            let values = y.flatMap { $0 }, count = Float(values.count)
            let mean = values.reduce(0, +) / count
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / count).squareRoot()
            var statistics = LayerStatistics(layer: name, gradientNorm: norm(dw), weightNorm: norm(newW),
                                             updateRatio: learningRate * norm(dw) / norm(newW), deadFraction: dead, saturatedFraction: nil,
                                             activationMean: mean, activationStd: std)
            statistics.biasGradientNorm = norm([db])
            return statistics
        }
        let deadUnits = (0..<3).filter { j in y1.allSatisfy { $0[j] == 0 } }.count
        XCTAssertEqual(deadUnits, 1, "the fixture has one dead unit")
        return [stats("hidden", dw1, db1, newW1, y1, dead: Float(deadUnits) / 3), stats("out", dw2, db2, newW2, y2, dead: nil)]
    }

    func assertMatches(_ actual: [LayerStatistics], _ expected: [LayerStatistics], tolerance: Float, _ label: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.map(\.layer), expected.map(\.layer), file: file, line: line)
        for (a, e) in zip(actual, expected) {
            for (name, got, want) in [("gradientNorm", a.gradientNorm, e.gradientNorm), ("weightNorm", a.weightNorm, e.weightNorm),
                                      ("updateRatio", a.updateRatio, e.updateRatio), ("activationMean", a.activationMean, e.activationMean),
                                      ("activationStd", a.activationStd, e.activationStd),
                                      ("biasGradientNorm", a.biasGradientNorm ?? -1, e.biasGradientNorm ?? -2)] {
                XCTAssertEqual(got, want, accuracy: tolerance * max(1, abs(want)), "\(label) \(a.layer).\(name)", file: file, line: line)
            }
            XCTAssertEqual(a.deadFraction, e.deadFraction, "\(label) \(a.layer).deadFraction", file: file, line: line)
            XCTAssertEqual(a.saturatedFraction, e.saturatedFraction, "\(label) \(a.layer).saturatedFraction", file: file, line: line)
        }
    }

    func testStatisticsMatchAHandComputation() throws {
        let (monitor, history) = try train(model(backend: CPUBackend(threadCount: 1)))
        let want = expected()
        assertMatches(monitor.statistics, want, tolerance: 1e-6, "CPU")
        XCTAssertEqual(history.history["grad_norm/hidden"]?.first ?? .nan, want[0].gradientNorm, accuracy: 1e-6)
        XCTAssertEqual(history.history["dead_fraction/hidden"], [1.0 / 3.0])
        XCTAssertNil(history.history["dead_fraction/out"], "dead units are a ReLU statistic")
        // Sanity of the comparison: the bias is not part of the kernel's update ratio.
        XCTAssertNotEqual(want[0].updateRatio, 0)
    }

    func testSaturationCountsSigmoidOutputsNearTheirBounds() throws {
        // One sigmoid unit with a huge weight: outputs for inputs ±1, ±0.001 are ≈1, ≈0, 0.5 ± small.
        let model = Sequential(inputDim: 1, [Dense(1, activation: .sigmoid, name: "gate"), Dense(2, activation: .softmax, name: "out")],
                               seed: 1, backend: CPUBackend(threadCount: 1))
        try model.setWeights([Tensor(rows: [[50]]), Tensor(shape: [1], scalars: [0]), Tensor(rows: [[1, -1]]), Tensor(shape: [2], scalars: [0, 0])])
        try model.compile(optimizer: SGD(learningRate: 0), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        let monitor = GradientMonitor(every: 1)
        try model.fit(x: Tensor(shape: [4, 1], scalars: [1, -1, 0.001, -0.001]), y: Tensor(shape: [4, 1], scalars: [0, 1, 0, 1]),
                      batchSize: 4, epochs: 1, verbose: 0, shuffle: false, callbacks: [monitor])
        XCTAssertEqual(monitor.statistics[0].saturatedFraction, 0.5, "two of four outputs are within 0.01 of a bound")
        XCTAssertNil(monitor.statistics[0].deadFraction)
        XCTAssertEqual(monitor.statistics[0].updateRatio, 0, "learning rate 0: nothing moves")
    }
}

/// The four textbook cases on the embedded digits, diagnosed with the documented thresholds
/// (``GradientVerdict``): 50 steps of batch 32 from the initial weights.
final class GradientDiagnosisTests: XCTestCase {
    let digits = Datasets.digits()

    func diagnose(hidden: [Dense], optimizer: Optimizer = Adam()) throws -> [LayerDiagnosis] {
        let model = Sequential(inputDim: 64, hidden + [Dense(10, activation: .softmax)], seed: 3, backend: CPUBackend(threadCount: 1))
        try model.compile(optimizer: optimizer, loss: .sparseCategoricalCrossentropy(fromLogits: false))
        model.output = { _ in }
        return try model.diagnose(x: digits.x, y: digits.y, batchSize: 32, steps: 50)
    }

    func describe(_ layers: [LayerDiagnosis]) -> String {
        layers.map { String(format: "%@ %.2e %@", $0.statistics.layer, $0.relativeGradientNorm, $0.verdict.rawValue) }.joined(separator: "; ")
    }

    func testTenSigmoidLayersWithGlorotInitVanishInTheFirstLayers() throws {
        let layers = try diagnose(hidden: (0..<9).map { _ in Dense(32, activation: .sigmoid) })
        XCTAssertEqual(layers.count, 10)
        XCTAssertEqual(layers[0].verdict, .vanishing, describe(layers))
        XCTAssertEqual(layers[1].verdict, .vanishing, describe(layers))
        XCTAssertEqual(layers.last?.verdict, .ok, describe(layers))
    }

    func testTheSameDepthWithReLUAndHeInitIsHealthy() throws {
        let layers = try diagnose(hidden: (0..<9).map { _ in Dense(32, activation: .relu, kernelInitializer: .heNormal) })
        XCTAssertTrue(layers.allSatisfy { $0.verdict == .ok }, describe(layers))
    }

    func testAnAbsurdLearningRateWithoutClippingExplodes() throws {
        let layers = try diagnose(hidden: [Dense(64, activation: .relu), Dense(64, activation: .relu)], optimizer: SGD(learningRate: 1e4))
        XCTAssertTrue(layers.contains { $0.verdict == .exploding }, describe(layers))
    }

    func testTheMonitorWarnsOnceAfterConsecutiveVanishingEpochs() throws {
        let model = Sequential(inputDim: 64, (0..<9).map { _ in Dense(32, activation: .sigmoid) } + [Dense(10, activation: .softmax)],
                               seed: 3, backend: CPUBackend(threadCount: 1))
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        var printed = ""
        model.output = { printed += $0 }
        let x = digits.x.rows(0..<256), y = digits.y.rows(0..<256)
        try model.fit(x: x, y: y, batchSize: 32, epochs: 1, verbose: 0, callbacks: [GradientMonitor(every: 2, warnAfter: 2)])
        XCTAssertFalse(printed.contains("GradientMonitor"), "one epoch is not yet two: \(printed)")
        try model.fit(x: x, y: y, batchSize: 32, epochs: 3, verbose: 0, callbacks: [GradientMonitor(every: 2, warnAfter: 2)])
        let warnings = printed.split(separator: "\n").filter { $0.hasPrefix("GradientMonitor: layer 'dense' has vanishing gradients") }
        XCTAssertEqual(warnings.count, 1, printed)
        XCTAssertTrue(printed.contains("He initialization"), printed)
    }

    func testALargeNegativeBiasKillsReLUUnits() throws {
        let layers = try diagnose(hidden: [Dense(64, activation: .relu, biasInitializer: .constant(-10)), Dense(64, activation: .relu)])
        XCTAssertEqual(layers[0].verdict, .dead, describe(layers))
        XCTAssertEqual(layers[0].statistics.deadFraction, 1, describe(layers))
    }
}

/// GradientMonitor → TensorBoard: gradient norms and gradient and activation histograms in the `train` run.
final class GradientMonitorTensorBoardTests: ScratchDirectoryTestCase {
    func testNormsAndHistogramsReachTheTrainRun() throws {
        let model = Sequential(inputDim: 64, [Dense(16, activation: .relu, name: "hidden"), Dense(10, activation: .softmax, name: "out")],
                               seed: 1, backend: CPUBackend(threadCount: 1))
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        model.output = { _ in }
        let digits = Datasets.digits()
        let board = TensorBoard(logDir: directory.path)
        let monitor = GradientMonitor(every: 5, tensorBoard: board)
        try model.fit(x: digits.x.rows(0..<320), y: digits.y.rows(0..<320), batchSize: 32, epochs: 2, verbose: 0, callbacks: [board, monitor])
        let trainRun = directory.appendingPathComponent("train")
        let file = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: trainRun.path).first { $0.hasPrefix("events.out.tfevents") })
        let events = try RecordFraming.records(in: Data(contentsOf: trainRun.appendingPathComponent(file)))
            .map { try Mlpkit_Tensorboard_Event(serializedBytes: $0) }
        let values = events.filter { $0.step == 1 }.flatMap(\.summary.value)
        let norm = try XCTUnwrap(values.first { $0.tag == "gradients/hidden/kernel/norm" })
        XCTAssertEqual(norm.simpleValue, monitor.statistics[0].gradientNorm)
        XCTAssertNotNil(values.first { $0.tag == "gradients/out/bias/norm" })
        let histogram = try XCTUnwrap(values.first { $0.tag == "gradients/hidden/kernel/histogram" })
        XCTAssertEqual(histogram.histo.num, Double(64 * 16))
        let activations = try XCTUnwrap(values.first { $0.tag == "activations/hidden/histogram" })
        XCTAssertEqual(activations.histo.num, Double(32 * 16), "the last batch's outputs")
        XCTAssertGreaterThanOrEqual(activations.histo.min, 0, "ReLU outputs")
        // The last step (9) is not a monitored one, yet the output layer's histogram holds its softmax probabilities,
        // not the logits a step leaves there when nothing reads the probabilities.
        let probabilities = try XCTUnwrap(values.first { $0.tag == "activations/out/histogram" })
        XCTAssertEqual(probabilities.histo.num, Double(32 * 10))
        XCTAssertGreaterThanOrEqual(probabilities.histo.min, 0)
        XCTAssertLessThanOrEqual(probabilities.histo.max, 1)
        XCTAssertEqual(probabilities.histo.sum, 32, accuracy: 1e-3, "each row of probabilities sums to 1")
    }
}
