import Foundation
import MLPKit

/// Features and (optional) targets read from a CSV file following the CLI's convention.
///
/// The label column is `--label-column` (name or 0-based index), by default the column named `label`,
/// else the last column; `--label-columns a,b,c` names one-hot target columns instead.
struct LabeledData {
    let table: CSVTable
    let x: Tensor
    let y: Tensor?
    let featureNames: [String]
    /// True when the targets are one-hot columns.
    let oneHot: Bool
    /// The single label column's labels: their range and the first that is not a class index, with its line.
    let labelSummary: LabelSummary

    init(path: String, labelColumn: String?, labelColumns: String?, requireLabels: Bool, missing: MissingValuePolicy = .error) throws {
        let table = try CSVTable(contentsOf: path, missing: missing)
        self.table = table
        let columns = try ColumnSelection(header: table.header, labelColumn: labelColumn,
                                          labelColumns: labelColumns.map { $0.split(separator: ",").map(String.init) },
                                          requireLabels: requireLabels, path: path)
        featureNames = columns.features.map { table.header[$0] }
        x = table.tensor(columns: columns.features)
        y = columns.labels.isEmpty ? nil : table.tensor(columns: columns.labels)
        oneHot = columns.oneHot
        labelSummary = columns.labels.count == 1
            ? LabelSummary(values: table.rows.lazy.map { $0[columns.labels[0]] }, lines: table.lineNumbers) : LabelSummary()
    }

    /// The output layer the labels and the chosen loss call for, when `--output` is not given:
    /// - one-hot label columns → `n:softmax`;
    /// - a regression loss (`--loss mse` or `mae`) → `n:linear`, whatever the labels;
    /// - class indices (non-negative integers) with k > 2 classes → `k:softmax`, in {0, 1} → `1:sigmoid`
    ///   (`k:softmax` with `--loss sparse_categorical_crossentropy`);
    /// - labels in [0, 1] with `--loss binary_crossentropy` → `1:sigmoid` (soft labels);
    /// - any other label is an error naming `path` and its line: the task is not guessed from the data.
    static func inferredOutput(labels: LabelSummary, columns: Int, oneHot: Bool, loss: Loss?, path: String) throws -> LayerSpec {
        if oneHot { return LayerSpec(units: columns, activation: .softmax) }
        if let loss, isRegression(loss) { return LayerSpec(units: columns, activation: .linear) }
        guard columns == 1 else { return LayerSpec(units: columns, activation: .linear) }
        if let bad = labels.firstNonClassLabel {
            if case .binaryCrossentropy? = loss, labels.minimum >= 0, labels.maximum <= 1 { return LayerSpec(units: 1, activation: .sigmoid) }
            let place = bad.line > 0 ? "\(path):\(bad.line)" : path
            throw MLPError.labelOutOfRange("\(place): label \(show(bad.value)) is not a class index (an integer 0 or more); for regression targets give --loss mse (or mae) or --output 1:linear")
        }
        let classes = labels.count > 0 ? Int(labels.maximum) + 1 : 1
        if case .sparseCategoricalCrossentropy? = loss { return LayerSpec(units: max(classes, 2), activation: .softmax) }
        if classes <= 2 { return LayerSpec(units: 1, activation: .sigmoid) }
        return LayerSpec(units: classes, activation: .softmax)
    }

    /// Losses that mean the targets are real numbers.
    static func isRegression(_ loss: Loss) -> Bool {
        switch loss {
        case .meanSquaredError, .meanAbsoluteError: return true
        default: return false
        }
    }

    /// The output layer these labels and `loss` (the `--loss` flag, if given) call for; see the static version.
    func inferredOutput(loss: Loss?) throws -> LayerSpec {
        guard let y else { return LayerSpec(units: 1, activation: .linear) }
        return try LabeledData.inferredOutput(labels: labelSummary, columns: y.columnCount, oneHot: oneHot, loss: loss, path: table.path)
    }

    /// Checks every label against the output layer and loss, naming the file line of the first bad one.
    func checkLabels(loss: Loss, outputUnits: Int) throws {
        guard let y else { return }
        func line(_ row: Int) -> Int { table.lineNumbers[row] }
        switch loss {
        case .sparseCategoricalCrossentropy:
            guard y.columnCount == 1 else {
                throw MLPError.shapeMismatch("\(table.path): sparse labels need one label column, got \(y.columnCount)")
            }
            if let row = y.scalars.firstIndex(where: { !Self.isSparseLabel($0, outputUnits: outputUnits) }) {
                throw Self.sparseLabelError(path: table.path, line: line(row), value: y.scalars[row], outputUnits: outputUnits)
            }
        case .binaryCrossentropy:
            if let index = y.scalars.firstIndex(where: { !Self.isBinaryLabel($0) }) {
                throw Self.binaryLabelError(path: table.path, line: line(index / y.columnCount), value: y.scalars[index])
            }
            fallthrough
        default:
            guard y.columnCount == outputUnits else {
                throw MLPError.shapeMismatch("\(table.path): \(y.columnCount) target column(s) but the output layer has \(outputUnits) units")
            }
        }
    }

    /// The checks of ``checkLabels(loss:outputUnits:)`` for a streamed file's single label column, naming the same
    /// line: the summary of the first pass says whether a bad label exists, and only then is the file read again
    /// to find the first.
    static func checkLabels(_ source: StreamingCSVSource, loss: Loss, outputUnits: Int) throws {
        let labels = source.labelSummary
        guard source.columns.labels.count == 1, labels.count > 0 else { return }
        switch loss {
        case .sparseCategoricalCrossentropy:
            guard !labels.areClassIndices || labels.maximum >= Float(outputUnits) else { return }
            if let bad = try source.firstLabel(where: { !isSparseLabel($0, outputUnits: outputUnits) }) {
                throw sparseLabelError(path: source.path, line: bad.line, value: bad.value, outputUnits: outputUnits)
            }
        case .binaryCrossentropy:
            guard labels.minimum < 0 || labels.maximum > 1 else { return }
            if let bad = try source.firstLabel(where: { !isBinaryLabel($0) }) {
                throw binaryLabelError(path: source.path, line: bad.line, value: bad.value)
            }
        default: return
        }
    }

    static func isSparseLabel(_ value: Float, outputUnits: Int) -> Bool { value >= 0 && value < Float(outputUnits) && value == value.rounded() }
    static func isBinaryLabel(_ value: Float) -> Bool { value >= 0 && value <= 1 }

    static func sparseLabelError(path: String, line: Int, value: Float, outputUnits: Int) -> MLPError {
        .labelOutOfRange("\(path):\(line): label \(show(value)) is out of range for an output layer of \(outputUnits) units (expected an integer 0...\(outputUnits - 1))")
    }

    static func binaryLabelError(path: String, line: Int, value: Float) -> MLPError {
        .labelOutOfRange("\(path):\(line): label \(show(value)) is out of range for binary cross-entropy (expected 0...1)")
    }

    static func show(_ value: Float) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(value)
    }
}
