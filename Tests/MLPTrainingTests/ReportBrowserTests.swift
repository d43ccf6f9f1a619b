import Foundation
import XCTest
import MLPKit
import MLPTestSupport

/// A training report opened in a real headless browser (Debian's `chromium`): the page must render, offline,
/// to something that is not blank, at desktop and at phone width. Without chromium the tests are skipped, except
/// under `CI=true` (CI installs it through Scripts/install-deps.sh), where that is a failure.
final class ReportBrowserTests: ScratchDirectoryTestCase {
    /// `chromium` (or `MLPKIT_CHROMIUM`), from `PATH`.
    func chromium() throws -> URL {
        if let named = ProcessInfo.processInfo.environment["MLPKIT_CHROMIUM"], !named.isEmpty { return URL(fileURLWithPath: named) }
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        for folder in folders {
            for name in ["chromium", "chromium-browser"] {
                let path = "\(folder)/\(name)"
                if FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
            }
        }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            throw PNGImage.Unsupported(description: "chromium is not on PATH: CI must run Scripts/install-deps.sh, which installs it")
        }
        throw XCTSkip("install chromium (apt-get install -y chromium) to render the training report in a headless browser")
    }

    /// A real report: 3 epochs on part of the digits, with validation, EarlyStopping and held-out evaluation.
    func trainedReport() throws -> String {
        let digits = Datasets.digits()
        let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 0)
        let model = Sequential(inputDim: 64, [Dense(32, activation: .relu), Dense(16, activation: .sigmoid), Dense(10, activation: .softmax)],
                               seed: 7, backend: CPUBackend(threadCount: 1))
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        model.output = { _ in }
        let path = directory.appendingPathComponent("run.html").path
        let writer = ReportWriter(path: path, evaluation: (split.test.x, split.test.y, "the digits test split"))
        _ = try model.fit(x: split.train.x, y: split.train.y, batchSize: 32, epochs: 3, verbose: 0, validationSplit: 0.2,
                          callbacks: [EarlyStopping(patience: 5, restoreBestWeights: true), writer])
        return path
    }

    /// Screenshots `page` at `width`×`height` CSS pixels and decodes the PNG.
    func screenshot(_ page: String, width: Int, height: Int) throws -> PNGImage {
        let browser = try chromium()
        let png = directory.appendingPathComponent("shot-\(width).png")
        let result = try runProcess(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                                              "--user-data-dir=" + directory.appendingPathComponent("profile-\(width)").path,
                                              "--screenshot=" + png.path, "--window-size=\(width),\(height)",
                                              URL(fileURLWithPath: page).absoluteString])
        XCTAssertEqual(result.status, 0, "chromium failed: \(result.stderr.suffix(2000))")
        return try PNGImage(Data(contentsOf: png))
    }

    func testTheReportRendersInAHeadlessBrowser() throws {
        _ = try chromium()
        let page = try trainedReport()
        let html = try String(contentsOfFile: page, encoding: .utf8)
        // Self-contained: nothing fetched (no external scripts, styles, fonts or images), no executable script.
        XCTAssertFalse(html.contains("src=\"http"), "the page loads something from the network")
        XCTAssertFalse(html.contains("href=\"http"), "the page links a stylesheet or font from the network")
        XCTAssertFalse(html.contains("@import"), "the page imports a stylesheet")
        for script in html.components(separatedBy: "<script").dropFirst() {
            XCTAssertTrue(script.hasPrefix(" type=\"application/json\""), "a script that is not inert data: <script\(script.prefix(60))")
        }

        let image = try screenshot(page, width: 1200, height: 2400)
        XCTAssertEqual(image.width, 1200)
        XCTAssertEqual(image.height, 2400)
        let background = image.rgb(image.width - 1, image.height - 1)
        let (fraction, colours) = image.inkFraction(background: background)
        // A blank or failed page is one colour; the report has text, axes, several coloured lines and histograms.
        XCTAssertGreaterThan(fraction, 0.02, "the page is (almost) blank: \(fraction) of the pixels differ from the background")
        XCTAssertGreaterThan(colours, 16, "the page has only \(colours) colours")
        // The charts' own colours are on screen (the first two palette entries: training and validation lines).
        var seen = Set<UInt32>()
        for y in stride(from: 0, to: image.height, by: 1) { for x in stride(from: 0, to: image.width, by: 1) { seen.insert(image.rgb(x, y)) } }
        let chartColours = ReportSVG.palette.prefix(2).compactMap { UInt32($0.dropFirst(), radix: 16) }
        for colour in chartColours { XCTAssertTrue(seen.contains(colour), String(format: "no pixel of the chart colour #%06x", colour)) }
    }

    /// At phone width the page fits: the SVGs scale down (viewBox, max-width), so ink reaches neither beyond the
    /// window nor only a corner of it.
    func testTheReportFitsAPhoneWidthWindow() throws {
        _ = try chromium()
        let page = try trainedReport()
        let image = try screenshot(page, width: 390, height: 2400)
        let background = image.rgb(image.width - 1, image.height - 1)
        XCTAssertGreaterThan(image.inkFraction(background: background).fraction, 0.02)
        // Ink in the right third too: the charts span the window rather than being cut at a desktop width.
        var rightInk = 0
        for y in 0..<image.height { for x in (image.width * 2 / 3)..<image.width where image.rgb(x, y) != background { rightInk += 1 } }
        XCTAssertGreaterThan(Double(rightInk) / Double(image.width / 3 * image.height), 0.005)
    }
}
