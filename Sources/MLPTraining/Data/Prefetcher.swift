import Foundation
import MLPCore

/// Prepares the batches of a source ahead of use on `workers` background threads, at most `depth` ahead, and
/// hands them out in index order — the same batches in the same order whatever the number of workers.
///
/// With 0 workers batches are made on the caller's thread when asked for (no overlap).
///
/// `@unchecked Sendable` because the workers' operations capture it: they touch only `ready` under `condition` and
/// the immutable `source` (itself `Sendable`) and `indices`; `scheduled` and `consumed` are used by the caller only,
/// under `condition` whenever workers exist.
final class Prefetcher: @unchecked Sendable {
    let source: BatchSource
    let indices: [Int]
    let depth: Int
    let queue: OperationQueue?
    private let condition = NSCondition()
    private var ready: [Int: Result<Batch, Error>] = [:]
    private var scheduled = 0
    private var consumed = 0

    init(source: BatchSource, indices: [Int], workers: Int, depth: Int) {
        self.source = source
        self.indices = indices
        self.depth = max(1, depth)
        if workers > 0 {
            let queue = OperationQueue()
            queue.maxConcurrentOperationCount = workers
            queue.qualityOfService = .userInitiated
            self.queue = queue
            condition.lock()
            scheduleLocked()
            condition.unlock()
        } else {
            queue = nil
        }
    }

    deinit { queue?.cancelAllOperations() }

    /// Schedules positions up to `consumed + depth` (lock held).
    private func scheduleLocked() {
        guard let queue else { return }
        while scheduled < indices.count && scheduled < consumed + depth {
            let position = scheduled
            let index = indices[position]
            scheduled += 1
            queue.addOperation { [weak self] in
                guard let self else { return }
                let result = Result { try self.source.batch(index) }
                self.condition.lock()
                self.ready[position] = result
                self.condition.broadcast()
                self.condition.unlock()
            }
        }
    }

    /// The next batch in order (waits for a worker if it is not ready yet).
    func next() throws -> Batch {
        guard queue != nil else {
            defer { consumed += 1 }
            return try source.batch(indices[consumed])
        }
        condition.lock()
        defer { condition.unlock() }
        let position = consumed
        while ready[position] == nil { condition.wait() }
        let result = ready.removeValue(forKey: position)!
        consumed += 1
        scheduleLocked()
        return try result.get()
    }
}
