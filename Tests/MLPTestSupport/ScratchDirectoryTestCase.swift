import Foundation
import XCTest

/// A test case with a fresh, empty `directory` per test, removed afterwards.
open class ScratchDirectoryTestCase: XCTestCase {
    public var directory: URL!

    open override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlpkit-\(type(of: self))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    open override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes `text` to `name` in the directory and returns its path.
    public func write(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
