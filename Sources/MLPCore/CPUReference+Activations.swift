import Foundation

/// The reference activations, forward and backward (``BackendActivations``).
extension CPUReference {
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
}
