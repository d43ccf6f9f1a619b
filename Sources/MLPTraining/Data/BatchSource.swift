import Foundation
import MLPCore
import Synchronization

/// One batch: features, targets (absent for prediction) and optional per-sample loss weights.
public struct Batch: Sendable {
    /// The features, shape (rows, features).
    public var x: Tensor
    /// The targets, shape (rows, outputs) or (rows, 1) for class indices; nil for prediction.
    public var y: Tensor?
    /// One loss weight per row (Keras' `sample_weight`); nil weighs every row 1.
    public var sampleWeight: [Float]?

    /// Creates a batch; `y` and `sampleWeight`, when given, have one row (value) per row of `x`.
    public init(x: Tensor, y: Tensor? = nil, sampleWeight: [Float]? = nil) {
        self.x = x
        self.y = y
        self.sampleWeight = sampleWeight
    }
}

/// A source of batches for `fit`, `evaluate` and `predict` — Keras' `Sequence`/`PyDataset` in Swift.
///
/// An indexable source has a finite ``batchCount`` and returns batch `i` for any `i` (in any order, from any
/// thread: workers call it concurrently); `fit` can shuffle the batch order each epoch. An infinite source
/// (``batchCount`` nil) is read with `stepsPerEpoch`. ``onEpochEnd(_:)`` lets a source reshuffle or reload.
///
/// A source is `Sendable`: the prefetch workers share it, so its mutable state needs a lock (or `Mutex`).
public protocol BatchSource: AnyObject, Sendable {
    /// The number of batches in an epoch, or nil for an endless stream.
    var batchCount: Int? { get }
    /// Batch `index` (0-based). May be called from worker threads, concurrently for different indices.
    func batch(_ index: Int) throws -> Batch
    /// Share `part` of `parts` of batch `index`: the rows ``Batch/shareRows(of:part:of:)`` picks out of the
    /// whole batch, and the whole batch's row count. Data-parallel `fit` asks each rank for its share only.
    ///
    /// The default reads the whole batch with ``batch(_:)`` and keeps the share, so any source works; a source
    /// that can read part of a batch without the rest (``ArraySource``, ``StreamingCSVSource``,
    /// ``StreamingIDXSource``) overrides it. An override returns exactly the rows the default would.
    func batch(_ index: Int, part: Int, of parts: Int) throws -> (batch: Batch, globalRows: Int)
    /// Called before an epoch's first batch is requested.
    func onEpochBegin(_ epoch: Int)
    /// Called after an epoch's last batch was used.
    func onEpochEnd(_ epoch: Int)
}

public extension BatchSource {
    func onEpochBegin(_ epoch: Int) {}
    func onEpochEnd(_ epoch: Int) {}

    /// The whole batch ``batch(_:)`` reads, cut to the share.
    func batch(_ index: Int, part: Int, of parts: Int) throws -> (batch: Batch, globalRows: Int) {
        try Batch.checkShare(part: part, of: parts)
        let whole = try batch(index)
        let rows = whole.x.rowCount
        return (parts == 1 ? whole : whole.rows(Batch.shareRows(of: rows, part: part, of: parts)), rows)
    }
}

extension Batch {
    /// Rows `part` of `count` split into `parts` contiguous shares — the split of `Communicator.share(of:)`:
    /// earlier parts get the shorter shares when `count` does not divide evenly, and a share is empty when
    /// `count < parts`.
    public static func shareRows(of count: Int, part: Int, of parts: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }

    /// Throws unless `0 <= part < parts`.
    static func checkShare(part: Int, of parts: Int) throws {
        guard parts > 0, (0..<parts).contains(part) else {
            throw MLPError.invalidArgument("a batch share must be part 0..<parts of parts ≥ 1, got part \(part) of \(parts)")
        }
    }
}

/// Batches of in-memory arrays, in order (shuffling is `fit`'s job: it permutes the batch order, or use
/// ``shuffledEachEpoch(seed:)`` to permute samples).
public final class ArraySource: BatchSource {
    /// All the features, shape (samples, features).
    public let x: Tensor
    /// All the targets, one row per sample; nil for prediction.
    public let y: Tensor?
    /// One loss weight per sample; nil weighs every sample 1.
    public let sampleWeight: [Float]?
    /// Rows per batch (32 by default, as Keras); the last batch holds the remainder.
    public let batchSize: Int
    /// With a seed, samples are permuted at every epoch begin (seed, epoch) — Keras' `shuffle=True` on arrays.
    public let shuffleSeed: UInt64?
    /// The sample order of the current epoch (the workers read it while `onEpochBegin` may replace it).
    private let order: Mutex<[Int]>

    /// Creates the source; `batchSize` must be positive and `y` must have as many rows as `x` (preconditions).
    public init(x: Tensor, y: Tensor? = nil, sampleWeight: [Float]? = nil, batchSize: Int = 32, shuffleSeed: UInt64? = nil) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(y == nil || y!.rowCount == x.rowCount, "x has \(x.rowCount) samples, y \(y!.rowCount)")
        self.x = x
        self.y = y
        self.sampleWeight = sampleWeight
        self.batchSize = batchSize
        self.shuffleSeed = shuffleSeed
        order = Mutex(Array(0..<x.rowCount))
    }

    /// The same data shuffled per epoch with `seed`.
    public func shuffledEachEpoch(seed: UInt64) -> ArraySource {
        ArraySource(x: x, y: y, sampleWeight: sampleWeight, batchSize: batchSize, shuffleSeed: seed)
    }

    public var batchCount: Int? { (x.rowCount + batchSize - 1) / batchSize }

    public func onEpochBegin(_ epoch: Int) {
        guard let shuffleSeed else { return }
        var random = PhiloxRandom(seed: shuffleSeed, stream: PhiloxStream.epochShuffle(epoch))
        let permutation = random.permutation(x.rowCount)
        order.withLock { $0 = permutation }
    }

    public func batch(_ index: Int) throws -> Batch {
        try batch(index, part: 0, of: 1).batch
    }

    /// Gathers only the share's rows of batch `index`.
    public func batch(_ index: Int, part: Int, of parts: Int) throws -> (batch: Batch, globalRows: Int) {
        try Batch.checkShare(part: part, of: parts)
        let start = index * batchSize, end = min(x.rowCount, start + batchSize)
        guard index >= 0, start < end else { throw MLPError.invalidArgument("batch \(index) is past the end (\(batchCount ?? 0) batches)") }
        let share = Batch.shareRows(of: end - start, part: part, of: parts)
        let rows = order.withLock { Array($0[(start + share.lowerBound)..<(start + share.upperBound)]) }
        return (Batch(x: x.gatheringRows(rows), y: y?.gatheringRows(rows), sampleWeight: sampleWeight.map { weights in rows.map { weights[$0] } }),
                end - start)
    }
}

/// Batches from a closure: `generate(index)` for a finite count, or an endless stream (`count` nil).
///
/// `generate` is `@Sendable`: the prefetch workers call it from their threads, concurrently for different
/// indices, so it may capture constants but not the caller's mutable or actor-isolated state.
public final class GeneratorSource: BatchSource {
    public let batchCount: Int?
    let generate: @Sendable (Int) throws -> Batch

    /// Creates the source from `generate(index)`, called for batches `0..<count`, or without end when `count` is nil.
    public init(count: Int?, _ generate: @escaping @Sendable (Int) throws -> Batch) {
        batchCount = count
        self.generate = generate
    }

    public func batch(_ index: Int) throws -> Batch { try generate(index) }
}

/// A source transformed batch by batch (`map`), run on the prefetch workers: augmentation such as noise.
///
/// A share read (data-parallel `fit`) reads only the share from the base source and passes it to the transform
/// with the whole batch's index, so the transform then sees the share's rows, not the whole batch.
public final class MappedSource: BatchSource {
    let base: BatchSource
    let transform: @Sendable (Batch, Int) throws -> Batch

    init(base: BatchSource, transform: @escaping @Sendable (Batch, Int) throws -> Batch) {
        self.base = base
        self.transform = transform
    }

    public var batchCount: Int? { base.batchCount }
    public func batch(_ index: Int) throws -> Batch { try transform(base.batch(index), index) }
    /// The base source's share, transformed (with the batch's index).
    public func batch(_ index: Int, part: Int, of parts: Int) throws -> (batch: Batch, globalRows: Int) {
        let share = try base.batch(index, part: part, of: parts)
        return (try transform(share.batch, index), share.globalRows)
    }
    public func onEpochBegin(_ epoch: Int) { base.onEpochBegin(epoch) }
    public func onEpochEnd(_ epoch: Int) { base.onEpochEnd(epoch) }
}

/// The first `count` batches of a source.
public final class TakeSource: BatchSource {
    let base: BatchSource
    let count: Int

    init(base: BatchSource, count: Int) {
        self.base = base
        self.count = count
    }

    public var batchCount: Int? { base.batchCount.map { min($0, count) } ?? count }
    public func batch(_ index: Int) throws -> Batch { try base.batch(index) }
    /// The base source's share.
    public func batch(_ index: Int, part: Int, of parts: Int) throws -> (batch: Batch, globalRows: Int) {
        try base.batch(index, part: part, of: parts)
    }
    public func onEpochBegin(_ epoch: Int) { base.onEpochBegin(epoch) }
    public func onEpochEnd(_ epoch: Int) { base.onEpochEnd(epoch) }
}

public extension BatchSource {
    /// Applies `transform` to every batch (on the prefetch workers, hence `@Sendable`); it gets the batch index too.
    /// In data-parallel `fit` it gets each rank's share of the batch instead (with the batch's index).
    func map(_ transform: @escaping @Sendable (Batch, Int) throws -> Batch) -> BatchSource { MappedSource(base: self, transform: transform) }

    /// Only the first `count` batches.
    func take(_ count: Int) -> BatchSource { TakeSource(base: self, count: count) }

    /// Gaussian noise of `stddev` added to the features, a function of (seed, batch index): an augmentation
    /// that gives the same batches whatever the number of workers.
    ///
    /// A share of a batch gets the noise of its rows in the whole batch, so data-parallel training adds the
    /// same noise as one process.
    func addingGaussianNoise(stddev: Float, seed: UInt64) -> BatchSource {
        GaussianNoiseSource(base: self, stddev: stddev, seed: seed)
    }
}

/// ``BatchSource/addingGaussianNoise(stddev:seed:)``: the noise of a batch's value `k` is the `k`-th normal of
/// the stream (seed, batch index), so a share skips the draws of the rows before it.
final class GaussianNoiseSource: BatchSource {
    let base: BatchSource
    let stddev: Float
    let seed: UInt64

    init(base: BatchSource, stddev: Float, seed: UInt64) {
        self.base = base
        self.stddev = stddev
        self.seed = seed
    }

    var batchCount: Int? { base.batchCount }
    func batch(_ index: Int) throws -> Batch { noisy(try base.batch(index), index: index, firstRow: 0) }
    func batch(_ index: Int, part: Int, of parts: Int) throws -> (batch: Batch, globalRows: Int) {
        let share = try base.batch(index, part: part, of: parts)
        let firstRow = Batch.shareRows(of: share.globalRows, part: part, of: parts).lowerBound
        return (noisy(share.batch, index: index, firstRow: firstRow), share.globalRows)
    }
    func onEpochBegin(_ epoch: Int) { base.onEpochBegin(epoch) }
    func onEpochEnd(_ epoch: Int) { base.onEpochEnd(epoch) }

    /// `batch` with noise, its first row being row `firstRow` of batch `index` (each normal takes two draws).
    private func noisy(_ batch: Batch, index: Int, firstRow: Int) -> Batch {
        var random = PhiloxRandom(seed: seed, stream: PhiloxStream.batchNoise(index))
        for _ in 0..<(2 * firstRow * batch.x.columnCount) { _ = random.next() }
        var noisy = batch
        noisy.x.scalars = batch.x.scalars.map { $0 + stddev * random.nextNormal() }
        return noisy
    }
}
