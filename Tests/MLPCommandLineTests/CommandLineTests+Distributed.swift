import Foundation
import XCTest
import MLPTestSupport

/// Open MPI is missing where the tests must run (`CI=true`).
struct MPIUnavailable: Error, CustomStringConvertible {
    let description: String
}

/// `mpirun -np 2 mlp train`: data-parallel training over Open MPI against the single process, one writer, a
/// killed rank, and a resumed job.
extension CommandLineTests {
    /// `mpirun`, or a skip (a failure under `CI=true`) when Open MPI is not installed.
    func mpirun() throws -> URL {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        if let path { return path }
        let message = "mpirun is not on PATH (Scripts/install-deps.sh installs openmpi-bin)"
        if ProcessInfo.processInfo.environment["CI"] == "true" { throw MPIUnavailable(description: message) }
        throw XCTSkip(message)
    }

    /// `mpirun`'s own flags: root is allowed (containers), and more ranks than cores.
    var mpirunFlags: [String] { ["--allow-run-as-root", "--oversubscribe"] }

    /// `mpirun -np ranks mlp arguments…` in the scratch directory.
    func mpiMLP(ranks: Int, _ arguments: [String]) throws -> ProcessResult {
        try runProcess(try mpirun(), mpirunFlags + ["-np", "\(ranks)", executable.path] + arguments, currentDirectory: directory)
    }

    /// A 2-feature, 3-class CSV with `rows` rows and noise, so training does not converge in a few steps.
    func noisyCSV(_ name: String, rows: Int) throws -> String {
        var text = "x0,x1,x2,label\n"
        var random = UInt64(99)
        for i in 0..<rows {
            random = random &* 6364136223846793005 &+ 1442695040888963407
            let noise = Double(random >> 40) / Double(1 << 24) - 0.5
            let label = i % 3
            text += String(format: "%.5f,%.5f,%.5f,%d\n", Double(label) + noise, noise * 2, Double(i % 5) * 0.1, label)
        }
        return try write(name, text)
    }

    func history(_ name: String) throws -> [String: [Double]] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name))) as! [String: [Double]]
    }

    /// Two ranks follow the single process with the same global batch: every epoch's loss, metric, penalty-free
    /// data loss and validation value agree to 1e-5 relative. The batch (15) does not divide by 2 and the last
    /// batch of an epoch is short; the L2 penalty and Adam's state are in play. Only the order of the sums
    /// differs (each rank sums its rows, then the allreduce adds the two partial sums).
    func testDistributedLossesMatchTheSingleProcess() throws {
        let data = try noisyCSV("train.csv", rows: 307)
        let common = ["train", "--data", data, "--layers", "16:relu:l2=0.001,8:tanh", "--optimizer", "adam", "--epochs", "6",
                      "--batch-size", "15", "--validation-split", "0.2", "--seed", "3", "--device", "cpu", "--verbose", "2"]
        let single = try mlpArguments(common + ["--history-json", "single.json", "--save", "single.keras"])
        XCTAssertEqual(single.status, 0, single.stderr)
        let two = try mpiMLP(ranks: 2, common + ["--history-json", "two.json", "--save", "two.keras"])
        XCTAssertEqual(two.status, 0, two.stderr)
        let reference = try history("single.json"), distributed = try history("two.json")
        XCTAssertEqual(Set(reference.keys), Set(distributed.keys))
        XCTAssertTrue(reference.keys.contains("val_loss") && reference.keys.contains("sparse_categorical_crossentropy"))
        for (key, values) in reference {
            let others = distributed[key]!
            XCTAssertEqual(values.count, 6, key)
            for (epoch, (a, b)) in zip(values, others).enumerated() {
                XCTAssertLessThanOrEqual(abs(a - b), 1e-5 * max(abs(a), 1e-6), "\(key) epoch \(epoch + 1): \(a) vs \(b)")
            }
        }
        // Rank 0 alone prints: one summary, one line per epoch, one test-free save message.
        XCTAssertEqual(two.stdout.components(separatedBy: "Epoch 1/6").count - 1, 1, two.stdout)
        XCTAssertEqual(two.stdout.components(separatedBy: "Saved the model").count - 1, 1, two.stdout)
        XCTAssertTrue(two.stdout.contains("Data-parallel: 2 ranks, global batch 15"), two.stdout)
        // The saved model loads and evaluates like the single process's.
        let evaluations = try ["single.keras", "two.keras"].map { model -> [String: Double] in
            let run = try mlp("evaluate", "--model", model, "--data", data, "--json")
            XCTAssertEqual(run.status, 0, run.stderr)
            return try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Double]
        }
        XCTAssertEqual(evaluations[0]["loss"]!, evaluations[1]["loss"]!, accuracy: 1e-5 * evaluations[0]["loss"]!)
    }

    /// Gradient buckets (`MLPKIT_ALLREDUCE_BUCKET_BYTES=64`: the 3 Dense layers' 108, 544 and 256 bytes of
    /// gradients make 3 buckets, each summed by its own non-blocking allreduce started during the backward pass)
    /// give the fused allreduce's losses (to 1e-6 relative: each value is still the sum of the two ranks' values)
    /// and so the single process's (1e-5). A value that is not a byte count is refused, naming it.
    func testDistributedBucketedAllreduceMatchesTheFusedOne() throws {
        let data = try noisyCSV("train.csv", rows: 307)
        let common = ["train", "--data", data, "--layers", "16:relu:l2=0.001,8:tanh", "--optimizer", "adam", "--epochs", "4",
                      "--batch-size", "15", "--validation-split", "0.2", "--seed", "3", "--device", "cpu", "--verbose", "2"]
        func job(bucketBytes: String, history: String) throws -> ProcessResult {
            try runProcess(try mpirun(), mpirunFlags + ["-x", "MLPKIT_ALLREDUCE_BUCKET_BYTES=\(bucketBytes)", "-np", "2",
                                                        executable.path] + common + ["--history-json", history],
                           currentDirectory: directory)
        }
        let fused = try job(bucketBytes: "0", history: "fused.json")
        XCTAssertEqual(fused.status, 0, fused.stderr)
        XCTAssertTrue(fused.stdout.contains(" ms/step\n"), fused.stdout)
        let bucketed = try job(bucketBytes: "64", history: "bucketed.json")
        XCTAssertEqual(bucketed.status, 0, bucketed.stderr)
        XCTAssertTrue(bucketed.stdout.contains(" ms/step in 3 buckets"), bucketed.stdout)
        let one = try job(bucketBytes: "1048576", history: "one.json")
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertFalse(one.stdout.contains("buckets"), "a model smaller than one bucket keeps one fused allreduce: \(one.stdout)")
        let single = try mlpArguments(common + ["--history-json", "single.json"])
        XCTAssertEqual(single.status, 0, single.stderr)
        let reference = try history("fused.json"), sums = try history("bucketed.json")
        XCTAssertEqual(Set(reference.keys), Set(sums.keys))
        for (key, values) in reference {
            XCTAssertEqual(values.count, 4, key)
            for (epoch, (a, b)) in zip(values, sums[key]!).enumerated() {
                XCTAssertLessThanOrEqual(abs(a - b), 1e-6 * max(abs(a), 1e-6), "\(key) epoch \(epoch + 1): \(a) vs \(b)")
            }
        }
        assertSameHistory(try history("single.json"), sums, epochs: 4)
        assertSameHistory(reference, try history("one.json"), epochs: 4)

        let refused = try job(bucketBytes: "1MB", history: "refused.json")
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("MLPKIT_ALLREDUCE_BUCKET_BYTES must be a whole number of bytes ≥ 0")
                      && refused.stderr.contains("received \"1MB\""), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("refused.json").path))
    }

    /// Asserts that two histories hold the same keys and `epochs` values each, equal to 1e-5 relative.
    func assertSameHistory(_ reference: [String: [Double]], _ distributed: [String: [Double]], epochs: Int,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(reference.keys), Set(distributed.keys), file: file, line: line)
        for (key, values) in reference {
            let others = distributed[key] ?? []
            XCTAssertEqual(values.count, epochs, key, file: file, line: line)
            XCTAssertEqual(others.count, epochs, key, file: file, line: line)
            for (epoch, (a, b)) in zip(values, others).enumerated() {
                XCTAssertLessThanOrEqual(abs(a - b), 1e-5 * max(abs(a), 1e-6), "\(key) epoch \(epoch + 1): \(a) vs \(b)", file: file, line: line)
            }
        }
    }

    /// An IDX file (unsigned bytes) of dimensions `dims` and bytes `values` in `folder`.
    func writeIDX(_ folder: URL, _ name: String, dims: [Int], values: [UInt8]) throws {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        try Data(bytes + values).write(to: folder.appendingPathComponent(name))
    }

    /// An MNIST-like folder: `rows` training and 30 test images of 4×4 pixels in 3 noisy classes.
    func idxFolder(_ name: String, rows: Int) throws -> URL {
        let folder = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var random = UInt64(7)
        func images(_ count: Int) -> (pixels: [UInt8], labels: [UInt8]) {
            var pixels: [UInt8] = [], labels: [UInt8] = []
            for i in 0..<count {
                let label = i % 3
                for p in 0..<16 {
                    random = random &* 6364136223846793005 &+ 1442695040888963407
                    pixels.append(UInt8(truncatingIfNeeded: (p % 3 == label ? 120 : 0) + Int(random >> 57)))
                }
                labels.append(UInt8(label))
            }
            return (pixels, labels)
        }
        for (stem, count) in [("train", rows), ("t10k", 30)] {
            let set = images(count)
            try writeIDX(folder, "\(stem)-images-idx3-ubyte", dims: [count, 4, 4], values: set.pixels)
            try writeIDX(folder, "\(stem)-labels-idx1-ubyte", dims: [count], values: set.labels)
        }
        return folder
    }

    /// `--stream` in a job of two ranks, where each rank reads only its share of each batch (CSV: seeking to it;
    /// IDX: reading it at its offset), follows the streamed single process: every epoch's loss and accuracy agree
    /// to 1e-5 relative. The batch (15) does not divide by 2 and the last batch is short.
    func testDistributedStreamingLossesMatchTheSingleProcess() throws {
        let csv = try noisyCSV("train.csv", rows: 307)
        let idx = try idxFolder("mnist", rows: 211)
        let model = ["--layers", "16:relu,8:tanh", "--optimizer", "adam", "--epochs", "4", "--batch-size", "15", "--seed", "3",
                     "--device", "cpu", "--verbose", "2", "--stream"]
        for (name, data) in [("csv", ["--data", csv]), ("idx", ["--idx", idx.path])] {
            let common = ["train"] + data + model
            let single = try mlpArguments(common + ["--history-json", "\(name)-single.json"])
            XCTAssertEqual(single.status, 0, single.stderr)
            let two = try mpiMLP(ranks: 2, common + ["--history-json", "\(name)-two.json"])
            XCTAssertEqual(two.status, 0, two.stderr)
            XCTAssertTrue(two.stdout.contains("Data-parallel: 2 ranks, global batch 15"), two.stdout)
            let reference = try history("\(name)-single.json")
            XCTAssertTrue(reference.keys.contains("accuracy"), "\(reference.keys)")
            assertSameHistory(reference, try history("\(name)-two.json"), epochs: 4)
            if name == "idx" {
                // The t10k files are the test set, in memory, as without --stream.
                XCTAssertTrue(single.stdout.contains("Test loss"), single.stdout)
                XCTAssertEqual(single.stderr, "", "no note for uncompressed files")
            }
        }
        // Without shuffling, streamed IDX trains exactly as IDX in memory (the same batches, the same values).
        let unshuffled = ["train", "--idx", idx.path, "--shuffle", "false"] + model.dropLast()
        let memory = try mlpArguments(unshuffled + ["--history-json", "memory.json"])
        XCTAssertEqual(memory.status, 0, memory.stderr)
        let streamed = try mlpArguments(unshuffled + ["--stream", "--history-json", "streamed.json"])
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        XCTAssertEqual(try history("memory.json"), try history("streamed.json"))
        // Compressed training files cannot be read at an offset: one note on stderr (rank 0 only), loaded in memory.
        let gzipped = try idxFolder("gzipped", rows: 60)
        for stem in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
            let run = try runProcess(URL(fileURLWithPath: "/bin/gzip"), [gzipped.appendingPathComponent(stem).path], currentDirectory: directory)
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let compressed = try mpiMLP(ranks: 2, ["train", "--idx", gzipped.path, "--stream", "--epochs", "1", "--device", "cpu", "--verbose", "0"])
        XCTAssertEqual(compressed.status, 0, compressed.stderr)
        let notes = compressed.stderr.split(separator: "\n").filter { $0.contains("gzip-compressed") }
        XCTAssertEqual(notes.count, 1, compressed.stderr)
        XCTAssertTrue(notes.first?.hasPrefix("note: --stream: ") == true && notes.first!.contains("train-images-idx3-ubyte.gz"), compressed.stderr)
    }

    /// Only rank 0 writes: with each rank in a folder of its own (an MPMD launch, `-wdir` per rank), rank 1's
    /// folder stays empty although every file flag is given, `--backup-dir` included. (`--checkpoint` runs apart:
    /// with `--backup-dir` in one process too, its unset best value is infinity, which the backup cannot store.)
    func testDistributedOnlyRankZeroWrites() throws {
        let data = try noisyCSV("train.csv", rows: 120)
        let common = ["train", "--data", data, "--epochs", "2", "--seed", "1", "--device", "cpu", "--verbose", "1",
                      "--validation-split", "0.25"]
        // `--report` evaluates the test data at the end of training on rank 0 alone (no collective: it had waited
        // for rank 1 forever), hence the time limit.
        let runs = [["--save", "model.h5", "--history-json", "history.json", "--csv-log", "log.csv", "--tensorboard", "logs",
                     "--backup-dir", "backup", "--report", "report.html", "--test-data", data], ["--checkpoint", "ckpt-{epoch}.json"]]
        for (index, flags) in runs.enumerated() {
            var launch = mpirunFlags
            for rank in 0..<2 {
                let folder = directory.appendingPathComponent("run\(index)-rank\(rank)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                launch += (rank > 0 ? [":"] : []) + ["-np", "1", "-wdir", folder.path, executable.path] + common + flags
            }
            let run = try runProcess(URL(fileURLWithPath: "/usr/bin/timeout"), ["120", try mpirun().path] + launch, currentDirectory: directory)
            XCTAssertEqual(run.status, 0, run.status == 124 ? "the job hung (killed after 120 s)" : run.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("run\(index)-rank1").path), [])
        }
        let written = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("run0-rank0").path).sorted()
        XCTAssertEqual(written, ["backup", "history.json", "log.csv", "logs", "model.h5", "report.html"])
        let page = try String(contentsOf: directory.appendingPathComponent("run0-rank0/report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("<table class=\"confusion\">"), "the report holds the test data's evaluation")
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("run1-rank0").path).sorted()
        XCTAssertEqual(checkpoints, ["ckpt-1.json", "ckpt-2.json"])
        let evaluation = try mlp("evaluate", "--model", "run0-rank0/model.h5", "--data", data)
        XCTAssertEqual(evaluation.status, 0, evaluation.stderr)
    }

    /// The `mlp` ranks `mpirun` (process `parent`) started, by rank, from /proc.
    func ranks(of parent: Int32) -> [Int: Int32] {
        var found: [Int: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == parent,
                  let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            for variable in environment.split(separator: 0) where variable.starts(with: Data("OMPI_COMM_WORLD_RANK=".utf8)) {
                if let rank = Int(String(decoding: variable.dropFirst(21), as: UTF8.self)) { found[rank] = pid }
            }
        }
        return found
    }

    /// Starts `mpirun -np 2 mlp arguments…`, waits until `ready()` (at most 120 s), SIGKILLs rank 1, and returns
    /// the job's result and how long it took to end after the kill.
    func killRankOne(_ arguments: [String], when ready: () -> Bool) throws -> (result: (status: Int32, stderr: String), seconds: TimeInterval) {
        let process = Process()
        process.executableURL = try mpirun()
        process.arguments = mpirunFlags + ["-np", "2", executable.path] + arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        var target: Int32?
        while Date() < deadline && process.isRunning {
            if ready(), let pid = ranks(of: process.processIdentifier)[1] {
                target = pid
                break
            }
            usleep(20_000)
        }
        let killed = Date()
        if let target { kill(target, SIGKILL) }
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertNotNil(target, "rank 1 was found and killed")
        _ = output
        return ((process.terminationStatus, String(decoding: errors, as: UTF8.self)), Date().timeIntervalSince(killed))
    }

    /// SIGKILL of one rank ends the whole job within seconds, non-zero, with mpirun's message naming the rank.
    func testDistributedKilledRankEndsTheJob() throws {
        let started = Date()
        let (result, seconds) = try killRankOne(["train", "--epochs", "100000", "--device", "cpu", "--verbose", "0"]) {
            Date().timeIntervalSince(started) > 3
        }
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(seconds, 10, "the job ended \(seconds) s after the kill")
        XCTAssertTrue(result.stderr.contains("rank 1"), result.stderr)
    }

    /// `--backup-dir` resumes a 2-rank job killed after a backup: the resumed job ends with the weights of an
    /// uninterrupted 2-rank job, bit for bit.
    func testDistributedResumeAfterAKill() throws {
        let data = try noisyCSV("train.csv", rows: 2000)
        func arguments(backup: String, save: String) -> [String] {
            ["train", "--data", data, "--layers", "64:relu,64:relu", "--epochs", "8", "--seed", "5", "--device", "cpu",
             "--optimizer", "adam", "--batch-size", "16", "--backup-dir", backup, "--save", save, "--verbose", "0"]
        }
        let reference = try mpiMLP(ranks: 2, arguments(backup: "backup-reference", save: "reference.json"))
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let backup = directory.appendingPathComponent("backup/backup.bin")
        var killedAfter = -1
        let (killed, _) = try killRankOne(arguments(backup: "backup", save: "resumed.json")) {
            // backup.bin: the magic MLPKBAK1, then the epoch as a little-endian UInt64.
            guard let data = try? Data(contentsOf: backup), data.count >= 16, data.prefix(8) == Data("MLPKBAK1".utf8) else { return false }
            killedAfter = Int(data[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            return killedAfter >= 1
        }
        XCTAssertNotEqual(killed.status, 0)
        XCTAssertLessThan(killedAfter, 7, "killed before the last epoch")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("resumed.json").path))
        let resumed = try mpiMLP(ranks: 2, arguments(backup: "backup", save: "resumed.json"))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        func weights(_ name: String) throws -> [[Double]] {
            let root = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name))) as! [String: Any]
            return (root["weights"] as! [[String: Any]]).map { $0["values"] as! [Double] }
        }
        XCTAssertEqual(try weights("resumed.json"), try weights("reference.json"), "bit-identical after a kill after epoch \(killedAfter + 1)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: backup.path), "rank 0 deletes the backup when training ends")
    }
}
