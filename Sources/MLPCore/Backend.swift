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
    /// Copies `values` into `buffer` without waiting for the device when the backend can: the values are
    /// staged in backend-owned memory and written asynchronously, in queue order (the batch upload of a
    /// streamed source). Defaults to ``upload(_:to:offset:)``.
    func uploadStaged(_ values: [Float], to buffer: DeviceBuffer, offset: Int)
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
    /// With `sampleWeights` (one per row), each sample's loss and gradient are multiplied by its weight
    /// (Keras' `sample_weight`; the mean still divides by the number of samples).
    func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer, sampleWeights: DeviceBuffer?,
                             rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                             accumulator: DeviceBuffer, accumulatorIndex: Int)
    /// Adds the number of correct samples (a fraction per sample for multi-output binary accuracy) to
    /// `accumulator[accumulatorIndex]`.
    func accuracyCount(_ kind: AccuracyKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                       rows: Int, columns: Int, accumulator: DeviceBuffer, accumulatorIndex: Int)

    /// Adds 1 for each sample whose target class is among the `k` highest predictions (Keras' top-k
    /// categorical accuracy; `sparse` targets are class indices, otherwise one-hot rows) to `accumulator[index]`.
    func topKAccuracyCount(predictions: DeviceBuffer, targets: DeviceBuffer, rows: Int, columns: Int, k: Int, sparse: Bool,
                           accumulator: DeviceBuffer, index: Int)
    /// For each of `thresholdCount` thresholds `t` (a device buffer), adds the counts of true positives,
    /// false positives, true negatives and false negatives of `prediction > t` against `target > 0.5`, over
    /// `count` values, to `accumulator[index + 4·i …]` (TP, FP, TN, FN): precision, recall and AUC.
    func confusionCounts(predictions: DeviceBuffer, targets: DeviceBuffer, count: Int, thresholds: DeviceBuffer, thresholdCount: Int,
                         accumulator: DeviceBuffer, index: Int)

    // MARK: Optimizer updates (one element-wise kernel each)

    /// SGD: without momentum `w −= lr·g`; with momentum `v = μv − lr·g`, then `w += v`, or for
    /// Nesterov `w += μv − lr·g`.
    func sgdUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, velocity: DeviceBuffer?, count: Int,
                   learningRate: Float, momentum: Float, nesterov: Bool)
    /// Adam: `m += (g−m)(1−β1)`, `v += (g²−v)(1−β2)`, `w −= stepSize·m/(√v + ε)`, where the caller passes
    /// `stepSize = lr·√(1−β2ᵗ)/(1−β1ᵗ)`. With `vMax` (AMSGrad) `vMax = max(vMax, v)` replaces `v` in the step.
    func adamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, vMax: DeviceBuffer?,
                    count: Int, stepSize: Float, beta1: Float, beta2: Float, epsilon: Float)
    /// RMSprop: `v = ρv + (1−ρ)g²`; centered (`average` given): `a = ρa + (1−ρ)g`, denominator `v − a² + ε`,
    /// else `v + ε`; `Δ = lr·g/√denominator`; with `momentumBuffer`: `μbuf = μ·μbuf + Δ, w −= μbuf`, else `w −= Δ`.
    func rmspropUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, v: DeviceBuffer, momentumBuffer: DeviceBuffer?,
                       average: DeviceBuffer?, count: Int, learningRate: Float, rho: Float, momentum: Float, epsilon: Float)
    /// Adagrad: `acc += g²`, `w −= lr·g/√(acc + ε)`.
    func adagradUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, accumulator: DeviceBuffer, count: Int,
                       learningRate: Float, epsilon: Float)
    /// Nadam (Keras 3): `m`, `v` as Adam; `m̂ = u_{t+1}·m/(1−Π_{t+1}) + (1−u_t)·g/(1−Π_t)`, `v̂ = v/(1−β2ᵗ)`,
    /// `w −= lr·m̂/(√v̂ + ε)`; the host passes the momentum schedule scalars.
    func nadamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, count: Int,
                     learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, schedule: NadamScalars)
    /// Decoupled weight decay, applied before the update: `w −= w·decay·lr`.
    func decayWeights(_ weights: DeviceBuffer, count: Int, decay: Float, learningRate: Float)

    // MARK: Gradient clipping and regularization

    /// Adds `Σ x²` over `count` values to `accumulator[index]` (for norms), on the device.
    func accumulateSumOfSquares(_ buffer: DeviceBuffer, count: Int, accumulator: DeviceBuffer, index: Int)
    /// `x = x·c/max(√s, c)` with `s = sumOfSquares[index]` read on the device (Keras' clipnorm and
    /// global_clipnorm, the latter with `s` summed over every gradient).
    func clipByNorm(_ buffer: DeviceBuffer, count: Int, sumOfSquares: DeviceBuffer, index: Int, clipNorm: Float)
    /// `x = min(max(x, −limit), limit)` (Keras' clipvalue).
    func clipByValue(_ buffer: DeviceBuffer, count: Int, limit: Float)
    /// Adds `scale·(l1·Σ|w| + l2·Σw²)` to `accumulator[index]`.
    func regularizationPenalty(_ weights: DeviceBuffer, count: Int, l1: Float, l2: Float, scale: Float,
                               accumulator: DeviceBuffer, index: Int)
    /// `g += l1·sign(w) + 2·l2·w`.
    func regularizationGradient(_ weights: DeviceBuffer, gradients: DeviceBuffer, count: Int, l1: Float, l2: Float)

    // MARK: Dropout and batch normalization

    /// Inverted dropout: `y = keep ? x/(1−rate) : 0`, `keep = u ≥ rate` with `u` value `i` of the Philox stream
    /// (seed, stream) starting at block `block` (lane `i % 4` of block `block + i/4`). The backward pass
    /// calls it again on `dY` with the same arguments: the mask is regenerated, not stored.
    func dropout(_ input: DeviceBuffer, output: DeviceBuffer, count: Int, rate: Float, seed: UInt64, stream: UInt64, block: UInt64)
    /// Batch normalization over the rows (training): per column `μ`, biased `σ²`, `x̂ = (x−μ)/√(σ²+ε)`,
    /// `y = γ·x̂ + β`; keeps `x̂` and `1/√(σ²+ε)` for the backward pass and updates the moving statistics
    /// `m = m·momentum + μ·(1−momentum)`, `v = v·momentum + σ²·(1−momentum)`.
    func batchNormTraining(_ x: DeviceBuffer, output y: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer,
                           gamma: DeviceBuffer, beta: DeviceBuffer, movingMean: DeviceBuffer, movingVariance: DeviceBuffer,
                           rows: Int, columns: Int, momentum: Float, epsilon: Float)
    /// Batch normalization with the moving statistics: `y = γ·(x − m)/√(v + ε) + β`.
    func batchNormInference(_ x: DeviceBuffer, output y: DeviceBuffer, gamma: DeviceBuffer, beta: DeviceBuffer,
                            movingMean: DeviceBuffer, movingVariance: DeviceBuffer, rows: Int, columns: Int, epsilon: Float)
    /// Backward of ``batchNormTraining``: `dγ = Σ dy·x̂`, `dβ = Σ dy`,
    /// `dx = (γ·s/N)·(N·dy − Σdy − x̂·Σ(dy·x̂))` with `s = 1/√(σ²+ε)`.
    func batchNormBackward(outputGradient dy: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer, gamma: DeviceBuffer,
                           inputGradient dx: DeviceBuffer, gammaGradient: DeviceBuffer, betaGradient: DeviceBuffer, rows: Int, columns: Int)
}

/// The per-step scalars of Keras 3's Nadam momentum schedule, computed on the host.
public struct NadamScalars: Equatable, Sendable {
    /// `u_t = β1·(1 − ½·0.96ᵗ)`, `u_{t+1}`, the products `Π_t = Π u_1…u_t`, `Π_{t+1}`, and `β2ᵗ`.
    public var uT: Float, uNext: Float, productT: Float, productNext: Float, beta2Power: Float

    public init(uT: Float, uNext: Float, productT: Float, productNext: Float, beta2Power: Float) {
        self.uT = uT
        self.uNext = uNext
        self.productT = productT
        self.productNext = productNext
        self.beta2Power = beta2Power
    }
}

public extension Backend {
    func uploadStaged(_ values: [Float], to buffer: DeviceBuffer, offset: Int) {
        upload(values, to: buffer, offset: offset)
    }

    /// ``lossForwardBackward(_:predictions:targets:sampleWeights:rows:columns:gradient:gradientScale:accumulator:accumulatorIndex:)``
    /// without sample weights.
    func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                             rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                             accumulator: DeviceBuffer, accumulatorIndex: Int) {
        lossForwardBackward(loss, predictions: predictions, targets: targets, sampleWeights: nil, rows: rows, columns: columns,
                            gradient: gradient, gradientScale: gradientScale, accumulator: accumulator, accumulatorIndex: accumulatorIndex)
    }

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
