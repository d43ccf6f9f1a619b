import Foundation
import XCTest

/// What a finished process printed and returned.
public struct ProcessResult {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs `executable` with `arguments` (the environment plus `environment`) and waits for it.
public func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                       currentDirectory: URL? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    var merged = ProcessInfo.processInfo.environment
    merged.merge(environment) { $1 }
    process.environment = merged
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Both pipes are drained at once: reading one to its end first would deadlock a child that fills the other's
    // pipe buffer (64 KiB on Linux) while we wait.
    let errorReader = PipeReader(err.fileHandleForReading)
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = errorReader.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
                         stderr: String(decoding: errors, as: UTF8.self))
}

/// Reads a pipe to its end on a thread of its own.
///
/// `@unchecked Sendable` because its thread captures it: that thread writes `data` once, before it signals `done`,
/// and ``wait()`` reads `data` only after `done` was signalled (the semaphore orders the two).
private final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    /// The pipe's whole content, once its writer has closed it.
    func wait() -> Data {
        done.wait()
        return data
    }
}

/// A file of the repository (e.g. `Scripts/tensorboard-read.py`).
public func repositoryFile(_ path: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(path)
}

/// An interop test cannot run: under `CI=true` that is a failure, not a skip.
public struct InteropUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// The python `MLPKIT_KERAS_PYTHON` names, for the tests that check interop with the real Keras or TensorBoard.
/// Without it the test is skipped — except under `CI=true` (CI installs them), where it fails.
public func interopPython(with packages: String, for test: String) throws -> URL {
    if let python = ProcessInfo.processInfo.environment["MLPKIT_KERAS_PYTHON"], !python.isEmpty {
        return URL(fileURLWithPath: python)
    }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        throw InteropUnavailable(description: "MLPKIT_KERAS_PYTHON is not set: CI must install \(packages) and point it at that python")
    }
    throw XCTSkip("set MLPKIT_KERAS_PYTHON to a python with \(packages) to run the \(test)")
}
