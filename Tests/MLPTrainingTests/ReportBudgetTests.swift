import XCTest
import MLPKit
import MLPTestSupport
@testable import MLPTraining

/// ``ReportWriter/rewriteBudget``: the per-epoch writes stay within their share of the training time, the finished
/// page is always written, and the histograms still come from the first and the last epoch.
final class ReportBudgetTests: ScratchDirectoryTestCase {
    let digits = Datasets.digits()
    var path: String { directory.appendingPathComponent("run.html").path }

    func model() throws -> Sequential {
        let model = Sequential(inputDim: 64, [Dense(16, activation: .relu), Dense(10, activation: .softmax)], seed: 3,
                               backend: CPUBackend(threadCount: 1))
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        model.output = { _ in }
        return model
    }

    /// A zero budget: no page during training (none at any later epoch's start), then the finished page with
    /// every epoch and the first and last epochs' histograms.
    func testAZeroBudgetWritesTheEndOnly() throws {
        let reader = ReportTests.PageReader(path: path)
        let writer = ReportWriter(path: path, rewriteBudget: 0)
        try model().fit(x: digits.x.rows(0..<320), y: digits.y.rows(0..<320), batchSize: 32, epochs: 4, verbose: 0,
                        callbacks: [reader, writer])
        XCTAssertEqual(reader.epochsSeen, [0, 0, 0])
        let report = try ReportTests.embeddedReport(try String(contentsOfFile: path, encoding: .utf8))
        XCTAssertEqual(report.epochs, [0, 1, 2, 3])
        XCTAssertEqual(Set(report.distributions.map(\.epoch)), [0, 3], "first and last epoch")
        XCTAssertEqual(report.series("loss")?.values.count, 4)
    }

    /// The default budget (2%) keeps the time spent on the page small against the training time.
    func testTheDefaultBudgetBoundsTheRewriteTime() throws {
        let writer = ReportWriter(path: path)
        XCTAssertEqual(writer.rewriteBudget, 0.02)
        let started = Date()
        try model().fit(x: digits.x.rows(0..<320), y: digits.y.rows(0..<320), batchSize: 32, epochs: 30, verbose: 0,
                        callbacks: [writer])
        let elapsed = Date().timeIntervalSince(started)
        // One rewrite may overshoot the budget (it is estimated by the previous one, the first by
        // `firstWriteEstimate`), and the final write is outside it: allow three writes on top of 2% of the run.
        XCTAssertLessThan(writer.writingSeconds, 0.02 * elapsed + 3 * max(0.05, elapsed / 30),
                          "\(writer.writingSeconds) s of \(elapsed) s writing the report")
    }
}
