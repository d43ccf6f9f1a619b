import Foundation

/// Keras 2's `Progbar` text, without colour: what `fit(verbose:)` and `evaluate` print.
///
/// verbose 1 on a terminal redraws one line (`\r`) at most every `interval` seconds (0.1 s: each redraw
/// reads the running loss from the device, so at most ten reads a second):
/// `12/45 [=======>......................] - ETA: 0s - loss: 0.6931 - accuracy: 0.5000`, and ends with
/// `45/45 [==============================] - 0s 2ms/step - loss: … - val_loss: …`. When the output is not a
/// terminal only that last line is printed. verbose 2 prints `45/45 - 0s - loss: … - 90ms/epoch - 2ms/step`.
/// Values print as `%.4f`, or `%.4e` when `|v| ≤ 1e-3`.
final class ProgressBar {
    let target: Int
    let verbose: Int
    let isTerminal: Bool
    let write: (String) -> Void
    let width = 30
    let interval: TimeInterval
    let start = Date()
    var lastUpdate = Date.distantPast
    var previousWidth = 0

    init(target: Int, verbose: Int, isTerminal: Bool, interval: TimeInterval = 0.1, write: @escaping (String) -> Void) {
        self.target = max(target, 1)
        self.verbose = verbose
        self.isTerminal = isTerminal
        self.interval = interval
        self.write = write
    }

    /// Whether an intermediate update would be drawn now (callers skip reading metrics otherwise).
    var wantsUpdate: Bool {
        verbose == 1 && isTerminal && Date().timeIntervalSince(lastUpdate) >= interval
    }

    /// Draws step `current` with the running `values`.
    func update(_ current: Int, values: [(String, Float)]) {
        guard wantsUpdate, current < target else { return }
        lastUpdate = Date()
        let elapsed = Date().timeIntervalSince(start)
        let perStep = current > 0 ? elapsed / Double(current) : 0
        var line = bar(current) + " - ETA: " + ProgressBar.formatETA(perStep * Double(target - current))
        line += ProgressBar.formatValues(values)
        let padding = max(0, previousWidth - line.count)
        previousWidth = line.count
        write("\r" + line + String(repeating: " ", count: padding))
    }

    /// The epoch's last line.
    func finish(values: [(String, Float)]) {
        guard verbose > 0 else { return }
        let elapsed = Date().timeIntervalSince(start)
        let perStep = elapsed / Double(target)
        if verbose == 1 {
            var line = bar(target) + String(format: " - %.0fs", elapsed) + ProgressBar.formatTime(perStep, unit: "step")
            line += ProgressBar.formatValues(values)
            let padding = isTerminal ? max(0, previousWidth - line.count) : 0
            write((isTerminal ? "\r" : "") + line + String(repeating: " ", count: padding) + "\n")
        } else {
            var line = "\(target)/\(target)" + String(format: " - %.0fs", elapsed) + ProgressBar.formatValues(values)
            line += " -" + ProgressBar.formatTime(elapsed, unit: "epoch") + " -" + ProgressBar.formatTime(perStep, unit: "step")
            write(line + "\n")
        }
    }

    func bar(_ current: Int) -> String {
        let digits = String(target).count
        let count = String(current)
        var text = String(repeating: " ", count: max(0, digits - count.count)) + count + "/\(target) ["
        let filled = Int(Double(width) * Double(current) / Double(target))
        if filled > 0 {
            text += String(repeating: "=", count: filled - 1) + (current < target ? ">" : "=")
        }
        text += String(repeating: ".", count: width - filled) + "]"
        return text
    }

    static func formatValues(_ values: [(String, Float)]) -> String {
        values.map { " - \($0.0): " + formatValue($0.1) }.joined()
    }

    /// Keras: `%.4f` when `|v| > 1e-3`, else `%.4e`.
    static func formatValue(_ value: Float) -> String {
        abs(value) > 1e-3 ? String(format: "%.4f", Double(value)) : String(format: "%.4e", Double(value))
    }

    static func formatTime(_ seconds: Double, unit: String) -> String {
        if seconds >= 1 || seconds == 0 { return String(format: " %.0fs/%@", seconds, unit) }
        if seconds >= 1e-3 { return String(format: " %.0fms/%@", seconds * 1e3, unit) }
        return String(format: " %.0fus/%@", seconds * 1e6, unit)
    }

    static func formatETA(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s > 3600 { return String(format: "%d:%02d:%02d", s / 3600, (s % 3600) / 60, s % 60) }
        if s > 60 { return String(format: "%d:%02d", s / 60, s % 60) }
        return "\(s)s"
    }
}
