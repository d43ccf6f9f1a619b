import Foundation
import MLPCore

/// Every optimizer update over three steps, the subnormal-moment edge of Adam and Nadam, and weight decay.
extension BackendParity {
    static func optimizers(reference: any Backend, candidate: any Backend) throws -> [Check] {
        let n = 300
        let inputs = [values(n, seed: 20), values(n, seed: 21), values(n, seed: 22, low: 0, high: 0.1),
                      values(n, seed: 23, low: 0, high: 0.01)]
        var checks: [Check] = []
        for (momentum, nesterov) in [(Float(0), false), (0.9, false), (0.9, true)] {
            checks += try check("sgd momentum=\(momentum) nesterov=\(nesterov)", reference: reference, candidate: candidate,
                                inputs: inputs, outputs: [0, 2]) { b, x in
                for _ in 0..<3 {
                    b.sgdUpdate(weights: x[0], gradients: x[1], velocity: x[2], count: n, learningRate: 0.05, momentum: momentum,
                                nesterov: nesterov)
                }
            }
        }
        for amsgrad in [false, true] {
            checks += try check("adam amsgrad=\(amsgrad)", reference: reference, candidate: candidate, inputs: inputs + [[Float](repeating: 0, count: n)],
                                outputs: [0, 2, 3, 4]) { b, x in
                for step in 1...3 {
                    let stepSize = Float(0.01 * (1 - pow(0.999, Double(step))).squareRoot() / (1 - pow(0.9, Double(step))))
                    b.adamUpdate(weights: x[0], gradients: x[1], m: x[2], v: x[3], vMax: amsgrad ? x[4] : nil, count: n,
                                 stepSize: stepSize, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
                }
            }
        }
        // A zero gradient takes m and v just under the smallest normal float: both backends store them as 0, exactly
        // (tolerance 0; a backend that kept the subnormals would differ by them), and w does not move.
        let edge = (0..<n).map { Float.leastNormalMagnitude * (1 + Float($0) / Float(n) * 0.0009) }
        checks += try check("adam subnormal moments", reference: reference, candidate: candidate,
                            inputs: [values(n, seed: 24), [Float](repeating: 0, count: n), edge.enumerated().map { $1 * ($0 % 2 == 0 ? 1 : -1) }, edge],
                            outputs: [0, 2, 3], tolerance: 0) { b, x in
            b.adamUpdate(weights: x[0], gradients: x[1], m: x[2], v: x[3], vMax: nil, count: n, stepSize: 0.01, beta1: 0.9, beta2: 0.999,
                         epsilon: 1e-7)
        }
        for (momentum, centered) in [(Float(0), false), (0.9, false), (0, true), (0.9, true)] {
            checks += try check("rmsprop momentum=\(momentum) centered=\(centered)", reference: reference, candidate: candidate,
                                inputs: inputs + [[Float](repeating: 0, count: n)], outputs: [0, 2, 3, 4]) { b, x in
                for _ in 0..<3 {
                    b.rmspropUpdate(weights: x[0], gradients: x[1], v: x[3], momentumBuffer: momentum > 0 ? x[2] : nil,
                                    average: centered ? x[4] : nil, count: n, learningRate: 0.01, rho: 0.9, momentum: momentum,
                                    epsilon: 1e-7)
                }
            }
        }
        checks += try check("adagrad", reference: reference, candidate: candidate, inputs: inputs, outputs: [0, 2]) { b, x in
            for _ in 0..<3 { b.adagradUpdate(weights: x[0], gradients: x[1], accumulator: x[2], count: n, learningRate: 0.01, epsilon: 1e-7) }
        }
        checks += try check("nadam", reference: reference, candidate: candidate, inputs: inputs, outputs: [0, 2, 3]) { b, x in
            let schedule = NadamScalars(uT: 0.882, uNext: 0.8835, productT: 0.7793, productNext: 0.6885, beta2Power: 0.997)
            for _ in 0..<3 {
                b.nadamUpdate(weights: x[0], gradients: x[1], m: x[2], v: x[3], count: n, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                              epsilon: 1e-7, schedule: schedule)
            }
        }
        checks += try check("nadam subnormal moments", reference: reference, candidate: candidate,
                            inputs: [values(n, seed: 24), [Float](repeating: 0, count: n), edge.enumerated().map { $1 * ($0 % 2 == 0 ? 1 : -1) }, edge],
                            outputs: [0, 2, 3], tolerance: 0) { b, x in
            let schedule = NadamScalars(uT: 0.882, uNext: 0.8835, productT: 0.7793, productNext: 0.6885, beta2Power: 0.997)
            b.nadamUpdate(weights: x[0], gradients: x[1], m: x[2], v: x[3], count: n, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                          epsilon: 1e-7, schedule: schedule)
        }
        checks += try check("weight decay", reference: reference, candidate: candidate, inputs: inputs, outputs: [0]) { b, x in
            b.decayWeights(x[0], count: n, decay: 0.004, learningRate: 0.01)
        }
        return checks
    }
}
