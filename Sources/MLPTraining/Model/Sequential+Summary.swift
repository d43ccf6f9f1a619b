import Foundation

/// How `summary()` draws its table.
public enum SummaryStyle: String, CaseIterable, Sendable {
    /// tf-keras 2.13+ text: 65 columns, columns at 29/55/65, totals without separators — byte-identical.
    case keras2
    /// Keras 3's box-drawn table, thousands separators, ` Total params: 3,386 (13.23 KB)`.
    case keras3
}

extension Sequential {
    /// The Keras summary table, as text ending in a newline.
    ///
    /// ```
    /// Total params: 3386 (13.23 KB)
    /// Trainable params: 3386 (13.23 KB)
    /// Non-trainable params: 0 (0.00 Byte)
    /// ```
    public func summary(style: SummaryStyle = .keras2) -> String {
        Sequential.summary(of: size, name: name, style: style)
    }

    /// The summary table of a model of this size, built or not: `mlp summary` sizes models too large to
    /// allocate this way.
    public static func summary(of size: ModelSize, name: String = "sequential", style: SummaryStyle = .keras2) -> String {
        let rows = size.layers.map { layer in
            (name: "\(layer.name) (\(layer.kerasClassName))", shape: "(None, \(layer.outputUnits))", params: layer.parameters)
        }
        let (trainable, frozen) = (size.trainableParameters, size.nonTrainableParameters)
        switch style {
        case .keras2: return keras2Summary(rows, name: name, trainable: trainable, frozen: frozen)
        case .keras3: return keras3Summary(rows, name: name, trainable: trainable, frozen: frozen)
        }
    }

    /// Prints ``summary(style:)`` to ``output``.
    public func printSummary(style: SummaryStyle = .keras2) {
        output(summary(style: style))
    }

    private static func keras2Summary(_ rows: [(name: String, shape: String, params: Int)], name: String, trainable: Int,
                                      frozen: Int) -> String {
        let lineLength = 65
        let positions = [29, 55, 65]
        var lines = ["Model: \"\(name)\"", String(repeating: "_" as Character, count: lineLength)]
        lines += Sequential.keras2Row(["Layer (type)", "Output Shape", "Param #"], positions: positions)
        lines.append(String(repeating: "=" as Character, count: lineLength))
        for row in rows {
            lines += Sequential.keras2Row([row.name, row.shape, String(row.params)], positions: positions)
            lines.append(String(repeating: " " as Character, count: lineLength))
        }
        lines.append(String(repeating: "=" as Character, count: lineLength))
        lines.append("Total params: \(trainable + frozen) (\(Sequential.memorySize(Double(trainable + frozen) * 4, units: Sequential.keras2Units)))")
        lines.append("Trainable params: \(trainable) (\(Sequential.memorySize(Double(trainable) * 4, units: Sequential.keras2Units)))")
        lines.append("Non-trainable params: \(frozen) (\(Sequential.memorySize(Double(frozen) * 4, units: Sequential.keras2Units)))")
        lines.append(String(repeating: "_" as Character, count: lineLength))
        return lines.joined(separator: "\n") + "\n"
    }

    /// tf-keras' `print_row`: each cell cut to its column (2 spaces between columns, 1 less for all but
    /// the last column), preferring breaks after `),`-style pairs, continued on following lines.
    static func keras2Row(_ fields: [String], positions: [Int]) -> [String] {
        var left = fields.map { Array($0) }
        var lines: [String] = []
        while left.contains(where: { !$0.isEmpty }) {
            var line = ""
            for column in left.indices {
                let start = column > 0 ? positions[column - 1] : 0
                let space = column != positions.count - 1 ? 2 : 0
                var cutoff = positions[column] - start - space
                if column != positions.count - 1 { cutoff -= 1 }
                var fit = Array(left[column].prefix(cutoff))
                let text = String(fit)
                let breaks = ["),", "},", "],", "',"].compactMap { marker in
                    text.range(of: marker).map { text.distance(from: text.startIndex, to: $0.upperBound) }
                }
                if let earliest = breaks.min() {
                    cutoff = earliest
                    fit = Array(fit.prefix(cutoff))
                }
                if column == 0 { line += " " }
                line += String(fit) + String(repeating: " " as Character, count: space)
                left[column] = Array(left[column].dropFirst(min(cutoff, left[column].count)))
                line += String(repeating: " " as Character, count: max(0, positions[column] - line.count))
            }
            lines.append(line)
        }
        return lines
    }

    private static func keras3Summary(_ rows: [(name: String, shape: String, params: Int)], name: String, trainable: Int,
                                      frozen: Int) -> String {
        let widths = [33, 24, 15]
        func rule(_ left: String, _ fill: String, _ middle: String, _ right: String) -> String {
            left + widths.map { String(repeating: fill, count: $0) }.joined(separator: middle) + right
        }
        func cells(_ values: [String], border: String) -> String {
            var out = border
            for (index, value) in values.enumerated() {
                let room = widths[index] - 2
                let padded = index == 2
                    ? String(repeating: " ", count: max(0, room - value.count)) + value
                    : value + String(repeating: " ", count: max(0, room - value.count))
                out += " " + padded + " " + border
            }
            return out
        }
        var lines = ["Model: \"\(name)\"", rule("┏", "━", "┳", "┓"),
                     cells(["Layer (type)", "Output Shape", "Param #"], border: "┃"), rule("┡", "━", "╇", "┩")]
        for (index, row) in rows.enumerated() {
            lines.append(cells([row.name, row.shape, Sequential.thousands(row.params)], border: "│"))
            if index < rows.count - 1 { lines.append(rule("├", "─", "┼", "┤")) }
        }
        lines.append(rule("└", "─", "┴", "┘"))
        lines.append(" Total params: \(Sequential.thousands(trainable + frozen)) (\(Sequential.memorySize(Double(trainable + frozen) * 4, units: Sequential.keras3Units)))")
        lines.append(" Trainable params: \(Sequential.thousands(trainable)) (\(Sequential.memorySize(Double(trainable) * 4, units: Sequential.keras3Units)))")
        lines.append(" Non-trainable params: \(Sequential.thousands(frozen)) (\(Sequential.memorySize(Double(frozen) * 4, units: Sequential.keras3Units)))")
        return lines.joined(separator: "\n") + "\n"
    }

    static let keras2Units = ["Byte", "KB", "MB", "GB", "TB", "PB"]
    static let keras3Units = ["B", "KB", "MB", "GB", "TB", "PB"]

    /// `"%.2f unit"` with 1024-based units, as Keras' `readable_memory_size`.
    /// (C's `printf` spells the number, as Foundation's `String(format:)` would, without its cost: the training
    /// report puts a summary on every page.)
    static func memorySize(_ bytes: Double, units: [String]) -> String {
        var size = bytes
        for unit in units.dropLast() {
            if size / 1024 < 1 { return ReportFormat.cFormatted("%.2f", size) + " " + unit }
            size /= 1024
        }
        return ReportFormat.cFormatted("%.2f", size) + " " + units.last!
    }

    static func thousands(_ value: Int) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }
}
