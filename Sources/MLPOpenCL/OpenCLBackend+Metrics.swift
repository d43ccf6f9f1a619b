import MLPCore

extension AccuracyKind: KernelSelector {
    static var macroPrefix: String { "ACC" }
    /// `BINARY_ACCURACY`, … (the Keras name in capitals).
    var macroSuffix: String { rawValue.uppercased() }
    static let kernelCodes = codeTable()
    /// The value of this case's ``KernelSelector/macro`` in `accuracy_rows` (metrics.cl).
    var kernelCode: Int { AccuracyKind.kernelCodes[self]! }
}

/// Metric counts into device-side accumulators (``BackendMetrics``; Kernels/metrics.cl).
extension OpenCLBackend {
    public func accuracyCount(_ kind: AccuracyKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                              rows: Int, columns: Int, accumulator: DeviceBuffer, accumulatorIndex: Int) {
        let rowCorrect = scratch(rows)
        launch("accuracy_rows", items: rows, [.int(kind.kernelCode), .buffer(predictions), .buffer(targets), .int(rows),
                                              .int(columns), .buffer(rowCorrect)])
        accumulate(rowCorrect, count: rows, into: accumulator, index: accumulatorIndex)
    }

    public func topKAccuracyCount(predictions: DeviceBuffer, targets: DeviceBuffer, rows: Int, columns: Int, k: Int, sparse: Bool,
                                  accumulator: DeviceBuffer, index: Int) {
        let rowCorrect = scratch(rows)
        launch("top_k_rows", items: rows, [.buffer(predictions), .buffer(targets), .int(rows), .int(columns), .int(k),
                                           .int(sparse ? 1 : 0), .buffer(rowCorrect)])
        accumulate(rowCorrect, count: rows, into: accumulator, index: index)
    }

    public func confusionCounts(predictions: DeviceBuffer, targets: DeviceBuffer, count: Int, thresholds: DeviceBuffer,
                                thresholdCount: Int, accumulator: DeviceBuffer, index: Int) {
        launch("confusion_counts", items: thresholdCount, [.buffer(predictions), .buffer(targets), .int(count), .buffer(thresholds),
                                                           .int(thresholdCount), .buffer(accumulator), .int(index)])
    }
}
