/// Optimizer updates (``BackendOptimizers``): `ElementVector` loops (16 lanes on an AVX-512 build, else 8; SGD's `SIMD8`) that do the
/// ``CPUReference`` arithmetic in the same order, so their results are bit-identical to it (the tests assert it), split
/// among the worker pool for large tensors
/// (``CPUBackend/run(_:count:)``). Weight decay runs the reference loop.
extension CPUBackend {
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

    /// ``CPUReference/adamUpdate(w:g:m:v:vMax:count:stepSize:beta1:beta2:epsilon:)``, `elementWidth` lanes at a time.
    static func adamUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                     v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, range: Range<Int>,
                                     stepSize: Float, beta1: Float, beta2: Float, epsilon: Float) {
        let factors = AdamFactors(keepM: ElementVector(repeating: 1 - beta1), keepV: ElementVector(repeating: 1 - beta2),
                                  step: ElementVector(repeating: stepSize), epsilon: ElementVector(repeating: epsilon))
        // Two copies of the loop, so that the one without AMSGrad's running maximum has no branch on it.
        if let vMax {
            adamLoop(w: w, g: g, m: m, v: v, vMax: vMax, range: range, factors: factors)
        } else {
            adamLoop(w: w, g: g, m: m, v: v, vMax: nil, range: range, factors: factors)
        }
    }

    /// Adam's per-call constants, one per lane.
    struct AdamFactors {
        let keepM: ElementVector, keepV: ElementVector, step: ElementVector, epsilon: ElementVector
    }

    /// Adam over `range`. A tail of 1 to `elementWidth` − 1 elements: the last `elementWidth` elements are computed
    /// first, from their old values, and
    /// stored after the loop (the lanes the loop also wrote get the same values again), so there is no scalar square
    /// root and division per element; a shorter range takes one partial vector.
    @inline(always) static func adamLoop(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                         v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, range: Range<Int>,
                                         factors: AdamFactors) {
        let upper = range.upperBound
        guard range.count >= elementWidth else {
            let lanes = range.count, i = range.lowerBound
            if lanes > 0 {
                adamStore(adamLanes(w: w, g: g, m: m, v: v, vMax: vMax, at: i, lanes: lanes, factors: factors),
                          w: w, m: m, v: v, vMax: vMax, at: i, lanes: lanes)
            }
            return
        }
        let hasTail = range.count % elementWidth != 0
        var tail: AdamLanes = (ElementVector(), ElementVector(), ElementVector(), ElementVector())
        if hasTail { tail = adamLanes(w: w, g: g, m: m, v: v, vMax: vMax, at: upper - elementWidth, lanes: elementWidth, factors: factors) }
        var i = range.lowerBound
        while i + elementWidth <= upper {
            adamStore(adamLanes(w: w, g: g, m: m, v: v, vMax: vMax, at: i, lanes: elementWidth, factors: factors),
                      w: w, m: m, v: v, vMax: vMax, at: i, lanes: elementWidth)
            i += elementWidth
        }
        if hasTail { adamStore(tail, w: w, m: m, v: v, vMax: vMax, at: upper - elementWidth, lanes: elementWidth) }
    }

    typealias AdamLanes = (w: ElementVector, m: ElementVector, v: ElementVector, vMax: ElementVector)

    /// Adam's new values for lanes `0..<lanes` from `i`: the arithmetic of the scalar reference, lane by lane.
    @inline(always) static func adamLanes(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                          v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, at i: Int,
                                          lanes: Int, factors: AdamFactors) -> AdamLanes {
        let gi = loadVector(g + i, lanes: lanes), mOld = loadVector(m + i, lanes: lanes), vOld = loadVector(v + i, lanes: lanes)
        // Subnormal moments stored as zero, as in the reference.
        let mi = flushSubnormals(mOld + (gi - mOld) * factors.keepM)
        let vi = flushSubnormals(vOld + (gi * gi - vOld) * factors.keepV)
        var denominatorSource = vi
        if let vMax {
            // The reference's `max(vMax, v)` (`v >= vMax ? v : vMax`, lane by lane; the library's `pointwiseMax` was
            // a call per vector).
            let old = loadVector(vMax + i, lanes: lanes)
            denominatorSource = old.replacing(with: vi, where: vi .>= old)
        }
        return (loadVector(w + i, lanes: lanes) - factors.step * mi / (denominatorSource.squareRoot() + factors.epsilon),
                mi, vi, denominatorSource)
    }

    @inline(always) static func adamStore(_ values: AdamLanes, w: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
                                          v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, at i: Int, lanes: Int) {
        storeVector(values.m, m + i, lanes: lanes)
        storeVector(values.v, v + i, lanes: lanes)
        if let vMax { storeVector(values.vMax, vMax + i, lanes: lanes) }
        storeVector(values.w, w + i, lanes: lanes)
    }

    /// ``CPUReference/rmspropUpdate(w:g:v:momentumBuffer:average:count:learningRate:rho:momentum:epsilon:)``,
    /// `elementWidth` lanes at a time (the last `count mod elementWidth` values by the reference loop).
    static func rmspropUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>,
                                        momentumBuffer: UnsafeMutablePointer<Float>?, average: UnsafeMutablePointer<Float>?,
                                        range: Range<Int>, learningRate: Float, rho: Float, momentum: Float, epsilon: Float) {
        let lr = ElementVector(repeating: learningRate), decay = ElementVector(repeating: rho)
        let keep = ElementVector(repeating: 1 - rho), mu = ElementVector(repeating: momentum), eps = ElementVector(repeating: epsilon)
        var i = range.lowerBound
        while i + elementWidth <= range.upperBound {
            let gi = loadVector(g + i)
            let vi = decay * loadVector(v + i) + keep * (gi * gi)
            storeVector(vi, v + i)
            var denominator = vi + eps
            if let average {
                let ai = decay * loadVector(average + i) + keep * gi
                storeVector(ai, average + i)
                denominator = vi - ai * ai + eps
            }
            let increment = lr * gi / denominator.squareRoot()
            if let momentumBuffer {
                let bi = mu * loadVector(momentumBuffer + i) + increment
                storeVector(bi, momentumBuffer + i)
                storeVector(loadVector(w + i) - bi, w + i)
            } else {
                storeVector(loadVector(w + i) - increment, w + i)
            }
            i += elementWidth
        }
        CPUReference.rmspropUpdate(w: w + i, g: g + i, v: v + i, momentumBuffer: momentumBuffer.map { $0 + i },
                                   average: average.map { $0 + i }, count: range.upperBound - i, learningRate: learningRate, rho: rho,
                                   momentum: momentum, epsilon: epsilon)
    }

    /// ``CPUReference/adagradUpdate(w:g:accumulator:count:learningRate:epsilon:)``, `elementWidth` lanes at a time
    /// (the last `count mod elementWidth` values by the reference loop).
    static func adagradUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, accumulator: UnsafeMutablePointer<Float>,
                                        range: Range<Int>, learningRate: Float, epsilon: Float) {
        let lr = ElementVector(repeating: learningRate), eps = ElementVector(repeating: epsilon)
        var i = range.lowerBound
        while i + elementWidth <= range.upperBound {
            let gi = loadVector(g + i)
            let a = loadVector(accumulator + i) + gi * gi
            storeVector(a, accumulator + i)
            storeVector(loadVector(w + i) - lr * gi / (a + eps).squareRoot(), w + i)
            i += elementWidth
        }
        CPUReference.adagradUpdate(w: w + i, g: g + i, accumulator: accumulator + i, count: range.upperBound - i,
                                   learningRate: learningRate, epsilon: epsilon)
    }

    /// ``CPUReference/nadamUpdate(w:g:m:v:count:learningRate:beta1:beta2:epsilon:schedule:)``, `elementWidth` lanes at
    /// a time (the last `count mod elementWidth` values by the reference loop). Subnormal moments are stored as zero, as Adam's.
    static func nadamUpdateVectorised(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                      v: UnsafeMutablePointer<Float>, range: Range<Int>, learningRate: Float, beta1: Float,
                                      beta2: Float, epsilon: Float, schedule s: NadamScalars) {
        let keepM = ElementVector(repeating: 1 - beta1), keepV = ElementVector(repeating: 1 - beta2)
        let uNext = ElementVector(repeating: s.uNext), productNext = ElementVector(repeating: 1 - s.productNext)
        let gradientShare = ElementVector(repeating: 1 - s.uT), productT = ElementVector(repeating: 1 - s.productT)
        let beta2Power = ElementVector(repeating: 1 - s.beta2Power)
        let lr = ElementVector(repeating: learningRate), eps = ElementVector(repeating: epsilon)
        var i = range.lowerBound
        while i + elementWidth <= range.upperBound {
            let gi = loadVector(g + i), mOld = loadVector(m + i), vOld = loadVector(v + i)
            let mi = flushSubnormals(mOld + (gi - mOld) * keepM)
            let vi = flushSubnormals(vOld + (gi * gi - vOld) * keepV)
            storeVector(mi, m + i)
            storeVector(vi, v + i)
            let mHat = uNext * mi / productNext + gradientShare * gi / productT
            let vHat = vi / beta2Power
            storeVector(loadVector(w + i) - mHat * lr / (vHat.squareRoot() + eps), w + i)
            i += elementWidth
        }
        CPUReference.nadamUpdate(w: w + i, g: g + i, m: m + i, v: v + i, count: range.upperBound - i, learningRate: learningRate,
                                 beta1: beta1, beta2: beta2, epsilon: epsilon, schedule: s)
    }

    /// Lanes whose magnitude is under `Float.leastNormalMagnitude` (subnormals, ±0) as +0, the others unchanged
    /// (NaN too): `if abs(x) < leastNormal { x = 0 }` lane by lane.
    @inline(always) static func flushSubnormals(_ x: ElementVector) -> ElementVector {
        let tiny = ElementVector(repeating: Float.leastNormalMagnitude)
        return x.replacing(with: ElementVector(), where: (x .< tiny) .& (x .> -tiny))
    }

    /// ``CPUReference/sgdUpdate(w:g:velocity:count:learningRate:momentum:nesterov:)``, eight lanes at a time (`SIMD8` on
    /// every build: memory-bound, 16 lanes measured no faster on AVX-512, Performance.md).
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
}
