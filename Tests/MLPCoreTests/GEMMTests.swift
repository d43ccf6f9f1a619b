import XCTest
@testable import MLPCore
import MLPTestSupport

/// The optimised CPU GEMM against the reference triple loop.
final class GEMMTests: XCTestCase {
    func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float],
                   beta: Float, c: [Float]) -> [Float] {
        var out = c
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { cp in
                    CPUReference.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                      a: ap.baseAddress!, b: bp.baseAddress!, beta: beta, c: cp.baseAddress!)
                }
            }
        }
        return out
    }

    func testMatchesReferenceForEveryTransposeAndOddSizes() {
        for threads in [1, 4] {
            let host = Host(threads: threads)
            for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 9, 33), (65, 70, 31), (128, 96, 64), (131, 37, 531), (17, 40, 33), (37, 131, 531), (1000, 9, 600),
                              // B 1,030 wide: the column split packs four panels at a time (the last group ends in an edge panel).
                              (20, 1030, 300),
                              // The row split on the pool with B packed (more than four column panels, the last an
                              // edge) over several k-blocks: A's panels packed eight steps of k at a time, with
                              // k-blocks of 256 + 256 + 88 and 256 + 9 (the vector path and its scalar tail).
                              (300, 100, 600), (301, 90, 265),
                              // AVX-512 builds: the row split's 12 × 32 tiles with an odd number of row panels in a
                              // participant's share (15 panels, 4 per share), its pair and single column panels.
                              (90, 64, 300),
                              // Edge tiles whose last columns are stored four and then one at a time: 7 = 4 + 3,
                              // 47 = 32 + 8 + 4 + 3, 14 = 8 + 4 + 2 (the seed's products).
                              (32, 7, 47), (36, 47, 32), (25, 14, 36)] {
                for transA in [false, true] {
                    for transB in [false, true] {
                        for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (2, -0.5)] {
                            let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2), c = randomValues(m * n, seed: 3)
                            let cBuffer = host.buffer(c)
                            host.backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                              a: host.buffer(a), b: host.buffer(b), beta: beta, c: cBuffer)
                            let expected = reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                                     a: a, b: b, beta: beta, c: c)
                            assertClose(host.values(cBuffer), expected, absolute: 5e-4, relative: 1e-4,
                                        "m=\(m) n=\(n) k=\(k) tA=\(transA) tB=\(transB) α=\(alpha) β=\(beta) threads=\(threads)")
                        }
                    }
                }
            }
        }
    }

    func testLargeBFromHugePageMemoryWithPrefetchedBlocks() {
        // B of 1,030 × 560 floats (2.2 MiB, so in huge-page-advised memory), Bᵀ likewise: the column split
        // prefetches each group's next k-block (256 + 256 + 48) and, at a group's last one, the first block of the
        // group it claims next, up to the last group (an edge panel) and past it (nothing left to claim).
        let (m, n, k) = (12, 1030, 560)
        for threads in [1, 4] {
            let host = Host(threads: threads)
            for transB in [false, true] {
                let a = randomValues(m * k, seed: 4), b = randomValues(k * n, seed: 5), c = randomValues(m * n, seed: 6)
                let cBuffer = host.buffer(c)
                host.backend.gemm(transA: false, transB: transB, m: m, n: n, k: k, alpha: 1, a: host.buffer(a), b: host.buffer(b),
                                  beta: 0, c: cBuffer)
                let expected = reference(transA: false, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0, c: c)
                assertClose(host.values(cBuffer), expected, absolute: 5e-4, relative: 1e-4, "tB=\(transB) threads=\(threads)")
            }
        }
    }

    func testReferenceOnAHandComputedProduct() {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
        let c = reference(transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1, a: [1, 2, 3, 4], b: [5, 6, 7, 8],
                          beta: 0, c: [0, 0, 0, 0])
        XCTAssertEqual(c, [19, 22, 43, 50])
        // Aᵀ·B with A stored (k=2, m=2): [1 3; 2 4] · [5 6; 7 8] = [26 30; 38 44]
        let t = reference(transA: true, transB: false, m: 2, n: 2, k: 2, alpha: 1, a: [1, 2, 3, 4], b: [5, 6, 7, 8],
                          beta: 0, c: [0, 0, 0, 0])
        XCTAssertEqual(t, [26, 30, 38, 44])
    }

    func testZeroSizedProductsDoNothing() {
        let host = Host()
        let c = host.buffer([7])
        host.backend.gemm(transA: false, transB: false, m: 0, n: 1, k: 1, alpha: 1, a: host.buffer([1]), b: host.buffer([1]), beta: 0, c: c)
        XCTAssertEqual(host.values(c), [7])
        // k = 0: C = beta·C.
        host.backend.gemm(transA: false, transB: false, m: 1, n: 1, k: 0, alpha: 1, a: host.buffer([1]), b: host.buffer([1]), beta: 0.5, c: c)
        XCTAssertEqual(host.values(c), [3.5])
        // β = 0 with no product (k = 0 or α = 0) still clears C; with a product, C's old contents (NaN here) are
        // overwritten, not added to.
        host.backend.gemm(transA: false, transB: false, m: 1, n: 1, k: 0, alpha: 1, a: host.buffer([1]), b: host.buffer([1]), beta: 0, c: c)
        XCTAssertEqual(host.values(c), [0])
        let stale = host.buffer([Float](repeating: .nan, count: 3 * 20))
        host.backend.gemm(transA: false, transB: false, m: 3, n: 20, k: 2, alpha: 0, a: host.buffer([1, 1, 1, 1, 1, 1]),
                          b: host.buffer([Float](repeating: 1, count: 40)), beta: 0, c: stale)
        XCTAssertEqual(host.values(stale), [Float](repeating: 0, count: 60))
        let nan = host.buffer([Float](repeating: .nan, count: 3 * 20))
        host.backend.gemm(transA: false, transB: false, m: 3, n: 20, k: 300, alpha: 1, a: host.buffer([Float](repeating: 1, count: 900)),
                          b: host.buffer([Float](repeating: 0.5, count: 6000)), beta: 0, c: nan)
        XCTAssertEqual(host.values(nan), [Float](repeating: 150, count: 60))
    }
}
