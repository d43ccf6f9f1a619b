/// One value a callback logs for visualisation, under a tag such as `gradients/dense/kernel/norm`.
public enum SummaryValue: Equatable, Sendable {
    /// A single number.
    case scalar(tag: String, value: Float)
    /// The distribution of many numbers (a histogram is built from them).
    case histogram(tag: String, values: [Float])
}

/// Where a callback sends per-epoch summaries beyond the logs, without knowing the file format.
///
/// `TensorBoard` (MLPTensorBoard) adopts it: the values go to its `train` run, so a ``GradientMonitor`` given
/// one writes gradient norms and histograms next to the losses. The training stack sees only this protocol,
/// so it needs neither protobuf nor TensorBoard's files.
public protocol SummaryWriter: AnyObject {
    /// Whether summaries written now are kept (a `TensorBoard`'s run is open from `fit`'s start to its end);
    /// callers skip computing them otherwise.
    var isOpen: Bool { get }

    /// Writes `values` at `step` and makes them durable (flushed). Does nothing while the writer is not open.
    func writeSummaries(_ values: [SummaryValue], step: Int) throws
}
