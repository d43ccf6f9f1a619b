import Foundation

/// Draws a ``TrainingReport`` as one self-contained HTML page: inline CSS and SVG, no JavaScript, no fonts or
/// anything else fetched, and the same bytes for the same report (only the settings section holds times). The
/// report's data is embedded as an inert `<script type="application/json" id="report-data">` block (without
/// the settings).
public enum ReportHTML {
    /// The page for `report`.
    public static func render(_ report: TrainingReport) -> String {
        var body = "<h1>\(ReportFormat.escape(report.title))</h1>\n"
        body += training(report) + gradients(report) + distributions(report) + evaluation(report)
        if let summary = report.summary {
            body += "<section id=\"model\"><h2>Model</h2>\n<pre>\(ReportFormat.escape(summary))</pre></section>\n"
        } else {
            body += omittedLine("Model summary: no model was given.")
        }
        if !report.omitted.isEmpty {
            body += "<section id=\"omitted\"><h2>Not shown</h2><ul>\n"
                + report.omitted.map { "<li class=\"omitted\">\(ReportFormat.escape($0))</li>\n" }.joined() + "</ul></section>\n"
        }
        body += settings(report)
        var data = report
        data.settings = []
        let json = data.jsonString()  // `<` is escaped in it: no `</script>` can end the block early
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(ReportFormat.escape(report.title))</title>
            <style>\(style)</style>
            </head>
            <body>
            \(body)<script type="application/json" id="report-data">\(json)</script>
            </body>
            </html>

            """
    }

    static let style = """

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

    static func omittedLine(_ text: String) -> String { "<p class=\"omitted\">\(ReportFormat.escape(text))</p>\n" }

    /// Loss and metrics (training and validation together), the best, stop and restored epochs, the learning rate.
    static func training(_ report: TrainingReport) -> String {
        var html = "<section id=\"training\"><h2>Training</h2>\n"
        guard !report.epochs.isEmpty else { return html + omittedLine("No epoch ran.") + "</section>\n" }
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
        html += notes.map { "<p class=\"note\">\(ReportFormat.escape($0))</p>\n" }.joined()
        let names = report.series.map(\.name).filter { !$0.contains("/") && !$0.hasPrefix("val_") && $0 != "learning_rate" }
        let validationOnly = report.series.map(\.name).filter { $0.hasPrefix("val_") && !names.contains(String($0.dropFirst(4))) }
        html += "<div class=\"figures\">\n"
        for name in names + validationOnly {
            let shown = [name, "val_" + name].compactMap { report.series($0) }.map { (name: $0.name, values: $0.values) }
            html += "<figure><figcaption>\(ReportFormat.escape(name))</figcaption>\n"
                + ReportSVG.lineChart(title: name, epochs: report.epochs, series: shown, markers: markers) + "</figure>\n"
        }
        html += "</div>\n"
        html += valuesTable(report, names: report.series.map(\.name).filter { !$0.contains("/") })
        if let rates = report.series("learning_rate") {
            if Set(rates.values.compactMap { $0 }).count > 1 {
                html += "<figure><figcaption>learning rate</figcaption>\n"
                    + ReportSVG.lineChart(title: "learning rate", epochs: report.epochs, series: [(rates.name, rates.values)], logScale: true)
                    + "</figure>\n"
            } else {
                html += "<p>Learning rate: \(ReportFormat.number(rates.values.compactMap { $0 }.first)) throughout.</p>\n"
            }
        }
        return html + "</section>\n"
    }

    /// Every epoch's values of `names` (the last 40 epochs at most).
    static func valuesTable(_ report: TrainingReport, names: [String]) -> String {
        let shown = max(0, report.epochs.count - 40)..<report.epochs.count
        var html = "<div class=\"scroll\"><table class=\"values\"><tr><th>epoch</th>"
            + names.map { "<th>\(ReportFormat.escape($0))</th>" }.joined() + "</tr>\n"
        for index in shown {
            html += "<tr><td>\(report.epochs[index] + 1)</td>"
                + names.map { "<td>\(ReportFormat.number(report.series($0)?.values[index] ?? nil))</td>" }.joined() + "</tr>\n"
        }
        return html + "</table></div>\n"
    }

    /// Per-layer gradient statistics over the epochs and the `mlp diagnose` verdicts of the last epoch.
    static func gradients(_ report: TrainingReport) -> String {
        var html = "<section id=\"gradients\"><h2>Gradient health</h2>\n"
        let layers = report.monitoredLayers
        guard !layers.isEmpty, let last = report.epochs.indices.last else {
            return html + omittedLine("No gradient statistics: the run had no GradientMonitor (its grad_norm/<layer> keys are not in the history).")
                + "</section>\n"
        }
        html += "<div class=\"figures\">\n"
        let kinds: [(key: String, title: String, log: Bool)] = [("grad_norm", "gradient norm (log scale)", true),
                                                               ("update_ratio", "update / weight ratio (log scale)", true),
                                                               ("dead_fraction", "dead fraction", false), ("saturated_fraction", "saturated fraction", false)]
        for kind in kinds {
            let shown = layers.compactMap { report.series(kind.key + "/" + $0) }.map { (name: $0.name, values: $0.values) }
            guard !shown.isEmpty else { continue }
            html += "<figure><figcaption>\(kind.title)</figcaption>\n"
                + ReportSVG.lineChart(title: kind.title, epochs: report.epochs, series: shown, logScale: kind.log) + "</figure>\n"
        }
        html += "</div>\n"
        guard let statistics = report.layerStatistics(at: last) else {
            return html + omittedLine("No verdicts: the last epoch lacks some layer's statistics.") + "</section>\n"
        }
        let diagnosis = LayerDiagnosis.diagnose(statistics)
        html += "<p>Verdicts of the last epoch (\(report.epochs[last] + 1)), as <code>mlp diagnose</code> gives them:</p>\n"
        html += "<div class=\"scroll\"><table class=\"diagnosis\"><tr><th class=\"name\">layer</th><th>grad norm</th><th>÷ output</th><th>update/W</th><th>dead</th><th>saturated</th><th class=\"name\">verdict</th></tr>\n"
        for layer in diagnosis {
            let s = layer.statistics
            html += "<tr><td class=\"name\">\(ReportFormat.escape(s.layer))</td><td>\(ReportFormat.number(Double(s.gradientNorm)))</td>"
            html += "<td>\(ReportFormat.number(Double(layer.relativeGradientNorm)))</td><td>\(ReportFormat.number(Double(s.updateRatio)))</td>"
            html += "<td>\(ReportFormat.percent(s.deadFraction.map(Double.init)))</td><td>\(ReportFormat.percent(s.saturatedFraction.map(Double.init)))</td>"
            html += "<td class=\"name verdict-\(layer.verdict.rawValue)\" data-layer=\"\(ReportFormat.escape(s.layer))\">\(layer.verdict.rawValue)</td></tr>\n"
        }
        html += "</table></div>\n"
        for verdict in [GradientVerdict.exploding, .dead, .vanishing] {
            let names = diagnosis.filter { $0.verdict == verdict }.map(\.statistics.layer)
            guard !names.isEmpty else { continue }
            return html + "<p class=\"recommendation\">Recommendation: \(verdict.rawValue) gradients in \(ReportFormat.escape(names.joined(separator: ", "))): \(verdict.remedy).</p>\n</section>\n"
        }
        return html + "<p class=\"recommendation\">Recommendation: none; every layer's gradients are within the thresholds.</p>\n</section>\n"
    }

    /// Weight and activation histograms per layer, first and last epoch.
    static func distributions(_ report: TrainingReport) -> String {
        var html = "<section id=\"distributions\"><h2>Weight and activation distributions</h2>\n"
        guard !report.distributions.isEmpty else {
            return html + omittedLine("No distributions: no model weights were available.") + "</section>\n"
        }
        var layers: [String] = []
        for item in report.distributions where !layers.contains(item.layer) { layers.append(item.layer) }
        for layer in layers {
            html += "<h3>\(ReportFormat.escape(layer))</h3>\n<div class=\"figures distributions\">\n"
            for (index, item) in report.distributions.filter({ $0.layer == layer }).enumerated() {
                let caption = "\(item.kind) after epoch \(item.epoch + 1)" + (item.epoch == report.restoredEpoch && index > 1 ? " (restored)" : "")
                html += "<figure>" + ReportSVG.histogram(item.histogram, caption: caption,
                                                         colour: item.kind == "weights" ? ReportSVG.palette[0] : ReportSVG.palette[3])
                if item.histogram.nonFinite > 0 { html += "<figcaption>\(item.histogram.nonFinite) values not finite</figcaption>" }
                html += "</figure>\n"
            }
            html += "</div>\n"
        }
        return html + "</section>\n"
    }

    /// The held-out evaluation: logs, then a confusion matrix with per-class scores, or residuals.
    static func evaluation(_ report: TrainingReport) -> String {
        var html = "<section id=\"evaluation\"><h2>Evaluation</h2>\n"
        guard let evaluation = report.evaluation else { return html + "</section>\n" }
        html += "<p>On \(ReportFormat.escape(evaluation.source)): "
            + evaluation.logs.map { "\(ReportFormat.escape($0.name)) \(ReportFormat.escape($0.value))" }.joined(separator: ", ") + ".</p>\n"
        if let confusion = evaluation.confusion { html += confusionTables(confusion) }
        if let residuals = evaluation.residuals {
            html += "<figure><figcaption>residuals against targets (\(residuals.count) samples)</figcaption>\n" + ReportSVG.residuals(residuals) + "</figure>\n"
        }
        return html + "</section>\n"
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

    static func confusionTables(_ confusion: [[Int]]) -> String {
        let top = Double(confusion.flatMap { $0 }.max() ?? 1)
        var html = "<div class=\"scroll\"><table class=\"confusion\"><tr><th class=\"name\">true \\ predicted</th>"
            + confusion.indices.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for (k, row) in confusion.enumerated() {
            html += "<tr><th>\(k)</th>"
            for count in row {
                let shade = top > 0 ? Double(count) / top : 0
                let ink = shade > 0.55 ? "#fff" : "#222"
                html += "<td style=\"background: rgba(31,119,180,\(ReportFormat.cFormatted("%.3f", shade))); color: \(ink)\">\(count)</td>"
            }
            html += "</tr>\n"
        }
        html += "</table></div>\n<div class=\"scroll\"><table class=\"scores\"><tr><th class=\"name\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n"
        for (k, score) in classScores(confusion).enumerated() {
            html += "<tr><td class=\"name\">\(k)</td><td>\(ReportFormat.number(score.precision))</td><td>\(ReportFormat.number(score.recall))</td>"
                + "<td>\(ReportFormat.number(score.f1))</td><td>\(score.support)</td></tr>\n"
        }
        return html + "</table></div>\n"
    }

    /// The run's settings: the only section with times.
    static func settings(_ report: TrainingReport) -> String {
        guard !report.settings.isEmpty else { return "" }
        return "<section id=\"settings\"><h2>Run settings</h2>\n<table class=\"settings\">\n"
            + report.settings.map { "<tr><th class=\"name\">\(ReportFormat.escape($0.name))</th><td class=\"name\">\(ReportFormat.escape($0.value))</td></tr>\n" }.joined()
            + "</table></section>\n"
    }
}
