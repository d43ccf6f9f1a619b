import Foundation

/// The plain reference implementation of every ``Backend`` op: straight loops over row-major buffers,
/// written to be read and checked, not to be fast.
///
/// ``CPUBackend`` runs these directly for the element-wise ops (they are memory-bound and already
/// simple); for GEMM it runs an optimised kernel that the tests check against ``gemm(transA:transB:m:n:k:alpha:a:b:beta:c:)``.
/// The OpenCL backend's parity tests compare against ``CPUBackend``.
public enum CPUReference {
    // MARK: GEMM

    /// `C = alpha·op(A)·op(B) + beta·C`; `A` is (m, k) or, transposed, stored (k, m); `B` is (k, n) or
    /// stored (n, k). The triple loop, accumulating in `Float` in the order of `k`.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let aValue = transA ? a[p * m + i] : a[i * k + p]
                    let bValue = transB ? b[j * k + p] : b[p * n + j]
                    sum += aValue * bValue
                }
                let old = beta == 0 ? 0 : beta * c[i * n + j]
                c[i * n + j] = alpha * sum + old
            }
        }
    }

    // MARK: Activations

    /// `Z += bias` (if any), `Y = f(Z)`; `Z`, `Y` are (rows, columns).
    public static func biasActivationForward(z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                                             y: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
                                             activation: Activation) {
        for r in 0..<rows {
            let zRow = z + r * columns, yRow = y + r * columns
            if let bias {
                for j in 0..<columns { zRow[j] += bias[j] }
            }
            if activation == .softmax {
                softmaxRow(zRow, into: yRow, count: columns)
            } else {
                for j in 0..<columns { yRow[j] = activation.value(zRow[j]) }
            }
        }
    }

    /// `y = exp(z − max z) / Σ exp(z − max z)` for one row.
    public static func softmaxRow(_ z: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for j in 0..<count { maximum = max(maximum, z[j]) }
        var sum: Float = 0
        for j in 0..<count { y[j] = exp(z[j] - maximum); sum += y[j] }
        for j in 0..<count { y[j] /= sum }
    }

    /// `dZ = f'(Z) ⊙ dY`; for softmax `dZ = Y ⊙ (dY − Σ_j dY_j·Y_j)` row by row.
    public static func activationBackward(dy: UnsafePointer<Float>, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                                          dz: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
                                          activation: Activation) {
        if activation == .softmax {
            for r in 0..<rows {
                let o = r * columns
                var dot: Float = 0
                for j in 0..<columns { dot += dy[o + j] * y[o + j] }
                for j in 0..<columns { dz[o + j] = y[o + j] * (dy[o + j] - dot) }
            }
            return
        }
        for i in 0..<(rows * columns) {
            dz[i] = dy[i] * activation.derivative(z: z[i], y: y[i])
        }
    }

    /// `out[j] = Σ_i M[i, j]`.
    public static func columnSums(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<columns { out[j] = 0 }
        for i in 0..<rows {
            for j in 0..<columns { out[j] += matrix[i * columns + j] }
        }
    }

    /// Row gather: `destination[r] = source[indices[r]]` for `r < rows`.
    public static func gatherRows(source: UnsafePointer<Float>, rowLength: Int, indices: UnsafePointer<Int32>, rows: Int,
                                  destination: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            (destination + r * rowLength).update(from: source + Int(indices[r]) * rowLength, count: rowLength)
        }
    }

    /// `low + (high − low)·u` for the Philox uniforms of (seed, stream), in draw order.
    public static func randomUniform(_ out: UnsafeMutablePointer<Float>, count: Int, seed: UInt64, stream: UInt64,
                                     low: Float, high: Float) {
        var random = PhiloxRandom(seed: seed, stream: stream)
        for i in 0..<count { out[i] = low + (high - low) * random.nextUniform() }
    }

    // MARK: Losses

    /// Per-sample losses summed into `total`, and `gradientScale·∂/∂predictions` into `gradient`.
    /// See ``Backend/lossForwardBackward(_:predictions:targets:rows:columns:gradient:gradientScale:accumulator:accumulatorIndex:)``.
    public static func lossForwardBackward(_ loss: LossKind, predictions p: UnsafePointer<Float>, targets t: UnsafePointer<Float>,
                                           sampleWeights w: UnsafePointer<Float>? = nil,
                                           rows: Int, columns: Int, gradient g: UnsafeMutablePointer<Float>?,
                                           gradientScale scale: Float) -> Float {
        let eps = LossKind.epsilon
        let perColumn = 1 / Float(columns)
        var total: Float = 0
        for r in 0..<rows {
            let o = r * columns
            var sample: Float = 0
            switch loss {
            case .meanSquaredError:
                for j in 0..<columns {
                    let d = p[o + j] - t[o + j]
                    sample += d * d
                    g?[o + j] = scale * 2 * d * perColumn
                }
                sample *= perColumn
            case .meanAbsoluteError:
                for j in 0..<columns {
                    let d = p[o + j] - t[o + j]
                    sample += abs(d)
                    g?[o + j] = scale * (d > 0 ? 1 : (d < 0 ? -1 : 0)) * perColumn
                }
                sample *= perColumn
            case .binaryCrossentropy(fromLogits: true):
                for j in 0..<columns {
                    let z = p[o + j], y = t[o + j]
                    sample += max(z, 0) - z * y + log1p(exp(-abs(z)))
                    g?[o + j] = scale * (Activation.sigmoid(z) - y) * perColumn
                }
                sample *= perColumn
            case .binaryCrossentropy(fromLogits: false):
                for j in 0..<columns {
                    let y = t[o + j], q = min(max(p[o + j], eps), 1 - eps)
                    sample -= y * log(q) + (1 - y) * log(1 - q)
                    let inside = p[o + j] > eps && p[o + j] < 1 - eps
                    g?[o + j] = inside ? scale * (-y / q + (1 - y) / (1 - q)) * perColumn : 0
                }
                sample *= perColumn
            case .categoricalCrossentropy(fromLogits: true):
                sample = crossEntropyFromLogits(p + o, columns: columns, gradient: g.map { $0 + o }, scale: scale) { t[o + $0] }
            case .categoricalCrossentropy(fromLogits: false):
                sample = crossEntropyFromProbabilities(p + o, columns: columns, gradient: g.map { $0 + o }, scale: scale) { t[o + $0] }
            case .sparseCategoricalCrossentropy(let fromLogits):
                let label = t[r]
                let target: (Int) -> Float = { Float($0) == label ? 1 : 0 }
                if label < 0 || label >= Float(columns) || label != label.rounded() {
                    sample = .nan
                } else if fromLogits {
                    sample = crossEntropyFromLogits(p + o, columns: columns, gradient: g.map { $0 + o }, scale: scale, target: target)
                } else {
                    sample = crossEntropyFromProbabilities(p + o, columns: columns, gradient: g.map { $0 + o }, scale: scale, target: target)
                }
            }
            if let w {
                sample *= w[r]
                if let g { for j in 0..<columns { g[o + j] *= w[r] } }
            }
            total += sample
        }
        return total
    }

    /// Samples whose target class is among the `k` largest predictions (ties count against: a class is in
    /// the top k when fewer than k classes score strictly higher).
    public static func topKAccuracyCount(predictions p: UnsafePointer<Float>, targets t: UnsafePointer<Float>, rows: Int, columns: Int,
                                         k: Int, sparse: Bool) -> Float {
        var correct: Float = 0
        for r in 0..<rows {
            let o = r * columns
            let target = sparse ? Int(t[r]) : argmax(t + o, columns)
            guard target >= 0 && target < columns else { continue }
            var higher = 0
            for j in 0..<columns where p[o + j] > p[o + target] { higher += 1 }
            if higher < k { correct += 1 }
        }
        return correct
    }

    /// (TP, FP, TN, FN) of `p > threshold` against `t > 0.5`, per threshold.
    public static func confusionCounts(predictions p: UnsafePointer<Float>, targets t: UnsafePointer<Float>, count: Int,
                                       thresholds: UnsafePointer<Float>, thresholdCount: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<thresholdCount {
            var tp: Float = 0, fp: Float = 0, tn: Float = 0, fn: Float = 0
            for e in 0..<count {
                let positive = p[e] > thresholds[i], actual = t[e] > 0.5
                if positive && actual { tp += 1 } else if positive { fp += 1 } else if actual { fn += 1 } else { tn += 1 }
            }
            out[4 * i] += tp
            out[4 * i + 1] += fp
            out[4 * i + 2] += tn
            out[4 * i + 3] += fn
        }
    }

    /// `−Σ t_j·log_softmax(z)_j`, gradient `softmax(z)_j·Σt − t_j`.
    static func crossEntropyFromLogits(_ z: UnsafePointer<Float>, columns: Int, gradient: UnsafeMutablePointer<Float>?,
                                       scale: Float, target: (Int) -> Float) -> Float {
        var maximum = -Float.infinity
        for j in 0..<columns { maximum = max(maximum, z[j]) }
        var sumExp: Float = 0
        for j in 0..<columns { sumExp += exp(z[j] - maximum) }
        let logSumExp = maximum + log(sumExp)
        var loss: Float = 0, targetSum: Float = 0
        for j in 0..<columns {
            let y = target(j)
            loss -= y * (z[j] - logSumExp)
            targetSum += y
        }
        if let gradient {
            for j in 0..<columns {
                gradient[j] = scale * (exp(z[j] - logSumExp) * targetSum - target(j))
            }
        }
        return loss
    }

    /// Keras 3: `q = p / Σp`, clipped to `[ε, 1−ε]`, loss `−Σ t·log q`; gradient through the
    /// normalisation, zero where the clip is active.
    static func crossEntropyFromProbabilities(_ p: UnsafePointer<Float>, columns: Int, gradient: UnsafeMutablePointer<Float>?,
                                              scale: Float, target: (Int) -> Float) -> Float {
        let eps = LossKind.epsilon
        var sum: Float = 0
        for j in 0..<columns { sum += p[j] }
        var loss: Float = 0, weighted: Float = 0
        for j in 0..<columns {
            let q = p[j] / sum
            let clipped = min(max(q, eps), 1 - eps)
            loss -= target(j) * log(clipped)
            if q > eps && q < 1 - eps { weighted += (-target(j) / clipped) * q }
        }
        if let gradient {
            for j in 0..<columns {
                let q = p[j] / sum
                let local: Float = (q > eps && q < 1 - eps) ? -target(j) / q : 0
                gradient[j] = scale * (local - weighted) / sum
            }
        }
        return loss
    }

    // MARK: Metrics

    /// Correct predictions among `rows` samples (binary accuracy counts a sample's mean over outputs).
    public static func accuracyCount(_ kind: AccuracyKind, predictions p: UnsafePointer<Float>, targets t: UnsafePointer<Float>,
                                     rows: Int, columns: Int) -> Float {
        var correct: Float = 0
        for r in 0..<rows {
            let o = r * columns
            switch kind {
            case .binary:
                var hits: Float = 0
                for j in 0..<columns where (p[o + j] > 0.5 ? 1 : 0) == t[o + j] { hits += 1 }
                correct += hits / Float(columns)
            case .categorical:
                if argmax(p + o, columns) == argmax(t + o, columns) { correct += 1 }
            case .sparseCategorical:
                if Float(argmax(p + o, columns)) == t[r] { correct += 1 }
            }
        }
        return correct
    }

    /// The first index of the largest value.
    static func argmax(_ row: UnsafePointer<Float>, _ count: Int) -> Int {
        var best = 0
        for j in 1..<max(count, 1) where row[j] > row[best] { best = j }
        return best
    }

    // MARK: Optimizers

    public static func sgdUpdate(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, velocity: UnsafeMutablePointer<Float>?,
                                 count: Int, learningRate lr: Float, momentum: Float, nesterov: Bool) {
        guard let v = velocity, momentum != 0 else {
            for i in 0..<count { w[i] -= lr * g[i] }
            return
        }
        for i in 0..<count {
            v[i] = momentum * v[i] - lr * g[i]
            w[i] += nesterov ? momentum * v[i] - lr * g[i] : v[i]
        }
    }

    public static func adamUpdate(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                  v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, count: Int, stepSize: Float,
                                  beta1: Float, beta2: Float, epsilon: Float) {
        for i in 0..<count {
            m[i] += (g[i] - m[i]) * (1 - beta1)
            v[i] += (g[i] * g[i] - v[i]) * (1 - beta2)
            // Moments under the smallest normal float are stored as zero: a unit whose gradient stays zero (a dead
            // ReLU) would otherwise decay its m into subnormals within a few hundred steps, which made every later
            // update of it 3.5× slower on x86; TensorFlow's CPU kernels flush subnormals to zero as well.
            if abs(m[i]) < Float.leastNormalMagnitude { m[i] = 0 }
            if abs(v[i]) < Float.leastNormalMagnitude { v[i] = 0 }
            var denominatorSource = v[i]
            if let vMax {
                vMax[i] = max(vMax[i], v[i])
                denominatorSource = vMax[i]
            }
            w[i] -= stepSize * m[i] / (denominatorSource.squareRoot() + epsilon)
        }
    }

    public static func rmspropUpdate(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>,
                                     momentumBuffer: UnsafeMutablePointer<Float>?, average: UnsafeMutablePointer<Float>?,
                                     count: Int, learningRate lr: Float, rho: Float, momentum: Float, epsilon: Float) {
        for i in 0..<count {
            v[i] = rho * v[i] + (1 - rho) * (g[i] * g[i])
            var denominator = v[i] + epsilon
            if let average {
                average[i] = rho * average[i] + (1 - rho) * g[i]
                denominator = v[i] - average[i] * average[i] + epsilon
            }
            let increment = lr * g[i] / denominator.squareRoot()
            if let momentumBuffer {
                momentumBuffer[i] = momentum * momentumBuffer[i] + increment
                w[i] -= momentumBuffer[i]
            } else {
                w[i] -= increment
            }
        }
    }

    public static func adagradUpdate(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, accumulator: UnsafeMutablePointer<Float>,
                                     count: Int, learningRate lr: Float, epsilon: Float) {
        for i in 0..<count {
            accumulator[i] += g[i] * g[i]
            w[i] -= lr * g[i] / (accumulator[i] + epsilon).squareRoot()
        }
    }

    public static func nadamUpdate(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                   v: UnsafeMutablePointer<Float>, count: Int, learningRate lr: Float, beta1: Float, beta2: Float,
                                   epsilon: Float, schedule s: NadamScalars) {
        for i in 0..<count {
            m[i] += (g[i] - m[i]) * (1 - beta1)
            v[i] += (g[i] * g[i] - v[i]) * (1 - beta2)
            // Subnormal moments stored as zero, as Adam's (same β2, same slow decay through the subnormals).
            if abs(m[i]) < Float.leastNormalMagnitude { m[i] = 0 }
            if abs(v[i]) < Float.leastNormalMagnitude { v[i] = 0 }
            let mHat = s.uNext * m[i] / (1 - s.productNext) + (1 - s.uT) * g[i] / (1 - s.productT)
            let vHat = v[i] / (1 - s.beta2Power)
            w[i] -= mHat * lr / (vHat.squareRoot() + epsilon)
        }
    }

    public static func decayWeights(_ w: UnsafeMutablePointer<Float>, count: Int, decay: Float, learningRate: Float) {
        for i in 0..<count { w[i] = w[i] - w[i] * decay * learningRate }
    }

    // MARK: Clipping and regularization

    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for i in 0..<count { sum += x[i] * x[i] }
        return sum
    }

    public static func clipByNorm(_ x: UnsafeMutablePointer<Float>, count: Int, sumOfSquares: Float, clipNorm: Float) {
        let norm = sumOfSquares > 0 ? sumOfSquares.squareRoot() : 0
        let denominator = max(norm, clipNorm)
        for i in 0..<count { x[i] = x[i] * clipNorm / denominator }
    }

    public static func clipByValue(_ x: UnsafeMutablePointer<Float>, count: Int, limit: Float) {
        for i in 0..<count { x[i] = min(max(x[i], -limit), limit) }
    }

    public static func regularizationPenalty(_ w: UnsafePointer<Float>, count: Int, l1: Float, l2: Float) -> Float {
        var absolute: Float = 0, squares: Float = 0
        for i in 0..<count {
            absolute += abs(w[i])
            squares += w[i] * w[i]
        }
        return l1 * absolute + l2 * squares
    }

    public static func regularizationGradient(_ w: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>, count: Int, l1: Float, l2: Float) {
        for i in 0..<count {
            let sign: Float = w[i] > 0 ? 1 : (w[i] < 0 ? -1 : 0)
            g[i] += l1 * sign + 2 * l2 * w[i]
        }
    }

    // MARK: Dropout and batch normalization

    public static func dropout(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, rate: Float,
                               seed: UInt64, stream: UInt64, block: UInt64) {
        var random = PhiloxRandom(seed: seed, stream: stream, blockIndex: block)
        let scale = 1 / (1 - rate)
        for i in 0..<count {
            y[i] = random.nextUniform() >= rate ? x[i] * scale : 0
        }
    }

    public static func batchNormTraining(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, normalized: UnsafeMutablePointer<Float>,
                                         inverseStd: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                         movingMean: UnsafeMutablePointer<Float>, movingVariance: UnsafeMutablePointer<Float>,
                                         rows: Int, columns: Int, momentum: Float, epsilon: Float) {
        let n = Float(rows)
        for j in 0..<columns {
            var mean: Float = 0
            for r in 0..<rows { mean += x[r * columns + j] }
            mean /= n
            var variance: Float = 0
            for r in 0..<rows {
                let d = x[r * columns + j] - mean
                variance += d * d
            }
            variance /= n
            let s = 1 / (variance + epsilon).squareRoot()
            inverseStd[j] = s
            for r in 0..<rows {
                let o = r * columns + j
                normalized[o] = (x[o] - mean) * s
                y[o] = gamma[j] * normalized[o] + beta[j]
            }
            movingMean[j] = movingMean[j] * momentum + mean * (1 - momentum)
            movingVariance[j] = movingVariance[j] * momentum + variance * (1 - momentum)
        }
    }

    public static func batchNormInference(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
                                          beta: UnsafePointer<Float>, movingMean: UnsafePointer<Float>, movingVariance: UnsafePointer<Float>,
                                          rows: Int, columns: Int, epsilon: Float) {
        for r in 0..<rows {
            for j in 0..<columns {
                let o = r * columns + j
                y[o] = gamma[j] * (x[o] - movingMean[j]) / (movingVariance[j] + epsilon).squareRoot() + beta[j]
            }
        }
    }

    public static func batchNormBackward(dy: UnsafePointer<Float>, normalized: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                                         gamma: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>,
                                         dBeta: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        let n = Float(rows)
        for j in 0..<columns {
            var sumDy: Float = 0, sumDyX: Float = 0
            for r in 0..<rows {
                let o = r * columns + j
                sumDy += dy[o]
                sumDyX += dy[o] * normalized[o]
            }
            dGamma[j] = sumDyX
            dBeta[j] = sumDy
            let factor = gamma[j] * inverseStd[j] / n
            for r in 0..<rows {
                let o = r * columns + j
                dx[o] = factor * (n * dy[o] - sumDy - normalized[o] * sumDyX)
            }
        }
    }
}
