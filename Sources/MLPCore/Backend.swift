/// Memory owned by a ``Backend``: `count` 4-byte elements (`Float32` values, or `Int32` indices for a
/// buffer made by ``Backend/makeIndexBuffer(_:)``) that live wherever the backend computes (host memory
/// for the CPU backend, a `cl_mem` for OpenCL). The training stack only passes these handles back to the
/// backend that made them.
open class DeviceBuffer {
    /// The number of 4-byte elements the buffer holds.
    public let count: Int
    public init(count: Int) { self.count = count }
}

/// A loss as the backend computes it. Reduction is Keras' "sum over batch size": each sample's loss is
/// the mean over its last axis (MSE, MAE, binary cross-entropy) or the sum over classes (categorical),
/// and the batch loss is the mean over samples.
public enum LossKind: Equatable, Sendable {
    case meanSquaredError
    case meanAbsoluteError
    /// `fromLogits`: the predictions are logits; otherwise probabilities, clipped to `[1e-7, 1-1e-7]`.
    case binaryCrossentropy(fromLogits: Bool)
    case categoricalCrossentropy(fromLogits: Bool)
    /// Targets are class indices stored as `Float`, one per sample.
    case sparseCategoricalCrossentropy(fromLogits: Bool)

    /// Keras' probability clipping constant (`backend.epsilon()`).
    public static let epsilon: Float = 1e-7

    /// Targets per sample for `predictionColumns` outputs (1 for sparse labels).
    public func targetColumns(predictionColumns: Int) -> Int {
        if case .sparseCategoricalCrossentropy = self { return 1 }
        return predictionColumns
    }

    /// The same loss, reading logits instead of probabilities (cross-entropies only).
    public var withLogits: LossKind {
        switch self {
        case .binaryCrossentropy: return .binaryCrossentropy(fromLogits: true)
        case .categoricalCrossentropy: return .categoricalCrossentropy(fromLogits: true)
        case .sparseCategoricalCrossentropy: return .sparseCategoricalCrossentropy(fromLogits: true)
        default: return self
        }
    }
}

/// How a prediction is judged right, as Keras' accuracy metrics do.
public enum AccuracyKind: String, Equatable, Sendable {
    /// `pred > 0.5` equals the 0/1 target, averaged over the sample's outputs.
    case binary = "binary_accuracy"
    /// `argmax(pred) == argmax(target)` (one-hot targets).
    case categorical = "categorical_accuracy"
    /// `argmax(pred) == target` (integer targets).
    case sparseCategorical = "sparse_categorical_accuracy"
}

/// The one boundary between the training stack and the hardware.
///
/// Buffers are `Float32`, row-major and owned by the backend; matrices are passed as a buffer plus their
/// dimensions. Every op may be asynchronous (enqueued): only ``download(_:offset:count:)`` and
/// ``synchronize()`` wait. The training stack never branches on which backend it has.
///
/// Rule for adding an op: a CPU reference (``CPUReference``), an optimised version where it pays, an
/// OpenCL version, and a parity test.
public protocol Backend: AnyObject {
    /// A short, human-readable name of the device ("CPU (pure Swift, 2 threads)").
    var deviceDescription: String { get }

    // MARK: Memory

    /// A new buffer of `count` values (contents unspecified).
    func makeBuffer(count: Int) -> DeviceBuffer
    /// Copies `values` into `buffer` starting at element `offset`.
    func upload(_ values: [Float], to buffer: DeviceBuffer, offset: Int)
    /// Reads `count` values starting at `offset` (waits for queued work).
    func download(_ buffer: DeviceBuffer, offset: Int, count: Int) -> [Float]
    /// Copies `count` values between buffers.
    func copy(_ source: DeviceBuffer, sourceOffset: Int, to destination: DeviceBuffer, destinationOffset: Int, count: Int)
    /// Sets `count` values starting at `offset` to `value`.
    func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int)
    /// Waits until all queued work is done.
    func synchronize()
    /// Throws the first error an asynchronous op met since the last check (out of device memory, a failed
    /// kernel launch), then clears it. Ops never throw themselves: after an error they do nothing until
    /// checked, so the caller checks at its sync points (after uploads, at epoch end).
    func checkError() throws
    /// Replaces the first `indices.count` indices of an index buffer.
    func uploadIndices(_ indices: [Int32], to buffer: DeviceBuffer)

    // MARK: Dense layers

    /// `C = alpha·op(A)·op(B) + beta·C` with `op(A)` of shape (m, k), `op(B)` (k, n), `C` (m, n), all
    /// row-major; `transA` means `A` is stored as (k, m), `transB` that `B` is stored as (n, k).
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: DeviceBuffer, b: DeviceBuffer, beta: Float, c: DeviceBuffer)
    /// `Z += bias` (broadcast over rows, when given), then `Y = f(Z)`, with `Z`, `Y` of shape (rows, columns).
    func biasActivationForward(preActivation z: DeviceBuffer, bias: DeviceBuffer?, output y: DeviceBuffer,
                               rows: Int, columns: Int, activation: Activation)
    /// `dZ = f'(Z) ⊙ dY` (for softmax, the row-wise Jacobian product `Y ⊙ (dY − Σ dY⊙Y)`).
    func activationBackward(outputGradient dy: DeviceBuffer, preActivation z: DeviceBuffer, output y: DeviceBuffer,
                            inputGradient dz: DeviceBuffer, rows: Int, columns: Int, activation: Activation)
    /// `out[j] = Σ_i M[i, j]`: the bias gradient from `dZ` (rows, columns).
    func columnSums(_ matrix: DeviceBuffer, rows: Int, columns: Int, into out: DeviceBuffer)
    /// `destination[r] = source[indices[indexOffset + r]]` for `r < rows`, row by row (`rowLength` values a
    /// row): the batch gather for shuffled samples, reading indices already on the device.
    func gatherRows(source: DeviceBuffer, rowLength: Int, indices: DeviceBuffer, indexOffset: Int, rows: Int,
                    destination: DeviceBuffer)
    /// Fills `count` values with `low + (high − low)·u`, `u` the Philox4x32-10 uniforms of (seed, stream) in
    /// draw order (value `i` is lane `i % 4` of block `i / 4`), bit-identical on every backend.
    func randomUniform(_ buffer: DeviceBuffer, count: Int, seed: UInt64, stream: UInt64, low: Float, high: Float)

    // MARK: Losses and metrics

    /// Adds the sum over `rows` samples of the per-sample loss to `accumulator[accumulatorIndex]` and, when
    /// `gradient` is given, writes `gradientScale · ∂(Σ per-sample loss)/∂predictions` into it.
    /// `predictions` is (rows, columns); `targets` is (rows, columns), or (rows) for sparse labels.
    func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                             rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                             accumulator: DeviceBuffer, accumulatorIndex: Int)
    /// Adds the number of correct samples (a fraction per sample for multi-output binary accuracy) to
    /// `accumulator[accumulatorIndex]`.
    func accuracyCount(_ kind: AccuracyKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                       rows: Int, columns: Int, accumulator: DeviceBuffer, accumulatorIndex: Int)

    // MARK: Optimizer updates (one element-wise kernel each)

    /// SGD: without momentum `w −= lr·g`; with momentum `v = μv − lr·g`, then `w += v`, or for
    /// Nesterov `w += μv − lr·g`.
    func sgdUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, velocity: DeviceBuffer?, count: Int,
                   learningRate: Float, momentum: Float, nesterov: Bool)
    /// Adam: `m += (g−m)(1−β1)`, `v += (g²−v)(1−β2)`, `w −= stepSize·m/(√v + ε)`, where the caller passes
    /// `stepSize = lr·√(1−β2ᵗ)/(1−β1ᵗ)`.
    func adamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, count: Int,
                    stepSize: Float, beta1: Float, beta2: Float, epsilon: Float)
    /// RMSprop: `v = ρv + (1−ρ)g²`, `w −= lr·g/√(v + ε)`.
    func rmspropUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, v: DeviceBuffer, count: Int,
                       learningRate: Float, rho: Float, epsilon: Float)
}

public extension Backend {
    /// A buffer holding `values`.
    func makeBuffer(_ values: [Float]) -> DeviceBuffer {
        let buffer = makeBuffer(count: values.count)
        upload(values, to: buffer, offset: 0)
        return buffer
    }

    /// A buffer of `Int32` indices (for ``gatherRows(source:rowLength:indices:indexOffset:rows:destination:)``).
    func makeIndexBuffer(_ indices: [Int32]) -> DeviceBuffer {
        let buffer = makeBuffer(count: indices.count)
        uploadIndices(indices, to: buffer)
        return buffer
    }

    /// The whole buffer's values.
    func download(_ buffer: DeviceBuffer) -> [Float] {
        download(buffer, offset: 0, count: buffer.count)
    }
}
