import XCTest
@testable import MLPCore

final class PhiloxTests: XCTestCase {
    /// Known-answer vectors from Random123's `kat_vectors` for philox4x32_10.
    func testKnownAnswerVectors() {
        XCTAssertEqual(Philox4x32.block(counter: .zero, key: .zero),
                       SIMD4(0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8))
        XCTAssertEqual(Philox4x32.block(counter: SIMD4(repeating: 0xFFFF_FFFF), key: SIMD2(repeating: 0xFFFF_FFFF)),
                       SIMD4(0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD))
        XCTAssertEqual(Philox4x32.block(counter: SIMD4(0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344),
                                        key: SIMD2(0xA409_3822, 0x299F_31D0)),
                       SIMD4(0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1))
    }

    func testStreamIsAFunctionOfSeedStreamAndCounter() {
        var a = PhiloxRandom(seed: 42, stream: 3)
        var b = PhiloxRandom(seed: 42, stream: 3)
        var other = PhiloxRandom(seed: 42, stream: 4)
        let first = (0..<10).map { _ in a.next() }
        XCTAssertEqual(first, (0..<10).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<10).map { _ in other.next() })
        // Skipping ahead by block index gives the same values as drawing through.
        var skipped = PhiloxRandom(seed: 42, stream: 3, blockIndex: 2)
        XCTAssertEqual(skipped.next(), first[8])
    }

    func testUniformAndNormalMoments() {
        var random = PhiloxRandom(seed: 7)
        let n = 20_000
        let uniforms = (0..<n).map { _ in Double(random.nextUniform()) }
        XCTAssertTrue(uniforms.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(uniforms.reduce(0, +) / Double(n), 0.5, accuracy: 0.01)
        let normals = (0..<n).map { _ in Double(random.nextNormal()) }
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.04)
    }

    func testPermutationIsAPermutation() {
        var random = PhiloxRandom(seed: 1)
        let order = random.permutation(1000)
        XCTAssertEqual(order.sorted(), Array(0..<1000))
        XCTAssertNotEqual(order, Array(0..<1000))
    }

    /// The stream ids are part of every seeded result (initial weights, shuffles, masks, splits): they keep the
    /// values the call sites had before they were gathered in ``PhiloxStream``.
    func testStreamIdsKeepTheirValues() {
        XCTAssertEqual(PhiloxStream.layer(0), 1 << 16)
        XCTAssertEqual(PhiloxStream.layer(3), 4 << 16)
        XCTAssertEqual(PhiloxStream.epochShuffle(5), (1 << 40) | 5)
        XCTAssertEqual(PhiloxStream.batchShuffle(5), (2 << 40) | 5)
        XCTAssertEqual(PhiloxStream.batchNoise(9), 0x0A06_0009)
        XCTAssertEqual([PhiloxStream.tensorUniform, PhiloxStream.sanityCheck, PhiloxStream.trainTestSplit, PhiloxStream.validationSplit],
                       [0x7E45_0000, 0xC4EC_0000, 0x5_0117, 0x5_9117])
    }
}
