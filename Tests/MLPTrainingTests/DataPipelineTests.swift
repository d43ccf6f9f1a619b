import Foundation
import XCTest
import MLPModelFiles
@testable import MLPTraining
import MLPCore
import MLPTestSupport
import Synchronization

/// Batch sources, prefetching, streaming, IDX files, scalers and splits.
final class DataPipelineTests: ScratchDirectoryTestCase {
    func sample(_ rows: Int = 100) -> (x: Tensor, y: Tensor, csv: String) {
        var random = PhiloxRandom(seed: 21)
        var text = "f0,f1,f2,label\n"
        var xs: [Float] = [], ys: [Float] = []
        for _ in 0..<rows {
            let values = (0..<3).map { _ in Float(Int(random.nextNormal() * 1000)) / 1000 }
            let label = Float((values[0] + values[1] > 0 ? 1 : 0) + (values[2] > 0.3 ? 1 : 0))
            xs += values
            ys.append(label)
            text += values.map { String($0) }.joined(separator: ",") + ",\(Int(label))\n"
        }
        return (Tensor(shape: [rows, 3], scalars: xs), Tensor(shape: [rows, 1], scalars: ys), text)
    }

    func testArraySourceBatchesAndShuffle() throws {
        let x = Tensor(shape: [5, 1], scalars: [0, 1, 2, 3, 4]), y = Tensor(shape: [5, 1], scalars: [10, 11, 12, 13, 14])
        let source = ArraySource(x: x, y: y, batchSize: 2)
        XCTAssertEqual(source.batchCount, 3)
        XCTAssertEqual(try source.batch(0).x.scalars, [0, 1])
        XCTAssertEqual(try source.batch(2).y?.scalars, [14])
        XCTAssertThrowsError(try source.batch(3))
        let shuffled = source.shuffledEachEpoch(seed: 3)
        shuffled.onEpochBegin(0)
        let first = try (0..<3).flatMap { try shuffled.batch($0).x.scalars }
        XCTAssertEqual(first.sorted(), [0, 1, 2, 3, 4])
        shuffled.onEpochBegin(1)
        XCTAssertNotEqual(try (0..<3).flatMap { try shuffled.batch($0).x.scalars }, first)
        XCTAssertEqual(try shuffled.batch(0).y!.scalars.map { $0 - 10 }, try shuffled.batch(0).x.scalars, "x and y stay paired")
        XCTAssertEqual(source.take(2).batchCount, 2)
    }

    /// The same batches, in the same order, whatever the number of workers; augmentation included.
    func testPrefetchOrderIsDeterministic() throws {
        let data = sample(64)
        let source = ArraySource(x: data.x, y: data.y, batchSize: 8).addingGaussianNoise(stddev: 0.1, seed: 5)
        let indices = [3, 0, 7, 1, 6, 2, 5, 4]
        var runs: [[Float]] = []
        for workers in [0, 1, 4] {
            let prefetcher = Prefetcher(source: source, indices: indices, workers: workers, depth: 3)
            runs.append(try indices.flatMap { _ in try prefetcher.next().x.scalars })
        }
        XCTAssertEqual(runs[0], runs[1])
        XCTAssertEqual(runs[0], runs[2])
        XCTAssertEqual(Array(runs[0].prefix(24)), try source.batch(3).x.scalars)
        XCTAssertNotEqual(try source.batch(0).x.scalars, try ArraySource(x: data.x, y: data.y, batchSize: 8).batch(0).x.scalars, "noise added")
        // Training with 0 and 3 workers gives the same model.
        func train(workers: Int) throws -> [Tensor] {
            let model = Sequential(inputDim: 3, [Dense(4, activation: .tanh), Dense(3, activation: .softmax)], seed: 2)
            try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
            try model.fit(source, epochs: 2, verbose: 0, workers: workers, prefetch: 2)
            return model.weights()
        }
        XCTAssertEqual(try train(workers: 0), try train(workers: 3))
    }

    /// A streamed file gives the in-memory batches, and the same model for the same seed.
    func testStreamingCSVMatchesInMemory() throws {
        let data = sample(101)
        let path = try write("data.csv", data.csv)
        let streamed = try StreamingCSVSource(path: path, batchSize: 16)
        let memory = ArraySource(x: data.x, y: data.y, batchSize: 16)
        XCTAssertEqual(streamed.batchCount, 7)
        XCTAssertEqual(streamed.rowCount, 101)
        for index in [0, 3, 6] {
            XCTAssertEqual(try streamed.batch(index).x, try memory.batch(index).x, "batch \(index)")
            XCTAssertEqual(try streamed.batch(index).y, try memory.batch(index).y)
        }
        XCTAssertEqual(streamed.labelValues, [0, 1, 2])
        func train(_ source: BatchSource) throws -> [Tensor] {
            let model = Sequential(inputDim: 3, [Dense(5, activation: .relu), Dense(3, activation: .softmax)], seed: 9)
            try model.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy(fromLogits: false))
            try model.fit(source, epochs: 3, verbose: 0, shuffle: true, workers: 2)
            return model.weights()
        }
        XCTAssertEqual(try train(streamed), try train(memory))
        // evaluate and predict on sources agree with the array versions.
        let model = Sequential(inputDim: 3, [Dense(3, activation: .softmax)], seed: 1)
        try model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        XCTAssertEqual(try model.evaluate(streamed)[1].1, try model.evaluate(x: data.x, y: data.y)[1].1, accuracy: 1e-6)
        XCTAssertEqual(try model.predict(streamed).scalars.count, 303)
    }

    func testEndlessGeneratorNeedsSteps() throws {
        let model = Sequential(inputDim: 1, [Dense(1)], seed: 1)
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let endless = GeneratorSource(count: nil) { index in
            Batch(x: Tensor(shape: [4, 1], repeating: Float(index % 3)), y: Tensor(shape: [4, 1], repeating: 1))
        }
        XCTAssertThrowsError(try model.fit(endless, verbose: 0)) { XCTAssertTrue("\($0)".contains("endless"), "\($0)") }
        let history = try model.fit(endless, epochs: 2, stepsPerEpoch: 5, verbose: 0)
        XCTAssertEqual(history.epoch, [0, 1])
    }

    /// The generator behind the Swift 6 crash (a main-actor closure called from a prefetch worker): with workers it
    /// runs on their threads, never the caller's, which is why its closure is `@Sendable`; training still gets every
    /// step's batch in order.
    func testEndlessGeneratorRunsOnTheWorkers() throws {
        final class Calls: Sendable {
            let total = Atomic<Int>(0), onCaller = Atomic<Int>(0)
        }
        let calls = Calls(), caller = ObjectIdentifier(Thread.current)
        let endless = GeneratorSource(count: nil) { index in
            calls.total.add(1, ordering: .relaxed)
            if ObjectIdentifier(Thread.current) == caller { calls.onCaller.add(1, ordering: .relaxed) }
            return Batch(x: Tensor(shape: [4, 1], repeating: Float(index % 3)), y: Tensor(shape: [4, 1], repeating: 1))
        }
        let model = Sequential(inputDim: 1, [Dense(1)], seed: 1)
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let history = try model.fit(endless, epochs: 2, stepsPerEpoch: 5, verbose: 0, workers: 2, prefetch: 2)
        XCTAssertEqual(history.epoch, [0, 1])
        XCTAssertEqual(calls.total.load(ordering: .relaxed), 10, "one call per step")
        XCTAssertEqual(calls.onCaller.load(ordering: .relaxed), 0, "the workers make the batches")
    }

    func testBadDataGivesClearErrors() throws {
        func error(_ text: String, missing: MissingValuePolicy = .error) -> String {
            let path = (try? write("bad.csv", text)) ?? ""
            do {
                _ = try StreamingCSVSource(path: path)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(error("a,label\n1,0\n2\n").hasSuffix("bad.csv:3: 1 fields, but the header has 2"))
        XCTAssertTrue(error("a,label\n1,0\nx,1\n").hasSuffix("bad.csv:3: column 'a': 'x' is not a number"))
        XCTAssertTrue(error("a,label\n1,0\ninf,1\n").hasSuffix("bad.csv:3: column 'a': 'inf' is not a finite number"))
        XCTAssertTrue(error("a,label\nNaN,0\n").hasSuffix("bad.csv:2: column 'a': missing value 'NaN' (choose a missing-value policy to skip or fill such rows)"))
        XCTAssertTrue(error("").hasSuffix("bad.csv: the file is empty (a header row is needed)"))
        let filled = try CSVTable(text: "a,b\n1,\n,2\n3,4\n", missing: .fill(-1))
        XCTAssertEqual(filled.rows, [[1, -1], [-1, 2], [3, 4]])
        let skipped = try CSVTable(text: "a,b\n1,NA\n3,4\n", missing: .skipRow)
        XCTAssertEqual(skipped.rows, [[3, 4]])
        XCTAssertEqual(skipped.lineNumbers, [3])
        // A label out of range for the output layer, from a source.
        let model = Sequential(inputDim: 1, [Dense(2, activation: .softmax)], seed: 1)
        try model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        let source = ArraySource(x: Tensor(shape: [2, 1], repeating: 0), y: Tensor(shape: [2, 1], scalars: [0, 5]), batchSize: 2)
        XCTAssertThrowsError(try model.fit(source, verbose: 0)) { XCTAssertTrue("\($0)".contains("label 5.0 of sample 1"), "\($0)") }
    }

    func writeIDX(_ name: String, dims: [Int], values: [UInt8], gzip: Bool) throws -> String {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        bytes += values
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if gzip {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/gzip")
            process.arguments = ["-f", path]
            try process.run()
            process.waitUntilExit()
            return path + ".gz"
        }
        return path
    }

    func testIDXFilesPlainAndGzip() throws {
        let pixels: [UInt8] = (0..<24).map { UInt8($0 * 10) }
        for gzip in [false, true] {
            let images = try writeIDX("img\(gzip)", dims: [3, 2, 4], values: pixels, gzip: gzip)
            let labels = try writeIDX("lab\(gzip)", dims: [3], values: [7, 0, 9], gzip: gzip)
            let (shape, values) = try IDX.read(images)
            XCTAssertEqual(shape, [3, 2, 4])
            XCTAssertEqual(values, pixels.map(Float.init))
            let data = try IDX.dataset(images: images, labels: labels)
            XCTAssertEqual(data.x.shape, [3, 8])
            XCTAssertEqual(data.x[1, 0], 80 / 255, accuracy: 1e-7)
            XCTAssertEqual(data.y.scalars, [7, 0, 9])
        }
        let wrong = directory.appendingPathComponent("wrong").path
        try Data([0, 1, 8, 1, 0, 0, 0, 1, 5]).write(to: URL(fileURLWithPath: wrong))
        XCTAssertThrowsError(try IDX.read(wrong)) { XCTAssertTrue("\($0)".contains("byte 0: wrong IDX magic 00010801"), "\($0)") }
        let short = try writeIDX("short", dims: [4], values: [1, 2], gzip: false)
        XCTAssertThrowsError(try IDX.read(short)) { XCTAssertTrue("\($0)".contains("byte 8: the header promises 4 values"), "\($0)") }
        let corruptGzip = directory.appendingPathComponent("bad.gz").path
        try Data([0x1F, 0x8B, 8, 0, 1, 2, 3]).write(to: URL(fileURLWithPath: corruptGzip))
        XCTAssertThrowsError(try IDX.read(corruptGzip))
    }

    func testScalerIsSavedWithTheModel() throws {
        let data = sample(50)
        let scaler = FeatureScaler.fit(.standardize, to: data.x)
        let scaled = scaler.transform(data.x)
        for j in 0..<3 {
            let column = (0..<50).map { Double(scaled[$0, j]) }
            XCTAssertEqual(column.reduce(0, +) / 50, 0, accuracy: 1e-5)
            XCTAssertEqual((column.map { $0 * $0 }.reduce(0, +) / 50).squareRoot(), 1, accuracy: 1e-4)
        }
        let streamedScaler = try FeatureScaler.fit(.standardize, to: ArraySource(x: data.x, y: data.y, batchSize: 7))
        assertClose(streamedScaler.offset, scaler.offset, absolute: 1e-5)
        assertClose(streamedScaler.scale, scaler.scale, absolute: 1e-5)
        let minMax = FeatureScaler.fit(.minMax, to: data.x).transform(data.x)
        XCTAssertEqual(minMax.scalars.min()!, 0, accuracy: 1e-6)
        XCTAssertEqual(minMax.scalars.max()!, 1, accuracy: 1e-6)

        let model = Sequential(inputDim: 3, [Dense(3, activation: .softmax)], seed: 4)
        model.inputScaler = scaler
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        for format in ["h5", "keras", "json"] {
            let path = directory.appendingPathComponent("m.\(format)").path
            try model.save(to: path)
            let loaded = try Sequential.load(from: path)
            XCTAssertEqual(loaded.inputScaler, scaler, format)
            XCTAssertEqual(try loaded.predict(data.x), try model.predict(data.x), "\(format): raw inputs scaled the same way")
        }
        let unscaled = Sequential(inputDim: 3, [Dense(3, activation: .softmax)], seed: 4)
        XCTAssertEqual(try unscaled.predict(scaled), try model.predict(data.x), "predict applies the scaler to raw inputs")
    }

    func testSplitHelper() throws {
        let x = Tensor(shape: [10, 1], scalars: (0..<10).map(Float.init))
        let y = Tensor(shape: [10, 1], scalars: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
        let tail = try Datasets.split(x: x, y: y, validationFraction: 0.3)
        XCTAssertEqual(tail.validation.x.scalars, [7, 8, 9], "Keras: the last fraction")
        let stratified = try Datasets.split(x: x, y: y, validationFraction: 0.5, shuffleSeed: 1, stratify: true)
        XCTAssertEqual(stratified.validation.y.scalars.filter { $0 == 1 }.count, 2)
        XCTAssertEqual(stratified.validation.y.scalars.filter { $0 == 0 }.count, 3)
        XCTAssertEqual((stratified.train.x.scalars + stratified.validation.x.scalars).sorted(), x.scalars)
        XCTAssertThrowsError(try Datasets.split(x: x, y: y, validationFraction: 1))
    }
}
