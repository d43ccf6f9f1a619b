import XCTest
import MLPKit
@testable import MLPTraining

/// The report's cheaper paths give what the plain ones give: one pass over the held-out data equals `evaluate`
/// plus `predict`, the vectorised histogram equals binning one value at a time, and the byte writer spells
/// integers, coordinates and escapes as the `String` functions do.
final class ReportFastPathTests: XCTestCase {
    let digits = Datasets.digits()

    func trained(loss: Loss, outputs: Dense, y: Tensor, metrics: [Metric]) throws -> Sequential {
        let model = Sequential(inputDim: 64, [Dense(16, activation: .relu), outputs], seed: 5, backend: CPUBackend(threadCount: 1))
        try model.compile(optimizer: Adam(), loss: loss, metrics: metrics)
        model.output = { _ in }
        try model.fit(x: digits.x.rows(0..<256), y: y.rows(0..<256), batchSize: 32, epochs: 2, verbose: 0)
        return model
    }

    /// Classification and regression, batch sizes that do and do not divide the rows: the same logs as
    /// `evaluate` and the same outputs as `predict`, bit for bit.
    func testOnePassEvaluationEqualsEvaluateAndPredict() throws {
        let classifier = try trained(loss: .sparseCategoricalCrossentropy(fromLogits: false), outputs: Dense(10, activation: .softmax),
                                     y: digits.y, metrics: [.accuracy])
        let targets = Tensor(shape: [digits.y.rowCount, 1], scalars: digits.y.scalars.map { $0 / 9 })
        let regressor = try trained(loss: .meanSquaredError, outputs: Dense(1), y: targets, metrics: [.loss(.meanAbsoluteError)])
        for (model, y) in [(classifier, digits.y), (regressor, targets)] {
            let x = digits.x.rows(1000..<1301), yTest = y.rows(1000..<1301)
            for batchSize in [1, 7, 32, 301, 500] {
                let (logs, predictions) = try model.evaluateAndPredict(x: x, y: yTest, batchSize: batchSize)
                let evaluated = try model.evaluate(x: x, y: yTest, batchSize: batchSize)
                XCTAssertEqual(logs.map(\.0), evaluated.map(\.0))
                XCTAssertEqual(logs.map(\.1), evaluated.map(\.1), "batch size \(batchSize)")
                let predicted = try model.predict(x, batchSize: batchSize)
                XCTAssertEqual(predictions.shape, predicted.shape)
                XCTAssertEqual(predictions.scalars, predicted.scalars, "batch size \(batchSize)")
            }
        }
        XCTAssertThrowsError(try classifier.evaluateAndPredict(x: digits.x.rows(0..<4), y: digits.y.rows(0..<4), batchSize: 0)) {
            XCTAssertTrue("\($0)".contains("got 0"), "\($0)")
        }
    }

    /// Binning one value at a time, as the histogram did before it went eight at a time.
    func reference(_ values: [Float], bins: Int) -> TrainingReport.Histogram {
        var lower = Float.infinity, upper = -Float.infinity, nonFinite = 0
        var counts = [Int](repeating: 0, count: max(1, bins))
        for value in values {
            guard value.isFinite else { nonFinite += 1; continue }
            lower = min(lower, value)
            upper = max(upper, value)
        }
        if lower <= upper {
            let width = upper > lower ? (upper - lower) / Float(counts.count) : 1, last = counts.count - 1
            for value in values where value.isFinite {
                let bin = (value - lower) / width
                counts[bin < Float(last) ? Int(bin) : last] += 1
            }
        } else {
            (lower, upper) = (0, 0)
        }
        var histogram = TrainingReport.Histogram([], bins: bins)
        histogram.lower = Double(lower == 0 ? 0 : lower)
        histogram.upper = Double(upper == 0 ? 0 : upper)
        histogram.counts = counts
        histogram.nonFinite = nonFinite
        return histogram
    }

    func testVectorisedHistogramEqualsBinningOneValueAtATime() {
        var generator = SystemRandomNumberGenerator()
        let special: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                -.greatestFiniteMagnitude]
        for count in [0, 1, 5, 7, 8, 9, 16, 31, 100, 1000, 4099] {
            for bins in [1, 2, 7, 24] {
                for mix in 0..<4 {
                    let values: [Float] = (0..<count).map { index in
                        switch mix {
                        case 0: return Float.random(in: -3...3, using: &generator)
                        case 1: return index % 5 == 0 ? special[index % special.count] : Float.random(in: -1...1, using: &generator)
                        case 2: return Float(index % 3)  // many values on bin edges
                        default: return max(0, Float.random(in: -1...1, using: &generator))  // ReLU-like, many zeros
                        }
                    }
                    XCTAssertEqual(TrainingReport.Histogram(values, bins: bins), reference(values, bins: bins),
                                   "\(count) values, \(bins) bins, mix \(mix)")
                }
            }
        }
        // Degenerate widths: one value repeated, and two extremes whose width overflows.
        let wide: [Float] = [-.greatestFiniteMagnitude, .greatestFiniteMagnitude] + [Float](repeating: 1, count: 14)
        XCTAssertEqual(TrainingReport.Histogram(wide, bins: 4), reference(wide, bins: 4))
        XCTAssertEqual(TrainingReport.Histogram([Float](repeating: 2.5, count: 20), bins: 24).counts.first, 20)
    }

    func testTheByteWriterSpellsAsTheStringFunctions() {
        for value in [0, 1, -1, 9, 10, 99, 100, -12_345, Int.max, Int.min] {
            var text = ReportText()
            text.integer(value)
            XCTAssertEqual(text.string, String(value))
        }
        for value in [0, -0.0, 0.004, 0.005, -0.005, 12.5, -3.0749, 1e12, 1e20, .infinity, .nan] {
            var text = ReportText()
            text.coordinate(value)
            XCTAssertEqual(text.string, ReportFormat.coordinate(value), "\(value)")
        }
        for value: Double? in [nil, 0.123456, 1.23456e-5, -2, .infinity] {
            var text = ReportText()
            text.number(value)
            XCTAssertEqual(text.string, ReportFormat.number(value))
        }
        for string in ["", "plain", "a<b & \"c\"> ü", "&&", "<", "📈>"] {
            var text = ReportText()
            text.escaped(string)
            XCTAssertEqual(text.string, ReportFormat.escape(string))
        }
    }
}
