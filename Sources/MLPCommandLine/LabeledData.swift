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

    init(path: String, labelColumn: String?, labelColumns: String?, requireLabels: Bool) throws {
        let table = try CSVTable(contentsOf: path)
        self.table = table
        var labelIndices: [Int] = []
        if let labelColumns {
            labelIndices = try labelColumns.split(separator: ",").map { try table.columnIndex(String($0).trimmingCharacters(in: .whitespaces)) }
        } else if let labelColumn {
            labelIndices = [try table.columnIndex(labelColumn)]
        } else if let named = table.header.firstIndex(of: "label") {
            labelIndices = [named]
        } else if requireLabels {
            labelIndices = [table.header.count - 1]
        }
        let featureIndices = table.header.indices.filter { !labelIndices.contains($0) }
        guard !featureIndices.isEmpty else {
            throw MLPError.invalidArgument("\(path): no feature columns left after taking the label column(s)")
        }
        featureNames = featureIndices.map { table.header[$0] }
        x = table.tensor(columns: featureIndices)
        y = labelIndices.isEmpty ? nil : table.tensor(columns: labelIndices)
        oneHot = labelColumns != nil
    }

    /// The output layer the labels call for: integer labels with k > 2 classes → `k:softmax`, labels
    /// in {0, 1} → `1:sigmoid`, one-hot columns → `n:softmax`, real-valued targets → `n:linear`.
    func inferredOutput() -> LayerSpec {
        guard let y else { return LayerSpec(units: 1, activation: .linear) }
        if oneHot { return LayerSpec(units: y.columnCount, activation: .softmax) }
        if y.columnCount == 1 && y.scalars.allSatisfy({ $0 >= 0 && $0 == $0.rounded() }) {
            let classes = Int(y.scalars.max() ?? 0) + 1
            if classes <= 2 { return LayerSpec(units: 1, activation: .sigmoid) }
            return LayerSpec(units: classes, activation: .softmax)
        }
        return LayerSpec(units: y.columnCount, activation: .linear)
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
