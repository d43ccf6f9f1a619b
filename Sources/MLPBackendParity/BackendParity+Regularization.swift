import MLPCore

/// Clipping by norm (per tensor and global) and by value, and the L1/L2 penalty with its gradient.
extension BackendParity {
    static func regularization(reference: any Backend, candidate: any Backend) throws -> [Check] {
        let n = 300
        var checks: [Check] = []
        checks += try check("clip by norm (per tensor and global)", reference: reference, candidate: candidate,
                            inputs: [values(n, seed: 24, low: -3, high: 3), values(40, seed: 25), [0, 0]], outputs: [0, 1, 2]) { b, x in
            b.accumulateSumOfSquares(x[0], count: n, accumulator: x[2], index: 0)
            b.clipByNorm(x[0], count: n, sumOfSquares: x[2], index: 0, clipNorm: 1.5)
            b.accumulateSumOfSquares(x[1], count: 40, accumulator: x[2], index: 1)
            b.clipByNorm(x[1], count: 40, sumOfSquares: x[2], index: 1, clipNorm: 100)
        }
        checks += try check("clip by value", reference: reference, candidate: candidate, inputs: [values(n, seed: 26, low: -3, high: 3)],
                            outputs: [0]) { b, x in
            b.clipByValue(x[0], count: n, limit: 0.5)
        }
        checks += try check("L1/L2 penalty and gradient", reference: reference, candidate: candidate,
                            inputs: [values(n, seed: 27) + [0], values(n + 1, seed: 28), [1, 2]], outputs: [1, 2]) { b, x in
            b.regularizationPenalty(x[0], count: n + 1, l1: 0.01, l2: 0.02, scale: 32, accumulator: x[2], index: 1)
            b.regularizationGradient(x[0], gradients: x[1], count: n + 1, l1: 0.01, l2: 0.02)
        }
        return checks
    }
}
