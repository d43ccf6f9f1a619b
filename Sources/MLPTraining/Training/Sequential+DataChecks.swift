import MLPCore

extension Sequential {
    /// `x` through ``inputScaler`` (unchanged without one).
    func scaled(_ x: Tensor) -> Tensor { inputScaler.map { $0.transform(x) } ?? x }

    /// Checks that `x` is (samples, ``inputDim``).
    func checkFeatures(_ x: Tensor, role: String) throws {
        guard x.shape.count == 2 else {
            throw MLPError.shapeMismatch("\(role) must be (samples, features), got shape \(x.shape)")
        }
        guard x.columnCount == inputDim else {
            throw MLPError.shapeMismatch("\(role) has \(x.columnCount) features per sample, the model expects \(inputDim)")
        }
    }

    /// Checks features and targets against the model and the loss, naming the first offending sample.
    func checkData(x: Tensor, y: Tensor, role: String) throws {
        try checkFeatures(x, role: role)
        guard let loss = compilation?.loss else { return }
        guard y.rowCount == x.rowCount else {
            throw MLPError.shapeMismatch("\(role) has \(x.rowCount) samples but \(y.rowCount) targets")
        }
        let expected = loss.targetColumns(predictionColumns: outputUnits)
        guard y.columnCount == expected else {
            throw MLPError.shapeMismatch("\(role): \(loss.kerasName) with \(outputUnits) output units needs \(expected) target value(s) per sample, got \(y.columnCount)")
        }
        if case .sparseCategoricalCrossentropy = loss {
            if let bad = y.scalars.firstIndex(where: { $0 < 0 || $0 >= Float(outputUnits) || $0 != $0.rounded() }) {
                throw MLPError.labelOutOfRange("\(role): label \(y.scalars[bad]) of sample \(bad) is not a class index 0..\(outputUnits - 1) of the \(outputUnits)-unit output layer")
            }
        }
    }
}
