import XCTest
import Foundation
@testable import MLPCore
import MLPTestSupport

/// The spin-then-sleep worker pool: every participant runs every task exactly once, from a spinning worker and from
/// one that has gone to sleep.
final class WorkerPoolTests: XCTestCase {
    /// Per-participant counters, each on its own cache line; each participant writes only its own.
    /// `@unchecked Sendable` for that reason: no slot is written by two threads, and the test reads them only after
    /// ``WorkerPool/run(_:)`` has returned (every worker finished).
    final class Counters: @unchecked Sendable {
        let slots: UnsafeMutablePointer<Int>
        let participants: Int
        init(participants: Int) {
            self.participants = participants
            slots = .allocate(capacity: participants * 16)
            slots.initialize(repeating: 0, count: participants * 16)
        }
        deinit { slots.deallocate() }
        func count(_ participant: Int) -> Int { slots[participant * 16] }
    }

    func testEveryParticipantRunsEveryTaskOnce() {
        for threads in [1, 3] {
            let pool = WorkerPool(threads: threads)
            defer { pool.stop() }
            let counters = Counters(participants: pool.participants)
            let task: @Sendable (Int, Int) -> Void = { participant, participants in
                precondition(participants == counters.participants)
                counters.slots[participant * 16] += 1
            }
            for _ in 0..<20_000 { pool.run(task) }
            XCTAssertEqual((0..<pool.participants).map(counters.count), Array(repeating: 20_000, count: pool.participants), "threads=\(threads)")
        }
    }

    func testWorkersThatSleptStillRunTheNextTask() {
        let pool = WorkerPool(threads: 1)
        defer { pool.stop() }
        let counters = Counters(participants: 2)
        let task: @Sendable (Int, Int) -> Void = { participant, _ in counters.slots[participant * 16] += 1 }
        for round in 1...10 {
            // Longer than the spin: the worker is asleep on the condition when the task comes.
            usleep(useconds_t(WorkerPool.spinNanoseconds / 1000) * 3)
            pool.run(task)
            XCTAssertEqual([counters.count(0), counters.count(1)], [round, round])
        }
    }

    func testAProductAfterThePoolSleptMatchesTheReference() {
        let backend = CPUBackend(threadCount: 2)
        let (m, n, k) = (96, 200, 300)
        let a = randomValues(m * k, seed: 4), b = randomValues(k * n, seed: 5)
        var expected = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in expected.withUnsafeMutableBufferPointer { cp in
            CPUReference.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, b: bp.baseAddress!,
                              beta: 0, c: cp.baseAddress!)
        } } }
        for _ in 0..<3 {
            usleep(useconds_t(WorkerPool.spinNanoseconds / 1000) * 3)
            let c = backend.makeBuffer(count: m * n)
            backend.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: backend.makeBuffer(a), b: backend.makeBuffer(b), beta: 0, c: c)
            let values = backend.download(c)
            XCTAssertLessThanOrEqual(zip(values, expected).map { abs($0 - $1) }.max()!, 1e-3)
        }
    }
}
