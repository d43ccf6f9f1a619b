import Foundation
import XCTest
@testable import MLPCommandLine
import MLPKit
import MLPTestSupport

/// `--layers` repeat syntax (`64:relu*8`) and `--validation-split` cutting where Keras does.
final class LayerRepeatAndSplitTests: ScratchDirectoryTestCase {
    func testARepeatedEntryStandsForThatManyLayers() throws {
        let specs = try HiddenLayerSpec.list("64:relu*8, 32:tanh:dropout=0.25*2,bn,16")
        XCTAssertEqual(specs.count, 12)
        XCTAssertEqual(Array(specs[0..<8]), Array(repeating: .dense(units: 64, activation: .relu, dropout: nil, l1: nil, l2: nil, initializer: nil), count: 8))
        XCTAssertEqual(specs[8], .dense(units: 32, activation: .tanh, dropout: 0.25, l1: nil, l2: nil, initializer: nil))
        XCTAssertEqual(specs[9], specs[8])
        XCTAssertEqual(specs[10], .batchNormalization)
        let layers = specs.flatMap(\.layers)
        XCTAssertEqual(layers.count, 14, "each dropout= entry adds its Dropout layer")
        XCTAssertEqual(Set(layers.map(ObjectIdentifier.init)).count, 14, "every copy is its own layer")
        XCTAssertEqual(try HiddenLayerSpec.list("8*\(HiddenLayerSpec.maxRepeat)").count, HiddenLayerSpec.maxRepeat)
        for bad in ["64:relu*0", "64:relu*", "64:relu*-2", "64*2*2", "64:relu*1001"] {
            XCTAssertThrowsError(try HiddenLayerSpec.list(bad), bad) { error in
                XCTAssertTrue("\(error)".contains("ENTRY*N with N an integer in 1...1000"), "\(error)")
            }
        }
    }

    /// 1000 rows with `--validation-split 0.2` train on 800 (Keras' cut): with a batch of 799 that is two steps
    /// an epoch; through `Float` the cut was 799, one step.
    func testValidationSplitHoldsOutWhatKerasDoes() throws {
        var text = "x0,label\n"
        for i in 0..<1000 { text += "\(Double(i % 10) / 10),\(i % 2)\n" }
        let data = try write("thousand.csv", text)
        let result = try runProcess(Bundle.main.bundleURL.appendingPathComponent("mlp"),
                                    ["train", "--data", data, "--layers", "4:relu", "--epochs", "1", "--batch-size", "799",
                                     "--validation-split", "0.2", "--verbose", "2", "--device", "cpu", "--seed", "1"],
                                    currentDirectory: directory)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\n2/2 - "), result.stdout)
    }
}
