/// An error a user can cause: a bad file, a bad argument, data that does not fit the model.
///
/// Every case names what was received and, where it helps, what would be accepted, so the message
/// printed by the CLI is one line a user can act on. Programmer errors are `precondition`s instead.
public enum MLPError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A file that could not be opened or read.
    case fileNotReadable(path: String, reason: String)
    /// A file that could not be written: `path` is the file the user named, `reason` the OS's (`No space
    /// left on device`).
    case fileNotWritable(path: String, reason: String)
    /// A file whose contents are malformed; `line` is 1-based, 0 when the problem is not on one line.
    case malformedFile(path: String, line: Int, reason: String)
    /// Two shapes that must agree do not.
    case shapeMismatch(String)
    /// An argument outside what is accepted.
    case invalidArgument(String)
    /// A name (activation, loss, optimizer, metric, …) that is not one of the known ones.
    case unknownName(kind: String, received: String, valid: [String])
    /// A label that the output layer cannot produce.
    case labelOutOfRange(String)
    /// The model is used before a step it needs (compile, build).
    case notReady(String)
    /// A device that was asked for is not there.
    case deviceUnavailable(String)
    /// The device failed: out of memory, a kernel that did not build or launch, a library error.
    case deviceFailure(String)

    public var description: String {
        switch self {
        case let .fileNotReadable(path, reason):
            return "cannot read '\(path)': \(reason)"
        case let .fileNotWritable(path, reason):
            return "cannot write '\(path)': \(reason)"
        case let .malformedFile(path, line, reason):
            return line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
        case let .shapeMismatch(message), let .invalidArgument(message), let .labelOutOfRange(message),
             let .notReady(message), let .deviceUnavailable(message), let .deviceFailure(message):
            return message
        case let .unknownName(kind, received, valid):
            return "unknown \(kind) '\(received)'; expected one of: \(valid.joined(separator: ", "))"
        }
    }
}
