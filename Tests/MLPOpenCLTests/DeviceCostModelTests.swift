import XCTest
import MLPKit
import MLPTestSupport

/// `--device auto`'s cost model: the fit, the decision and its reason, the file.
final class DeviceCostModelTests: ScratchDirectoryTestCase {
    /// The crossover sweep's shapes (784 inputs, two hidden layers of `width`, 10 classes) and the seed and mnist
    /// workloads, from `Benchmarks/workloads.json`.
    var sweep: [StepWork] = []
    var seed: StepWork!, mnist: StepWork!

    override func setUpWithError() throws {
        try super.setUpWithError()
        let bench = try BenchmarkWorkloads.load()
        sweep = bench.crossover.points.map { StepWork(parameters: $0.layers.parameterCount, batchSize: $0.batch) }
        func work(_ name: String) throws -> StepWork {
            let layers = try XCTUnwrap(bench.workloads[name], "no workload \(name) in Benchmarks/workloads.json")
            return StepWork(parameters: layers.parameterCount, batchSize: layers.batch)
        }
        (seed, mnist) = (try work("seed"), try work("mnist"))
        XCTAssertEqual(sweep.count, 6, "the tests below index the sweep's six points")
    }

    func testFitRecoversTheLineThatMadeThePoints() throws {
        let truth = DeviceCostModel.Line(secondsPerStep: 30e-6, secondsPerFlop: 1 / 120e9, secondsPerParameter: 2e-9)
        let fitted = try XCTUnwrap(DeviceCostModel.Line.fit(sweep.map { ($0, truth.seconds($0)) }))
        XCTAssertEqual(fitted.secondsPerStep, truth.secondsPerStep, accuracy: truth.secondsPerStep * 1e-6)
        XCTAssertEqual(fitted.secondsPerFlop, truth.secondsPerFlop, accuracy: truth.secondsPerFlop * 1e-6)
        XCTAssertEqual(fitted.secondsPerParameter, truth.secondsPerParameter, accuracy: truth.secondsPerParameter * 1e-6)
        XCTAssertEqual(fitted.formula, "30 µs + flops / 120.0 GFLOP/s + parameters / 500 M/s per step")
    }

    func testFitKeepsEveryTermNonNegative() throws {
        // Steps that take exactly flops / 100 GFLOP/s minus a little for the largest: a free fit would give a
        // negative fixed cost or parameter cost.
        let points = sweep.enumerated().map { index, work in (work, work.flops / 100e9 * (index == 5 ? 0.9 : 1)) }
        let fitted = try XCTUnwrap(DeviceCostModel.Line.fit(points))
        XCTAssertGreaterThanOrEqual(fitted.secondsPerStep, 0)
        XCTAssertGreaterThanOrEqual(fitted.secondsPerFlop, 0)
        XCTAssertGreaterThanOrEqual(fitted.secondsPerParameter, 0)
        XCTAssertNil(DeviceCostModel.Line.fit([(seed, 1e-5)]), "one point fits no line")
    }

    func testBuiltInEstimatesKeepSmallModelsOnTheCPUAndSendLargeOnesToAGPU() {
        let model = DeviceCostModel()
        let small = model.choice(seed, gpuName: "Some GPU", cpuThreads: 2)
        XCTAssertFalse(small.useGPU, small.reason)
        XCTAssertTrue(model.cpuBeatsEveryGPU(seed, cpuThreads: 2))
        XCTAssertEqual(small.reason, "0.7 MFLOP per step: estimated 40 µs per step on the CPU backend vs 500 µs on OpenCL GPU Some GPU "
                       + "(built-in estimates; `mlp-bench crossover --device gpu` measures them)")
        let large = model.choice(mnist, gpuName: "Some GPU", cpuThreads: 2)
        XCTAssertTrue(large.useGPU, large.reason)
        XCTAssertFalse(model.cpuBeatsEveryGPU(mnist, cpuThreads: 2))
    }

    func testMeasuredLinesDecideAndAreNamed() {
        // A GPU measured to be slow per step and fast per flop; a CPU measured with 2 threads.
        let model = DeviceCostModel(cpu: .init(secondsPerStep: 30e-6, secondsPerFlop: 1 / 100e9, secondsPerParameter: 2e-9), cpuThreads: 2,
                                    devices: ["Big GPU": .init(secondsPerStep: 2e-3, secondsPerFlop: 1 / 20e12, secondsPerParameter: 0)],
                                    measured: "measured 2026-11-29")
        let mnistChoice = model.choice(mnist, gpuName: "Big GPU", cpuThreads: 2, source: "/x/cost-model.json")
        XCTAssertTrue(mnistChoice.useGPU, mnistChoice.reason)
        XCTAssertTrue(mnistChoice.reason.hasSuffix("(measured; measured 2026-11-29, /x/cost-model.json)"), mnistChoice.reason)
        // With 2 ms per step on the GPU, a 51.7 MFLOP step (width 256, batch 32) stays on the CPU.
        XCTAssertFalse(model.choice(sweep[2], gpuName: "Big GPU", cpuThreads: 2).useGPU)
        // An unmeasured GPU gets the built-in figures.
        XCTAssertTrue(model.choice(mnist, gpuName: "Other GPU", cpuThreads: 2).reason.contains("CPU measured, GPU built-in estimate"))
        // Twice the threads: the arithmetic term halves, the rest does not.
        let four = model.cpuLine(threads: 4).line
        XCTAssertEqual(four.secondsPerFlop, 1 / 200e9, accuracy: 1e-18)
        XCTAssertEqual(four.secondsPerStep, 30e-6)
    }

    func testFileRoundTripAndAClearErrorForABadFile() throws {
        let url = directory.appendingPathComponent("nested/cost-model.json")
        XCTAssertNil(try DeviceCostModel.load(from: url), "no file: no model")
        let model = DeviceCostModel(cpu: .init(secondsPerStep: 1e-5, secondsPerFlop: 1e-11, secondsPerParameter: 1e-9), cpuThreads: 2,
                                    devices: ["G": DeviceCostModel.builtInGPU], measured: "today")
        try model.save(to: url)
        XCTAssertEqual(try DeviceCostModel.load(from: url), model)
        let bad = try write("bad.json", "{\"cpu\": 3}")
        XCTAssertThrowsError(try DeviceCostModel.load(from: URL(fileURLWithPath: bad))) {
            XCTAssertTrue("\($0)".hasPrefix("\(bad): not an MLPKit cost model ("), "\($0)")
        }
    }

    /// `Device.auto` reads the model named by `MLPKIT_COST_MODEL`; this machine has no OpenCL GPU (PoCL is a
    /// CPU device), so a large step says so and stays on the CPU.
    /// A cost model that cannot be written is one line naming the file and the reason, like every other write.
    func testAFailedSaveNamesTheFileAndTheReason() throws {
        let model = DeviceCostModel(cpu: .init(secondsPerStep: 1e-5, secondsPerFlop: 1e-11, secondsPerParameter: 1e-9), cpuThreads: 2)
        XCTAssertThrowsError(try model.save(to: URL(fileURLWithPath: "/dev/full"))) { error in
            XCTAssertEqual("\(error)", "cannot write '/dev/full': No space left on device")
        }
        let blocker = directory.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: blocker)
        XCTAssertThrowsError(try model.save(to: blocker.appendingPathComponent("cost-model.json"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot write '\(blocker.path)/cost-model.json'"), "\(error)")
        }
    }

    func testAutoReadsTheCostModelFile() throws {
        let path = directory.appendingPathComponent("cost-model.json")
        setenv("MLPKIT_COST_MODEL", path.path, 1)
        defer { unsetenv("MLPKIT_COST_MODEL") }
        let small = try Device.auto.makeBackend(work: seed)
        XCTAssertTrue(small.backend is CPUBackend)
        // (The estimate depends on this machine's thread count.)
        XCTAssertTrue(small.note?.hasPrefix("auto: CPU backend (0.7 MFLOP per step: estimated ") == true, small.note ?? "")
        XCTAssertTrue(small.note?.hasSuffix(" per step, less than any GPU's estimate)") == true, small.note ?? "")
        // A measured CPU that is far slower than any GPU would be: auto looks for a GPU and finds none here.
        try DeviceCostModel(cpu: .init(secondsPerStep: 1, secondsPerFlop: 1e-6, secondsPerParameter: 0), cpuThreads: 2).save(to: path)
        let large = try Device.auto.makeBackend(work: seed)
        XCTAssertTrue(large.backend is CPUBackend)
        XCTAssertEqual(large.note, "auto: CPU backend (no OpenCL GPU found)")
        try "not json".write(to: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Device.auto.makeBackend(work: seed))
    }
}
