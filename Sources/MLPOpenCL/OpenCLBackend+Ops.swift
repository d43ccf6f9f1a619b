import COpenCL
import MLPCore

/// A kernel argument.
enum KernelArgument {
    case buffer(DeviceBuffer?)
    case int(Int)
    case uint(UInt32)
    case float(Float)
}

/// The shape of a GEMM call, for caching CLBlast's temporary-buffer size.
struct GEMMShape: Hashable {
    let transA: Bool, transB: Bool, m: Int, n: Int, k: Int
}

extension Activation {
    /// The code `activations.cl` uses.
    var kernelCode: Int {
        switch self {
        case .linear: return 0
        case .relu: return 1
        case .sigmoid: return 2
        case .tanh: return 3
        case .softmax: return 4
        case .softplus: return 5
        case .softsign: return 6
        case .elu: return 7
        case .selu: return 8
        case .gelu: return 9
        case .silu: return 10
        case .leakyRelu: return 11
        case .relu6: return 12
        case .hardSigmoid: return 13
        case .exponential: return 14
        }
    }
}

extension LossKind {
    /// The code and logits flag `losses.cl` uses.
    var kernelCode: (kind: Int, fromLogits: Bool) {
        switch self {
        case .meanSquaredError: return (0, false)
        case .meanAbsoluteError: return (1, false)
        case .binaryCrossentropy(let logits): return (2, logits)
        case .categoricalCrossentropy(let logits): return (3, logits)
        case .sparseCategoricalCrossentropy(let logits): return (4, logits)
        }
    }
}

extension AccuracyKind {
    /// The code `accuracy.cl` uses.
    var kernelCode: Int {
        switch self {
        case .binary: return 0
        case .categorical: return 1
        case .sparseCategorical: return 2
        }
    }
}

extension OpenCLBackend {
    /// Work-group size of the 1-D element-wise kernels.
    static let workGroup = 64

    /// Sets `arguments` and enqueues `name` over `items` work-items (rounded up to the work-group size;
    /// kernels bound-check). `local` overrides the work-group size.
    func launch(_ name: String, items: Int, local: Int = OpenCLBackend.workGroup, _ arguments: [KernelArgument]) {
        guard items > 0, !failed else { return }
        guard let kernel = kernels[name] else { preconditionFailure("no kernel named \(name) in Kernels/") }
        for (index, argument) in arguments.enumerated() {
            let status: cl_int
            switch argument {
            case .buffer(let buffer):
                var handle: cl_mem? = memory(buffer ?? placeholder)
                guard handle != nil else { return }  // a failed allocation; the error is recorded
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem?>.size, &handle)
            case .int(let value):
                precondition(value >= Int(Int32.min) && value <= Int(Int32.max), "kernel argument \(value) does not fit in an int")
                var converted = cl_int(value)
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_int>.size, &converted)
            case .uint(let value):
                var converted = cl_uint(value)
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_uint>.size, &converted)
            case .float(let value):
                var converted = cl_float(value)
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_float>.size, &converted)
            }
            guard succeeded(status, "clSetKernelArg(\(name), \(index))") else { return }
        }
        var global = (items + local - 1) / local * local
        var localSize = local
        counts.launches += 1
        succeeded(clEnqueueNDRangeKernel(queue, kernel, 1, nil, &global, &localSize, 0, nil, nil), "clEnqueueNDRangeKernel(\(name))")
    }

    // MARK: Dense layers

    /// Row-major GEMM through `CLBlastSgemmWithTempBuffer` (no hidden allocations); `k = 0` scales `C` by
    /// `beta` (CLBlast rejects empty products).
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: DeviceBuffer, b: DeviceBuffer, beta: Float, c: DeviceBuffer) {
        precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n,
                     "gemm: buffers (\(a.count), \(b.count), \(c.count)) too small for m=\(m) n=\(n) k=\(k)")
        guard m > 0, n > 0, !failed else { return }
        if k == 0 {
            launch("scale_buffer", items: m * n, [.buffer(c), .int(m * n), .float(beta)])
            return
        }
        guard let aMemory = memory(a), let bMemory = memory(b), let cMemory = memory(c) else { return }
        let lda = transA ? m : k, ldb = transB ? k : n, ldc = n
        let layout = CLBlastLayoutRowMajor
        let ta = transA ? CLBlastTransposeYes : CLBlastTransposeNo
        let tb = transB ? CLBlastTransposeYes : CLBlastTransposeNo
        var commandQueue: cl_command_queue? = queue
        let shape = GEMMShape(transA: transA, transB: transB, m: m, n: n, k: k)
        let temporaryBytes: Int
        if let known = gemmTemporarySizes[shape] {
            temporaryBytes = known
        } else {
            var size = 0
            let status = CLBlastSGemmTempBufferSize(layout, ta, tb, m, n, k, 0, lda, 0, ldb, 0, ldc, &commandQueue, &size)
            guard status == CLBlastSuccess else {
                record(.deviceFailure("CLBlast error on \(device.name): CLBlastSGemmTempBufferSize returned \(OpenCLStatus.clblastName(status))"))
                return
            }
            gemmTemporarySizes[shape] = size
            temporaryBytes = size
        }
        let temporaryCount = max(1, (temporaryBytes + 3) / 4)
        if gemmTemporary == nil || gemmTemporary!.count < temporaryCount {
            gemmTemporary = makeBuffer(count: temporaryCount) as? OpenCLBuffer
        }
        guard let temporary = gemmTemporary?.memory else { return }
        counts.launches += 1
        let status = CLBlastSgemmWithTempBuffer(layout, ta, tb, m, n, k, alpha, aMemory, 0, lda, bMemory, 0, ldb,
                                                beta, cMemory, 0, ldc, &commandQueue, nil, temporary)
        if status != CLBlastSuccess {
            record(.deviceFailure("CLBlast error on \(device.name): CLBlastSgemm(m=\(m), n=\(n), k=\(k)) returned \(OpenCLStatus.clblastName(status))"))
        }
    }

    public func biasActivationForward(preActivation z: DeviceBuffer, bias: DeviceBuffer?, output y: DeviceBuffer,
                                      rows: Int, columns: Int, activation: Activation) {
        if activation == .softmax {
            launch("bias_softmax_forward", items: rows, [.buffer(z), .buffer(bias), .int(bias == nil ? 0 : 1), .buffer(y),
                                                         .int(rows), .int(columns)])
        } else {
            launch("bias_activation_forward", items: rows * columns, [.buffer(z), .buffer(bias), .int(bias == nil ? 0 : 1),
                                                                      .buffer(y), .int(rows), .int(columns), .int(activation.kernelCode)])
        }
    }

    public func activationBackward(outputGradient dy: DeviceBuffer, preActivation z: DeviceBuffer, output y: DeviceBuffer,
                                   inputGradient dz: DeviceBuffer, rows: Int, columns: Int, activation: Activation) {
        if activation == .softmax {
            launch("softmax_backward", items: rows, [.buffer(dy), .buffer(y), .buffer(dz), .int(rows), .int(columns)])
        } else {
            launch("activation_backward", items: rows * columns, [.buffer(dy), .buffer(z), .buffer(y), .buffer(dz),
                                                                  .int(rows * columns), .int(activation.kernelCode)])
        }
    }

    public func columnSums(_ matrix: DeviceBuffer, rows: Int, columns: Int, into out: DeviceBuffer) {
        launch("column_sums", items: columns, [.buffer(matrix), .buffer(out), .int(rows), .int(columns)])
    }

    public func gatherRows(source: DeviceBuffer, rowLength: Int, indices: DeviceBuffer, indexOffset: Int, rows: Int,
                           destination: DeviceBuffer) {
        precondition(rows * rowLength <= destination.count && indexOffset + rows <= indices.count, "gatherRows: buffer too small")
        launch("gather_rows", items: rows * rowLength, [.buffer(source), .buffer(indices), .int(indexOffset),
                                                         .buffer(destination), .int(rows), .int(rowLength)])
    }

    public func randomUniform(_ buffer: DeviceBuffer, count: Int, seed: UInt64, stream: UInt64, low: Float, high: Float) {
        launch("random_uniform", items: count, [.buffer(buffer), .int(count),
                                                .uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
                                                .uint(UInt32(truncatingIfNeeded: stream)), .uint(UInt32(truncatingIfNeeded: stream >> 32)),
                                                .float(low), .float(high)])
    }

    // MARK: Losses and metrics

    /// Per-row losses into scratch, then one work-group adds their sum to the accumulator: no host read.
    public func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer, sampleWeights: DeviceBuffer?,
                                    rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                                    accumulator: DeviceBuffer, accumulatorIndex: Int) {
        let rowLoss = scratch(rows)
        let code = loss.kernelCode
        launch("loss_rows", items: rows, [.int(code.kind), .int(code.fromLogits ? 1 : 0), .buffer(predictions), .buffer(targets),
                                          .buffer(sampleWeights), .int(sampleWeights == nil ? 0 : 1), .int(rows), .int(columns), .buffer(gradient), .int(gradient == nil ? 0 : 1),
                                          .float(gradientScale), .buffer(rowLoss)])
        accumulate(rowLoss, count: rows, into: accumulator, index: accumulatorIndex)
    }

    public func accuracyCount(_ kind: AccuracyKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                              rows: Int, columns: Int, accumulator: DeviceBuffer, accumulatorIndex: Int) {
        let rowCorrect = scratch(rows)
        launch("accuracy_rows", items: rows, [.int(kind.kernelCode), .buffer(predictions), .buffer(targets), .int(rows),
                                              .int(columns), .buffer(rowCorrect)])
        accumulate(rowCorrect, count: rows, into: accumulator, index: accumulatorIndex)
    }

    public func topKAccuracyCount(predictions: DeviceBuffer, targets: DeviceBuffer, rows: Int, columns: Int, k: Int, sparse: Bool,
                                  accumulator: DeviceBuffer, index: Int) {
        let rowCorrect = scratch(rows)
        launch("top_k_rows", items: rows, [.buffer(predictions), .buffer(targets), .int(rows), .int(columns), .int(k),
                                           .int(sparse ? 1 : 0), .buffer(rowCorrect)])
        accumulate(rowCorrect, count: rows, into: accumulator, index: index)
    }

    public func confusionCounts(predictions: DeviceBuffer, targets: DeviceBuffer, count: Int, thresholds: DeviceBuffer,
                                thresholdCount: Int, accumulator: DeviceBuffer, index: Int) {
        launch("confusion_counts", items: thresholdCount, [.buffer(predictions), .buffer(targets), .int(count), .buffer(thresholds),
                                                           .int(thresholdCount), .buffer(accumulator), .int(index)])
    }

    /// `accumulator[index] += scale·Σ term(values)`, term by `mode` (reduce.cl): 0 v, 1 v², 2 l1·|v| + l2·v².
    func accumulate(_ values: DeviceBuffer, count: Int, into accumulator: DeviceBuffer, index: Int, mode: Int = 0,
                    l1: Float = 0, l2: Float = 0, scale: Float = 1) {
        launch("accumulate_sum", items: reduceWorkGroup, local: reduceWorkGroup,
               [.buffer(values), .int(count), .buffer(accumulator), .int(index), .int(mode), .float(l1), .float(l2), .float(scale)])
    }

    // MARK: Optimizers

    public func sgdUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, velocity: DeviceBuffer?, count: Int,
                          learningRate: Float, momentum: Float, nesterov: Bool) {
        let useVelocity = velocity != nil && momentum != 0
        launch("sgd_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(useVelocity ? velocity : nil),
                                            .int(useVelocity ? 1 : 0), .int(count), .float(learningRate), .float(momentum),
                                            .int(nesterov ? 1 : 0)])
    }

    public func adamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, vMax: DeviceBuffer?,
                           count: Int, stepSize: Float, beta1: Float, beta2: Float, epsilon: Float) {
        launch("adam_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(m), .buffer(v), .buffer(vMax),
                                             .int(vMax == nil ? 0 : 1), .int(count), .float(stepSize), .float(beta1), .float(beta2),
                                             .float(epsilon)])
    }

    public func rmspropUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, v: DeviceBuffer, momentumBuffer: DeviceBuffer?,
                              average: DeviceBuffer?, count: Int, learningRate: Float, rho: Float, momentum: Float, epsilon: Float) {
        launch("rmsprop_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(v), .buffer(momentumBuffer),
                                                .int(momentumBuffer == nil ? 0 : 1), .buffer(average), .int(average == nil ? 0 : 1),
                                                .int(count), .float(learningRate), .float(rho), .float(momentum), .float(epsilon)])
    }

    public func adagradUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, accumulator: DeviceBuffer, count: Int,
                              learningRate: Float, epsilon: Float) {
        launch("adagrad_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(accumulator), .int(count),
                                                .float(learningRate), .float(epsilon)])
    }

    public func nadamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, count: Int,
                            learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, schedule: NadamScalars) {
        launch("nadam_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(m), .buffer(v), .int(count),
                                              .float(learningRate), .float(beta1), .float(beta2), .float(epsilon), .float(schedule.uT),
                                              .float(schedule.uNext), .float(schedule.productT), .float(schedule.productNext),
                                              .float(schedule.beta2Power)])
    }

    public func decayWeights(_ weights: DeviceBuffer, count: Int, decay: Float, learningRate: Float) {
        launch("decay_weights", items: count, [.buffer(weights), .int(count), .float(decay), .float(learningRate)])
    }

    // MARK: Clipping and regularization

    public func accumulateSumOfSquares(_ buffer: DeviceBuffer, count: Int, accumulator: DeviceBuffer, index: Int) {
        accumulate(buffer, count: count, into: accumulator, index: index, mode: 1)
    }

    public func clipByNorm(_ buffer: DeviceBuffer, count: Int, sumOfSquares: DeviceBuffer, index: Int, clipNorm: Float) {
        launch("clip_by_norm", items: count, [.buffer(buffer), .int(count), .buffer(sumOfSquares), .int(index), .float(clipNorm)])
    }

    public func clipByValue(_ buffer: DeviceBuffer, count: Int, limit: Float) {
        launch("clip_by_value", items: count, [.buffer(buffer), .int(count), .float(limit)])
    }

    public func regularizationPenalty(_ weights: DeviceBuffer, count: Int, l1: Float, l2: Float, scale: Float,
                                      accumulator: DeviceBuffer, index: Int) {
        accumulate(weights, count: count, into: accumulator, index: index, mode: 2, l1: l1, l2: l2, scale: scale)
    }

    public func regularizationGradient(_ weights: DeviceBuffer, gradients: DeviceBuffer, count: Int, l1: Float, l2: Float) {
        launch("regularization_gradient", items: count, [.buffer(weights), .buffer(gradients), .int(count), .float(l1), .float(l2)])
    }

    // MARK: Dropout and batch normalization

    public func dropout(_ input: DeviceBuffer, output: DeviceBuffer, count: Int, rate: Float, seed: UInt64, stream: UInt64, block: UInt64) {
        launch("dropout", items: count, [.buffer(input), .buffer(output), .int(count), .float(rate),
                                         .uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
                                         .uint(UInt32(truncatingIfNeeded: stream)), .uint(UInt32(truncatingIfNeeded: stream >> 32)),
                                         .uint(UInt32(truncatingIfNeeded: block)), .uint(UInt32(truncatingIfNeeded: block >> 32))])
    }

    public func batchNormTraining(_ x: DeviceBuffer, output y: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer,
                                  gamma: DeviceBuffer, beta: DeviceBuffer, movingMean: DeviceBuffer, movingVariance: DeviceBuffer,
                                  rows: Int, columns: Int, momentum: Float, epsilon: Float) {
        launch("batch_norm_training", items: columns, [.buffer(x), .buffer(y), .buffer(normalized), .buffer(inverseStd), .buffer(gamma),
                                                       .buffer(beta), .buffer(movingMean), .buffer(movingVariance), .int(rows),
                                                       .int(columns), .float(momentum), .float(epsilon)])
    }

    public func batchNormInference(_ x: DeviceBuffer, output y: DeviceBuffer, gamma: DeviceBuffer, beta: DeviceBuffer,
                                   movingMean: DeviceBuffer, movingVariance: DeviceBuffer, rows: Int, columns: Int, epsilon: Float) {
        launch("batch_norm_inference", items: rows * columns, [.buffer(x), .buffer(y), .buffer(gamma), .buffer(beta), .buffer(movingMean),
                                                               .buffer(movingVariance), .int(rows), .int(columns), .float(epsilon)])
    }

    public func batchNormBackward(outputGradient dy: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer, gamma: DeviceBuffer,
                                  inputGradient dx: DeviceBuffer, gammaGradient: DeviceBuffer, betaGradient: DeviceBuffer, rows: Int, columns: Int) {
        launch("batch_norm_backward", items: columns, [.buffer(dy), .buffer(normalized), .buffer(inverseStd), .buffer(gamma), .buffer(dx),
                                                       .buffer(gammaGradient), .buffer(betaGradient), .int(rows), .int(columns)])
    }
}
