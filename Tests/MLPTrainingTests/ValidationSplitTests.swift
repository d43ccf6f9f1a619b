import XCTest
import MLPKit

/// `fit(validationSplit:)` cuts where Keras does: `int(math.floor(n * (1.0 - validation_split)))` in float64.
final class ValidationSplitTests: XCTestCase {
    /// Expected cuts computed by Python 3 with that expression; through `Float`, 1000/0.2 gave 799, 10/0.3 gave 6,
    /// 100/0.1 gave 89 and 1000/0.3 gave 699 (one sample too many held out).
    func testTheSplitIndexMatchesKeras() {
        let cases: [(rows: Int, fraction: Double, trainRows: Int)] = [
            (1000, 0.2, 800), (10, 0.3, 7), (100, 0.1, 90), (7, 0.5, 3), (999, 0.33, 669), (1000, 0.1, 900),
            (50, 0.7, 15), (1000, 0.3, 700),
        ]
        for c in cases {
            XCTAssertEqual(Sequential.validationSplitIndex(rows: c.rows, fraction: c.fraction), c.trainRows,
                           "\(c.rows) rows, split \(c.fraction)")
        }
    }

    /// A split that leaves no training samples (3 rows, 0.9: Keras' cut is 0) is refused by `fit`.
    func testASplitThatEmptiesTheTrainingSetIsRefused() throws {
        XCTAssertEqual(Sequential.validationSplitIndex(rows: 3, fraction: 0.9), 0)
        let model = Sequential(inputDim: 1, [Dense(1)], seed: 1)
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let x = Tensor(shape: [3, 1], scalars: [0, 1, 2])
        XCTAssertThrowsError(try model.fit(x: x, y: x, epochs: 1, verbose: 0, validationSplit: 0.9)) { error in
            XCTAssertTrue("\(error)".contains("leaves an empty training or validation set"), "\(error)")
        }
    }
}
