import Dispatch

/// Host memory for ``CPUBackend``: a plain allocation of `count` floats.
public final class CPUBuffer: DeviceBuffer {
    public let pointer: UnsafeMutablePointer<Float>
    /// Zeros allocated past `count`: a vector kernel may read up to this many floats beyond the end (results
    /// from them are never stored), as the GEMM does for the edge panel of a matrix read in place.
    public static let slack = 16

    public override init(count: Int) {
        pointer = .allocate(capacity: count + CPUBuffer.slack)
        pointer.initialize(repeating: 0, count: count + CPUBuffer.slack)
        super.init(count: count)
    }

    deinit { pointer.deallocate() }
}

/// The pure-Swift backend: no BLAS, no C. GEMM runs a packed, vectorised, multi-threaded kernel
/// (``CPUBackend/gemm(transA:transB:m:n:k:alpha:a:b:beta:c:)``) that the tests check against the reference
/// triple loop; the hot element-wise ops (Adam, SGD, bias + ReLU, its backward, column sums) run `SIMD8` loops
/// bit-identical to their ``CPUReference`` loops (CPUBackend+Elementwise.swift), sums of squares in 4×8 lanes
/// (another summation order: within 1e-6 relative); softmax and cross-entropy from logits run eight rows at a
/// time with a vectorised `exp` (CPUBackend+Loss.swift, within 1e-6); the rest run the reference.
public final class CPUBackend: Backend {
    /// Threads for GEMM (a persistent pool of `threadCount − 1` workers plus the caller); 1 runs everything on
    /// the caller.
    public let threadCount: Int
    /// Packing buffers and the current product, grown on demand and reused (no allocation per step).
    let workspace = GEMMWorkspace()
    let pool: WorkerPool?
    /// The pool's tasks, made once (stored closures: running one allocates nothing).
    lazy var rowTask: (Int, Int) -> Void = { [workspace] participant, participants in
        workspace.computeRows(participant: participant, participants: participants)
    }
    lazy var columnTask: (Int, Int) -> Void = { [workspace] participant, participants in
        workspace.computeColumns(participant: participant, participants: participants)
    }
    /// The element-wise call being split among the pool, and the pool's task for it (made once).
    let elementwise = ElementwiseWork()
    lazy var elementwiseTask: (Int, Int) -> Void = { [elementwise] participant, participants in
        elementwise.runChunk(participant: participant, participants: participants)
    }

    public init(threadCount: Int = CPUBackend.defaultThreadCount) {
        self.threadCount = max(1, threadCount)
        pool = self.threadCount > 1 ? WorkerPool(threads: self.threadCount - 1) : nil
    }

    deinit { pool?.stop() }

    /// The number of active processors.
    public static var defaultThreadCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    public var deviceDescription: String {
        "CPU (pure Swift, \(threadCount) thread\(threadCount == 1 ? "" : "s"))"
    }

    @inline(__always) func ptr(_ buffer: DeviceBuffer) -> UnsafeMutablePointer<Float> {
        unsafeDowncast(buffer, to: CPUBuffer.self).pointer
    }

    // MARK: Memory

    public func makeBuffer(count: Int) -> DeviceBuffer { CPUBuffer(count: count) }

    public func upload(_ values: [Float], to buffer: DeviceBuffer, offset: Int) {
        precondition(offset >= 0 && offset + values.count <= buffer.count, "upload of \(values.count) values at \(offset) overflows a buffer of \(buffer.count)")
        values.withUnsafeBufferPointer { (ptr(buffer) + offset).update(from: $0.baseAddress!, count: values.count) }
    }

    public func download(_ buffer: DeviceBuffer, offset: Int, count: Int) -> [Float] {
        precondition(offset >= 0 && offset + count <= buffer.count, "download of \(count) values at \(offset) overflows a buffer of \(buffer.count)")
        return Array(UnsafeBufferPointer(start: ptr(buffer) + offset, count: count))
    }

    public func copy(_ source: DeviceBuffer, sourceOffset: Int, to destination: DeviceBuffer, destinationOffset: Int, count: Int) {
        (ptr(destination) + destinationOffset).update(from: ptr(source) + sourceOffset, count: count)
    }

    public func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int) {
        (ptr(buffer) + offset).update(repeating: value, count: count)
    }

    public func synchronize() {}

    /// The CPU backend's ops cannot fail asynchronously.
    public func checkError() throws {}

    public func uploadIndices(_ indices: [Int32], to buffer: DeviceBuffer) {
        precondition(indices.count <= buffer.count, "uploadIndices: \(indices.count) indices into a buffer of \(buffer.count)")
        indices.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(ptr(buffer)).copyMemory(from: source.baseAddress!, byteCount: indices.count * 4)
        }
    }

    // MARK: Dense layers

    public func biasActivationForward(preActivation z: DeviceBuffer, bias: DeviceBuffer?, output y: DeviceBuffer,
                                      rows: Int, columns: Int, activation: Activation) {
        if activation == .softmax {
            CPUBackend.softmaxForwardVectorised(z: ptr(z), bias: bias.map { UnsafePointer(ptr($0)) }, y: ptr(y), rows: rows, columns: columns)
            return
        }
        if CPUBackend.hasVectorisedForward(activation) {
            run(.biasActivation(z: ptr(z), bias: bias.map { UnsafePointer(ptr($0)) }, y: ptr(y), columns: columns, activation: activation),
                count: rows * columns)
            return
        }
        CPUReference.biasActivationForward(z: ptr(z), bias: bias.map { UnsafePointer(ptr($0)) }, y: ptr(y),
                                           rows: rows, columns: columns, activation: activation)
    }

    public func activationBackward(outputGradient dy: DeviceBuffer, preActivation z: DeviceBuffer, output y: DeviceBuffer,
                                   inputGradient dz: DeviceBuffer, rows: Int, columns: Int, activation: Activation) {
        if CPUBackend.hasVectorisedBackward(activation) {
            run(.activationBackward(dy: ptr(dy), z: ptr(z), y: ptr(y), dz: ptr(dz), activation: activation), count: rows * columns)
            return
        }
        CPUReference.activationBackward(dy: ptr(dy), z: ptr(z), y: ptr(y), dz: ptr(dz), rows: rows, columns: columns,
                                        activation: activation)
    }

    public func columnSums(_ matrix: DeviceBuffer, rows: Int, columns: Int, into out: DeviceBuffer) {
        CPUBackend.columnSumsVectorised(ptr(matrix), rows: rows, columns: columns, into: ptr(out))
    }

    public func gatherRows(source: DeviceBuffer, rowLength: Int, indices: DeviceBuffer, indexOffset: Int, rows: Int,
                           destination: DeviceBuffer) {
        precondition(rows * rowLength <= destination.count && indexOffset + rows <= indices.count, "gatherRows: buffer too small")
        ptr(indices).withMemoryRebound(to: Int32.self, capacity: indices.count) { indexPointer in
            CPUReference.gatherRows(source: ptr(source), rowLength: rowLength, indices: indexPointer + indexOffset, rows: rows,
                                    destination: ptr(destination))
        }
    }

    public func randomUniform(_ buffer: DeviceBuffer, count: Int, seed: UInt64, stream: UInt64, low: Float, high: Float) {
        CPUReference.randomUniform(ptr(buffer), count: count, seed: seed, stream: stream, low: low, high: high)
    }

    // MARK: Losses and metrics

    public func topKAccuracyCount(predictions: DeviceBuffer, targets: DeviceBuffer, rows: Int, columns: Int, k: Int, sparse: Bool,
                                  accumulator: DeviceBuffer, index: Int) {
        ptr(accumulator)[index] += CPUReference.topKAccuracyCount(predictions: ptr(predictions), targets: ptr(targets), rows: rows,
                                                                  columns: columns, k: k, sparse: sparse)
    }

    public func confusionCounts(predictions: DeviceBuffer, targets: DeviceBuffer, count: Int, thresholds: DeviceBuffer,
                                thresholdCount: Int, accumulator: DeviceBuffer, index: Int) {
        CPUReference.confusionCounts(predictions: ptr(predictions), targets: ptr(targets), count: count, thresholds: ptr(thresholds),
                                     thresholdCount: thresholdCount, into: ptr(accumulator) + index)
    }

    public func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer, sampleWeights: DeviceBuffer?,
                                    rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                                    accumulator: DeviceBuffer, accumulatorIndex: Int) {
        if let sum = CPUBackend.crossEntropyFromLogitsFast(loss, logits: ptr(predictions), targets: ptr(targets),
                                                           sampleWeights: sampleWeights.map { UnsafePointer(ptr($0)) }, rows: rows,
                                                           columns: columns, gradient: gradient.map { ptr($0) }, scale: gradientScale) {
            ptr(accumulator)[accumulatorIndex] += sum
            return
        }
        let sum = CPUReference.lossForwardBackward(loss, predictions: ptr(predictions), targets: ptr(targets),
                                                   sampleWeights: sampleWeights.map { UnsafePointer(ptr($0)) },
                                                   rows: rows, columns: columns, gradient: gradient.map { ptr($0) },
                                                   gradientScale: gradientScale)
        ptr(accumulator)[accumulatorIndex] += sum
    }

    public func accuracyCount(_ kind: AccuracyKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                              rows: Int, columns: Int, accumulator: DeviceBuffer, accumulatorIndex: Int) {
        ptr(accumulator)[accumulatorIndex] += CPUReference.accuracyCount(kind, predictions: ptr(predictions),
                                                                         targets: ptr(targets), rows: rows, columns: columns)
    }

    // MARK: Optimizers

    public func sgdUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, velocity: DeviceBuffer?, count: Int,
                          learningRate: Float, momentum: Float, nesterov: Bool) {
        run(.sgd(w: ptr(weights), g: ptr(gradients), velocity: velocity.map { ptr($0) }, learningRate: learningRate, momentum: momentum,
                 nesterov: nesterov), count: count)
    }

    public func adamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, vMax: DeviceBuffer?,
                           count: Int, stepSize: Float, beta1: Float, beta2: Float, epsilon: Float) {
        run(.adam(w: ptr(weights), g: ptr(gradients), m: ptr(m), v: ptr(v), vMax: vMax.map { ptr($0) }, stepSize: stepSize, beta1: beta1,
                  beta2: beta2, epsilon: epsilon), count: count)
    }

    public func rmspropUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, v: DeviceBuffer, momentumBuffer: DeviceBuffer?,
                              average: DeviceBuffer?, count: Int, learningRate: Float, rho: Float, momentum: Float, epsilon: Float) {
        run(.rmsprop(w: ptr(weights), g: ptr(gradients), v: ptr(v), momentumBuffer: momentumBuffer.map { ptr($0) },
                     average: average.map { ptr($0) }, learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon),
            count: count)
    }

    public func adagradUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, accumulator: DeviceBuffer, count: Int,
                              learningRate: Float, epsilon: Float) {
        run(.adagrad(w: ptr(weights), g: ptr(gradients), accumulator: ptr(accumulator), learningRate: learningRate, epsilon: epsilon),
            count: count)
    }

    public func nadamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, count: Int,
                            learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, schedule: NadamScalars) {
        run(.nadam(w: ptr(weights), g: ptr(gradients), m: ptr(m), v: ptr(v), learningRate: learningRate, beta1: beta1, beta2: beta2,
                   epsilon: epsilon, schedule: schedule), count: count)
    }

    public func decayWeights(_ weights: DeviceBuffer, count: Int, decay: Float, learningRate: Float) {
        CPUReference.decayWeights(ptr(weights), count: count, decay: decay, learningRate: learningRate)
    }

    // MARK: Clipping and regularization

    public func accumulateSumOfSquares(_ buffer: DeviceBuffer, count: Int, accumulator: DeviceBuffer, index: Int) {
        ptr(accumulator)[index] += CPUBackend.sumOfSquaresVectorised(ptr(buffer), count: count)
    }

    public func clipByNorm(_ buffer: DeviceBuffer, count: Int, sumOfSquares: DeviceBuffer, index: Int, clipNorm: Float) {
        CPUReference.clipByNorm(ptr(buffer), count: count, sumOfSquares: ptr(sumOfSquares)[index], clipNorm: clipNorm)
    }

    public func clipByValue(_ buffer: DeviceBuffer, count: Int, limit: Float) {
        CPUReference.clipByValue(ptr(buffer), count: count, limit: limit)
    }

    public func regularizationPenalty(_ weights: DeviceBuffer, count: Int, l1: Float, l2: Float, scale: Float,
                                      accumulator: DeviceBuffer, index: Int) {
        ptr(accumulator)[index] += scale * CPUReference.regularizationPenalty(ptr(weights), count: count, l1: l1, l2: l2)
    }

    public func regularizationGradient(_ weights: DeviceBuffer, gradients: DeviceBuffer, count: Int, l1: Float, l2: Float) {
        CPUReference.regularizationGradient(ptr(weights), g: ptr(gradients), count: count, l1: l1, l2: l2)
    }

    // MARK: Dropout and batch normalization

    public func dropout(_ input: DeviceBuffer, output: DeviceBuffer, count: Int, rate: Float, seed: UInt64, stream: UInt64, block: UInt64) {
        CPUReference.dropout(ptr(input), ptr(output), count: count, rate: rate, seed: seed, stream: stream, block: block)
    }

    public func batchNormTraining(_ x: DeviceBuffer, output y: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer,
                                  gamma: DeviceBuffer, beta: DeviceBuffer, movingMean: DeviceBuffer, movingVariance: DeviceBuffer,
                                  rows: Int, columns: Int, momentum: Float, epsilon: Float) {
        CPUReference.batchNormTraining(x: ptr(x), y: ptr(y), normalized: ptr(normalized), inverseStd: ptr(inverseStd), gamma: ptr(gamma),
                                       beta: ptr(beta), movingMean: ptr(movingMean), movingVariance: ptr(movingVariance), rows: rows,
                                       columns: columns, momentum: momentum, epsilon: epsilon)
    }

    public func batchNormInference(_ x: DeviceBuffer, output y: DeviceBuffer, gamma: DeviceBuffer, beta: DeviceBuffer,
                                   movingMean: DeviceBuffer, movingVariance: DeviceBuffer, rows: Int, columns: Int, epsilon: Float) {
        CPUReference.batchNormInference(x: ptr(x), y: ptr(y), gamma: ptr(gamma), beta: ptr(beta), movingMean: ptr(movingMean),
                                        movingVariance: ptr(movingVariance), rows: rows, columns: columns, epsilon: epsilon)
    }

    public func batchNormBackward(outputGradient dy: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer, gamma: DeviceBuffer,
                                  inputGradient dx: DeviceBuffer, gammaGradient: DeviceBuffer, betaGradient: DeviceBuffer, rows: Int, columns: Int) {
        CPUReference.batchNormBackward(dy: ptr(dy), normalized: ptr(normalized), inverseStd: ptr(inverseStd), gamma: ptr(gamma),
                                       dx: ptr(dx), dGamma: ptr(gammaGradient), dBeta: ptr(betaGradient), rows: rows, columns: columns)
    }
}

import Foundation
