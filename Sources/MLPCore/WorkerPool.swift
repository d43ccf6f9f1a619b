import Foundation
import Synchronization

/// Fixed worker threads for the CPU backend's GEMM and element-wise ops: started once, handed each task through
/// atomics, so a task allocates nothing (no closures made, no dispatch blocks). The caller takes part;
/// `workers.count + 1` threads in all.
///
/// After a task a worker spins for ``spinNanoseconds`` waiting for the next one, then sleeps on a condition. In
/// a training loop the next split op comes within that time, and handing it over costs two cache-line transfers
/// instead of a futex wake-up, which is some forty times slower and, at the mnist workload's ~20 split ops per
/// step, a large part of a step. A worker that has slept is woken by ``run(_:)`` through the condition.
///
/// `@unchecked Sendable` because its threads capture it: its state is atomics and `condition`, but for `job`, which
/// the caller writes only while no worker reads it (before it publishes a generation, after every worker finished).
final class WorkerPool: @unchecked Sendable {
    let participants: Int
    /// How long an idle worker spins before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    /// Bumped once per task; a worker runs the task when it sees a new value.
    private let generation = Atomic<Int>(0)
    /// Workers still running the current task.
    private let pending = Atomic<Int>(0)
    /// Workers asleep, or about to sleep, on `condition`.
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let condition = NSCondition()
    /// The current task: written by the caller before it publishes a generation, read by workers after they
    /// see it (the generation's release/acquire orders the two).
    @exclusivity(unchecked) private var job: (@Sendable (Int, Int) -> Void)?

    /// Starts `count` threads; they hold the pool until ``stop()``.
    init(threads count: Int) {
        participants = count + 1
        for index in 0..<count {
            let thread = Thread { self.work(index: index + 1) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Ends the worker threads (the owner calls this when it goes away).
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    private func work(index: Int) {
        var seen = 0
        while true {
            // Spin for the next task, then sleep until one comes.
            var spins = 0
            var deadline: UInt64 = 0
            while generation.load(ordering: .acquiring) == seen {
                if stopping.load(ordering: .relaxed) { return }
                spins &+= 1
                guard spins & 1023 == 0 else { continue }
                let now = WorkerPool.now()
                if deadline == 0 {
                    deadline = now + WorkerPool.spinNanoseconds
                } else if now >= deadline {
                    condition.lock()
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen && !stopping.load(ordering: .sequentiallyConsistent) {
                        condition.wait()
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    condition.unlock()
                    deadline = 0
                }
            }
            // The caller waits for every worker before it publishes the next task, so none is missed.
            seen = generation.load(ordering: .acquiring)
            let task = job
            task?(index, participants)
            pending.subtract(1, ordering: .releasing)
        }
    }

    /// Runs `task(participant, participants)` on every participant (the caller is participant 0) and waits.
    /// `task` must stay alive until this returns; it is not copied, so passing a stored method allocates nothing.
    func run(_ task: @escaping @Sendable (Int, Int) -> Void) {
        job = task
        pending.store(participants - 1, ordering: .relaxed)
        // Publishes the job and the count (a sequentially consistent read-modify-write also releases).
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
        task(0, participants)
        var spins = 0
        while pending.load(ordering: .acquiring) > 0 {
            spins &+= 1
            // A worker taken off its core by the system: let it run.
            if spins > 1 << 14 { sched_yield() }
        }
        job = nil
    }
}
