import MLPCore

/// Dropout masks, exactly equal on every backend (Philox).
extension BackendParity {
    static func random(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var checks: [Check] = []
        for (count, block) in [(1, UInt64(0)), (1001, 7), (4096, 1 << 33)] {
            checks += try check("dropout count=\(count) block=\(block)", reference: reference, candidate: candidate,
                                inputs: [values(count, seed: 30), [Float](repeating: 0, count: count)], outputs: [1], tolerance: 0) { b, x in
                b.dropout(x[0], output: x[1], count: count, rate: 0.3, seed: 77, stream: 5 << 32 | 3, block: block)
            }
        }
        return checks
    }
}
