import Foundation
import MLPCore

/// Prepares the batches of a source ahead of use on `workers` background threads, at most `depth` ahead, and
/// hands them out in index order — the same batches in the same order whatever the number of workers.
///
/// With 0 workers batches are made on the caller's thread when asked for (no overlap). With `parts` above 1 it
/// reads share `part` of each batch only (``BatchSource/batch(_:part:of:)``): a data-parallel rank's rows.
///
/// `@unchecked Sendable` because the workers' operations capture it: they touch only `ready` under `condition` and
/// the immutable `source` (itself `Sendable`) and `indices`; `scheduled` and `consumed` are used by the caller only,
/// under `condition` whenever workers exist.
final class Prefetcher: @unchecked Sendable {
    let source: BatchSource
    let indices: [Int]
    let depth: Int
    let part: Int
    let parts: Int
    let queue: OperationQueue?
    private let condition = NSCondition()
    private var ready: [Int: Result<(batch: Batch, globalRows: Int), Error>] = [:]
    private var scheduled = 0
    private var consumed = 0

    init(source: BatchSource, indices: [Int], workers: Int, depth: Int, part: Int = 0, of parts: Int = 1) {
        self.source = source
        self.indices = indices
        self.depth = max(1, depth)
        self.part = part
        self.parts = parts
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
                let result = Result { try self.read(index) }
                self.condition.lock()
                self.ready[position] = result
                self.condition.broadcast()
                self.condition.unlock()
            }
        }
    }

    /// Batch `index`, or its share (with the whole batch's row count).
    private func read(_ index: Int) throws -> (batch: Batch, globalRows: Int) {
        guard parts > 1 else {
            let batch = try source.batch(index)
            return (batch, batch.x.rowCount)
        }
        return try source.batch(index, part: part, of: parts)
    }

    /// The next batch in order (waits for a worker if it is not ready yet).
    func next() throws -> Batch { try nextShare().batch }

    /// The next batch (or share) in order, with the whole batch's row count.
    func nextShare() throws -> (batch: Batch, globalRows: Int) {
        guard queue != nil else {
            defer { consumed += 1 }
            return try read(indices[consumed])
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
