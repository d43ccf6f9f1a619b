/// Metric counts (``BackendMetrics``): the reference loops.
extension CPUBackend {
    public func accuracyCount(_ kind: AccuracyKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                              rows: Int, columns: Int, accumulator: DeviceBuffer, accumulatorIndex: Int) {
        ptr(accumulator)[accumulatorIndex] += CPUReference.accuracyCount(kind, predictions: ptr(predictions),
                                                                         targets: ptr(targets), rows: rows, columns: columns)
    }

    public func topKAccuracyCount(predictions: DeviceBuffer, targets: DeviceBuffer, rows: Int, columns: Int, k: Int, sparse: Bool,
                                  accumulator: DeviceBuffer, index: Int) {
        ptr(accumulator)[index] += CPUReference.topKAccuracyCount(predictions: ptr(predictions), targets: ptr(targets), rows: rows,
                                                                  columns: columns, k: k, sparse: sparse)
    }

    public func confusionCounts(predictions: DeviceBuffer, targets: DeviceBuffer, count: Int, thresholds: DeviceBuffer,
                                thresholdCount: Int, accumulator: DeviceBuffer, index: Int) {
        CPUReference.confusionCounts(predictions: ptr(predictions), targets: ptr(targets), count: count, thresholds: ptr(thresholds),
                                     thresholdCount: thresholdCount, into: ptr(accumulator) + index)
    }
}
