import MLPTraining

extension TensorBoard: SummaryWriter {
    /// True while the `train` run is open: from the start of `fit` to its end.
    public var isOpen: Bool { train != nil }

    /// Writes `values` to the `train` run at `step` and flushes it; nothing while the run is not open (before
    /// `fit` begins or after it ends).
    public func writeSummaries(_ values: [SummaryValue], step: Int) throws {
        guard let train else { return }
        try train.write(values.map(EventFileWriter.value), step: step)
        try train.flush()
    }
}

extension EventFileWriter {
    /// The protobuf summary value for a `SummaryValue`.
    static func value(_ value: SummaryValue) -> Mlpkit_Tensorboard_Summary.Value {
        switch value {
        case .scalar(let tag, let number): scalar(tag, number)
        case .histogram(let tag, let values): histogram(tag, values)
        }
    }
}
