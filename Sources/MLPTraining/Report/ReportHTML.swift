import Foundation

/// Draws a ``TrainingReport`` as one self-contained HTML page: inline CSS and SVG, no JavaScript, no fonts or
/// anything else fetched, and the same bytes for the same report (only the settings section holds times). The
/// report's data is embedded as an inert `<script type="application/json" id="report-data">` block (without
/// the settings).
public enum ReportHTML {
    /// The page for `report`.
    public static func render(_ report: TrainingReport) -> String { renderText(report).string }

    /// The page for `report` as UTF-8 bytes (``render(_:)``'s text), as it is written to a file.
    public static func renderBytes(_ report: TrainingReport) -> [UInt8] { renderText(report).bytes }

    /// The page, appended piece by piece to one byte buffer.
    static func renderText(_ report: TrainingReport) -> ReportText {
        var data = report
        data.settings = []
        let json = data.jsonText()  // `<` is escaped in it: no `</script>` can end the block early
        var html = ReportText(capacity: 65_536 + json.bytes.count + 2_048 * report.epochs.count)
        html.raw("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>
            """)
        html.escaped(report.title)
        html.raw("</title>\n<style>")
        html.raw(style)
        html.raw("</style>\n</head>\n<body>\n<h1>")
        html.escaped(report.title)
        html.raw("</h1>\n")
        training(report, into: &html)
        gradients(report, into: &html)
        distributions(report, into: &html)
        evaluation(report, into: &html)
        if let summary = report.summary {
            html.raw("<section id=\"model\"><h2>Model</h2>\n<pre>")
            html.escaped(summary)
            html.raw("</pre></section>\n")
        } else {
            omittedLine("Model summary: no model was given.", into: &html)
        }
        if !report.omitted.isEmpty {
            html.raw("<section id=\"omitted\"><h2>Not shown</h2><ul>\n")
            for line in report.omitted {
                html.raw("<li class=\"omitted\">")
                html.escaped(line)
                html.raw("</li>\n")
            }
            html.raw("</ul></section>\n")
        }
        settings(report, into: &html)
        html.raw("<script type=\"application/json\" id=\"report-data\">")
        html.text(json)
        html.raw("</script>\n</body>\n</html>\n")
        return html
    }

    static let style: StaticString = """

        body { font-family: sans-serif; margin: 0 auto; padding: 1em; max-width: 72em; color: #222; background: #fff; }
        h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
        svg { width: 100%; max-width: 640px; height: auto; display: block; }
        svg.histogram { max-width: 300px; } .distributions figure { flex: 1 1 200px; max-width: 300px; }
        .plot { fill: #fafafa; stroke: #999; } .grid { stroke: #e4e4e4; } .axis { stroke: #666; }
        .marker { stroke-width: 1.5; stroke-dasharray: 4 3; } .tick { font-size: 11px; fill: #444; }
        .figures { display: flex; flex-wrap: wrap; gap: 1em; } .figures figure { margin: 0; flex: 1 1 300px; max-width: 640px; }
        table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; } td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
        th { background: #f0f0f0; } td.name, th.name { text-align: left; }
        .verdict-ok { color: #2a7a2a; } .verdict-vanishing, .verdict-exploding, .verdict-dead { color: #b00020; font-weight: bold; }
        pre { overflow-x: auto; background: #f6f6f6; padding: 0.5em; font-size: 0.8em; }
        .omitted { color: #666; font-style: italic; } .scroll { overflow-x: auto; }
        @media (max-width: 600px) { body { padding: 0.4em; font-size: 0.9em; } .figures figure { flex-basis: 100%; } td, th { padding: 0.1em 0.25em; } }
        @media print { h2 { break-before: auto; } figure, table { break-inside: avoid; } }

        """

    static func omittedLine(_ text: String, into html: inout ReportText) {
        html.raw("<p class=\"omitted\">")
        html.escaped(text)
        html.raw("</p>\n")
    }

    /// A figure of one line chart, with its caption.
    static func chartFigure(caption: String, into html: inout ReportText, _ chart: (inout ReportText) -> Void) {
        html.raw("<figure><figcaption>")
        html.text(caption)
        html.raw("</figcaption>\n")
        chart(&html)
        html.raw("</figure>\n")
    }

    /// Loss and metrics (training and validation together), the best, stop and restored epochs, the learning rate.
    static func training(_ report: TrainingReport, into html: inout ReportText) {
        html.raw("<section id=\"training\"><h2>Training</h2>\n")
        guard !report.epochs.isEmpty else {
            omittedLine("No epoch ran.", into: &html)
            return html.raw("</section>\n")
        }
        var markers: [ReportSVG.Marker] = []
        var notes: [String] = []
        if let best = report.bestEpoch, let monitor = report.monitor {
            markers.append(.init(epoch: best + 1, label: "best", colour: "#2ca02c"))
            let value = report.series(monitor)?.values[report.epochs.firstIndex(of: best) ?? 0] ?? nil
            notes.append("Best epoch: \(best + 1) (\(monitor) \(ReportFormat.number(value)), \(report.monitorMode)).")
        }
        if let stopped = report.stoppedEpoch {
            markers.append(.init(epoch: stopped + 1, label: "stopped", colour: "#d62728"))
            notes.append("EarlyStopping stopped training after epoch \(stopped + 1).")
        }
        if let restored = report.restoredEpoch {
            markers.append(.init(epoch: restored + 1, label: "restored", colour: "#9467bd"))
            notes.append("The weights were restored from epoch \(restored + 1) (restore_best_weights).")
        }
        for note in notes {
            html.raw("<p class=\"note\">")
            html.escaped(note)
            html.raw("</p>\n")
        }
        // Keys without a `/` (not the GradientMonitor's per-layer ones), looked for byte-wise: Foundation's
        // `contains(_:)` searches through `range(of:)`, thousands of instructions a call.
        func perLayer(_ name: String) -> Bool { name.utf8.contains(0x2F) }
        let names = report.series.map(\.name).filter { !perLayer($0) && !$0.hasPrefix("val_") && $0 != "learning_rate" }
        let validationOnly = report.series.map(\.name).filter { $0.hasPrefix("val_") && !names.contains(String($0.dropFirst(4))) }
        html.raw("<div class=\"figures\">\n")
        for name in names + validationOnly {
            let shown = [name, "val_" + name].compactMap { report.series($0) }.map { (name: $0.name, values: $0.values) }
            chartFigure(caption: ReportFormat.escape(name), into: &html) {
                ReportSVG.lineChart(into: &$0, title: name, epochs: report.epochs, series: shown, markers: markers)
            }
        }
        html.raw("</div>\n")
        valuesTable(report, names: report.series.map(\.name).filter { !perLayer($0) }, into: &html)
        if let rates = report.series("learning_rate") {
            if Set(rates.values.compactMap { $0 }).count > 1 {
                chartFigure(caption: "learning rate", into: &html) {
                    ReportSVG.lineChart(into: &$0, title: "learning rate", epochs: report.epochs, series: [(rates.name, rates.values)],
                                        logScale: true)
                }
            } else {
                html.raw("<p>Learning rate: ")
                html.number(rates.values.compactMap { $0 }.first)
                html.raw(" throughout.</p>\n")
            }
        }
        html.raw("</section>\n")
    }

    /// Every epoch's values of `names` (the last 40 epochs at most).
    static func valuesTable(_ report: TrainingReport, names: [String], into html: inout ReportText) {
        let shown = max(0, report.epochs.count - 40)..<report.epochs.count
        html.raw("<div class=\"scroll\"><table class=\"values\"><tr><th>epoch</th>")
        for name in names {
            html.raw("<th>")
            html.escaped(name)
            html.raw("</th>")
        }
        html.raw("</tr>\n")
        let columns = names.map { report.series($0)?.values }
        for index in shown {
            html.raw("<tr><td>")
            html.integer(report.epochs[index] + 1)
            html.raw("</td>")
            for values in columns {
                html.raw("<td>")
                html.number(values?[index] ?? nil)
                html.raw("</td>")
            }
            html.raw("</tr>\n")
        }
        html.raw("</table></div>\n")
    }

    /// Per-layer gradient statistics over the epochs and the `mlp diagnose` verdicts of the last epoch.
    static func gradients(_ report: TrainingReport, into html: inout ReportText) {
        html.raw("<section id=\"gradients\"><h2>Gradient health</h2>\n")
        let layers = report.monitoredLayers
        guard !layers.isEmpty, let last = report.epochs.indices.last else {
            omittedLine("No gradient statistics: the run had no GradientMonitor (its grad_norm/<layer> keys are not in the history).",
                        into: &html)
            return html.raw("</section>\n")
        }
        html.raw("<div class=\"figures\">\n")
        let kinds: [(key: String, title: String, log: Bool)] = [("grad_norm", "gradient norm (log scale)", true),
                                                               ("update_ratio", "update / weight ratio (log scale)", true),
                                                               ("dead_fraction", "dead fraction", false), ("saturated_fraction", "saturated fraction", false)]
        for kind in kinds {
            let shown = layers.compactMap { report.series(kind.key + "/" + $0) }.map { (name: $0.name, values: $0.values) }
            guard !shown.isEmpty else { continue }
            chartFigure(caption: kind.title, into: &html) {
                ReportSVG.lineChart(into: &$0, title: kind.title, epochs: report.epochs, series: shown, logScale: kind.log)
            }
        }
        html.raw("</div>\n")
        guard let statistics = report.layerStatistics(at: last) else {
            omittedLine("No verdicts: the last epoch lacks some layer's statistics.", into: &html)
            return html.raw("</section>\n")
        }
        let diagnosis = LayerDiagnosis.diagnose(statistics)
        html.raw("<p>Verdicts of the last epoch (")
        html.integer(report.epochs[last] + 1)
        html.raw("), as <code>mlp diagnose</code> gives them:</p>\n")
        html.raw("<div class=\"scroll\"><table class=\"diagnosis\"><tr><th class=\"name\">layer</th><th>grad norm</th><th>÷ output</th><th>update/W</th><th>dead</th><th>saturated</th><th class=\"name\">verdict</th></tr>\n")
        for layer in diagnosis {
            let s = layer.statistics
            html.raw("<tr><td class=\"name\">")
            html.escaped(s.layer)
            html.raw("</td><td>")
            html.number(Double(s.gradientNorm))
            html.raw("</td><td>")
            html.number(Double(layer.relativeGradientNorm))
            html.raw("</td><td>")
            html.number(Double(s.updateRatio))
            html.raw("</td><td>")
            html.text(ReportFormat.percent(s.deadFraction.map(Double.init)))
            html.raw("</td><td>")
            html.text(ReportFormat.percent(s.saturatedFraction.map(Double.init)))
            html.raw("</td><td class=\"name verdict-")
            html.text(layer.verdict.rawValue)
            html.raw("\" data-layer=\"")
            html.escaped(s.layer)
            html.raw("\">")
            html.text(layer.verdict.rawValue)
            html.raw("</td></tr>\n")
        }
        html.raw("</table></div>\n")
        for verdict in [GradientVerdict.exploding, .dead, .vanishing] {
            let names = diagnosis.filter { $0.verdict == verdict }.map(\.statistics.layer)
            guard !names.isEmpty else { continue }
            html.raw("<p class=\"recommendation\">Recommendation: ")
            html.text(verdict.rawValue)
            html.raw(" gradients in ")
            html.escaped(names.joined(separator: ", "))
            html.raw(": ")
            html.text(verdict.remedy)
            return html.raw(".</p>\n</section>\n")
        }
        html.raw("<p class=\"recommendation\">Recommendation: none; every layer's gradients are within the thresholds.</p>\n</section>\n")
    }

    /// Weight and activation histograms per layer, first and last epoch.
    static func distributions(_ report: TrainingReport, into html: inout ReportText) {
        html.raw("<section id=\"distributions\"><h2>Weight and activation distributions</h2>\n")
        guard !report.distributions.isEmpty else {
            omittedLine("No distributions: no model weights were available.", into: &html)
            return html.raw("</section>\n")
        }
        var layers: [String] = []
        for item in report.distributions where !layers.contains(item.layer) { layers.append(item.layer) }
        for layer in layers {
            html.raw("<h3>")
            html.escaped(layer)
            html.raw("</h3>\n<div class=\"figures distributions\">\n")
            for (index, item) in report.distributions.filter({ $0.layer == layer }).enumerated() {
                let caption = "\(item.kind) after epoch \(item.epoch + 1)" + (item.epoch == report.restoredEpoch && index > 1 ? " (restored)" : "")
                html.raw("<figure>")
                ReportSVG.histogram(into: &html, item.histogram, caption: caption,
                                    colour: item.kind == "weights" ? ReportSVG.palette[0] : ReportSVG.palette[3])
                if item.histogram.nonFinite > 0 {
                    html.raw("<figcaption>")
                    html.integer(item.histogram.nonFinite)
                    html.raw(" values not finite</figcaption>")
                }
                html.raw("</figure>\n")
            }
            html.raw("</div>\n")
        }
        html.raw("</section>\n")
    }

    /// The held-out evaluation: logs, then a confusion matrix with per-class scores, or residuals.
    static func evaluation(_ report: TrainingReport, into html: inout ReportText) {
        html.raw("<section id=\"evaluation\"><h2>Evaluation</h2>\n")
        guard let evaluation = report.evaluation else { return html.raw("</section>\n") }
        html.raw("<p>On ")
        html.escaped(evaluation.source)
        html.raw(": ")
        for (index, log) in evaluation.logs.enumerated() {
            if index > 0 { html.raw(", ") }
            html.escaped(log.name)
            html.raw(" ")
            html.escaped(log.value)
        }
        html.raw(".</p>\n")
        if let confusion = evaluation.confusion { confusionTables(confusion, into: &html) }
        if let residuals = evaluation.residuals {
            html.raw("<figure><figcaption>residuals against targets (")
            html.integer(residuals.count)
            html.raw(" samples)</figcaption>\n")
            ReportSVG.residuals(into: &html, residuals)
            html.raw("</figure>\n")
        }
        html.raw("</section>\n")
    }

    /// Per-class precision, recall and F1 from `confusion[true][predicted]`; nil where undefined (no predictions or no samples).
    public static func classScores(_ confusion: [[Int]]) -> [(precision: Double?, recall: Double?, f1: Double?, support: Int)] {
        confusion.indices.map { k in
            let truePositives = Double(confusion[k][k])
            let predicted = Double(confusion.reduce(0) { $0 + $1[k] }), actual = confusion[k].reduce(0, +)
            let precision = predicted > 0 ? truePositives / predicted : nil
            let recall = actual > 0 ? truePositives / Double(actual) : nil
            let f1 = precision.flatMap { p in recall.map { r in p + r > 0 ? 2 * p * r / (p + r) : 0 } }
            return (precision, recall, f1, actual)
        }
    }

    static func confusionTables(_ confusion: [[Int]], into html: inout ReportText) {
        let top = Double(confusion.flatMap { $0 }.max() ?? 1)
        html.raw("<div class=\"scroll\"><table class=\"confusion\"><tr><th class=\"name\">true \\ predicted</th>")
        for k in confusion.indices {
            html.raw("<th>")
            html.integer(k)
            html.raw("</th>")
        }
        html.raw("</tr>\n")
        // A cell's shade depends on its count alone: each count is spelled once (most cells of a good model are 0),
        // kept in a short list (a dictionary's first use costs more than the spellings it saves).
        var shades: [(count: Int, text: String)] = []
        for (k, row) in confusion.enumerated() {
            html.raw("<tr><th>")
            html.integer(k)
            html.raw("</th>")
            for count in row {
                let shade = top > 0 ? Double(count) / top : 0
                html.raw("<td style=\"background: rgba(31,119,180,")
                if let known = shades.first(where: { $0.count == count }) {
                    html.text(known.text)
                } else {
                    let spelled = ReportFormat.cFormatted("%.3f", shade)
                    shades.append((count, spelled))
                    html.text(spelled)
                }
                html.raw("); color: ")
                if shade > 0.55 { html.raw("#fff") } else { html.raw("#222") }
                html.raw("\">")
                html.integer(count)
                html.raw("</td>")
            }
            html.raw("</tr>\n")
        }
        html.raw("</table></div>\n<div class=\"scroll\"><table class=\"scores\"><tr><th class=\"name\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n")
        for (k, score) in classScores(confusion).enumerated() {
            html.raw("<tr><td class=\"name\">")
            html.integer(k)
            html.raw("</td><td>")
            html.number(score.precision)
            html.raw("</td><td>")
            html.number(score.recall)
            html.raw("</td><td>")
            html.number(score.f1)
            html.raw("</td><td>")
            html.integer(score.support)
            html.raw("</td></tr>\n")
        }
        html.raw("</table></div>\n")
    }

    /// The run's settings: the only section with times.
    static func settings(_ report: TrainingReport, into html: inout ReportText) {
        guard !report.settings.isEmpty else { return }
        html.raw("<section id=\"settings\"><h2>Run settings</h2>\n<table class=\"settings\">\n")
        for setting in report.settings {
            html.raw("<tr><th class=\"name\">")
            html.escaped(setting.name)
            html.raw("</th><td class=\"name\">")
            html.escaped(setting.value)
            html.raw("</td></tr>\n")
        }
        html.raw("</table></section>\n")
    }
}
