import Dispatch

/// Host memory for ``CPUBackend``: a plain allocation of `count` floats.
public final class CPUBuffer: DeviceBuffer {
    public let pointer: UnsafeMutablePointer<Float>

    public override init(count: Int) {
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        super.init(count: count)
    }

    deinit { pointer.deallocate() }
}

/// The pure-Swift backend: no BLAS, no C. Element-wise ops run the ``CPUReference`` loops; GEMM runs a
/// packed, vectorised, multi-threaded kernel (``CPUBackend/gemm(transA:transB:m:n:k:alpha:a:b:beta:c:)``)
/// that the tests check against the reference triple loop.
public final class CPUBackend: Backend {
    /// Worker threads for GEMM (`DispatchQueue.concurrentPerform`); 1 runs everything on the caller.
    public let threadCount: Int
    /// Scratch for packing `op(B)`, grown on demand, reused across calls (no allocation per step).
    var packed: UnsafeMutablePointer<Float>
    var packedCapacity: Int

    public init(threadCount: Int = CPUBackend.defaultThreadCount) {
        self.threadCount = max(1, threadCount)
        packedCapacity = 1 << 16
        packed = .allocate(capacity: packedCapacity)
    }

    deinit { packed.deallocate() }

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
        CPUReference.biasActivationForward(z: ptr(z), bias: bias.map { UnsafePointer(ptr($0)) }, y: ptr(y),
                                           rows: rows, columns: columns, activation: activation)
    }

    public func activationBackward(outputGradient dy: DeviceBuffer, preActivation z: DeviceBuffer, output y: DeviceBuffer,
                                   inputGradient dz: DeviceBuffer, rows: Int, columns: Int, activation: Activation) {
        CPUReference.activationBackward(dy: ptr(dy), z: ptr(z), y: ptr(y), dz: ptr(dz), rows: rows, columns: columns,
                                        activation: activation)
    }

    public func columnSums(_ matrix: DeviceBuffer, rows: Int, columns: Int, into out: DeviceBuffer) {
        CPUReference.columnSums(ptr(matrix), rows: rows, columns: columns, into: ptr(out))
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

    public func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                                    rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                                    accumulator: DeviceBuffer, accumulatorIndex: Int) {
        let sum = CPUReference.lossForwardBackward(loss, predictions: ptr(predictions), targets: ptr(targets),
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
        CPUReference.sgdUpdate(w: ptr(weights), g: ptr(gradients), velocity: velocity.map { ptr($0) }, count: count,
                               learningRate: learningRate, momentum: momentum, nesterov: nesterov)
    }

    public func adamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, count: Int,
                           stepSize: Float, beta1: Float, beta2: Float, epsilon: Float) {
        CPUReference.adamUpdate(w: ptr(weights), g: ptr(gradients), m: ptr(m), v: ptr(v), count: count,
                                stepSize: stepSize, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public func rmspropUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, v: DeviceBuffer, count: Int,
                              learningRate: Float, rho: Float, epsilon: Float) {
        CPUReference.rmspropUpdate(w: ptr(weights), g: ptr(gradients), v: ptr(v), count: count,
                                   learningRate: learningRate, rho: rho, epsilon: epsilon)
    }
}

import Foundation
