/// Optimizer updates, one element-wise kernel each.
public protocol BackendOptimizers: AnyObject {
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
}

/// The per-step scalars of Keras 3's Nadam momentum schedule, computed on the host.
public struct NadamScalars: Equatable, Sendable {
    /// `u_t = β1·(1 − ½·0.96ᵗ)`, `u_{t+1}`, the products `Π_t = Π u_1…u_t`, `Π_{t+1}`, and `β2ᵗ`.
    public var uT: Float, uNext: Float, productT: Float, productNext: Float, beta2Power: Float

    /// Creates the scalars for one step; the backends' `nadamUpdate` reads them.
    public init(uT: Float, uNext: Float, productT: Float, productNext: Float, beta2Power: Float) {
        self.uT = uT
        self.uNext = uNext
        self.productT = productT
        self.productNext = productNext
        self.beta2Power = beta2Power
    }
}
