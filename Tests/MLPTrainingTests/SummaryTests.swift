import XCTest
@testable import MLPTraining
import MLPCore

final class SummaryTests: XCTestCase {
    /// The seed notebook's model, 14 → 25 → 36 → 47 → 7.
    func seedModel() -> Sequential {
        Sequential(inputDim: 14, [
            Dense(25, activation: .relu), Dense(36, activation: .relu),
            Dense(47, activation: .relu), Dense(7, activation: .softmax),
        ], seed: 1)
    }

    func testSeedModelParameterCounts() {
        let model = seedModel()
        XCTAssertEqual(model.layers.map(\.parameterCount), [375, 936, 1739, 336])
        XCTAssertEqual(model.parameterCount, 3386)
        XCTAssertEqual(model.layers.map(\.name), ["dense", "dense_1", "dense_2", "dense_3"])
        XCTAssertEqual(Dense(64, useBias: false).parameterCountAfterBuild(input: 128), 128 * 64)
        XCTAssertEqual(Dense(64).parameterCountAfterBuild(input: 128), 8256, "the notebook's 128 → 64 example")
    }

    /// Byte-identical to tf-keras 2.21's `model.summary()` (box-free table, 65 columns), trailing spaces included.
    func testKeras2SummaryIsByteIdentical() {
        let expected = """
        Model: "sequential"
        _________________________________________________________________
         Layer (type)                Output Shape              Param #   
        =================================================================
         dense (Dense)               (None, 25)                375       
                                                                         
         dense_1 (Dense)             (None, 36)                936       
                                                                         
         dense_2 (Dense)             (None, 47)                1739      
                                                                         
         dense_3 (Dense)             (None, 7)                 336       
                                                                         
        =================================================================
        Total params: 3386 (13.23 KB)
        Trainable params: 3386 (13.23 KB)
        Non-trainable params: 0 (0.00 Byte)
        _________________________________________________________________

        """
        XCTAssertEqual(seedModel().summary(), expected)
    }

    /// tf-keras wraps long `name (Type)` cells at 26 characters.
    func testLongNamesWrapAsTfKerasDoes() {
        let lines = Sequential.keras2Row(["batch_normalization (BatchNormalization)", "(None, 64)", "256"], positions: [29, 55, 65])
        XCTAssertEqual(lines, [
            " batch_normalization (Batch  (None, 64)                256       ",
            " Normalization)                                                  ",
        ])
    }

    func testKeras3StyleTotals() {
        let text = seedModel().summary(style: .keras3)
        XCTAssertTrue(text.contains("│ dense (Dense)                   │ (None, 25)             │           375 │"), text)
        XCTAssertTrue(text.hasSuffix(" Total params: 3,386 (13.23 KB)\n Trainable params: 3,386 (13.23 KB)\n Non-trainable params: 0 (0.00 B)\n"), text)
    }

    func testMemorySizeUnits() {
        XCTAssertEqual(Sequential.memorySize(0, units: Sequential.keras2Units), "0.00 Byte")
        XCTAssertEqual(Sequential.memorySize(512, units: Sequential.keras2Units), "512.00 Byte")
        XCTAssertEqual(Sequential.memorySize(13544, units: Sequential.keras2Units), "13.23 KB")
        XCTAssertEqual(Sequential.memorySize(3 * 1024 * 1024, units: Sequential.keras3Units), "3.00 MB")
        XCTAssertEqual(Sequential.thousands(1234567), "1,234,567")
    }
}

extension Dense {
    func parameterCountAfterBuild(input: Int) -> Int {
        _ = Sequential(inputDim: input, [self], seed: 0)
        return parameterCount
    }
}
