import MLPCore

/// Batch normalization: training (with the moving statistics), inference and backward.
extension BackendParity {
    static func normalization(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var checks: [Check] = []
        let rows = 13, columns = 6
        let gamma = values(columns, seed: 31, low: 0.5, high: 1.5), beta = values(columns, seed: 32)
        checks += try check("batch norm training (y, x̂, 1/σ, moving mean, moving variance)", reference: reference, candidate: candidate,
                            inputs: [values(rows * columns, seed: 33, low: -2, high: 3), [Float](repeating: 0, count: rows * columns),
                                     [Float](repeating: 0, count: rows * columns), [Float](repeating: 0, count: columns), gamma, beta,
                                     values(columns, seed: 34), values(columns, seed: 35, low: 0.5, high: 1.5)],
                            outputs: [1, 2, 3, 6, 7]) { b, x in
            b.batchNormTraining(x[0], output: x[1], normalized: x[2], inverseStd: x[3], gamma: x[4], beta: x[5], movingMean: x[6],
                                movingVariance: x[7], rows: rows, columns: columns, momentum: 0.99, epsilon: 1e-3)
        }
        checks += try check("batch norm inference", reference: reference, candidate: candidate,
                            inputs: [values(rows * columns, seed: 36), [Float](repeating: 0, count: rows * columns), gamma, beta,
                                     values(columns, seed: 37), values(columns, seed: 38, low: 0.5, high: 1.5)], outputs: [1]) { b, x in
            b.batchNormInference(x[0], output: x[1], gamma: x[2], beta: x[3], movingMean: x[4], movingVariance: x[5], rows: rows,
                                 columns: columns, epsilon: 1e-3)
        }
        checks += try check("batch norm backward (dx, dγ, dβ)", reference: reference, candidate: candidate,
                            inputs: [values(rows * columns, seed: 39), values(rows * columns, seed: 40, low: -2, high: 2),
                                     values(columns, seed: 41, low: 0.5, high: 2), gamma, [Float](repeating: 0, count: rows * columns),
                                     [Float](repeating: 0, count: columns), [Float](repeating: 0, count: columns)],
                            outputs: [4, 5, 6]) { b, x in
            b.batchNormBackward(outputGradient: x[0], normalized: x[1], inverseStd: x[2], gamma: x[3], inputGradient: x[4],
                                gammaGradient: x[5], betaGradient: x[6], rows: rows, columns: columns)
        }
        return checks
    }
}
