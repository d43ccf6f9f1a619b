/// The split of a vectorised element-wise call of ``CPUBackend`` among the worker pool: the optimizer updates
/// (CPUBackend+Optimizers.swift) and the activations (CPUBackend+Activations.swift).
///
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
///
/// `@unchecked Sendable` because the pool's task captures it: the caller writes it before ``WorkerPool/run(_:)``
/// publishes the task and the workers only read it until `run` returns; each writes its own chunk of the output.
final class ElementwiseWork: @unchecked Sendable {
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
}
