import Foundation
import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// Bad and unusual data files: line endings, byte-order marks, binary data, long lines, number spellings,
/// duplicate names, label summaries, IDX headers. A file read into memory and the same file streamed must agree.
final class CSVHardeningTests: ScratchDirectoryTestCase {
    /// A 3-feature, 3-class CSV text with `\n` line endings.
    func sample(_ rows: Int = 40) -> String {
        var random = PhiloxRandom(seed: 4)
        var text = "f0,f1,f2,label\n"
        for row in 0..<rows {
            let values = (0..<3).map { _ in String(Float(Int(random.nextNormal() * 1000)) / 1000) }
            text += values.joined(separator: ",") + ",\(row % 3)\n"
        }
        return text
    }

    func writeBytes(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The error a reader throws, as text; "no error" when it reads the file.
    func error(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch { return "\(error)" }
    }

    /// The error for `path` read into memory and streamed: they must be the same.
    func errors(_ path: String, lineLimit: CSVLineLimit = .default, file: StaticString = #filePath, line: UInt = #line) -> String {
        let memory = error { _ = try CSVTable(contentsOf: path, lineLimit: lineLimit) }
        let streamed = error { _ = try StreamingCSVSource(path: path, lineLimit: lineLimit) }
        XCTAssertEqual(memory, streamed, "in memory and streamed", file: file, line: line)
        return memory
    }

    // MARK: Line endings and byte-order marks

    func testCRLFCRAndBOMGiveTheSameBatchesStreamedOrNot() throws {
        let text = sample(41)
        let plain = try CSVTable(text: text, path: "plain.csv")
        let reference = ArraySource(x: plain.tensor(columns: [0, 1, 2]), y: plain.tensor(columns: [3]), batchSize: 8)
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let variants: [(String, [UInt8])] = [
            ("lf", Array(text.utf8)),
            ("crlf", Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)),
            ("cr", Array(text.replacingOccurrences(of: "\n", with: "\r").utf8)),
            ("bom-lf", bom + Array(text.utf8)),
            ("bom-crlf", bom + Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)),
            ("no-final-newline", Array(text.dropLast().replacingOccurrences(of: "\n", with: "\r\n").utf8)),
        ]
        for (name, bytes) in variants {
            let path = try writeBytes("\(name).csv", bytes)
            let table = try CSVTable(contentsOf: path)
            XCTAssertEqual(table.header, ["f0", "f1", "f2", "label"], name)
            XCTAssertEqual(table.rows, plain.rows, name)
            XCTAssertEqual(table.lineNumbers, plain.lineNumbers, name)
            XCTAssertEqual(try CSVTable(text: String(decoding: bytes, as: UTF8.self), path: name).rows, plain.rows, "\(name) as text")
            let streamed = try StreamingCSVSource(path: path, batchSize: 8)
            XCTAssertEqual(streamed.columns.labels, [3], "\(name): the label column is found by name")
            XCTAssertEqual(streamed.batchCount, reference.batchCount, name)
            for index in 0..<6 {
                XCTAssertEqual(try streamed.batch(index).x, try reference.batch(index).x, "\(name) batch \(index)")
                XCTAssertEqual(try streamed.batch(index).y, try reference.batch(index).y, "\(name) batch \(index)")
            }
        }
    }

    /// Lines, their numbers and their offsets do not depend on where the read chunks end: a `\r\n`, a BOM or a
    /// line split across chunks of 1 to 9 bytes reads as with one big chunk.
    func testLinesDoNotDependOnChunkBoundaries() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a,b\r\n1,2\r\n\r\n3,4\r5,6\n\n7,8".utf8)
        let path = try writeBytes("chunks.csv", bytes)
        func lines(chunk: Int) throws -> [String] {
            let reader = try CSVLineReader(path: path, chunkBytes: chunk)
            var found: [String] = []
            while let line = try reader.nextLine({ bytes, number, offset in "\(number)@\(offset):" + String(decoding: bytes, as: UTF8.self) }) {
                found.append(line)
            }
            return found
        }
        let expected = ["1@3:a,b", "2@8:1,2", "3@13:", "4@15:3,4", "5@19:5,6", "6@23:", "7@24:7,8"]
        for chunk in 1...9 { XCTAssertEqual(try lines(chunk: chunk), expected, "chunks of \(chunk) bytes") }
        XCTAssertEqual(try lines(chunk: 1 << 20), expected)
        // Reading from a line's offset gives the rest of the file.
        let reader = try CSVLineReader(path: path, from: 15, firstLine: 4, chunkBytes: 2)
        XCTAssertEqual(try reader.nextLine { bytes, number, _ in "\(number):" + String(decoding: bytes, as: UTF8.self) }, "4:3,4")
        // The same bytes in memory.
        let memory = CSVLineReader(bytes: bytes, path: "m.csv")
        var fromMemory: [String] = []
        while let line = try memory.nextLine({ bytes, number, offset in "\(number)@\(offset):" + String(decoding: bytes, as: UTF8.self) }) {
            fromMemory.append(line)
        }
        XCTAssertEqual(fromMemory, expected)
    }

    // MARK: Binary data and long lines

    func testNULBytesStopReadingAtOnce() throws {
        let path = try writeBytes("nul.csv", Array("a,b\n1,2\n3".utf8) + [0] + Array(",4\n".utf8))
        XCTAssertTrue(errors(path).hasSuffix("nul.csv:3: not a text CSV file: NUL byte at byte 9"), errors(path))
        // A 256 MiB file of zero bytes (sparse, so it costs no disk) fails on its first byte, not after reading it.
        let zeros = directory.appendingPathComponent("zeros.csv").path
        XCTAssertTrue(FileManager.default.createFile(atPath: zeros, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: zeros))
        try handle.truncate(atOffset: 256 << 20)
        try handle.close()
        let start = Date()
        XCTAssertTrue(errors(zeros).hasSuffix("zeros.csv:1: not a text CSV file: NUL byte at byte 0"), errors(zeros))
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "both readers stop at the first chunk")
    }

    func testLinesLongerThanTheLimitAreAnError() throws {
        let limit = CSVLineLimit(bytes: 1000, bytesPerColumn: 0)
        let long = try write("long.csv", "a,b\n1,2\n" + String(repeating: "1", count: 5000) + ",2\n")
        XCTAssertTrue(errors(long, lineLimit: limit).hasSuffix("long.csv:3: line longer than 1000 bytes"), errors(long, lineLimit: limit))
        XCTAssertThrowsError(try CSVTable(text: "a,b\n" + String(repeating: "7", count: 1001), path: "t.csv", lineLimit: limit)) {
            XCTAssertEqual("\($0)", "t.csv:2: line longer than 1000 bytes")
        }
        let header = try write("header.csv", (0..<300).map { "column\($0)" }.joined(separator: ",") + "\n")
        XCTAssertTrue(errors(header, lineLimit: limit).hasSuffix("header.csv:1: line longer than 1000 bytes"))
        // Wide files need no setting: a data line may take 64 bytes a column, here a 1.3 MB line.
        let columns = 100_000
        let cells = (0..<columns).map { String(format: "%.5e", -Double($0) - 0.125) }
        let wideText = (0..<columns).map { "c\($0)" }.joined(separator: ",") + "\n" + cells.joined(separator: ",") + "\n"
        XCTAssertGreaterThan(cells.joined(separator: ",").utf8.count, CSVLineLimit.default.bytes)
        let wide = try write("wide.csv", wideText)
        let table = try CSVTable(contentsOf: wide)
        XCTAssertEqual(table.rows[0].count, columns)
        XCTAssertEqual(table.rows[0][99_999], strtof(cells[99_999], nil))
        XCTAssertEqual(try StreamingCSVSource(path: wide, labelColumn: "0").batch(0).x.columnCount, columns - 1)
        XCTAssertEqual(CSVLineLimit.default.dataLineBytes(columns: 3), 1 << 20)
        XCTAssertEqual(CSVLineLimit.default.dataLineBytes(columns: 100_000), 6_400_000)
        XCTAssertEqual(CSVLineLimit.default.dataLineBytes(columns: .max), .max)
    }

    // MARK: Numbers

    func testOnlyDecimalSpellingsAreNumbers() throws {
        let accepted: [(String, Float)] = [("3", 3), ("-0.5", -0.5), ("+2", 2), (".5", 0.5), ("5.", 5), ("007", 7), ("1e-3", 1e-3),
                                           ("2.5E+10", 2.5e10), ("-.5e-2", -0.005), ("1e-50", 0), (" 4 ", 4)]
        for (text, value) in accepted { XCTAssertEqual(CSVNumber.value(text), value, text) }
        let rejected = ["0x1F", "0X1f", "0x1p3", "inf", "-inf", "Infinity", "nan", "NaN", "1e", "e5", ".", "+", "-", "1.2.3", "1_000",
                        "1 000", "\u{0661}", "1e5.5", "", " ", "++1", "1d", "0b101", "1,5"]
        for text in rejected { XCTAssertNil(CSVNumber.value(text), text) }
        XCTAssertEqual(CSVNumber.value("1e39"), .infinity, "in the grammar, beyond the float range")
        XCTAssertNil(CSVNumber.finiteValue("1e39"))
        XCTAssertEqual(CSVNumber.finiteValue("-1.5"), -1.5)
        // The same value as the C library gives for every accepted spelling (what the fast path used before).
        for text in ["0.1", "3.4028235e38", "1.17549435e-38", "123456789", "-0.000001"] {
            XCTAssertEqual(CSVNumber.value(text), strtof(text, nil), text)
        }
    }

    func testNonDecimalCellsNameFileLineAndColumn() throws {
        let cases: [(String, String)] = [
            ("0x1F", "column 'b': '0x1F' is not a decimal number (hexadecimal is not read)"),
            ("inf", "column 'b': 'inf' is not a finite number"),
            ("-Infinity", "column 'b': '-Infinity' is not a finite number"),
            ("1e39", "column 'b': '1e39' is not a finite number (beyond the 32-bit float range, ±3.4e38)"),
            ("1_000", "column 'b': '1_000' is not a number"),
            ("nan", "column 'b': missing value 'nan' (choose a missing-value policy to skip or fill such rows)"),
        ]
        for (cell, message) in cases {
            let path = try write("cell.csv", "a,b,label\n1,2,0\n3,\(cell),1\n")
            XCTAssertTrue(errors(path).hasSuffix("cell.csv:3: " + message), errors(path))
        }
        let bytes = try writeBytes("latin1.csv", Array("a,b\n1,".utf8) + [0xE9] + Array("\n".utf8))
        XCTAssertTrue(errors(bytes).hasSuffix("latin1.csv:2: column 'b': not UTF-8 text"), errors(bytes))
        let header = try writeBytes("latin1-header.csv", Array("a,".utf8) + [0xE9] + Array("\n1,2\n".utf8))
        XCTAssertTrue(errors(header).hasSuffix("latin1-header.csv:1: not UTF-8 text"), errors(header))
        // Spaces around numbers are still fine, and so is a lone missing-value marker with a policy.
        XCTAssertEqual(try CSVTable(text: "a,b\n 1 ,\t2\n3,NA\n", missing: .fill(0)).rows, [[1, 2], [3, 0]])
    }

    func testFillValueMustBeFinite() {
        for value in [Float.infinity, -.infinity, .nan] {
            XCTAssertThrowsError(try CSVTable(text: "a,b\n1,\n", missing: .fill(value))) {
                XCTAssertTrue("\($0)".hasPrefix("the fill value for missing cells must be a finite number"), "\($0)")
            }
        }
        let path = (try? write("f.csv", "a,b\n1,2\n")) ?? ""
        XCTAssertThrowsError(try StreamingCSVSource(path: path, missing: .fill(.nan)))
    }

    // MARK: Headers

    func testDuplicateHeaderNamesAreAnError() throws {
        let path = try write("dup.csv", "x,y,\"x\",label\n1,2,3,0\n")
        XCTAssertTrue(errors(path).hasSuffix("dup.csv:1: columns 1 and 3 (counting from 1) are both named 'x'; column names must be unique"),
                      errors(path))
        XCTAssertNoThrow(try CSVTable(text: "x,y,X,label\n1,2,3,0\n"), "names are case-sensitive")
    }

    // MARK: Labels

    func testLabelSummaryFindsTheFirstNonClassLabel() throws {
        let text = "a,label\n1,0\n2,3\n\n3,-1\n4,2.5\n"
        let table = try CSVTable(text: text)
        let memory = LabelSummary(values: table.rows.map { $0[1] }, lines: table.lineNumbers)
        let path = try write("labels.csv", text)
        let streamed = try StreamingCSVSource(path: path).labelSummary
        XCTAssertEqual(memory, streamed)
        XCTAssertEqual(memory.firstNonClassLabel, LabelSummary.Located(value: -1, line: 5))
        XCTAssertEqual(memory.count, 4)
        XCTAssertEqual(memory.minimum, -1)
        XCTAssertEqual(memory.maximum, 3)
        XCTAssertTrue(LabelSummary(values: [0, 1, 2, 16_777_215]).areClassIndices)
        XCTAssertFalse(LabelSummary(values: [0, 16_777_216]).areClassIndices, "beyond 2^24 a float skips integers")
        XCTAssertFalse(LabelSummary(values: [0, 1e30]).areClassIndices)
        XCTAssertEqual(LabelSummary(values: [0, 0.5]).firstNonClassLabel, LabelSummary.Located(value: 0.5, line: 0))
    }

    // MARK: IDX

    func idx(_ name: String, dims: [UInt32], values: [UInt8] = []) throws -> String {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return try writeBytes(name, bytes + values)
    }

    func gzip(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-f", path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return path + ".gz"
    }

    func testIDXHeadersAreCheckedBeforeAllocating() throws {
        let huge = try idx("huge", dims: [.max, .max, .max, .max], values: [1, 2, 3])
        XCTAssertThrowsError(try IDX.read(huge)) {
            XCTAssertTrue("\($0)".hasSuffix("huge: byte 4: the header's dimensions 4294967295×4294967295×4294967295×4294967295 are too large for any file"), "\($0)")
        }
        let big = try idx("big", dims: [60_000, 28, 28], values: [1, 2, 3])
        XCTAssertThrowsError(try IDX.read(big)) {
            XCTAssertTrue("\($0)".hasSuffix("big: byte 16: the header promises 47040000 values (60000×28×28), the file holds 3"), "\($0)")
        }
        // Compressed: a header promising more than deflate can expand to stops before decompressing the rest.
        let promising = try gzip(try idx("promising", dims: [1 << 31], values: [UInt8](repeating: 0, count: 1000)))
        XCTAssertThrowsError(try IDX.read(promising)) {
            XCTAssertTrue("\($0)".contains("promising.gz: byte 8: the header promises 2147483648 values (2147483648), more than a gzip file of"), "\($0)")
        }
        let longer = try gzip(try idx("longer", dims: [10], values: [UInt8](repeating: 7, count: 200_000)))
        XCTAssertThrowsError(try IDX.read(longer)) {
            XCTAssertTrue("\($0)".hasSuffix("longer.gz: byte 18: the file holds more values than its header promises"), "\($0)")
        }
        let empty = try idx("empty", dims: [2, 2])
        XCTAssertThrowsError(try IDX.read(empty)) {
            XCTAssertTrue("\($0)".hasSuffix("empty: byte 12: the header promises 4 values (2×2), the file holds 0"), "\($0)")
        }
        let headerOnly = try writeBytes("header-only", [0, 0, 8, 3, 0, 0])
        XCTAssertThrowsError(try IDX.read(headerOnly)) { XCTAssertTrue("\($0)".hasSuffix("header-only: byte 4: the header ends early"), "\($0)") }
        XCTAssertEqual(try IDX.read(try gzip(try idx("fine", dims: [2, 3], values: [1, 2, 3, 4, 5, 6]))).shape, [2, 3])
    }

    func testMNISTFolderWithMismatchedShapesNamesTheFiles() throws {
        _ = try idx("train-images-idx3-ubyte", dims: [2, 2, 2], values: [UInt8](repeating: 1, count: 8))
        _ = try idx("train-labels-idx1-ubyte", dims: [2], values: [0, 1])
        _ = try idx("t10k-images-idx3-ubyte", dims: [1, 3, 3], values: [UInt8](repeating: 1, count: 9))
        _ = try idx("t10k-labels-idx1-ubyte", dims: [1], values: [1])
        XCTAssertThrowsError(try IDX.mnist(directory: directory.path)) {
            XCTAssertTrue("\($0)".contains("t10k-images-idx3-ubyte has images of 9 pixels but "), "\($0)")
            XCTAssertTrue("\($0)".hasSuffix("train-images-idx3-ubyte has images of 4"), "\($0)")
        }
        _ = try idx("t10k-labels-idx1-ubyte", dims: [2], values: [1, 1])
        XCTAssertThrowsError(try IDX.dataset(images: directory.appendingPathComponent("t10k-images-idx3-ubyte").path,
                                             labels: directory.appendingPathComponent("t10k-labels-idx1-ubyte").path)) {
            XCTAssertTrue("\($0)".contains("t10k-images-idx3-ubyte has 1 images but "), "\($0)")
            XCTAssertTrue("\($0)".hasSuffix("t10k-labels-idx1-ubyte has 2 labels"), "\($0)")
        }
    }
}
