/// Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Parallel random numbers: as
/// easy as 1, 2, 3"), as in Random123.
///
/// A block is a pure function of a 128-bit counter and a 64-bit key, so any value of a random stream can
/// be computed independently: the OpenCL backend computes the same numbers from the same
/// (seed, stream, counter) as this Swift code, which is what makes a seed mean the same model on either
/// backend and lets dropout regenerate a mask instead of storing it.
public enum Philox4x32 {
    static let multiplier0: UInt32 = 0xD251_1F53
    static let multiplier1: UInt32 = 0xCD9E_8D57
    static let weyl0: UInt32 = 0x9E37_79B9
    static let weyl1: UInt32 = 0xBB67_AE85

    /// Ten rounds of Philox on `counter` under `key`.
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter
        var k = key
        for round in 0..<10 {
            if round > 0 { k &+= SIMD2(weyl0, weyl1) }
            let product0 = UInt64(multiplier0) &* UInt64(c[0])
            let product1 = UInt64(multiplier1) &* UInt64(c[2])
            let hi0 = UInt32(truncatingIfNeeded: product0 >> 32), lo0 = UInt32(truncatingIfNeeded: product0)
            let hi1 = UInt32(truncatingIfNeeded: product1 >> 32), lo1 = UInt32(truncatingIfNeeded: product1)
            c = SIMD4(hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0)
        }
        return c
    }
}

/// The stream ids of every use of randomness in MLPKit, in one place: each use draws from its own stream of the
/// seed, so adding one never shifts the numbers of another. The values are part of every seeded result (initial
/// weights, shuffles, dropout masks, splits), so they are fixed: a new use takes a new value.
public enum PhiloxStream {
    /// Layer `index` (its position in the model): its initial weights.
    public static func layer(_ index: Int) -> UInt64 { UInt64(index + 1) << 16 }
    /// Layer `index`'s dropout masks (with the step number as the counter's high word).
    public static func dropout(_ index: Int) -> UInt64 { layer(index) | 0xD }
    /// The order of the samples in `epoch` (in-memory data, on the device or the host: the same order).
    public static func epochShuffle(_ epoch: Int) -> UInt64 { (1 << 40) | UInt64(epoch) }
    /// The order of the batches in `epoch` for a source that delivers whole batches.
    public static func batchShuffle(_ epoch: Int) -> UInt64 { (2 << 40) | UInt64(epoch) }
    /// The Gaussian noise added to batch `index` (`BatchSource` augmentation).
    public static func batchNoise(_ index: Int) -> UInt64 { 0x0A06_0000 | UInt64(index) }
    /// `Tensor.uniform(shape:low:high:seed:)`.
    public static let tensorUniform: UInt64 = 0x7E45_0000
    /// The random data of the sanity check.
    public static let sanityCheck: UInt64 = 0xC4EC_0000
    /// The permutation of a train/test split.
    public static let trainTestSplit: UInt64 = 0x5_0117
    /// The shuffle before a validation split.
    public static let validationSplit: UInt64 = 0x5_9117
}

/// A stream of random numbers defined by (seed, stream, counter).
///
/// The key is the 64-bit seed; counter words 0–1 count blocks, words 2–3 hold the stream id, so different
/// uses of one seed (each layer's initializer, each epoch's shuffle, the check command's random data)
/// draw from disjoint sequences.
public struct PhiloxRandom: Sendable {
    /// The key: the same seed gives the same numbers on every backend and machine.
    public let seed: UInt64
    /// The stream id (counter words 2–3): disjoint sequences for different uses of one seed (``PhiloxStream``).
    public let stream: UInt64
    /// The index of the next 128-bit block.
    public private(set) var blockIndex: UInt64
    private var buffered: SIMD4<UInt32> = .zero
    private var bufferedCount = 0

    /// Creates the stream of (seed, stream), starting at block `blockIndex` (0: the start).
    public init(seed: UInt64, stream: UInt64 = 0, blockIndex: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.blockIndex = blockIndex
    }

    /// The next 32 random bits.
    public mutating func next() -> UInt32 {
        if bufferedCount == 0 {
            let counter = SIMD4<UInt32>(UInt32(truncatingIfNeeded: blockIndex), UInt32(truncatingIfNeeded: blockIndex >> 32),
                                        UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32))
            let key = SIMD2<UInt32>(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
            buffered = Philox4x32.block(counter: counter, key: key)
            bufferedCount = 4
            blockIndex &+= 1
        }
        bufferedCount -= 1
        return buffered[3 - bufferedCount]
    }

    /// A uniform value in `[0, 1)` with 24 random bits (every value a `Float` can hold exactly).
    public mutating func nextUniform() -> Float {
        Float(next() >> 8) * (1.0 / 16_777_216.0)
    }

    /// A standard normal value (Box–Muller on two uniforms; the first uniform is taken from `(0, 1]`).
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 8) + 1) / 16_777_216.0
        let u2 = Double(next() >> 8) / 16_777_216.0
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// An integer uniformly drawn from `0..<bound` (Lemire's multiply-shift with rejection).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0 && bound <= Int(UInt32.max), "nextInt(below:) needs 0 < bound <= 2^32-1")
        let b = UInt32(bound)
        while true {
            let product = UInt64(next()) &* UInt64(b)
            let low = UInt32(truncatingIfNeeded: product)
            if low >= (0 &- b) % b { return Int(product >> 32) }
        }
    }

    /// A random permutation of `0..<count` (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        if count < 2 { return order }
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, nextInt(below: i + 1))
        }
        return order
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
