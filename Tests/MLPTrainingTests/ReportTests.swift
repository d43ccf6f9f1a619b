import XCTest
import MLPKit
import MLPTestSupport
@testable import MLPTraining

/// ``ReportWriter`` and ``ReportHTML``: the figures' data, the gradient verdicts, EarlyStopping's marks, the
/// per-epoch rewrite and determinism.
final class ReportTests: ScratchDirectoryTestCase {
    let digits = Datasets.digits()

    func model(hidden: [Dense] = [Dense(16, activation: .relu)], seed: UInt64 = 3) throws -> Sequential {
        let model = Sequential(inputDim: 64, hidden + [Dense(10, activation: .softmax)], seed: seed, backend: CPUBackend(threadCount: 1))
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        model.output = { _ in }
        return model
    }

    var path: String { directory.appendingPathComponent("run.html").path }

    func page() throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// The inert JSON block decoded.
    static func embeddedReport(_ html: String) throws -> TrainingReport {
        let start = try XCTUnwrap(html.range(of: "<script type=\"application/json\" id=\"report-data\">"))
        let end = try XCTUnwrap(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let json = String(html[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "<\\/", with: "</")
        return try JSONDecoder().decode(TrainingReport.self, from: Data(json.utf8))
    }

    /// The `<svg …>` tag enclosing the polyline of `series`, and the polyline's points.
    static func chart(_ html: String, series: String) throws -> (svg: String, points: [(Double, Double)]) {
        let line = try XCTUnwrap(html.range(of: "<polyline data-series=\"\(series)\" points=\""), "no polyline for \(series)")
        let svgStart = try XCTUnwrap(html.range(of: "<svg class=\"chart\"", options: .backwards, range: html.startIndex..<line.lowerBound))
        let svgTag = String(html[svgStart.lowerBound..<html[svgStart.lowerBound...].firstIndex(of: ">")!])
        let pointsEnd = try XCTUnwrap(html[line.upperBound...].firstIndex(of: "\""))
        let points = html[line.upperBound..<pointsEnd].split(separator: " ").map { pair -> (Double, Double) in
            let xy = pair.split(separator: ",").map { Double($0)! }
            return (xy[0], xy[1])
        }
        return (svgTag, points)
    }

    static func attribute(_ name: String, in tag: String) throws -> [Double] {
        let start = try XCTUnwrap(tag.range(of: " \(name)=\""))
        let end = try XCTUnwrap(tag[start.upperBound...].firstIndex(of: "\""))
        return tag[start.upperBound..<end].split(separator: " ").map { Double($0)! }
    }

    func testPlottedPointsMapBackToTheHistoryThroughTheAxisTransform() throws {
        let network = try model()
        let history = try network.fit(x: digits.x.rows(0..<600), y: digits.y.rows(0..<600), batchSize: 32, epochs: 6, verbose: 0,
                                      validationSplit: 0.25, callbacks: [ReportWriter(path: path)])
        let html = try page()
        for name in ["loss", "val_loss", "accuracy", "val_accuracy"] {
            let expected = try XCTUnwrap(history.history[name])
            let (svg, points) = try ReportTests.chart(html, series: name)
            let x = try ReportTests.attribute("data-x-domain", in: svg), y = try ReportTests.attribute("data-y-domain", in: svg)
            let plot = try ReportTests.attribute("data-plot", in: svg)
            XCTAssertEqual(points.count, expected.count, name)
            for (index, point) in points.enumerated() {
                let epoch = x[0] + (point.0 - plot[0]) / plot[2] * (x[1] - x[0])
                let value = y[0] + (1 - (point.1 - plot[1]) / plot[3]) * (y[1] - y[0])
                // Coordinates have 2 decimals: half a hundredth of a unit, in data units.
                XCTAssertEqual(epoch, Double(index + 1), accuracy: 0.006 / plot[2] * (x[1] - x[0]), "\(name) epoch \(index)")
                XCTAssertEqual(value, Double(expected[index]), accuracy: 0.006 / plot[3] * (y[1] - y[0]), "\(name) epoch \(index)")
            }
        }
        let embedded = try ReportTests.embeddedReport(html)
        XCTAssertEqual(embedded.epochs, history.epoch)
        for key in history.keys {
            XCTAssertEqual(embedded.series(key)?.values, history.history[key]!.map { $0.isFinite ? Double($0) : nil }, key)
        }
        XCTAssertTrue(embedded.settings.isEmpty, "the inert data block holds no times")
        XCTAssertTrue(html.contains("<pre>Model: &quot;sequential&quot;"), "the Keras summary is shown")
    }

    func testATenLayerSigmoidNetworkShowsTheVanishingGradientsDiagnoseNames() throws {
        let hidden = { (0..<9).map { _ in Dense(32, activation: .sigmoid) } }
        let diagnosis = try model(hidden: hidden()).diagnose(x: digits.x, y: digits.y, batchSize: 32, steps: 50)
        let vanishing = diagnosis.filter { $0.verdict == .vanishing }.map(\.statistics.layer)
        XCTAssertTrue(vanishing.contains("dense"), "diagnose names the first layer")
        // The same 50 steps, monitored every step, with the report.
        let network = try model(hidden: hidden())
        try network.fit(x: digits.x.rows(0..<1600), y: digits.y.rows(0..<1600), batchSize: 32, epochs: 1, verbose: 0, shuffle: false,
                        callbacks: [GradientMonitor(every: 1, warnAfter: 0), ReportWriter(path: path)])
        let html = try page()
        for layer in diagnosis {
            let cell = "data-layer=\"\(layer.statistics.layer)\">\(layer.verdict.rawValue)</td>"
            XCTAssertTrue(html.contains(cell), "the report gives \(layer.statistics.layer) diagnose's verdict \(layer.verdict)")
        }
        XCTAssertTrue(html.contains("Recommendation: vanishing gradients in \(vanishing.joined(separator: ", ")): use ReLU-family"), html)
        XCTAssertNotNil(try? ReportTests.chart(html, series: "grad_norm/dense"), "the gradient norms are plotted")
    }

    func testAnEarlyStopMarksTheStopAndTheRestoredEpoch() throws {
        // An improvement must beat the best by 100: only the first epoch does, so training stops after epoch 3.
        let stopping = EarlyStopping(monitor: "loss", minDelta: 100, patience: 2, restoreBestWeights: true)
        let history = try model().fit(x: digits.x.rows(0..<320), y: digits.y.rows(0..<320), batchSize: 32, epochs: 10, verbose: 0,
                                      callbacks: [ReportWriter(path: path), stopping])
        XCTAssertEqual(history.epoch, [0, 1, 2])
        let html = try page()
        XCTAssertTrue(html.contains("data-marker=\"stopped\" data-epoch=\"3\""), "the stop is marked on the charts")
        XCTAssertTrue(html.contains("data-marker=\"restored\" data-epoch=\"1\""), "the restored epoch is marked")
        XCTAssertTrue(html.contains("EarlyStopping stopped training after epoch 3."))
        XCTAssertTrue(html.contains("The weights were restored from epoch 1 (restore_best_weights)."))
        let embedded = try ReportTests.embeddedReport(html)
        XCTAssertEqual(embedded.stoppedEpoch, 2)
        XCTAssertEqual(embedded.restoredEpoch, 0)
        XCTAssertEqual(embedded.monitor, "loss")
    }

    /// Reads the page at every epoch's start: it holds the epochs before.
    final class PageReader: Callback {
        let path: String
        var epochsSeen: [Int] = []
        init(path: String) { self.path = path }
        override func onEpochBegin(_ epoch: Int) throws {
            guard epoch > 0 else { return }
            guard FileManager.default.fileExists(atPath: path) else { return epochsSeen.append(0) }  // no page yet
            epochsSeen.append(try ReportTests.embeddedReport(try String(contentsOfFile: path, encoding: .utf8)).epochs.count)
        }
    }

    func testThePageIsRewrittenAfterEveryEpochAndFinishedWithTheEvaluation() throws {
        let reader = PageReader(path: path)
        let test = (x: digits.x.rows(1000..<1300), y: digits.y.rows(1000..<1300))
        try model().fit(x: digits.x.rows(0..<320), y: digits.y.rows(0..<320), batchSize: 32, epochs: 4, verbose: 0,
                        callbacks: [reader, ReportWriter(path: path, evaluation: (test.x, test.y, "held-out rows"), rewriteBudget: nil)])
        XCTAssertEqual(reader.epochsSeen, [1, 2, 3])
        let report = try ReportTests.embeddedReport(try page())
        let confusion = try XCTUnwrap(report.evaluation?.confusion)
        XCTAssertEqual(confusion.flatMap { $0 }.reduce(0, +), 300)
        XCTAssertEqual(Set(report.distributions.map(\.epoch)), [0, 3], "first and last epoch")
        XCTAssertEqual(Set(report.distributions.map(\.kind)), ["weights", "activations"])
        XCTAssertEqual(report.distributions.first { $0.kind == "weights" }?.histogram.counts.reduce(0, +), 64 * 16)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "written atomically")
    }

    /// The activation histograms see what the layers see: ``Sequential/layerOutputs(_:)`` applies the model's
    /// input scaler, as `predict` does (with `mlp train --standardize` the raw features had gone into the layers).
    func testLayerOutputsApplyTheInputScalerAsPredictDoes() throws {
        let network = try model()
        let x = digits.x.rows(0..<50)
        network.inputScaler = FeatureScaler.fit(.standardize, to: x)
        let outputs = try network.layerOutputs(x)
        let predicted = try network.predict(x, batchSize: 50)
        XCTAssertEqual(outputs.count, 2)
        for (got, expected) in zip(try XCTUnwrap(outputs.last).scalars, predicted.scalars) {
            XCTAssertEqual(got, expected, accuracy: 1e-6)
        }
        network.inputScaler = nil
        XCTAssertNotEqual(try network.layerOutputs(x).last?.scalars, outputs.last?.scalars, "the scaler made a difference")
    }

    /// A job of two ranks as one rank sees it, without MPI: its collectives leave the values as they are (as if
    /// the other rank added zeros).
    final class OneRankOfTwo: Communicator {
        let rank: Int
        init(rank: Int) { self.rank = rank }
        var size: Int { 2 }
        var localRank: Int { rank }
        var localSize: Int { 2 }
        func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
        func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {}
        func barrier() {}
    }

    /// In a data-parallel fit only rank 0's writer works, and it evaluates all the held-out rows on its own (a
    /// collective evaluation would have split them among ranks that are not evaluating, and waited for them); the
    /// writer of rank 1 writes nothing.
    func testOnlyRankZerosWriterWritesAndItEvaluatesEveryRowOnItsOwn() throws {
        let test = (x: digits.x.rows(1000..<1300), y: digits.y.rows(1000..<1300))
        for rank in [1, 0] {
            let writer = ReportWriter(path: path, evaluation: (test.x, test.y, "held-out rows"))
            try model().fit(x: digits.x.rows(0..<320), y: digits.y.rows(0..<320), batchSize: 32, epochs: 2, verbose: 0,
                            callbacks: [writer], distribution: OneRankOfTwo(rank: rank))
            if rank == 1 {
                XCTAssertFalse(FileManager.default.fileExists(atPath: path), "rank 1 wrote a report")
                XCTAssertNil(writer.evaluationLogs)
                continue
            }
            let confusion = try XCTUnwrap(ReportTests.embeddedReport(try page()).evaluation?.confusion)
            XCTAssertEqual(confusion.flatMap { $0 }.reduce(0, +), 300, "every held-out row, on rank 0 alone")
        }
    }

    /// The evaluation's logs are kept for `mlp train`'s test line: the same as evaluating the trained model again.
    func testTheEvaluationLogsAreThoseOfEvaluate() throws {
        let test = (x: digits.x.rows(1000..<1300), y: digits.y.rows(1000..<1300))
        let network = try model()
        let writer = ReportWriter(path: path, evaluation: (test.x, test.y, "held-out rows"), evaluationBatchSize: 50)
        XCTAssertNil(writer.evaluationLogs)
        try network.fit(x: digits.x.rows(0..<320), y: digits.y.rows(0..<320), batchSize: 32, epochs: 2, verbose: 0, callbacks: [writer])
        let logs = try XCTUnwrap(writer.evaluationLogs)
        let again = try network.evaluate(x: test.x, y: test.y, batchSize: 50)
        XCTAssertEqual(logs.map(\.0), ["loss", "accuracy"])
        XCTAssertEqual(logs.map(\.0), again.map(\.0))
        XCTAssertEqual(logs.map(\.1), again.map(\.1))
        let report = try ReportTests.embeddedReport(try page())
        XCTAssertEqual(report.evaluation?.logs.map(\.value), again.map { ReportFormat.number(Double($0.1)) })
    }

    /// The hand-written JSON reads back into the same report, strings of any content included, and nothing in it
    /// can end the `<script>` block that holds it.
    func testTheEmbeddedJSONReadsBackWithEveryKindOfString() throws {
        var report = TrainingReport(title: "a </script><b>\"quoted\" \\ back\nline\ttab\u{01} & ünïcödé 📈")
        report.summary = "Model: \"sequential\"\n</pre>"
        report.settings = [.init("command line", "mlp train --data \"a b.csv\"")]
        report.append(epoch: 0, logs: [("loss", 1.25), ("val_loss", .infinity)])
        report.append(epoch: 1, logs: [("loss", 0.1), ("val_loss", 1e-7), ("learning_rate", 3e-4)])
        report.monitor = "val_loss"
        report.stoppedEpoch = 1
        report.restoredEpoch = 0
        report.omitted = ["Nothing <here>."]
        report.distributions = [.init(layer: "dense", kind: "weights", epoch: 1, histogram: .init([-1, 0.5, 2, .nan], bins: 3))]
        report.evaluation = .init(source: "x", logs: [.init("loss", "0.5")], confusion: [[1, 2], [3, 4]], residuals: [[1.5, -0.25]])
        let json = report.jsonString()
        XCTAssertFalse(json.contains("<") || json.contains(">") || json.contains("&"), json)
        XCTAssertEqual(try JSONDecoder().decode(TrainingReport.self, from: Data(json.utf8)), report)
        XCTAssertEqual(report.jsonString(), json, "the same bytes")
        let html = ReportHTML.render(report)
        XCTAssertEqual(html.components(separatedBy: "</script>").count, 2, "only the JSON block's own end tag")
        XCTAssertEqual(try ReportTests.embeddedReport(html).title, report.title)
        // A value that is not finite (never in a report ReportWriter builds) is written as null, without a trap.
        var odd = TrainingReport(title: "odd")
        odd.evaluation = .init(source: "x", logs: [], confusion: nil, residuals: [[.nan, 1]])
        XCTAssertTrue(odd.jsonString().contains("\"residuals\":[[null,1.0]]"), odd.jsonString())
    }

    /// The number spellings the page uses, written without Foundation's `String(format:)`.
    func testNumberSpellings() {
        XCTAssertEqual(ReportFormat.number(0.123456), "0.1235")
        XCTAssertEqual(ReportFormat.number(1.23456e-5), "1.235e-05")
        XCTAssertEqual(ReportFormat.number(123456), "1.235e+05")
        XCTAssertEqual(ReportFormat.number(2), "2")
        XCTAssertEqual(ReportFormat.number(nil), "-")
        XCTAssertEqual(ReportFormat.number(.infinity), "inf")
        XCTAssertEqual(ReportFormat.percent(0.1234), "12.3%")
        XCTAssertEqual(ReportFormat.cFormatted("%.2f s", 1.005e3), "1005.00 s")
        XCTAssertEqual(ReportFormat.cFormatted("%.3f", 1e300).count, 305, "long spellings are not cut")
        for (value, text) in [(12.5, "12.50"), (-3.066, "-3.07"), (0.004, "0.00"), (-0.004, "0.00"), (0.05, "0.05"), (-0.5, "-0.50"),
                              (640, "640.00"), (123456789.126, "123456789.13"), (5e13, "50000000000000.00")] {
            XCTAssertEqual(ReportFormat.coordinate(value), text, "\(value)")
        }
        XCTAssertEqual(ReportFormat.coordinate(1e20), "100000000000000000000.00")
        XCTAssertEqual(ReportFormat.escape("a<b & \"c\"> ü"), "a&lt;b &amp; &quot;c&quot;&gt; ü")
    }

    /// Bins are the same as dividing by the bin width; widths too small (or too large) for Float end in the last bin.
    func testHistogramBinsAndDegenerateWidths() {
        let histogram = TrainingReport.Histogram([0, 0.2, 0.25, 0.5, 0.99, 1, -.infinity], bins: 4)
        XCTAssertEqual(histogram.counts, [2, 1, 1, 2])
        XCTAssertEqual(histogram.nonFinite, 1)
        XCTAssertEqual(TrainingReport.Histogram([0, .leastNonzeroMagnitude], bins: 24).counts.reduce(0, +), 2)
        XCTAssertEqual(TrainingReport.Histogram([-.greatestFiniteMagnitude, .greatestFiniteMagnitude], bins: 4).counts.reduce(0, +), 2)
        XCTAssertEqual(TrainingReport.Histogram([.nan], bins: 2).counts, [0, 0])
    }

    func testClassScoresAndResiduals() throws {
        let scores = ReportHTML.classScores([[3, 1], [2, 4]])
        XCTAssertEqual(scores[0].precision!, 3.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(scores[0].recall!, 3.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(scores[1].f1!, 2 * (4.0 / 5) * (4.0 / 6) / (4.0 / 5 + 4.0 / 6), accuracy: 1e-12)
        XCTAssertEqual(scores.map(\.support), [4, 6])
        XCTAssertNil(ReportHTML.classScores([[0, 0], [0, 2]])[0].precision, "no predictions of class 0")
        let network = Sequential(inputDim: 2, [Dense(1)], seed: 1, backend: CPUBackend(threadCount: 1))
        try network.compile(optimizer: SGD(), loss: .meanSquaredError)
        let x = Tensor(rows: [[1, 2], [3, 4], [5, 6]]), y = Tensor(shape: [3, 1], scalars: [1, 2, 3])
        let evaluation = try ReportWriter.evaluate(network, x: x, y: y, source: "three rows")
        let predicted = try network.predict(x).scalars
        XCTAssertNil(evaluation.confusion)
        XCTAssertEqual(evaluation.residuals?.map { $0[0] }, [1, 2, 3])
        for (index, pair) in try XCTUnwrap(evaluation.residuals).enumerated() {
            XCTAssertEqual(pair[1], Double(predicted[index]) - pair[0], accuracy: 1e-6)
        }
        var report = TrainingReport(title: "regression")
        report.evaluation = evaluation
        XCTAssertTrue(ReportHTML.render(report).contains("residuals against targets (3 samples)"))
    }

    func testTheSameReportGivesTheSameBytesWithoutScriptsOrFetches() throws {
        var report = TrainingReport(title: "t <&>")
        report.append(epoch: 0, logs: [("loss", 1.5), ("val_loss", .nan)])
        report.append(epoch: 1, logs: [("loss", 0.25), ("val_loss", 0.5), ("learning_rate", 0.01)])
        report.distributions = [.init(layer: "dense", kind: "weights", epoch: 0, histogram: .init([0, 1, 1, .infinity], bins: 4))]
        let html = ReportHTML.render(report)
        XCTAssertEqual(html, ReportHTML.render(report))
        XCTAssertEqual(html.components(separatedBy: "<script").count, 2, "only the inert JSON block")
        XCTAssertFalse(html.contains("http://") || html.contains("https://") || html.contains("@import") || html.contains("url("))
        XCTAssertTrue(html.contains("<title>t &lt;&amp;&gt;</title>"))
        XCTAssertTrue(html.contains("@media (max-width: 600px)") && html.contains("viewBox=\"0 0 640 250\""))
        XCTAssertEqual(report.series("val_loss")?.values, [nil, 0.5])
        XCTAssertEqual(report.series("learning_rate")?.values, [nil, Double(Float(0.01))], "a key first logged later is nil before")
        XCTAssertEqual(report.distributions[0].histogram.counts, [1, 0, 0, 2])
        XCTAssertEqual(report.distributions[0].histogram.nonFinite, 1)
        XCTAssertEqual(try ReportTests.embeddedReport(html), report)
    }
}
