import Foundation
import MLPCore
import MLPTraining

/// The parity suite: every ``Backend`` op, and whole training runs, on a candidate backend against a
/// reference (the CPU backend), on seeded random inputs.
///
/// The OpenCL tests run it on PoCL in CI; `MLPBench parity` runs it on a real GPU (Scripts/gpu-check.sh).
/// A check passes when max |candidate − reference| ≤ tolerance · max(1, max |reference|).
public enum BackendParity {
    /// One comparison's outcome.
    public struct Check: CustomStringConvertible, Sendable {
        /// What was compared (the op and its shape).
        public let name: String
        /// max |candidate − reference| over every value compared.
        public let maxDifference: Float
        /// The allowed difference, already scaled by the reference's magnitude.
        public let allowed: Float
        /// The first reference and candidate values, for failure messages.
        public let firstReference: [Float]
        /// The first candidate values, beside ``firstReference``.
        public let firstCandidate: [Float]

        /// Whether ``maxDifference`` is within ``allowed``.
        public var passed: Bool { maxDifference <= allowed }

        public var description: String {
            String(format: "%@ %@: max |diff| %.3g (allowed %.3g)", passed ? "ok  " : "FAIL", name, Double(maxDifference), Double(allowed))
                + (passed ? "" : "\n       reference \(firstReference)\n       candidate \(firstCandidate)")
        }
    }

    static func values(_ count: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
        var random = PhiloxRandom(seed: seed, stream: 99)
        return (0..<count).map { _ in low + (high - low) * random.nextUniform() }
    }

    static func compare(_ name: String, _ reference: [Float], _ candidate: [Float], tolerance: Float) -> Check {
        let magnitude = max(1, reference.filter(\.isFinite).map(abs).max() ?? 1)
        var worst: Float = 0
        for (a, b) in zip(reference, candidate) {
            let difference = abs(a - b)
            if difference.isNaN || a.isNaN != b.isNaN { worst = .infinity } else { worst = max(worst, difference) }
        }
        if reference.count != candidate.count { worst = .infinity }
        return Check(name: name, maxDifference: worst, allowed: tolerance * magnitude,
                     firstReference: Array(reference.prefix(4)), firstCandidate: Array(candidate.prefix(4)))
    }

    /// Runs `op` on both backends with the same `inputs` and compares the `outputs` buffers.
    static func check(_ name: String, reference: any Backend, candidate: any Backend, inputs: [[Float]], outputs: [Int],
                      tolerance: Float = 1e-5, _ op: (any Backend, [DeviceBuffer]) -> Void) throws -> [Check] {
        var results: [[[Float]]] = []
        for backend in [reference, candidate] {
            let buffers = inputs.map { backend.makeBuffer($0) }
            op(backend, buffers)
            results.append(outputs.map { backend.download(buffers[$0]) })
            try backend.checkError()
        }
        return zip(results[0], results[1]).enumerated().map { index, pair in
            compare(outputs.count > 1 ? "\(name) [output \(index)]" : name, pair.0, pair.1, tolerance: tolerance)
        }
    }

    /// Every op on seeded random inputs, concern by concern (one `BackendParity+X.swift` file each, X as in
    /// `Backend+X.swift`).
    public static func ops(reference: any Backend, candidate: any Backend) throws -> [Check] {
        try gemm(reference: reference, candidate: candidate)
            + activations(reference: reference, candidate: candidate)
            + columnSums(reference: reference, candidate: candidate)
            + losses(reference: reference, candidate: candidate)
            + metrics(reference: reference, candidate: candidate)
            + optimizers(reference: reference, candidate: candidate)
            + regularization(reference: reference, candidate: candidate)
            + layers(reference: reference, candidate: candidate)
    }

    /// Dropout masks (identical on every backend) and batch normalization, forward and backward.
    public static func layers(reference: any Backend, candidate: any Backend) throws -> [Check] {
        try random(reference: reference, candidate: candidate) + normalization(reference: reference, candidate: candidate)
    }

    /// Classification samples shared by the loss and metric checks: 19 rows of 4 classes.
    struct Samples {
        let rows: Int, columns: Int
        let probabilities: [Float], logits: [Float], labels: [Float], oneHot: [Float], bits: [Float]

        init() {
            let rows = 19, columns = 4
            self.rows = rows
            self.columns = columns
            var probabilities = BackendParity.values(rows * columns, seed: 11, low: 0.01, high: 1)
            for r in 0..<rows {
                let sum = probabilities[(r * columns)..<((r + 1) * columns)].reduce(0, +)
                for j in 0..<columns { probabilities[r * columns + j] /= sum }
            }
            let logits = BackendParity.values(rows * columns, seed: 12, low: -4, high: 4)
            let labels = (0..<rows).map { Float(($0 * 7) % columns) }
            var oneHot = [Float](repeating: 0, count: rows * columns)
            for r in 0..<rows { oneHot[r * columns + Int(labels[r])] = 1 }
            let bits = BackendParity.values(rows * columns, seed: 13, low: 0, high: 1).map { $0 > 0.5 ? Float(1) : 0 }
            self.probabilities = probabilities
            self.logits = logits
            self.labels = labels
            self.oneHot = oneHot
            self.bits = bits
        }
    }
}
