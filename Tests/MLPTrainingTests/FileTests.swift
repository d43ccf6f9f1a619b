import XCTest
import MLPTestSupport
import MLPModelFiles
@testable import MLPTraining
import MLPCore

final class FileTests: ScratchDirectoryTestCase {
    func testCSVParsesHeaderAndRows() throws {
        let table = try CSVTable(text: "a, b,label\r\n1,2,0\n\n3.5,-4e-1,1\n", path: "t.csv")
        XCTAssertEqual(table.header, ["a", "b", "label"])
        XCTAssertEqual(table.rows, [[1, 2, 0], [3.5, -0.4, 1]])
        XCTAssertEqual(table.lineNumbers, [2, 4])
        XCTAssertEqual(try table.columnIndex("label"), 2)
        XCTAssertEqual(try table.columnIndex("1"), 1)
        XCTAssertThrowsError(try table.columnIndex("nope"))
    }

    func testCSVErrorsNameFileAndLine() throws {
        XCTAssertThrowsError(try CSVTable(text: "a,b\n1,2\n3\n", path: "r.csv")) {
            XCTAssertEqual("\($0)", "r.csv:3: 1 fields, but the header has 2")
        }
        XCTAssertThrowsError(try CSVTable(text: "a,b\n1,x\n", path: "n.csv")) {
            XCTAssertEqual("\($0)", "n.csv:2: column 'b': 'x' is not a number")
        }
        XCTAssertThrowsError(try CSVTable(text: "", path: "e.csv")) {
            XCTAssertEqual("\($0)", "e.csv: the file is empty (a header row is needed)")
        }
        XCTAssertThrowsError(try CSVTable(contentsOf: directory.appendingPathComponent("missing.csv").path)) {
            XCTAssertTrue("\($0)".hasSuffix("missing.csv': no such file"), "\($0)")
        }
    }

    func testModelFileRoundTripsWeightsAndCompileSettings() throws {
        let model = Sequential(inputDim: 4, [Dense(5, activation: .relu), Dense(3, activation: .softmax, name: "out")], seed: 8)
        try model.compile(optimizer: Adam(learningRate: 0.005), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        let path = directory.appendingPathComponent("model.json").path
        try ModelFile.save(model, to: path)
        try ModelFile.save(model, to: path)  // overwriting an existing file works
        let loaded = try ModelFile.load(from: path)
        XCTAssertEqual(loaded.weights(), model.weights())
        XCTAssertEqual(loaded.layers.map(\.name), ["dense", "out"])
        XCTAssertEqual(loaded.summary(), model.summary())
        XCTAssertEqual(loaded.loss, .sparseCategoricalCrossentropy(fromLogits: false))
        XCTAssertEqual(loaded.optimizer?.learningRate, 0.005)
        XCTAssertEqual(loaded.metrics, [.accuracy])
        let x = Tensor.uniform(shape: [6, 4], seed: 2)
        XCTAssertEqual(try loaded.predict(x), try model.predict(x))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertEqual(leftovers, ["model.json"], "no temporary file is left behind")
    }

    func testLoadingABadFileSaysWhy() throws {
        let notJSON = try write("bad.json", "hello")
        XCTAssertThrowsError(try ModelFile.load(from: notJSON)) {
            XCTAssertTrue("\($0)".contains("not an MLPKit model file"), "\($0)")
        }
        XCTAssertThrowsError(try ModelFile.load(from: directory.appendingPathComponent("none.json").path))
    }
}
