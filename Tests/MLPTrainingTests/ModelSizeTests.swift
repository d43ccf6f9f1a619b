import XCTest
@testable import MLPTraining
import MLPCore

/// ModelSize: parameter counts from shapes (without building), the memory estimate, and the checks that refuse
/// models too large before anything is allocated.
final class ModelSizeTests: XCTestCase {
    func testCountsFromShapesMatchTheBuiltModel() throws {
        let layers: () -> [Layer] = {
            [Dense(25, activation: .relu), BatchNormalization(), Dropout(0.2), Dense(36, activation: .relu, useBias: false),
             ActivationLayer(.tanh), Dense(7, activation: .softmax)]
        }
        let size = try ModelSize(inputDim: 14, layers())
        let built = Sequential(inputDim: 14, layers(), seed: 1)
        XCTAssertEqual(size.layers.map(\.name), built.layers.map(\.name))
        XCTAssertEqual(size.layers.map(\.name), ["dense", "batch_normalization", "dropout", "dense_1", "activation", "dense_2"])
        XCTAssertEqual(size.layers.map(\.parameters), built.layers.map(\.parameterCount))
        XCTAssertEqual(size.layers.map(\.parameters), [375, 100, 0, 900, 0, 259])
        // BatchNormalization as Keras counts it: 4·features, gamma and beta trainable.
        XCTAssertEqual(size.layers[1].trainableParameters, 50)
        XCTAssertEqual(size.layers[1].nonTrainableParameters, 50)
        XCTAssertEqual(size.parameters, built.parameterCount)
        XCTAssertEqual(size.trainableParameters, built.trainableParameterCount)
        XCTAssertEqual(size.nonTrainableParameters, 50)
        XCTAssertEqual(built.size, size)
        XCTAssertEqual(Sequential.summary(of: size), built.summary(), "the unbuilt table is the built model's")
        XCTAssertEqual(Sequential.summary(of: size, style: .keras3), built.summary(style: .keras3))
    }

    /// 3 → Dense(4) → Dense(2), batches of 5, Adam (2 slots), worked by hand.
    func testMemoryEstimateByHand() throws {
        let size = try ModelSize(inputDim: 3, [Dense(4), Dense(2)])
        XCTAssertEqual(size.parameters, 3 * 4 + 4 + 4 * 2 + 2)
        let estimate = try size.memoryEstimate(optimizerSlots: Adam().slotCount, batchSize: 5)
        XCTAssertEqual(estimate.weightBytes, 26 * 4)
        XCTAssertEqual(estimate.gradientBytes, 26 * 4)
        XCTAssertEqual(estimate.optimizerBytes, 26 * 2 * 4)
        // Per row: dense z, y, dz (3·4) + dx (3); dense_1 3·2 + 4; the input (3), targets and loss gradient (2 + 2).
        XCTAssertEqual(estimate.activationBytes, (15 + 10 + 3 + 4) * 5 * 4)
        XCTAssertEqual(estimate.totalBytes, 104 + 104 + 208 + 640)
        XCTAssertEqual(estimate.largestBufferBytes, max(4 * 5 * 4, 16 * 4), "a batch of the widest rows, or dense's variables")
        XCTAssertEqual(try size.memoryEstimate(optimizerSlots: SGD().slotCount, batchSize: 5).optimizerBytes, 0)
        XCTAssertEqual(try size.memoryEstimate(optimizerSlots: Adam(amsgrad: true).slotCount, batchSize: 5).optimizerBytes, 26 * 3 * 4)
    }

    func testOverflowingSizesAreRefusedNotTrapped() {
        XCTAssertThrowsError(try ModelSize(inputDim: 64, [Dense(Int.max / 2)])) { error in
            XCTAssertTrue("\(error)".contains("the model is too large: layer 'dense' (Dense, 64 inputs"), "\(error)")
        }
        XCTAssertThrowsError(try ModelSize(inputDim: Int(Int32.max), [Dense(Int(Int32.max)), Dense(Int(Int32.max)), Dense(Int(Int32.max))])) { error in
            XCTAssertTrue("\(error)".contains("more than \(Int.max) parameters"), "\(error)")
        }
        XCTAssertThrowsError(try ModelSize(inputDim: 0, [Dense(1)])) { error in
            XCTAssertEqual("\(error)", "the input width must be positive, got 0")
        }
        XCTAssertThrowsError(try ModelSize(inputDim: 1 << 20, [Dense(1 << 30)]).memoryEstimate(optimizerSlots: 2, batchSize: 1 << 30)) { error in
            XCTAssertTrue("\(error)".contains("needs more than"), "\(error)")
        }
    }

    func testCheckAgainstALimitNamesBytesAndLimit() throws {
        let estimate = try ModelSize(inputDim: 64, [Dense(100_000_000, activation: .relu), Dense(10)])
            .memoryEstimate(optimizerSlots: 2, batchSize: 32)
        XCTAssertEqual(estimate.weightBytes, 7_500_000_010 * 4)
        let limit = MemoryLimit(totalBytes: 1 << 30, name: "a test limit")
        XCTAssertThrowsError(try estimate.check(against: limit)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("the model is too large: training it needs 159.4 GiB (171200022944 bytes): weights 27.9 GiB"), text)
            XCTAssertTrue(text.contains("activations for batches of 32 47.7 GiB; the limit is 1.0 GiB (1073741824 bytes), a test limit;"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertNoThrow(try estimate.check(against: MemoryLimit(totalBytes: .max, name: "everything")))
        let perBuffer = MemoryLimit(totalBytes: .max, bufferBytes: 1 << 20, name: "a device", bufferName: "the test allocation limit")
        XCTAssertThrowsError(try estimate.check(against: perBuffer)) { error in
            XCTAssertTrue("\(error)".contains("its largest buffer needs 24.2 GiB (26000000000 bytes); the limit is 1.0 MiB (1048576 bytes), the test allocation limit"), "\(error)")
        }
    }

    func testHostLimitIsPhysicalMemoryOrTheEnvironment() {
        let host = MemoryLimit.host(environment: [:])
        XCTAssertGreaterThan(host.totalBytes, 1 << 26)
        XCTAssertTrue(host.name.contains("physical memory") || host.name.contains("cgroup"), host.name)
        XCTAssertEqual(MemoryLimit.host(environment: ["MLPKIT_MEMORY_LIMIT": "123456"]).totalBytes, 123_456)
        XCTAssertEqual(MemoryLimit.host(environment: ["MLPKIT_MEMORY_LIMIT": "-1"]).totalBytes, host.totalBytes, "a bad value is ignored")
    }

    /// A Keras config with `units: 1e12` is refused with the file's name before its layers are built.
    func testAHugeModelConfigIsRefusedBeforeAllocation() {
        let json = """
        {"class_name": "Sequential", "config": {"name": "huge", "layers": [
          {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 64], "name": "input"}},
          {"class_name": "Dense", "config": {"units": 1e12, "activation": "relu", "name": "dense"}}]}}
        """
        XCTAssertThrowsError(try Sequential(fromKerasConfig: json)) { error in
            XCTAssertTrue("\(error)".hasPrefix("<config>: the model is too large: its weights and gradients need "), "\(error)")
        }
        let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertThrowsError(try KerasConfig.model(from: root ?? [:], source: "huge.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("huge.json: the model is too large"), "\(error)")
        }
    }
}
