import Foundation
import MLPKit
import MLPTestSupport
@testable import MLPTensorBoard
@testable import MLPTraining
import XCTest

/// Writes that fail: every file MLPKit writes reports one `cannot write '<the file>': <the OS's reason>`,
/// leaves the previous file as it was and leaves no temporary files behind.
///
/// A full disk is a real one: a 64 KiB tmpfs mounted for the test (needs root; the tests that need it skip
/// where mounting is not allowed). `/dev/full` stands in for the append-only streams.
final class FailingWriteTests: ScratchDirectoryTestCase {
    var mounted: String?

    override func tearDownWithError() throws {
        if let mounted { _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), [mounted]) }
        try super.tearDownWithError()
    }

    /// A fresh tmpfs of `kilobytes` at `name` in the scratch directory (read-only with `readOnly`).
    func smallDisk(_ name: String = "disk", kilobytes: Int = 64, readOnly: Bool = false) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let options = "size=\(kilobytes)k" + (readOnly ? ",ro" : "")
        guard getuid() == 0,
              let result = try? runProcess(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", options, "tmpfs", path]),
              result.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (needs root and permission to mount)")
        }
        mounted = path
        return path
    }

    func model(units: Int) throws -> Sequential {
        let model = Sequential(inputDim: 64, [Dense(units, activation: .relu), Dense(10, activation: .softmax)], seed: 1)
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        model.output = { _ in }
        return model
    }

    func assertCannotWrite<T>(_ expression: @autoclosure () throws -> T, _ path: String, reason: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? MLPError, .fileNotWritable(path: path, reason: reason), "\(error)", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "one line", file: file, line: line)
        }
    }

    func leftovers(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix(".") }.sorted()
    }

    /// Saving in every format onto a full disk: one error naming the file and "No space left on device",
    /// the previous file byte for byte as it was, no temporary file left.
    func testModelSavesOntoAFullDisk() throws {
        let disk = try smallDisk()
        let small = try model(units: 4), large = try model(units: 256)   // ~3 KB and ~70 KB of weights
        for name in ["model.h5", "model.keras", "model.weights.h5", "model.json"] {
            let path = (disk as NSString).appendingPathComponent(name)
            try small.save(to: path)
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            assertCannotWrite(try large.save(to: path), path, reason: "No space left on device")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "\(name) is untouched")
            XCTAssertEqual(try leftovers(disk), [], "no temporary file left after \(name)")
            XCTAssertEqual(try Sequential.loadWeightsProbe(path, like: small), small.weights().map(\.scalars), name)
            try FileManager.default.removeItem(atPath: path)
        }
    }

    /// BackupAndRestore, TensorBoard and the CSV log on a disk that fills up during training: training stops
    /// with one error naming the file that could not be written.
    func testTrainingStopsWhenItsFilesCannotBeWritten() throws {
        let disk = try smallDisk(kilobytes: 128)
        let x = Tensor(shape: [32, 64], scalars: (0..<(32 * 64)).map { Float($0 % 7) / 7 })
        let y = Tensor(shape: [32, 1], scalars: (0..<32).map { Float($0 % 10) })
        let backup = (disk as NSString).appendingPathComponent("backup")
        XCTAssertThrowsError(try model(units: 512).fit(x: x, y: y, epochs: 2, verbose: 0,
                                                        callbacks: [BackupAndRestore(backupDirectory: backup)])) { error in
            XCTAssertEqual(error as? MLPError, .fileNotWritable(path: backup + "/backup.bin", reason: "No space left on device"), "\(error)")
        }
        XCTAssertEqual(try leftovers(backup), [])

        // Fill the disk (the log folders made first), then TensorBoard's first event file cannot be written.
        for run in ["train", "validation"] {
            try FileManager.default.createDirectory(atPath: (disk as NSString).appendingPathComponent("logs/" + run), withIntermediateDirectories: true)
        }
        let filler = (disk as NSString).appendingPathComponent("filler")
        XCTAssertThrowsError(try AtomicFile.write(Data(count: 1 << 20), to: filler))
        let fill = try AppendingFile(path: filler, truncate: true)
        while (try? fill.write(Data(count: 512))) != nil {}
        XCTAssertThrowsError(try model(units: 8).fit(x: x, y: y, epochs: 1, verbose: 0,
                                                      callbacks: [TensorBoard(logDir: (disk as NSString).appendingPathComponent("logs"))])) { error in
            guard case let .fileNotWritable(path, reason)? = error as? MLPError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.contains("/logs/train/events.out.tfevents."), path)
            XCTAssertEqual(reason, "No space left on device")
        }
    }

    /// The CSV log (and any append-only file) on a device that refuses writes.
    func testCSVLoggerOnAFullDevice() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/dev/full"), "no /dev/full")
        let x = Tensor(shape: [8, 64], scalars: [Float](repeating: 0.5, count: 8 * 64))
        let y = Tensor(shape: [8, 1], scalars: [Float](repeating: 1, count: 8))
        assertCannotWrite(try model(units: 4).fit(x: x, y: y, epochs: 2, verbose: 0, callbacks: [CSVLogger(filename: "/dev/full")]),
                          "/dev/full", reason: "No space left on device")
    }

    /// A read-only disk, a missing folder, a folder in the way: one line each, naming the file.
    func testSavesThatCannotStart() throws {
        let small = try model(units: 4)
        let missing = directory.appendingPathComponent("no/such/folder/model.h5").path
        assertCannotWrite(try small.save(to: missing), missing,
                          reason: "the folder '\(directory.appendingPathComponent("no/such/folder").path)' does not exist")
        let folder = directory.appendingPathComponent("taken.h5").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        assertCannotWrite(try small.save(to: folder), folder, reason: "it is a folder")
        assertCannotWrite(try AtomicFile.checkWritable(folder), folder, reason: "it is a folder")
        let file = try write("plain.txt", "x")
        let inside = file + "/model.h5"
        assertCannotWrite(try small.save(to: inside), inside, reason: "'\(file)' is not a folder")
        XCTAssertEqual(try leftovers(directory.path), [])

        let readOnly = try smallDisk("readonly", readOnly: true)
        let path = (readOnly as NSString).appendingPathComponent("model.keras")
        assertCannotWrite(try small.save(to: path), path, reason: "Read-only file system")
    }

    /// A symbolic link is followed (the link stays, its file is replaced); a device is written in place, never
    /// replaced by a regular file.
    func testLinksAndDevicesAreWrittenThroughNotReplaced() throws {
        let real = try write("real.json", "old")
        let link = directory.appendingPathComponent("link.json").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        try AtomicFile.write(Data("new".utf8), to: link)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), real, "still a link")
        XCTAssertEqual(try String(contentsOfFile: real, encoding: .utf8), "new")
        XCTAssertEqual(try leftovers(directory.path), [])

        try AtomicFile.write(Data("discarded".utf8), to: "/dev/null")
        if FileManager.default.fileExists(atPath: "/dev/full") {
            assertCannotWrite(try AtomicFile.write(Data("x".utf8), to: "/dev/full"), "/dev/full", reason: "No space left on device")
        }
        for device in ["/dev/null", "/dev/full"] where FileManager.default.fileExists(atPath: device) {
            var status = stat()
            XCTAssertEqual(stat(device, &status), 0)
            XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR, "\(device) is still a device")
        }
    }

    /// TensorBoard pointed at a file: one line naming it, not a Foundation error code.
    func testTensorBoardFolderThatIsAFile() throws {
        let file = try write("log.csv", "epoch,loss\n")
        XCTAssertThrowsError(try EventFileWriter(directory: file + "/train")) { error in
            XCTAssertEqual("\(error)", "cannot create TensorBoard log folder '\(file)': it is a file")
        }
    }

    /// Temporary files of processes that died mid-save are removed by the next save to the folder; those of
    /// live processes (pid 1 here) stay.
    func testStaleTemporariesAreRemovedOnTheNextSave() throws {
        let dead = pid_t(Int32.max - 7)
        XCTAssertNotEqual(kill(dead, 0), 0, "no process has that id")
        let stale = [".model.h5.\(dead).tmp", ".model.keras.\(dead).tmp.weights.h5", ".history.json.\(dead).tmp"]
        let kept = [".model.h5.1.tmp", ".notes.tmp", ".hidden"]
        for name in stale + kept { _ = try write(name, "partial") }
        try model(units: 4).save(to: directory.appendingPathComponent("other.h5").path)
        XCTAssertEqual(try leftovers(directory.path), kept.sorted())
        XCTAssertNil(AtomicFile.temporaryOwner(".model.h5.tmp"))
        XCTAssertEqual(AtomicFile.temporaryOwner(".a.b.42.tmp"), 42)
    }

    /// A write that is not synced (the training report's) replaces the file as a whole, by swapping names where
    /// the OS can: the new content under the name, a reader of the old file still reading the old one, no
    /// temporary left; the same for a file that did not exist yet.
    func testUnsyncedWriteReplacesTheWholeFile() throws {
        let path = directory.appendingPathComponent("run.html").path
        try AtomicFile.write(Data("first".utf8), to: path, durable: false)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first")
        let reader = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? reader.close() }
        try AtomicFile.write(Data("second, longer".utf8), to: path, durable: false)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "second, longer")
        XCTAssertEqual(String(decoding: try reader.readToEnd() ?? Data(), as: UTF8.self), "first", "the old file, not rewritten in place")
        XCTAssertEqual(try leftovers(directory.path), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["run.html"])
    }

    /// The binary backup round-trips exactly and refuses damaged or truncated copies with one line.
    func testBackupFileFormat() throws {
        let backup = BackupFile(epoch: 3, seed: 0xDEAD_BEEF_0123, weights: [[1, -2.5, .leastNonzeroMagnitude], [], [Float.pi]],
                                iterations: 42, learningRate: 0.001, slots: [[[1, 2, 3], [4, 5, 6]], [], [[7]]],
                                callbacks: Data(#"[{"wait":1,"best_weights":{"mlpkit_tensors":0}}]"#.utf8),
                                callbackTensors: [[[0.5, 0.25], [-1]]])
        let data = backup.encoded()
        XCTAssertEqual(try BackupFile(decoding: data, path: "b"), backup)
        let path = try write("backup.bin", "")
        try data.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(BackupFile.epoch(ofFileAt: path), 3)
        var flipped = data
        flipped[40] ^= 0x10
        XCTAssertThrowsError(try BackupFile(decoding: flipped, path: "b")) {
            XCTAssertEqual("\($0)", "b: the backup is damaged (checksum mismatch); delete it to start over")
        }
        for length in [0, 7, 20, data.count - 1] {
            XCTAssertThrowsError(try BackupFile(decoding: data.prefix(length), path: "b"), "length \(length)")
        }
        let separated = BackupFile.separatingTensors([["wait": 2, "best_weights": [[Float(1), 2], [3]]], [:]])
        XCTAssertEqual(separated.tensors, [[[1, 2], [3]]])
        let joined = try BackupFile.joiningTensors(separated.states, separated.tensors, path: "b")
        XCTAssertEqual(joined[0]["best_weights"] as? [[Float]], [[1, 2], [3]])
        XCTAssertEqual(joined[0]["wait"] as? Int, 2)
        let none = BackupFile(epoch: 0, seed: 1, weights: [[0]], iterations: nil, learningRate: 0, slots: [], callbacks: Data())
        XCTAssertEqual(try BackupFile(decoding: none.encoded(), path: "b"), none)
    }

    /// A JSON backup written by an earlier version (`backup.json`) is still resumed from, bit-identically.
    func testLegacyJSONBackupIsResumed() throws {
        var random = PhiloxRandom(seed: 5)
        let x = Tensor(shape: [48, 64], scalars: (0..<(48 * 64)).map { _ in random.nextNormal() })
        let y = Tensor(shape: [48, 1], scalars: (0..<48).map { Float($0 % 10) })
        let reference = try model(units: 16)
        try reference.fit(x: x, y: y, batchSize: 16, epochs: 4, verbose: 0)

        final class Crash: Callback {
            struct Interrupted: Error {}
            override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws { if epoch == 1 { throw Interrupted() } }
        }
        let folder = directory.appendingPathComponent("backup").path
        XCTAssertThrowsError(try model(units: 16).fit(x: x, y: y, batchSize: 16, epochs: 4, verbose: 0,
                                                       callbacks: [BackupAndRestore(backupDirectory: folder), Crash()]))
        // Rewrite the binary backup as the JSON one earlier versions wrote, and remove the binary one.
        let binary = folder + "/backup.bin"
        let saved = try BackupFile(decoding: Data(contentsOf: URL(fileURLWithPath: binary)), path: binary)
        let legacy: [String: Any] = [
            "format": "mlpkit-backup-v0", "epoch": saved.epoch, "seed": String(saved.seed),
            "weights": saved.weights.map { $0.map(Double.init) },
            "callbacks": try JSONSerialization.jsonObject(with: saved.callbacks),
            "optimizer": ["iterations": saved.iterations!, "learning_rate": Double(saved.learningRate),
                          "slots": saved.slots.map { $0.map { $0.map(Double.init) } }] as [String: Any],
        ]
        try JSONSerialization.data(withJSONObject: legacy).write(to: URL(fileURLWithPath: folder + "/backup.json"))
        try FileManager.default.removeItem(atPath: binary)

        let resumed = try model(units: 16)
        let history = try resumed.fit(x: x, y: y, batchSize: 16, epochs: 4, verbose: 0, callbacks: [BackupAndRestore(backupDirectory: folder)])
        XCTAssertEqual(history.epoch, [1, 2, 3])
        XCTAssertEqual(resumed.weights(), reference.weights(), "bit-identical to the uninterrupted run")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [], "both backups deleted at train end")
    }
}

extension Sequential {
    /// The weights saved in `path`, loaded into a copy of `model`'s architecture.
    static func loadWeightsProbe(_ path: String, like model: Sequential) throws -> [[Float]] {
        let probe = Sequential(inputDim: model.inputDim, [Dense(4, activation: .relu), Dense(10, activation: .softmax)], seed: 99)
        try probe.loadWeights(from: path)
        return probe.weights().map(\.scalars)
    }
}
