import MLPCore

/// Every activation (``Activation/allCases``) forward, with and without bias, and backward.
extension BackendParity {
    static func activations(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var checks: [Check] = []
        // 13 columns: a whole vector and an overlapping tail on the CPU backend's vectorised activations.
        let rows = 7, columns = 13
        let cpu = CPUBackend(threadCount: 1)
        for activation in Activation.allCases {
            for withBias in [true, false] {
                checks += try check("forward \(activation.rawValue) bias=\(withBias)", reference: reference, candidate: candidate,
                                    inputs: [values(rows * columns, seed: 5, low: -3, high: 3), values(columns, seed: 6),
                                             [Float](repeating: 0, count: rows * columns)], outputs: [0, 2]) { b, x in
                    b.biasActivationForward(preActivation: x[0], bias: withBias ? x[1] : nil, output: x[2], rows: rows,
                                            columns: columns, activation: activation)
                }
            }
            let z = values(rows * columns, seed: 7, low: -3, high: 3)
            let y = cpu.makeBuffer(count: z.count)
            cpu.biasActivationForward(preActivation: cpu.makeBuffer(z), bias: nil, output: y, rows: rows, columns: columns,
                                      activation: activation)
            checks += try check("backward \(activation.rawValue)", reference: reference, candidate: candidate,
                                inputs: [values(rows * columns, seed: 8), z, cpu.download(y), [Float](repeating: 0, count: z.count)],
                                outputs: [3]) { b, x in
                b.activationBackward(outputGradient: x[0], preActivation: x[1], output: x[2], inputGradient: x[3], rows: rows,
                                     columns: columns, activation: activation)
            }
        }
        return checks
    }
}
