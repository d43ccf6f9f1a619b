import MLPCore

/// GEMM (every transpose, edge shapes, k = 0) and column sums.
extension BackendParity {
    static func gemm(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var checks: [Check] = []
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (33, 17, 9), (64, 70, 31), (100, 10, 64), (256, 256, 256)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    checks += try check("gemm \(m)x\(n)x\(k) tA=\(transA) tB=\(transB)", reference: reference, candidate: candidate,
                                        inputs: [values(m * k, seed: 1), values(k * n, seed: 2), values(m * n, seed: 3)], outputs: [2]) { b, x in
                        b.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: x[0], b: x[1], beta: 1, c: x[2])
                    }
                }
            }
        }
        checks += try check("gemm k=0 (C = beta*C)", reference: reference, candidate: candidate,
                            inputs: [[0], [0], values(6, seed: 4)], outputs: [2]) { b, x in
            b.gemm(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1, a: x[0], b: x[1], beta: 0.5, c: x[2])
        }
        return checks
    }

    static func columnSums(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var checks: [Check] = []
        checks += try check("column sums", reference: reference, candidate: candidate,
                            inputs: [values(37 * 11, seed: 9), [Float](repeating: 0, count: 11)], outputs: [1]) { b, x in
            b.columnSums(x[0], rows: 37, columns: 11, into: x[1])
        }
        return checks
    }
}
