import XCTest
@testable import MLPOpenCL
@testable import MLPTraining
import MLPCore
import MLPBackendParity
import MLPKit
import MLPTestSupport

/// The same training stack on the OpenCL backend: whole-run parity with the CPU, accuracy, and proof that
/// a training step never waits on the device.
final class OpenCLTrainingTests: XCTestCase {
    var gpu: OpenCLBackend!

    override func setUpWithError() throws {
        gpu = try OpenCLTestDevice.backend()
    }

    func seedModel(backend: any Backend) -> Sequential {
        Sequential(inputDim: 14, [Dense(25, activation: .relu), Dense(36, activation: .relu),
                                  Dense(47, activation: .relu), Dense(7, activation: .softmax)], seed: 2024, backend: backend)
    }

    func randomClassification(samples: Int) -> (x: Tensor, y: Tensor) {
        var random = PhiloxRandom(seed: 11, stream: 77)
        let x = Tensor(shape: [samples, 14], scalars: (0..<(samples * 14)).map { _ in random.nextNormal() })
        let y = Tensor(shape: [samples, 1], scalars: (0..<samples).map { row in
            Float(Int((x[row, 0] + x[row, 1] * 2 + 10) * 1.7) % 7)
        })
        return (x, y)
    }

    /// The seed model, 5 epochs from the same seed: per-epoch losses within 1e-4 relative, predictions of
    /// the trained models within 1e-5.
    func testSeedModelTrainsTheSameOnBothBackends() throws {
        let checks = try BackendParity.training(reference: CPUBackend(threadCount: 1), candidate: gpu)
        XCTAssertEqual(checks.count, 2)
        for check in checks { XCTAssertTrue(check.passed, check.description) }
    }

    /// The same weights give the same predictions (1e-5), whichever backend holds them.
    func testPredictionsOfOneTrainedModelAgree() throws {
        let data = randomClassification(samples: 100)
        let trained = seedModel(backend: CPUBackend(threadCount: 1))
        try trained.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        try trained.fit(x: data.x, y: data.y, epochs: 3, verbose: 0)
        let copy = seedModel(backend: gpu)
        try copy.setWeights(trained.weights())
        assertClose(try copy.predict(data.x).scalars, try trained.predict(data.x).scalars, absolute: 1e-5, relative: 0)
    }

    /// The foundation's acceptance bar on the OpenCL backend: ≥ 95 % on the digits within 30 epochs.
    func testDigitsReachNinetyFivePercentOnOpenCL() throws {
        let digits = Datasets.digits()
        let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 0)
        let model = Sequential(inputDim: 64, [Dense(64, activation: .relu), Dense(32, activation: .relu),
                                              Dense(10, activation: .softmax)], seed: 42, backend: gpu)
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        try model.fit(x: split.train.x, y: split.train.y, batchSize: 32, epochs: 30, verbose: 0)
        let accuracy = try model.evaluate(x: split.test.x, y: split.test.y)[1].1
        XCTAssertGreaterThanOrEqual(accuracy, 0.95)
    }

    /// Host waits during `fit` do not grow with the number of steps: uploads at the start, one order upload
    /// and one accumulator read per epoch; kernel launches are what grows.
    func testNoHostWaitInsideATrainingStep() throws {
        let data = randomClassification(samples: 256)
        func waits(batchSize: Int, epochs: Int) throws -> (waits: Int, downloads: Int, launches: Int) {
            let model = seedModel(backend: gpu)
            try model.compile(optimizer: SGD(learningRate: 0.01, momentum: 0.9), loss: .sparseCategoricalCrossentropy(fromLogits: false),
                              metrics: [.accuracy])
            let before = gpu.counts
            try model.fit(x: data.x, y: data.y, batchSize: batchSize, epochs: epochs, verbose: 0)
            let after = gpu.counts
            return (after.hostWaits - before.hostWaits, after.downloads - before.downloads, after.launches - before.launches)
        }
        let few = try waits(batchSize: 128, epochs: 2)    // 2 steps an epoch
        let many = try waits(batchSize: 8, epochs: 2)     // 32 steps an epoch
        XCTAssertEqual(few.waits, many.waits, "host waits must not depend on the number of steps")
        XCTAssertEqual(many.waits, 3 + 2 * 2, "x, y and order uploads, then per epoch one order upload and one read")
        XCTAssertEqual(many.downloads, 2, "one accumulator read per epoch")
        XCTAssertGreaterThan(many.launches, few.launches * 10)
    }

    /// Keras-written model files predict on the OpenCL backend within 1e-5 of Keras.
    func testKerasFilesPredictOnOpenCL() throws {
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MLPTrainingTests/Fixtures/models")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: models.appendingPathComponent("predictions.json"))) as! [String: Any]
        let inputs = (reference["inputs"] as! [[Double]]).map { $0.map(Float.init) }
        let predictions = reference["predictions"] as! [String: [[Double]]]
        for file in ["keras2-classifier.h5", "keras3-regressor.h5", "keras3-classifier.keras"] {
            let model = try Sequential.load(from: models.appendingPathComponent(file).path, backend: gpu)
            let expected = predictions[String(file.split(separator: ".")[0])]!.flatMap { $0 }.map(Float.init)
            assertClose(try model.predict(Tensor(rows: inputs)).scalars, expected, absolute: 1e-5, relative: 0, file)
        }
    }

    /// A batch source trains the same on OpenCL as on the CPU, with staged (non-blocking) batch uploads: the
    /// host waits once per epoch (the logs), not per step.
    func testBatchSourceOnOpenCL() throws {
        let data = randomClassification(samples: 256)
        let source = ArraySource(x: data.x, y: data.y, batchSize: 16)
        var weights: [[Tensor]] = []
        var before = gpu.counts, after = gpu.counts
        for backend in [CPUBackend(threadCount: 1) as any Backend, gpu as any Backend] {
            let model = seedModel(backend: backend)
            try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
            before = gpu.counts
            try model.fit(source, epochs: 2, verbose: 0, workers: 2)
            after = gpu.counts
            weights.append(model.weights())
        }
        for (a, b) in zip(weights[0], weights[1]) { assertClose(b.scalars, a.scalars, absolute: 1e-5, relative: 1e-4, "weights") }
        XCTAssertEqual(after.stagedUploads - before.stagedUploads, 64, "x and y of 16 batches a epoch, non-blocking")
        XCTAssertEqual(after.uploads - before.uploads, 0, "no blocking write")
        XCTAssertEqual(after.downloads - before.downloads, 2, "one accumulator read per epoch")
        print("staged uploads: \(after.stagedUploads - before.stagedUploads), staging waits: \(after.stagingWaits - before.stagingWaits)")
    }

    /// GradientMonitor's statistics on OpenCL equal the CPU backend's, and cost one read per layer per epoch.
    func testGradientMonitorStatisticsMatchTheCPU() throws {
        let data = randomClassification(samples: 256)
        var results: [[[LayerStatistics]]] = []
        var downloads = 0
        for backend in [CPUBackend(threadCount: 1) as any Backend, gpu as any Backend] {
            let model = Sequential(inputDim: 14, [Dense(25, activation: .relu), Dense(36, activation: .tanh), Dense(47, activation: .sigmoid),
                                                  Dense(7, activation: .softmax)], seed: 2024, backend: backend)
            model.output = { _ in }
            try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
            let monitor = GradientMonitor(every: 3)
            let before = gpu.counts.downloads
            try model.fit(x: data.x, y: data.y, batchSize: 16, epochs: 2, verbose: 0, shuffle: false, callbacks: [monitor])
            downloads = gpu.counts.downloads - before
            results.append(monitor.epochs)
        }
        XCTAssertEqual(downloads, 2 * (1 + 4), "per epoch: the loss accumulator and one statistics read per Dense layer")
        for (cpuEpoch, gpuEpoch) in zip(results[0], results[1]) {
            for (c, g) in zip(cpuEpoch, gpuEpoch) {
                for (name, a, b) in [("grad", c.gradientNorm, g.gradientNorm), ("weight", c.weightNorm, g.weightNorm),
                                     ("update", c.updateRatio, g.updateRatio), ("mean", c.activationMean, g.activationMean),
                                     ("std", c.activationStd, g.activationStd)] {
                    XCTAssertEqual(b, a, accuracy: 1e-4 * max(1, abs(a)), "\(c.layer) \(name)")
                }
                XCTAssertEqual(g.deadFraction ?? -1, c.deadFraction ?? -1, accuracy: 1e-3, c.layer)
                XCTAssertEqual(g.saturatedFraction ?? -1, c.saturatedFraction ?? -1, accuracy: 1e-3, c.layer)
            }
        }
        XCTAssertNotNil(results[0][0][1].saturatedFraction, "tanh layer")
        XCTAssertNotNil(results[0][0][0].deadFraction, "relu layer")
    }

    func testClearErrors() throws {
        XCTAssertThrowsError(try Device(name: "tpu")) {
            XCTAssertEqual("\($0)", "unknown device 'tpu'; expected one of: cpu, gpu, auto, opencl:P:D")
        }
        XCTAssertThrowsError(try Device(name: "opencl:x:1"))
        XCTAssertEqual(try Device(name: "opencl:0:0"), .opencl(platform: 0, device: 0))
        XCTAssertThrowsError(try Device.opencl(platform: 9, device: 9).makeBackend()) {
            XCTAssertTrue("\($0)".hasPrefix("no OpenCL device opencl:9:9; available: opencl:0:0"), "\($0)")
        }
        // Out of device memory: a buffer beyond the device's largest allocation.
        _ = gpu.makeBuffer(count: Int(gpu.device.maxAllocation / 4) + 1)
        XCTAssertThrowsError(try gpu.checkError()) {
            XCTAssertTrue("\($0)".hasPrefix("out of device memory on"), "\($0)")
        }
        XCTAssertNoThrow(try gpu.checkError(), "the error is reported once")
        // A kernel that does not build: the error carries the build log.
        XCTAssertThrowsError(try OpenCLBackend.buildProgram(context: gpu.context, device: gpu.device, options: "",
                                                            source: "__kernel void broken(__global float *x) { x[0] = undefined_name; }")) {
            XCTAssertTrue("\($0)".contains("did not build"), "\($0)")
            XCTAssertTrue("\($0)".contains("undefined_name"), "build log missing: \($0)")
        }
    }

    func testEveryKernelFileIsEmbeddedAndBuilt() throws {
        let names = EmbeddedKernels.sources.map(\.name)
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Kernels").path)
            .filter { $0.hasSuffix(".cl") }
        XCTAssertEqual(Set(names), Set(onDisk))
        for kernel in ["random_uniform", "bias_activation_forward", "bias_softmax_forward", "activation_backward", "softmax_backward",
                       "column_sums", "gather_rows", "loss_rows", "accuracy_rows", "accumulate_sum", "sgd_update", "adam_update",
                       "rmsprop_update", "scale_buffer"] {
            XCTAssertNotNil(gpu.kernels[kernel], kernel)
        }
    }
}

import Foundation
