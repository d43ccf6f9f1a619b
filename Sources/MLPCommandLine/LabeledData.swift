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
    }

    /// The output layer for label values: integer labels with k > 2 classes → `k:softmax`, labels in {0, 1}
    /// → `1:sigmoid`, otherwise `columns:linear`.
    static func inferredOutput(labelValues: some Collection<Float>, columns: Int, oneHot: Bool) -> LayerSpec {
        if oneHot { return LayerSpec(units: columns, activation: .softmax) }
        if columns == 1 && labelValues.allSatisfy({ $0 >= 0 && $0 == $0.rounded() }) {
            let classes = Int(labelValues.max() ?? 0) + 1
            if classes <= 2 { return LayerSpec(units: 1, activation: .sigmoid) }
            return LayerSpec(units: classes, activation: .softmax)
        }
        return LayerSpec(units: columns, activation: .linear)
    }

    /// The output layer the labels call for: integer labels with k > 2 classes → `k:softmax`, labels
    /// in {0, 1} → `1:sigmoid`, one-hot columns → `n:softmax`, real-valued targets → `n:linear`.
    func inferredOutput() -> LayerSpec {
        guard let y else { return LayerSpec(units: 1, activation: .linear) }
        return LabeledData.inferredOutput(labelValues: y.scalars, columns: y.columnCount, oneHot: oneHot)
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
            if let row = y.scalars.firstIndex(where: { $0 < 0 || $0 >= Float(outputUnits) || $0 != $0.rounded() }) {
                throw MLPError.labelOutOfRange("\(table.path):\(line(row)): label \(Self.show(y.scalars[row])) is out of range for an output layer of \(outputUnits) units (expected an integer 0...\(outputUnits - 1))")
            }
        case .binaryCrossentropy:
            if let index = y.scalars.firstIndex(where: { $0 < 0 || $0 > 1 }) {
                throw MLPError.labelOutOfRange("\(table.path):\(line(index / y.columnCount)): label \(Self.show(y.scalars[index])) is out of range for binary cross-entropy (expected 0...1)")
            }
            fallthrough
        default:
            guard y.columnCount == outputUnits else {
                throw MLPError.shapeMismatch("\(table.path): \(y.columnCount) target column(s) but the output layer has \(outputUnits) units")
            }
        }
    }

    static func show(_ value: Float) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(value)
    }
}
