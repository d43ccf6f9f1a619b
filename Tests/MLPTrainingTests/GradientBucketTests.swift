import Foundation
import XCTest
@testable import MLPTraining
import MLPCore

/// A job of 2 ranks inside one process whose sums double the values, done only once `test` has been asked twice
/// or `wait` is called: a bucket read or overwritten before its sum completed would change the results.
final class DeferredDoublingCommunicator: Communicator {
    var rank: Int { 0 }
    var size: Int { 2 }
    var localRank: Int { 0 }
    var localSize: Int { 1 }
    private var pending: [Int: (values: UnsafeMutableBufferPointer<Float>, tests: Int)] = [:]
    private var nextHandle = 1
    var blockingSums = 0, startedSums = 0, tests = 0

    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        blockingSums += 1
        for index in values.indices { values[index] *= 2 }
    }

    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) -> AllreduceRequest {
        startedSums += 1
        defer { nextHandle += 1 }
        pending[nextHandle] = (values, 0)
        return AllreduceRequest(handles: [UnsafeMutableRawPointer(bitPattern: nextHandle)])
    }

    func test(_ request: inout AllreduceRequest) -> Bool {
        tests += 1
        guard let handle = request.handles.first.flatMap({ $0 }).map({ Int(bitPattern: $0) }) else { return true }
        pending[handle]!.tests += 1
        if pending[handle]!.tests < 2 { return false }
        wait(&request)
        return true
    }

    func wait(_ request: inout AllreduceRequest) {
        for handle in request.handles.compactMap({ $0 }).map({ Int(bitPattern: $0) }) {
            let values = pending.removeValue(forKey: handle)!.values
            for index in values.indices { values[index] *= 2 }
        }
        request.handles.removeAll()
    }

    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {}
    func barrier() {}
}

/// Gradient buckets (`MLPKIT_ALLREDUCE_BUCKET_BYTES`): their plan, and a bucketed step's results against the
/// fused one's.
final class GradientBucketTests: XCTestCase {
    func model() throws -> Sequential {
        let model = Sequential(inputDim: 3, [Dense(16, activation: .relu), Dense(8, activation: .tanh), Dense(3, activation: .softmax)],
                               seed: 4)
        try model.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy(fromLogits: false),
                          metrics: [.accuracy])
        return model
    }

    /// Buckets close at the first layer boundary with at least the bucket size, last layer first; the last one
    /// carries the accumulator; 0, or a model smaller than one bucket, is one bucket.
    func testPlan() throws {
        let model = try model()
        let parameters = model.layers.flatMap(\.parameters)
        func plan(_ bytes: Int) -> [(Int, Int)] {
            GradientBuckets(layers: model.layers, parameters: parameters, accumulatorCount: 2, bucketBytes: bytes)
                .buckets.map { ($0.closingLayer, $0.range.count) }
        }
        // Dense gradients: 64, 136 and 27 floats (256, 544, 108 bytes).
        XCTAssertEqual(plan(64).map(\.0), [2, 1, 0])
        XCTAssertEqual(plan(64).map(\.1), [27, 136, 66])
        XCTAssertEqual(plan(200).map(\.0), [1, 0])
        XCTAssertEqual(plan(200).map(\.1), [163, 66])
        XCTAssertEqual(plan(0).map(\.1), [229])
        XCTAssertEqual(plan(1 << 20).map(\.1), [229])
        let buckets = GradientBuckets(layers: model.layers, parameters: parameters, accumulatorCount: 2, bucketBytes: 64)
        XCTAssertEqual(buckets.accumulatorRange, 227..<229)
        XCTAssertEqual(buckets.buckets[0].parameters, [4, 5])  // the last Dense's kernel and bias
    }

    /// Each bucket's sum starts during the backward pass and completes later; the losses equal the fused
    /// allreduce's bit for bit (the sums are the same doublings), and so do the trained weights.
    func testBucketedStepsMatchTheFusedOne() throws {
        let x = Tensor(shape: [60, 3], scalars: (0..<180).map { Float(($0 * 37) % 23) / 23 - 0.5 })
        let y = Tensor(shape: [60, 1], scalars: (0..<60).map { Float($0 % 3) })
        func run(_ bytes: String) throws -> (History, [Float], DeferredDoublingCommunicator, Int) {
            setenv(GradientBuckets.bucketBytesVariable, bytes, 1)
            defer { unsetenv(GradientBuckets.bucketBytesVariable) }
            let model = try model()
            model.output = { _ in }
            let job = DeferredDoublingCommunicator()
            let history = try model.fit(x: x, y: y, batchSize: 10, epochs: 3, verbose: 0, shuffle: false, distribution: job)
            let weights = model.layers.flatMap(\.parameters).flatMap { model.backend.download($0.value) }
            return (history, weights, job, model.allreduceBucketCount)
        }
        let (fused, fusedWeights, fusedJob, fusedBuckets) = try run("0")
        let (bucketed, bucketedWeights, bucketedJob, bucketedBuckets) = try run("64")
        XCTAssertEqual(fusedBuckets, 1)
        XCTAssertEqual(bucketedBuckets, 3)
        XCTAssertEqual(fusedJob.startedSums, 0)
        XCTAssertEqual(bucketedJob.blockingSums, 0)
        XCTAssertEqual(bucketedJob.startedSums, 3 * 6 * 3)  // 3 buckets, 6 steps an epoch, 3 epochs
        XCTAssertGreaterThan(bucketedJob.tests, 0)
        XCTAssertEqual(fused.history["loss"]!.count, 3)
        XCTAssertEqual(fused.history, bucketed.history)
        XCTAssertEqual(fusedWeights, bucketedWeights)
    }

    /// A bucket size that is not a whole number of bytes is refused, naming it, before the first step.
    func testInvalidBucketSize() throws {
        for text in ["1MB", "-1", ""] {
            XCTAssertThrowsError(try GradientBuckets.bucketBytes(environment: [GradientBuckets.bucketBytesVariable: text])) { error in
                XCTAssertTrue("\(error)".contains("received \"\(text)\""), "\(error)")
            }
        }
        XCTAssertEqual(try GradientBuckets.bucketBytes(environment: [:]), GradientBuckets.defaultBucketBytes)
        XCTAssertEqual(try GradientBuckets.bucketBytes(environment: [GradientBuckets.bucketBytesVariable: "4096"]), 4096)
    }
}
