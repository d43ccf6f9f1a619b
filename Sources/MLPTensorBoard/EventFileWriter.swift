import Foundation
import MLPCore
import MLPTraining
import SwiftProtobuf
import Synchronization

/// Writes TensorBoard event files: `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`, TFRecord-framed
/// `Event` messages, the first one `file_version = "brain.Event:2"`.
///
/// Each record goes to the file with one `write` as it is made, so whatever was written survives a killed
/// process; ``flush()`` (at epoch end and on close) also asks the OS to put it on disk.
public final class EventFileWriter {
    /// The event file written (`events.out.tfevents.<time>.<host>.<pid>.<n>.v2`).
    public let path: String
    let file: AppendingFile
    /// Event files made by this process: numbers the files (writers may be made on any thread).
    static let counter = Atomic<Int>(0)

    /// Creates `directory` (and its parents) and a new event file in it; a folder that cannot be made (a
    /// file is in the way, a read-only disk) is one clear error naming it.
    public init(directory: String) throws {
        try EventFileWriter.makeFolder(directory)
        let number = EventFileWriter.counter.add(1, ordering: .relaxed).newValue
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        let name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(ProcessInfo.processInfo.processIdentifier).\(number).v2"
        path = (directory as NSString).appendingPathComponent(name)
        file = try AppendingFile(path: path, truncate: true)
        var first = Mlpkit_Tensorboard_Event()
        first.wallTime = Date().timeIntervalSince1970
        first.fileVersion = "brain.Event:2"
        try write(first)
    }

    /// `directory` and its parents, made as needed; the first part of the path that is a file is named.
    static func makeFolder(_ directory: String) throws {
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            prefix = (prefix as NSString).appendingPathComponent(String(component))
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: prefix, isDirectory: &isFolder) {
                guard isFolder.boolValue else { throw MLPError.invalidArgument("cannot create TensorBoard log folder '\(prefix)': it is a file") }
                continue
            }
            guard mkdir(prefix, 0o777) == 0 || errno == EEXIST else {
                throw MLPError.invalidArgument("cannot create TensorBoard log folder '\(prefix)': \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Appends one event (a failed write is an error naming the event file and the OS's reason).
    public func write(_ event: Mlpkit_Tensorboard_Event) throws {
        try file.write(RecordFraming.frame(try event.serializedData()))
    }

    /// A summary event at `step` now.
    public func write(_ values: [Mlpkit_Tensorboard_Summary.Value], step: Int) throws {
        guard !values.isEmpty else { return }
        var event = Mlpkit_Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(step)
        event.summary.value = values
        try write(event)
    }

    /// Asks the OS to put the records on disk.
    public func flush() throws { try file.synchronize() }

    /// Syncs and closes the file.
    public func close() throws { try file.close() }

    // MARK: Summary values

    /// A scalar (`simple_value`).
    public static func scalar(_ tag: String, _ value: Float) -> Mlpkit_Tensorboard_Summary.Value {
        var summary = Mlpkit_Tensorboard_Summary.Value()
        summary.tag = tag
        summary.simpleValue = value
        return summary
    }

    /// A histogram of `values` in `bucketCount` equal-width buckets between their minimum and maximum (as
    /// `tf.summary.histogram` does); the counts add up to `values.count`.
    public static func histogram(_ tag: String, _ values: [Float], bucketCount: Int = 30) -> Mlpkit_Tensorboard_Summary.Value {
        var histogram = Mlpkit_Tensorboard_HistogramProto()
        let doubles = values.map(Double.init)
        let low = doubles.min() ?? 0, high = doubles.max() ?? 0
        histogram.min = low
        histogram.max = high
        histogram.num = Double(doubles.count)
        histogram.sum = doubles.reduce(0, +)
        histogram.sumSquares = doubles.reduce(0) { $0 + $1 * $1 }
        if high > low {
            let width = (high - low) / Double(bucketCount)
            var counts = [Double](repeating: 0, count: bucketCount)
            for value in doubles { counts[min(bucketCount - 1, Int((value - low) / width))] += 1 }
            histogram.bucketLimit = (1...bucketCount).map { $0 == bucketCount ? high : low + Double($0) * width }
            histogram.bucket = counts
        } else {
            histogram.bucketLimit = [high]
            histogram.bucket = [Double(doubles.count)]
        }
        var summary = Mlpkit_Tensorboard_Summary.Value()
        summary.tag = tag
        summary.histo = histogram
        return summary
    }

    /// A text summary (the `text` plugin: a string tensor).
    public static func text(_ tag: String, _ text: String) -> Mlpkit_Tensorboard_Summary.Value {
        var tensor = Mlpkit_Tensorboard_TensorProto()
        tensor.dtype = .dtString
        tensor.tensorShape = Mlpkit_Tensorboard_TensorShapeProto()
        tensor.stringVal = [Data(text.utf8)]
        var metadata = Mlpkit_Tensorboard_SummaryMetadata()
        metadata.pluginData.pluginName = "text"
        var summary = Mlpkit_Tensorboard_Summary.Value()
        summary.tag = tag
        summary.metadata = metadata
        summary.tensor = tensor
        return summary
    }
}
