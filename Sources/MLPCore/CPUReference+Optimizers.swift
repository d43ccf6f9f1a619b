/// The reference optimizer updates (``BackendOptimizers``).
extension CPUReference {
    /// SGD: without momentum (or `velocity` nil) `w −= lr·g`; else `v = μv − lr·g`, `w += v` (Nesterov: `w += μv − lr·g`).
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

    /// Adam with the bias correction folded into `stepSize` (`lr·√(1−β2ᵗ)/(1−β1ᵗ)`): `m += (g−m)(1−β1)`,
    /// `v += (g²−v)(1−β2)`, `w −= stepSize·m/(√v + ε)`; with `vMax`, AMSGrad's `max(vMax, v)` replaces `v`.
    public static func adamUpdate(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                                  v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, count: Int, stepSize: Float,
                                  beta1: Float, beta2: Float, epsilon: Float) {
        for i in 0..<count {
            m[i] += (g[i] - m[i]) * (1 - beta1)
            v[i] += (g[i] * g[i] - v[i]) * (1 - beta2)
            // Moments under the smallest normal float are stored as zero: a unit whose gradient stays zero (a dead
            // ReLU) would otherwise decay its m into subnormals within a few hundred steps, which made every later
            // update of it several times slower on x86; TensorFlow's CPU kernels flush subnormals to zero as well.
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

    /// RMSprop: `v = ρv + (1−ρ)g²`; centered (`average` given) `a = ρa + (1−ρ)g` and the denominator `√(v − a² + ε)`,
    /// else `√(v + ε)`; `Δ = lr·g/denominator`, applied through `momentumBuffer` (`b = μb + Δ; w −= b`) when given.
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

    /// Adagrad: `acc += g²`, `w −= lr·g/√(acc + ε)`.
    public static func adagradUpdate(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, accumulator: UnsafeMutablePointer<Float>,
                                     count: Int, learningRate lr: Float, epsilon: Float) {
        for i in 0..<count {
            accumulator[i] += g[i] * g[i]
            w[i] -= lr * g[i] / (accumulator[i] + epsilon).squareRoot()
        }
    }

    /// Nadam, Keras 3's form: the moments as Adam's, then
    /// `m̂ = u_{t+1}·m/(1 − Π_{t+1}) + (1 − u_t)·g/(1 − Π_t)`, `v̂ = v/(1 − β2ᵗ)`, `w −= lr·m̂/(√v̂ + ε)`.
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

    /// Decoupled weight decay: `w −= w·decay·lr`.
    public static func decayWeights(_ w: UnsafeMutablePointer<Float>, count: Int, decay: Float, learningRate: Float) {
        for i in 0..<count { w[i] = w[i] - w[i] * decay * learningRate }
    }
}
