/// The vectorised element-wise ops of ``CPUBackend``: `SIMD8` loops that do the ``CPUReference`` arithmetic
/// in the same order (so their results are bit-identical to it, which the tests assert), with the last
/// `count mod 8` elements handed to the reference loop. Large tensors are split among the GEMM worker pool.
///
/// Covered: every optimizer update (Adam/AMSGrad, SGD plain, momentum and Nesterov, RMSprop with and without momentum
/// and centering, Adagrad, Nadam), column sums, and sums of squares (not bit-identical: see
/// ``sumOfSquaresVectorised(_:count:)``); the activations are in CPUBackend+Activations.swift.
/// One vectorised element-wise call, with its operands, so the pool can run it in chunks (a stored value: handing
/// it to the pool allocates nothing, unlike a closure that captures the operands).
enum ElementwiseKernel {
    case none
    case adam(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
              vMax: UnsafeMutablePointer<Float>?, stepSize: Float, beta1: Float, beta2: Float, epsilon: Float)
    case sgd(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, velocity: UnsafeMutablePointer<Float>?, learningRate: Float,
             momentum: Float, nesterov: Bool)
    case rmsprop(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>,
                 momentumBuffer: UnsafeMutablePointer<Float>?, average: UnsafeMutablePointer<Float>?, learningRate: Float, rho: Float,
                 momentum: Float, epsilon: Float)
    case adagrad(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, accumulator: UnsafeMutablePointer<Float>, learningRate: Float,
                 epsilon: Float)
    case nadam(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
               learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, schedule: NadamScalars)
    /// The activations with a vectorised form (``CPUBackend/hasVectorisedForward(_:)``); elements are whole rows.
    case biasActivation(z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, columns: Int,
                        activation: Activation)
    case activationBackward(dy: UnsafePointer<Float>, z: UnsafePointer<Float>, y: UnsafePointer<Float>, dz: UnsafeMutablePointer<Float>,
                            activation: Activation)

    /// Runs the call on elements `range`.
    func run(_ range: Range<Int>) {
        switch self {
        case .none:
            break
        case let .adam(w, g, m, v, vMax, stepSize, beta1, beta2, epsilon):
            CPUBackend.adamUpdateVectorised(w: w, g: g, m: m, v: v, vMax: vMax, range: range, stepSize: stepSize, beta1: beta1,
                                            beta2: beta2, epsilon: epsilon)
        case let .sgd(w, g, velocity, learningRate, momentum, nesterov):
            CPUBackend.sgdUpdateVectorised(w: w, g: g, velocity: velocity, range: range, learningRate: learningRate, momentum: momentum,
                                           nesterov: nesterov)
        case let .rmsprop(w, g, v, momentumBuffer, average, learningRate, rho, momentum, epsilon):
            CPUBackend.rmspropUpdateVectorised(w: w, g: g, v: v, momentumBuffer: momentumBuffer, average: average, range: range,
                                               learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon)
        case let .adagrad(w, g, accumulator, learningRate, epsilon):
            CPUBackend.adagradUpdateVectorised(w: w, g: g, accumulator: accumulator, range: range, learningRate: learningRate,
                                               epsilon: epsilon)
        case let .nadam(w, g, m, v, learningRate, beta1, beta2, epsilon, schedule):
            CPUBackend.nadamUpdateVectorised(w: w, g: g, m: m, v: v, range: range, learningRate: learningRate, beta1: beta1,
                                             beta2: beta2, epsilon: epsilon, schedule: schedule)
        case let .biasActivation(z, bias, y, columns, activation):
            let rows = (range.lowerBound + columns - 1) / columns ..< (range.upperBound + columns - 1) / columns
            CPUBackend.biasActivationForwardVectorised(z: z, bias: bias, y: y, rows: rows, columns: columns, activation: activation)
        case let .activationBackward(dy, z, y, dz, activation):
            CPUBackend.activationBackwardVectorised(dy: dy, z: z, y: y, dz: dz, range: range, activation: activation)
        }
    }
}

/// The element-wise call the pool is running (read by its workers).
final class ElementwiseWork {
    // Written before the pool runs, read while it does (no dynamic exclusivity checks needed).
    @exclusivity(unchecked) var kernel = ElementwiseKernel.none
    @exclusivity(unchecked) var count = 0

    /// Participant `participant`'s contiguous share, a multiple of 16 floats (no two threads write one cache line).
    func runChunk(participant: Int, participants: Int) {
        let chunk = ((count + participants - 1) / participants + 15) & ~15
        let start = min(count, participant * chunk), end = min(count, start + chunk)
        if start < end { kernel.run(start..<end) }
    }
}

extension CPUBackend {
    /// Element count from which an element-wise op is split among the pool (below it, handing over the task and
    /// moving the operands' cache lines between cores cost more than the second core gains).
    static let elementwiseParallelThreshold = 1 << 16

    /// Runs `kernel` over elements `0..<count`: on the caller alone for small counts, else split among the pool.
    func run(_ kernel: ElementwiseKernel, count: Int) {
        guard let pool, count >= CPUBackend.elementwiseParallelThreshold else {
            kernel.run(0..<count)
            return
        }
        elementwise.kernel = kernel
        elementwise.count = count
        pool.run(elementwiseTask)
        elementwise.kernel = .none
    }

    /// ``CPUReference/adamUpdate(w:g:m:v:vMax:count:stepSize:beta1:beta2:epsilon:)``, eight lanes at a time.
    static func adamUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                     v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, range: Range<Int>,
                                     stepSize: Float, beta1: Float, beta2: Float, epsilon: Float) {
        let factors = AdamFactors(keepM: SIMD8(repeating: 1 - beta1), keepV: SIMD8(repeating: 1 - beta2),
                                  step: SIMD8(repeating: stepSize), epsilon: SIMD8(repeating: epsilon))
        // Two copies of the loop, so that the one without AMSGrad's running maximum has no branch on it.
        if let vMax {
            adamLoop(w: w, g: g, m: m, v: v, vMax: vMax, range: range, factors: factors)
        } else {
            adamLoop(w: w, g: g, m: m, v: v, vMax: nil, range: range, factors: factors)
        }
    }

    /// Adam's per-call constants, one per lane.
    struct AdamFactors {
        let keepM: SIMD8<Float>, keepV: SIMD8<Float>, step: SIMD8<Float>, epsilon: SIMD8<Float>
    }

    /// Adam over `range`. A tail of 1–7 elements: the last 8 elements are computed first, from their old values, and
    /// stored after the loop (the lanes the loop also wrote get the same values again), so there is no scalar square
    /// root and division per element; a range under 8 elements takes one partial vector.
    @inline(always) static func adamLoop(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                         v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, range: Range<Int>,
                                         factors: AdamFactors) {
        let upper = range.upperBound
        guard range.count >= 8 else {
            let lanes = range.count, i = range.lowerBound
            if lanes > 0 {
                adamStore(adamLanes(w: w, g: g, m: m, v: v, vMax: vMax, at: i, lanes: lanes, factors: factors),
                          w: w, m: m, v: v, vMax: vMax, at: i, lanes: lanes)
            }
            return
        }
        let hasTail = range.count % 8 != 0
        var tail: AdamLanes = (SIMD8(), SIMD8(), SIMD8(), SIMD8())
        if hasTail { tail = adamLanes(w: w, g: g, m: m, v: v, vMax: vMax, at: upper - 8, lanes: 8, factors: factors) }
        var i = range.lowerBound
        while i + 8 <= upper {
            adamStore(adamLanes(w: w, g: g, m: m, v: v, vMax: vMax, at: i, lanes: 8, factors: factors),
                      w: w, m: m, v: v, vMax: vMax, at: i, lanes: 8)
            i += 8
        }
        if hasTail { adamStore(tail, w: w, m: m, v: v, vMax: vMax, at: upper - 8, lanes: 8) }
    }

    typealias AdamLanes = (w: SIMD8<Float>, m: SIMD8<Float>, v: SIMD8<Float>, vMax: SIMD8<Float>)

    /// Adam's new values for lanes `0..<lanes` from `i`: the arithmetic of the scalar reference, lane by lane.
    @inline(always) static func adamLanes(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                          v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, at i: Int,
                                          lanes: Int, factors: AdamFactors) -> AdamLanes {
        let gi = load(g + i, lanes: lanes), mOld = load(m + i, lanes: lanes), vOld = load(v + i, lanes: lanes)
        // Subnormal moments stored as zero, as in the reference.
        let mi = flushSubnormals(mOld + (gi - mOld) * factors.keepM)
        let vi = flushSubnormals(vOld + (gi * gi - vOld) * factors.keepV)
        var denominatorSource = vi
        if let vMax {
            // The reference's `max(vMax, v)` (`v >= vMax ? v : vMax`, lane by lane; the library's `pointwiseMax` was
            // a call per vector).
            let old = load(vMax + i, lanes: lanes)
            denominatorSource = old.replacing(with: vi, where: vi .>= old)
        }
        return (load(w + i, lanes: lanes) - factors.step * mi / (denominatorSource.squareRoot() + factors.epsilon),
                mi, vi, denominatorSource)
    }

    @inline(always) static func adamStore(_ values: AdamLanes, w: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
                                          v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, at i: Int, lanes: Int) {
        store(values.m, m + i, lanes: lanes)
        store(values.v, v + i, lanes: lanes)
        if let vMax { store(values.vMax, vMax + i, lanes: lanes) }
        store(values.w, w + i, lanes: lanes)
    }

    /// ``CPUReference/rmspropUpdate(w:g:v:momentumBuffer:average:count:learningRate:rho:momentum:epsilon:)``, eight
    /// lanes at a time (the last `count mod 8` values by the reference loop).
    static func rmspropUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>,
                                        momentumBuffer: UnsafeMutablePointer<Float>?, average: UnsafeMutablePointer<Float>?,
                                        range: Range<Int>, learningRate: Float, rho: Float, momentum: Float, epsilon: Float) {
        let lr = SIMD8<Float>(repeating: learningRate), decay = SIMD8<Float>(repeating: rho)
        let keep = SIMD8<Float>(repeating: 1 - rho), mu = SIMD8<Float>(repeating: momentum), eps = SIMD8<Float>(repeating: epsilon)
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let gi = load(g + i)
            let vi = decay * load(v + i) + keep * (gi * gi)
            store(vi, v + i)
            var denominator = vi + eps
            if let average {
                let ai = decay * load(average + i) + keep * gi
                store(ai, average + i)
                denominator = vi - ai * ai + eps
            }
            let increment = lr * gi / denominator.squareRoot()
            if let momentumBuffer {
                let bi = mu * load(momentumBuffer + i) + increment
                store(bi, momentumBuffer + i)
                store(load(w + i) - bi, w + i)
            } else {
                store(load(w + i) - increment, w + i)
            }
            i += 8
        }
        CPUReference.rmspropUpdate(w: w + i, g: g + i, v: v + i, momentumBuffer: momentumBuffer.map { $0 + i },
                                   average: average.map { $0 + i }, count: range.upperBound - i, learningRate: learningRate, rho: rho,
                                   momentum: momentum, epsilon: epsilon)
    }

    /// ``CPUReference/adagradUpdate(w:g:accumulator:count:learningRate:epsilon:)``, eight lanes at a time (the last
    /// `count mod 8` values by the reference loop).
    static func adagradUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, accumulator: UnsafeMutablePointer<Float>,
                                        range: Range<Int>, learningRate: Float, epsilon: Float) {
        let lr = SIMD8<Float>(repeating: learningRate), eps = SIMD8<Float>(repeating: epsilon)
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let gi = load(g + i)
            let a = load(accumulator + i) + gi * gi
            store(a, accumulator + i)
            store(load(w + i) - lr * gi / (a + eps).squareRoot(), w + i)
            i += 8
        }
        CPUReference.adagradUpdate(w: w + i, g: g + i, accumulator: accumulator + i, count: range.upperBound - i,
                                   learningRate: learningRate, epsilon: epsilon)
    }

    /// ``CPUReference/nadamUpdate(w:g:m:v:count:learningRate:beta1:beta2:epsilon:schedule:)``, eight lanes at a time
    /// (the last `count mod 8` values by the reference loop). Subnormal moments are stored as zero, as Adam's.
    static func nadamUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                      v: UnsafeMutablePointer<Float>, range: Range<Int>, learningRate: Float, beta1: Float,
                                      beta2: Float, epsilon: Float, schedule s: NadamScalars) {
        let keepM = SIMD8<Float>(repeating: 1 - beta1), keepV = SIMD8<Float>(repeating: 1 - beta2)
        let uNext = SIMD8<Float>(repeating: s.uNext), productNext = SIMD8<Float>(repeating: 1 - s.productNext)
        let gradientShare = SIMD8<Float>(repeating: 1 - s.uT), productT = SIMD8<Float>(repeating: 1 - s.productT)
        let beta2Power = SIMD8<Float>(repeating: 1 - s.beta2Power)
        let lr = SIMD8<Float>(repeating: learningRate), eps = SIMD8<Float>(repeating: epsilon)
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let gi = load(g + i), mOld = load(m + i), vOld = load(v + i)
            let mi = flushSubnormals(mOld + (gi - mOld) * keepM)
            let vi = flushSubnormals(vOld + (gi * gi - vOld) * keepV)
            store(mi, m + i)
            store(vi, v + i)
            let mHat = uNext * mi / productNext + gradientShare * gi / productT
            let vHat = vi / beta2Power
            store(load(w + i) - mHat * lr / (vHat.squareRoot() + eps), w + i)
            i += 8
        }
        CPUReference.nadamUpdate(w: w + i, g: g + i, m: m + i, v: v + i, count: range.upperBound - i, learningRate: learningRate,
                                 beta1: beta1, beta2: beta2, epsilon: epsilon, schedule: s)
    }

    /// Lanes whose magnitude is under `Float.leastNormalMagnitude` (subnormals, ±0) as +0, the others unchanged
    /// (NaN too): `if abs(x) < leastNormal { x = 0 }` lane by lane.
    @inline(always) static func flushSubnormals(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let tiny = SIMD8<Float>(repeating: Float.leastNormalMagnitude)
        return x.replacing(with: SIMD8(), where: (x .< tiny) .& (x .> -tiny))
    }

    /// ``CPUReference/sgdUpdate(w:g:velocity:count:learningRate:momentum:nesterov:)``, eight lanes at a time.
    static func sgdUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, velocity: UnsafeMutablePointer<Float>?,
                                    range: Range<Int>, learningRate: Float, momentum: Float, nesterov: Bool) {
        let lr = SIMD8<Float>(repeating: learningRate), mu = SIMD8<Float>(repeating: momentum)
        var i = range.lowerBound
        if let v = velocity, momentum != 0 {
            while i + 8 <= range.upperBound {
                let gi = load(g + i)
                let vi = mu * load(v + i) - lr * gi
                store(vi, v + i)
                store(load(w + i) + (nesterov ? mu * vi - lr * gi : vi), w + i)
                i += 8
            }
        } else {
            while i + 8 <= range.upperBound {
                store(load(w + i) - lr * load(g + i), w + i)
                i += 8
            }
        }
        CPUReference.sgdUpdate(w: w + i, g: g + i, velocity: velocity.map { $0 + i }, count: range.upperBound - i,
                               learningRate: learningRate, momentum: momentum, nesterov: nesterov)
    }

    /// ``CPUReference/sumOfSquares(_:count:)`` in four `SIMD8` partial sums (a different summation order from
    /// the reference's single running sum, so equal to it up to rounding: the tests allow 1e-6 relative). The
    /// reference's one dependent addition per element made it the main cost of GradientMonitor and clipnorm.
    static func sumOfSquaresVectorised(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= count {
            let v0 = load(x + i), v1 = load(x + i + 8), v2 = load(x + i + 16), v3 = load(x + i + 24)
            s0 += v0 * v0
            s1 += v1 * v1
            s2 += v2 * v2
            s3 += v3 * v3
            i += 32
        }
        while i + 8 <= count {
            let v = load(x + i)
            s0 += v * v
            i += 8
        }
        var sum = ((s0 + s1) + (s2 + s3)).sum()
        while i < count {
            sum += x[i] * x[i]
            i += 1
        }
        return sum
    }

    /// ``CPUReference/columnSums(_:rows:columns:into:)``, 32 columns per pass over the rows in four `SIMD8` sums
    /// (four independent addition chains); every column's sum adds the rows in order, as the reference. The last
    /// `columns mod 8` columns come from a vector over the last 8 columns (the overlapping ones are summed twice,
    /// identically); matrices under 8 columns wide are scalar.
    static func columnSumsVectorised(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        guard columns >= 8 else {
            for j in 0..<columns {
                var sum: Float = 0
                for i in 0..<rows { sum += matrix[i * columns + j] }
                out[j] = sum
            }
            return
        }
        let vectors = (columns + 7) / 8
        // Vector v covers columns offset(v) ..< +8; the last one may start before 8·v.
        func offset(_ v: Int) -> Int { min(min(v, vectors - 1) * 8, columns - 8) }
        var v = 0
        while v < vectors {
            let o0 = offset(v), o1 = offset(v + 1), o2 = offset(v + 2), o3 = offset(v + 3)
            var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
            for i in 0..<rows {
                let row = matrix + i * columns
                s0 += load(row + o0)
                s1 += load(row + o1)
                s2 += load(row + o2)
                s3 += load(row + o3)
            }
            store(s0, out + o0)
            store(s1, out + o1)
            store(s2, out + o2)
            store(s3, out + o3)
            v += 4
        }
    }

    @inline(__always) static func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func load(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load(UnsafePointer(pointer)) }

    @inline(__always) static func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    /// The first `lanes` values at `pointer` (a whole vector when `lanes` ≥ 8, none when it is ≤ 0), zeros in the
    /// other lanes.
    @inline(always) static func load(_ pointer: UnsafePointer<Float>, lanes: Int) -> SIMD8<Float> {
        if lanes >= 8 { return load(pointer) }
        var value = SIMD8<Float>()
        var lane = 0
        while lane < lanes {
            value[lane] = pointer[lane]
            lane += 1
        }
        return value
    }

    @inline(always) static func load(_ pointer: UnsafeMutablePointer<Float>, lanes: Int) -> SIMD8<Float> {
        load(UnsafePointer(pointer), lanes: lanes)
    }

    /// Stores lanes `0..<lanes` (1...8) of `value` at `pointer`, nothing past them.
    @inline(always) static func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>, lanes: Int) {
        if lanes == 8 { return store(value, pointer) }
        for lane in 0..<lanes { pointer[lane] = value[lane] }
    }
}
