import Foundation
import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport
import Synchronization

/// Share reads (`batch(_:part:of:)`): each source's share of a batch is exactly the whole batch's rows
/// `Communicator.share(of:)` picks, and the streaming sources read only those rows.
final class BatchShareTests: ScratchDirectoryTestCase {
    /// Asserts that every share of every batch of `source`, for `parts`, equals the whole batch's rows.
    func assertSharesMatchWholeBatches(_ source: BatchSource, parts: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let count = try XCTUnwrap(source.batchCount)
        for index in 0..<count {
            let whole = try source.batch(index)
            for parts in parts {
                var rowsSeen = 0
                for part in 0..<parts {
                    let share = try source.batch(index, part: part, of: parts)
                    let rows = Batch.shareRows(of: whole.x.rowCount, part: part, of: parts)
                    let expected = whole.rows(rows)
                    let context = "batch \(index), part \(part) of \(parts)"
                    XCTAssertEqual(share.globalRows, whole.x.rowCount, context, file: file, line: line)
                    XCTAssertEqual(share.batch.x, expected.x, context, file: file, line: line)
                    XCTAssertEqual(share.batch.y, expected.y, context, file: file, line: line)
                    XCTAssertEqual(share.batch.sampleWeight, expected.sampleWeight, context, file: file, line: line)
                    rowsSeen += share.batch.x.rowCount
                }
                XCTAssertEqual(rowsSeen, whole.x.rowCount, "batch \(index): the \(parts) shares cover it", file: file, line: line)
            }
        }
    }

    /// The split: contiguous, earlier parts shorter, empty parts when there are fewer rows than parts; the
    /// communicator's `share(of:)` is this split for (rank, size).
    func testShareRowsSplit() {
        XCTAssertEqual((0..<3).map { Batch.shareRows(of: 7, part: $0, of: 3) }, [0..<2, 2..<4, 4..<7])
        XCTAssertEqual((0..<3).map { Batch.shareRows(of: 2, part: $0, of: 3) }, [0..<0, 0..<1, 1..<2])
        XCTAssertEqual((0..<2).map { Batch.shareRows(of: 15, part: $0, of: 2) }, [0..<7, 7..<15])
        XCTAssertEqual(Batch.shareRows(of: 15, part: 0, of: 1), 0..<15)
        XCTAssertEqual(SingleProcess().share(of: 15), 0..<15)
    }

    func samples(_ rows: Int, features: Int = 3) -> (x: Tensor, y: Tensor) {
        var random = PhiloxRandom(seed: 5)
        let x = Tensor(shape: [rows, features], scalars: (0..<(rows * features)).map { _ in Float(Int(random.nextNormal() * 1000)) / 1000 })
        let y = Tensor(shape: [rows, 1], scalars: (0..<rows).map { Float($0 % 3) })
        return (x, y)
    }

    func testArraySourceSharesGatherOnlyTheirRows() throws {
        let data = samples(23)
        let weights = (0..<23).map { Float($0) / 10 }
        // 23 rows in batches of 7: the last batch has 2 rows, so 3 or 4 parts leave some shares empty.
        let source = ArraySource(x: data.x, y: data.y, sampleWeight: weights, batchSize: 7, shuffleSeed: 11)
        source.onEpochBegin(2)
        try assertSharesMatchWholeBatches(source, parts: [1, 2, 3, 4])
        let last = try source.batch(3, part: 0, of: 3)
        XCTAssertEqual(last.globalRows, 2)
        XCTAssertEqual(last.batch.x.shape, [0, 3])
        XCTAssertEqual(last.batch.sampleWeight, [])
        XCTAssertThrowsError(try source.batch(4, part: 0, of: 2)) { XCTAssertTrue("\($0)".contains("batch 4 is past the end (4 batches)"), "\($0)") }
        XCTAssertThrowsError(try source.batch(0, part: 2, of: 2)) { XCTAssertTrue("\($0)".contains("got part 2 of 2"), "\($0)") }
        XCTAssertThrowsError(try source.batch(0, part: 0, of: 0)) { XCTAssertTrue("\($0)".contains("got part 0 of 0"), "\($0)") }
    }

    /// A user source without a share read gets the default (whole batch, then cut); `map` passes the share and
    /// the batch index to its transform; `take` forwards; noise gives a share the noise of its rows.
    func testDefaultMappedTakeAndNoiseShares() throws {
        let data = samples(20)
        let base = ArraySource(x: data.x, y: data.y, batchSize: 6)
        let generated = GeneratorSource(count: 4) { try base.batch($0) }
        try assertSharesMatchWholeBatches(generated, parts: [1, 2, 3])
        let seen = Mutex<[String]>([])
        let mapped = base.map { batch, index in
            seen.withLock { $0.append("\(index):\(batch.x.rowCount)") }
            var doubled = batch
            doubled.x.scalars = batch.x.scalars.map { $0 * 2 }
            return doubled
        }
        try assertSharesMatchWholeBatches(mapped, parts: [2, 3])
        seen.withLock { $0 = [] }
        _ = try mapped.batch(3, part: 1, of: 2)
        XCTAssertEqual(seen.withLock { $0 }, ["3:1"], "the transform sees the share (1 of the last batch's 2 rows), with the batch index")
        try assertSharesMatchWholeBatches(base.take(2), parts: [2, 4])
        try assertSharesMatchWholeBatches(base.addingGaussianNoise(stddev: 0.5, seed: 3), parts: [2, 3, 5])
        try assertSharesMatchWholeBatches(base.addingGaussianNoise(stddev: 0.5, seed: 3).take(3), parts: [3])
    }

    /// The CSV text of `rows` rows, with a blank line after every fifth row, and its in-memory batches.
    func csv(_ rows: Int) -> (text: String, data: (x: Tensor, y: Tensor)) {
        let data = samples(rows)
        var text = "a,b,c,label\n"
        for row in 0..<rows {
            text += (0..<3).map { String(data.x[row, $0]) }.joined(separator: ",") + ",\(Int(data.y[row, 0]))\n"
            if row % 5 == 4 { text += "\n" }
        }
        return (text, data)
    }

    func testStreamingCSVSharesMatchTheWholeBatches() throws {
        let (text, data) = csv(23)
        let path = try write("data.csv", text)
        for shares in [1, 2, 3] {
            for batchSize in [7, 2, 23] {
                let source = try StreamingCSVSource(path: path, batchSize: batchSize, shares: shares)
                XCTAssertEqual(source.shares, shares)
                XCTAssertEqual(source.batchCount, (23 + batchSize - 1) / batchSize)
                let memory = ArraySource(x: data.x, y: data.y, batchSize: batchSize)
                for index in 0..<source.batchCount! {
                    XCTAssertEqual(try source.batch(index).x, try memory.batch(index).x, "batch \(index) of \(batchSize)")
                }
                // The recorded part count seeks; the others step over the rows before the share.
                try assertSharesMatchWholeBatches(source, parts: [1, 2, 3, 4])
            }
        }
        // Rows left out for a missing cell are stepped over as the first pass counted them.
        let gappy = try write("gappy.csv", "a,label\n1,0\nNA,1\n2,0\n\n3,1\nNA,0\n4,1\n5,0\n6,1\n")
        let skipping = try StreamingCSVSource(path: gappy, batchSize: 4, missing: .skipRow, shares: 2)
        XCTAssertEqual(skipping.rowCount, 6)
        XCTAssertEqual(try skipping.batch(0, part: 1, of: 2).batch.x.scalars, [3, 4])
        XCTAssertEqual(try skipping.batch(0, part: 2, of: 3).batch.x.scalars, [3, 4])
        XCTAssertEqual(try skipping.batch(1, part: 0, of: 3).batch.x.scalars, [])
        XCTAssertEqual(try skipping.batch(1, part: 2, of: 3).batch.x.scalars, [6])
        try assertSharesMatchWholeBatches(skipping, parts: [1, 2, 3])
        XCTAssertThrowsError(try StreamingCSVSource(path: path, shares: 0)) { XCTAssertTrue("\($0)".contains("shares ≥ 1, got 0"), "\($0)") }
    }

    /// A share read does not parse the other ranks' rows: the file is changed after the first pass so that one
    /// row no longer parses; only the shares holding that row fail, and they name its line.
    func testStreamingCSVShareReadsOnlyItsRows() throws {
        var lines = ["a,b,label"] + (0..<20).map { "\(Float($0) / 4),\(Float($0 % 7)),\($0 % 2)" }
        let path = try write("data.csv", lines.joined(separator: "\n") + "\n")
        let source = try StreamingCSVSource(path: path, batchSize: 10, shares: 2)
        let before = try source.batch(0, part: 0, of: 2).batch
        // Row 5 of batch 0 (file line 7) gets a letter in place of its first digit: same length, same offsets.
        lines[6] = "x" + lines[6].dropFirst()
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let after = try source.batch(0, part: 0, of: 2).batch
        XCTAssertEqual(after.x, before.x, "rank 0's rows 0..<5 are read without reaching row 5")
        XCTAssertEqual(try source.batch(1, part: 1, of: 2).batch.x.rowCount, 5)
        XCTAssertThrowsError(try source.batch(0, part: 1, of: 2)) { XCTAssertTrue("\($0)".contains("data.csv:7"), "\($0)") }
        XCTAssertThrowsError(try source.batch(0)) { XCTAssertTrue("\($0)".contains("data.csv:7"), "\($0)") }
        // Another part count steps over rows 0..<6 of batch 0 without converting them, so row 5 is not parsed.
        XCTAssertEqual(try source.batch(0, part: 2, of: 3).batch.x.rowCount, 4)
        XCTAssertThrowsError(try source.batch(0, part: 1, of: 3)) { XCTAssertTrue("\($0)".contains("data.csv:7"), "\($0)") }
    }

    // MARK: IDX

    func idx(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func idx(_ name: String, dims: [UInt32], values: [UInt8]) throws -> String {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return try idx(name, bytes + values)
    }

    func testStreamingIDXGivesTheInMemoryBatchesAndShares() throws {
        var random = PhiloxRandom(seed: 8)
        let pixels = (0..<(23 * 6)).map { _ in UInt8(random.nextInt(below: 256)) }
        let images = try idx("images", dims: [23, 2, 3], values: pixels)
        let labels = try idx("labels", dims: [23], values: (0..<23).map { UInt8($0 % 10) })
        let memory = try IDX.dataset(images: images, labels: labels)
        for batchSize in [7, 2, 32] {
            let source = try StreamingIDXSource(images: images, labels: labels, batchSize: batchSize)
            XCTAssertEqual(source.imageShape, [23, 2, 3])
            XCTAssertEqual(source.featureCount, 6)
            XCTAssertEqual(source.labelSummary, LabelSummary(values: memory.y.scalars))
            let reference = ArraySource(x: memory.x, y: memory.y, batchSize: batchSize)
            XCTAssertEqual(source.batchCount, reference.batchCount)
            for index in 0..<source.batchCount! {
                XCTAssertEqual(try source.batch(index).x, try reference.batch(index).x, "batch \(index) of \(batchSize)")
                XCTAssertEqual(try source.batch(index).y, try reference.batch(index).y, "batch \(index) of \(batchSize)")
            }
            try assertSharesMatchWholeBatches(source, parts: [1, 2, 3, 4])
        }
    }

    /// Hostile or broken headers give the in-memory reader's errors, word for word; gzip files are refused.
    func testStreamingIDXHeadersFailAsTheInMemoryReader() throws {
        let labels = try idx("labels", dims: [2], values: [1, 2])
        let images = try idx("images", dims: [2, 2], values: [1, 2, 3, 4])
        let hostile: [(String, String)] = [
            ("huge", try idx("huge", dims: [.max, .max, .max, .max], values: [1, 2, 3])),
            ("big", try idx("big", dims: [60_000, 28, 28], values: [1, 2, 3])),
            ("empty", try idx("empty", dims: [2, 2], values: [])),
            ("longer", try idx("longer", dims: [2, 2], values: [UInt8](repeating: 7, count: 9))),
            ("header-only", try idx("header-only", [0, 0, 8, 3, 0, 0])),
            ("two-bytes", try idx("two-bytes", [0, 0])),
            ("magic", try idx("magic", [0, 1, 8, 1, 0, 0, 0, 1, 5])),
            ("type", try idx("type", [0, 0, 0x0D, 1, 0, 0, 0, 1, 5])),
            ("rank0", try idx("rank0", [0, 0, 8, 0])),
            ("rank5", try idx("rank5", [0, 0, 8, 5] + [UInt8](repeating: 0, count: 20))),
            ("rank1-images", try idx("rank1", dims: [2], values: [1, 2])),
            ("three-images", try idx("three", dims: [3, 2], values: [1, 2, 3, 4, 5, 6])),
            ("missing", directory.appendingPathComponent("no-such-file").path),
        ]
        for (name, path) in hostile {
            var expected = ""
            XCTAssertThrowsError(try IDX.dataset(images: path, labels: labels), name) { expected = "\($0)" }
            XCTAssertThrowsError(try StreamingIDXSource(images: path, labels: labels), name) { XCTAssertEqual("\($0)", expected, name) }
        }
        let rank2Labels = try idx("rank2-labels", dims: [2, 1], values: [1, 2])
        var expected = ""
        XCTAssertThrowsError(try IDX.dataset(images: images, labels: rank2Labels)) { expected = "\($0)" }
        XCTAssertThrowsError(try StreamingIDXSource(images: images, labels: rank2Labels)) { XCTAssertEqual("\($0)", expected) }
        XCTAssertTrue(expected.contains("a labels file has rank 1"), expected)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-k", images]
        try process.run()
        process.waitUntilExit()
        XCTAssertThrowsError(try StreamingIDXSource(images: images + ".gz", labels: labels)) {
            XCTAssertTrue("\($0)".contains("images.gz is gzip-compressed, and a compressed file cannot be read at an offset"), "\($0)")
        }
        XCTAssertEqual(try IDX.dataset(images: images + ".gz", labels: labels).x.shape, [2, 2])
    }

    /// The file shrinking after the headers were checked is an error naming the file, not a crash.
    func testStreamingIDXFileThatShrinksIsAnError() throws {
        let images = try idx("images", dims: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8])
        let labels = try idx("labels", dims: [4], values: [0, 1, 0, 1])
        let source = try StreamingIDXSource(images: images, labels: labels, batchSize: 2)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: images))
        try handle.truncate(atOffset: 15)  // the 12-byte header and 3 pixels
        try handle.close()
        XCTAssertEqual(try source.batch(0, part: 0, of: 2).batch.x.scalars, [1 / 255, 2 / 255])
        XCTAssertThrowsError(try source.batch(1, part: 1, of: 2)) {
            XCTAssertTrue("\($0)".hasSuffix("images': reading 2 bytes at byte 18: the file ends at byte 18 (it changed after it was opened)"), "\($0)")
        }
    }
}
