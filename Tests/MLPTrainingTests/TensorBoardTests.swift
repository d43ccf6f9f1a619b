import Foundation
import XCTest
@testable import MLPTensorBoard
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// TensorBoard logs: the framing against known vectors and our own reader, and the logs read back by the real
/// TensorBoard (EventAccumulator).
final class TensorBoardTests: ScratchDirectoryTestCase {
    /// CRC-32C check values (RFC 3720 appendix B.4 and the standard "123456789" check).
    func testCRC32CKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum(Array(0..<32).map(UInt8.init)), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum([]), 0)
        let crc: UInt32 = 0xE306_9283
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    func testRecordsReadBackAndSurviveATruncatedTail() throws {
        let writer = try EventFileWriter(directory: directory.path)
        try writer.write([EventFileWriter.scalar("epoch_loss", 0.5), EventFileWriter.histogram("h", [1, 2, 2, 3, 10])], step: 3)
        try writer.close()
        let data = try Data(contentsOf: URL(fileURLWithPath: writer.path))
        let records = try RecordFraming.records(in: data)
        XCTAssertEqual(records.count, 2)
        let first = try Mlpkit_Tensorboard_Event(serializedBytes: records[0])
        XCTAssertEqual(first.fileVersion, "brain.Event:2")
        let second = try Mlpkit_Tensorboard_Event(serializedBytes: records[1])
        XCTAssertEqual(second.step, 3)
        XCTAssertEqual(second.summary.value[0].tag, "epoch_loss")
        XCTAssertEqual(second.summary.value[0].simpleValue, 0.5)
        let histogram = second.summary.value[1].histo
        XCTAssertEqual(histogram.num, 5)
        XCTAssertEqual(histogram.bucket.reduce(0, +), 5)
        XCTAssertEqual(histogram.min, 1)
        XCTAssertEqual(histogram.max, 10)
        // A writer killed mid-record leaves the earlier records readable.
        XCTAssertEqual(try RecordFraming.records(in: data.prefix(data.count - 5)).count, 1)
        // A corrupted byte is a checksum error, not garbage.
        var corrupted = data
        corrupted[corrupted.count - 10] ^= 0xFF
        XCTAssertThrowsError(try RecordFraming.records(in: corrupted))
    }

    func testUnwritableLogDirIsAnErrorAtFitStart() throws {
        let blocker = directory.appendingPathComponent("file")
        try "x".write(to: blocker, atomically: true, encoding: .utf8)
        let model = Sequential(inputDim: 2, [Dense(1)], seed: 1)
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        var epochs = 0
        final class Count: Callback {
            var count = 0
            override func onEpochBegin(_ epoch: Int) throws { count += 1 }
        }
        let counter = Count()
        XCTAssertThrowsError(try model.fit(x: Tensor(shape: [4, 2], repeating: 1), y: Tensor(shape: [4, 1], repeating: 0), epochs: 2,
                                           verbose: 0, callbacks: [TensorBoard(logDir: blocker.appendingPathComponent("logs").path), counter])) {
            XCTAssertEqual("\($0)", "cannot create TensorBoard log folder '\(blocker.path)': it is a file")
        }
        epochs = counter.count
        XCTAssertEqual(epochs, 0, "no epoch ran")
    }

    /// Train with the callback, read the logs with the real TensorBoard: tags in the right runs, values equal
    /// to History (1e-6), steps = epochs, histogram counts = number of weights, the graph and the projector.
    func testRealTensorBoardReadsTheLogs() throws {
        let python = try interopPython(with: "tensorboard", for: "TensorBoard interop test")
        let digits = Datasets.digits()
        let (x, y) = (digits.x.rows(0..<300), digits.y.rows(0..<300))
        let model = Sequential(inputDim: 64, [Dense(16, activation: .relu), BatchNormalization(), Dense(10, activation: .softmax)], seed: 2)
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        let logDir = directory.appendingPathComponent("logs/run-1").path
        let board = TensorBoard(logDir: logDir, histogramFreq: 1, updateFreq: .every(5), activationSample: x.rows(0..<20),
                                embeddingsSample: (x.rows(0..<30), (0..<30).map { String(Int(y.scalars[$0])) }))
        let monitor = GradientMonitor(every: 2, tensorBoard: board)
        let history = try model.fit(x: x, y: y, batchSize: 32, epochs: 3, verbose: 0, validationSplit: 0.2, callbacks: [board, monitor])

        let run = try runProcess(python, [repositoryFile("Scripts/tensorboard-read.py").path, logDir])
        XCTAssertEqual(run.status, 0, run.stderr)
        let logs = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stderr)
        let train = try XCTUnwrap(logs["train"] as? [String: Any]), validation = try XCTUnwrap(logs["validation"] as? [String: Any])
        let trainScalars = train["scalars"] as! [String: [[Double]]], validationScalars = validation["scalars"] as! [String: [[Double]]]
        for (tag, key, scalars) in [("epoch_loss", "loss", trainScalars), ("epoch_accuracy", "accuracy", trainScalars),
                                    ("epoch_loss", "val_loss", validationScalars), ("epoch_accuracy", "val_accuracy", validationScalars)] {
            let points = try XCTUnwrap(scalars[tag], "\(tag) in \(scalars.keys.sorted())")
            XCTAssertEqual(points.map { Int($0[0]) }, [0, 1, 2], "steps = epochs")
            assertClose(points.map { Float($0[1]) }, history.history[key]!, absolute: 1e-6, relative: 0, key)
        }
        XCTAssertEqual(trainScalars["epoch_learning_rate"]?.count, 3)
        XCTAssertEqual(validationScalars["evaluation_loss_vs_iterations"]?.map { Int($0[0]) }, [8, 16, 24], "steps = optimizer steps")
        XCTAssertGreaterThan(trainScalars["batch_loss"]?.count ?? 0, 3, "batch scalars every 5 steps")
        let histograms = train["histograms"] as! [String: [[Double]]]
        // GradientMonitor's tags, read by the real TensorBoard: norms equal to History, histograms of the right size.
        let gradientNorms = try XCTUnwrap(trainScalars["gradients/dense/kernel/norm"], "\(trainScalars.keys.sorted())")
        XCTAssertEqual(gradientNorms.map { Int($0[0]) }, [0, 1, 2])
        assertClose(gradientNorms.map { Float($0[1]) }, history.history["grad_norm/dense"]!, absolute: 1e-6, relative: 0, "grad_norm/dense")
        XCTAssertEqual(trainScalars["gradients/dense_1/bias/norm"]?.count, 3)
        XCTAssertEqual(histograms["gradients/dense/kernel/histogram"]?.map { Int($0[1]) }, [64 * 16, 64 * 16, 64 * 16])
        XCTAssertEqual(histograms["activations/dense_1/histogram"]?.count, 3)
        for (tag, count) in [("sequential/dense/kernel/histogram", 64 * 16), ("sequential/dense/bias/histogram", 16),
                             ("sequential/batch_normalization/moving_mean/histogram", 16), ("sequential/dense_1/kernel/histogram", 160),
                             ("sequential/dense/activation/histogram", 20 * 16)] {
            let entries = try XCTUnwrap(histograms[tag], "\(tag) in \(histograms.keys.sorted())")
            XCTAssertEqual(entries.count, 3)
            XCTAssertTrue(entries.allSatisfy { Int($0[1]) == count && Int($0[2]) == count }, "\(tag): \(entries)")
        }
        let tensors = train["tensors"] as! [String: [String]]
        XCTAssertTrue(tensors["keras"]?.first?.contains("\"class_name\":\"Sequential\"") ?? false)
        XCTAssertTrue(tensors["model_summary"]?.first?.contains("Total params: 1274") ?? false, "\(tensors["model_summary"] ?? [])")
        XCTAssertEqual(train["graph"] as? Bool, true)
        XCTAssertEqual(Array((train["graph_nodes"] as! [String]).prefix(4)), ["input", "dense/MatMul", "dense/BiasAdd", "dense/relu"])
        let projector = try XCTUnwrap((logs["projector"] as? [[String: Any]])?.first)
        XCTAssertEqual(projector["shape"] as? [Int], [30, 16])
        XCTAssertEqual(try String(contentsOfFile: logDir + "/embeddings/metadata.tsv", encoding: .utf8).split(separator: "\n").count, 30)
    }
}
