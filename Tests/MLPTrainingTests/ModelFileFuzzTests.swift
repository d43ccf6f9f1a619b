import Foundation
import MLPCore
import MLPTestSupport
import MLPModelFiles
import MLPTraining
import XCTest

/// Seeded mutants of Keras-written model files (bit flips, truncations, random byte runs, zero runs; for
/// `.keras` also mutations confined to the bytes of its stored entries) fed to every loader. Each mutant ends
/// in a model or in an ``MLPError`` naming the file; the test process surviving is the "no crash" check.
/// A `.keras` mutant never loads with numbers that differ from the original's (its entries carry CRC32s);
/// `.h5` files carry no checksums, so mutants that only change weight values load with changed numbers and
/// are counted, not failed.
///
/// `MLPKIT_FUZZ_MUTANTS` sets the mutants per format (default: a CI-sized run); `MLPKIT_FUZZ_SEED` the seed;
/// `MLPKIT_FUZZ_TIMEOUT_MS` the reader's timeout (default 5000); `MLPKIT_FUZZ_KEEP_CRASHERS=DIR` keeps the
/// mutants that crashed libhdf5; `MLPKIT_FUZZ_VERBOSE` prints every error.
/// `Scripts/fuzz.sh` runs thousands in a release build.
final class ModelFileFuzzTests: ScratchDirectoryTestCase {
    static let models = KerasReferenceTests.fixtures.appendingPathComponent("models")

    /// What happened to the mutants of one format.
    struct Tally: CustomStringConvertible {
        var tried = 0, runs = 0, errors = 0, loads = 0, changedLoads = 0, entryBytesChangedLoads = 0
        /// Errors that were libhdf5 crashing (or running out of time) in the reader's child process.
        var childCrashes = 0, childTimeouts = 0
        var description: String {
            "mutants \(tried), loader runs \(runs), crashes 0, errors \(errors) (libhdf5 crashed in the reader process: \(childCrashes), "
                + "timed out: \(childTimeouts)), loads \(loads) (with changed numbers: \(changedLoads))"
        }
    }

    /// SplitMix64: a small seeded generator so every run of a seed makes the same mutants.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Mutates `data` in place within `range` (the whole file unless given) and returns the bytes changed
    /// (empty for a truncation that removed bytes, which is reported through the new length).
    static func mutate(_ data: inout Data, in range: Range<Int>? = nil, using random: inout SeededGenerator) -> Range<Int> {
        let range = range ?? 0..<data.count
        let kind = range.count == data.count ? Int.random(in: 0..<4, using: &random) : Int.random(in: 0..<3, using: &random)
        switch kind {
        case 0:   // 1 to 3 bit flips
            var low = Int.max, high = 0
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: range, using: &random)
                data[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
                low = min(low, at)
                high = max(high, at + 1)
            }
            return low..<high
        case 1:   // a run of random bytes
            let length = Int.random(in: 1...min(64, range.count), using: &random)
            let start = Int.random(in: range.lowerBound...(range.upperBound - length), using: &random)
            for at in start..<(start + length) { data[at] = UInt8.random(in: 0...255, using: &random) }
            return start..<(start + length)
        case 2:   // a run of zero bytes
            let length = Int.random(in: 1...min(256, range.count), using: &random)
            let start = Int.random(in: range.lowerBound...(range.upperBound - length), using: &random)
            data.replaceSubrange(start..<(start + length), with: Data(count: length))
            return start..<(start + length)
        default:  // truncation
            let length = Int.random(in: 0..<data.count, using: &random)
            data = data.prefix(length)
            return length..<length
        }
    }

    /// The byte ranges of the stored data of each entry of a zip archive (from its local file headers).
    static func entryDataRanges(_ zip: Data) -> [String: Range<Int>] {
        var ranges: [String: Range<Int>] = [:]
        let bytes = [UInt8](zip)
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        var at = 0
        while at + 30 <= bytes.count, u32(at) == 0x0403_4B50 {
            let compressed = u32(at + 18), nameLength = u16(at + 26), extraLength = u16(at + 28)
            let name = String(decoding: bytes[(at + 30)..<(at + 30 + nameLength)], as: UTF8.self)
            let start = at + 30 + nameLength + extraLength
            ranges[name] = start..<(start + compressed)
            at = start + compressed
        }
        return ranges
    }

    var mutantsPerFormat: Int { ProcessInfo.processInfo.environment["MLPKIT_FUZZ_MUTANTS"].flatMap(Int.init) ?? 40 }
    var seed: UInt64 { ProcessInfo.processInfo.environment["MLPKIT_FUZZ_SEED"].flatMap(UInt64.init) ?? 15 }
    var isLongRun: Bool { ProcessInfo.processInfo.environment["MLPKIT_FUZZ_MUTANTS"] != nil }

    override func setUpWithError() throws {
        try super.setUpWithError()
        // A mutant that makes libhdf5 hang costs 5 s (MLPKIT_FUZZ_TIMEOUT_MS), not 30.
        setenv("MLPKIT_HDF5_READ_TIMEOUT_MS", ProcessInfo.processInfo.environment["MLPKIT_FUZZ_TIMEOUT_MS"] ?? "5000", 1)
    }

    override func tearDownWithError() throws {
        unsetenv("MLPKIT_HDF5_READ_TIMEOUT_MS")
        try super.tearDownWithError()
    }

    /// Reference inputs: 6 features, as the fixtures' models take.
    let inputs = Tensor(rows: (0..<4).map { row in (0..<6).map { Float(row * 6 + $0) / 12 - 1 } })

    /// The numbers a loaded model carries: its weights, and its predictions (which also see the scaler and
    /// the activations).
    func numbers(_ model: Sequential) throws -> [Float] {
        try model.weights().flatMap(\.scalars) + model.predict(inputs).scalars
    }

    /// Runs `load` on a mutant at `path`, checks that an error names the file, and tallies the outcome;
    /// returns true when the mutant loaded with numbers that differ from `original`.
    @discardableResult
    func attempt(_ tally: inout Tally, path: String, original: [Float], _ load: () throws -> Sequential) -> Bool {
        tally.runs += 1
        do {
            let model = try load()
            tally.loads += 1
            let loaded = try numbers(model)
            let changed = loaded.count != original.count || zip(loaded, original).contains { $0.bitPattern != $1.bitPattern && !($0.isNaN && $1.isNaN) }
            if changed { tally.changedLoads += 1 }
            return changed
        } catch let error as MLPError {
            tally.errors += 1
            if "\(error)".contains("the HDF5 library crashed") {
                tally.childCrashes += 1
                // MLPKIT_FUZZ_KEEP_CRASHERS=DIR keeps the mutants that crashed libhdf5, for regression fixtures.
                if let keep = ProcessInfo.processInfo.environment["MLPKIT_FUZZ_KEEP_CRASHERS"] {
                    let kept = URL(fileURLWithPath: keep).appendingPathComponent("crash-\(tally.childCrashes)-" + URL(fileURLWithPath: path).lastPathComponent)
                    try? FileManager.default.copyItem(atPath: path, toPath: kept.path)
                }
            }
            if "\(error)".contains("did not finish reading") { tally.childTimeouts += 1 }
            if ProcessInfo.processInfo.environment["MLPKIT_FUZZ_VERBOSE"] != nil { print("\(error)") }
            XCTAssertTrue("\(error)".contains(path), "the error does not name the file: \(error)")
        } catch {
            tally.errors += 1
            XCTFail("\(path): not an MLPError: \(error)")
        }
        return false
    }

    func testMutantsOfEveryModelFileLoadOrFailNamingTheFile() throws {
        var random = SeededGenerator(state: seed)
        let h5Names = ["keras2-classifier.h5", "keras3-regressor.h5"]
        let kerasName = "keras3-classifier.keras"
        let weightsName = "keras3-classifier.weights.h5"
        let reference = try Sequential.load(from: Self.models.appendingPathComponent(kerasName).path, backend: CPUBackend(threadCount: 1))
        let referenceNumbers = try numbers(reference)
        /// A model of the fixtures' classifier architecture with other weights, for loadWeights.
        func freshClassifier() throws -> Sequential {
            let model = try Sequential.load(from: Self.models.appendingPathComponent(kerasName).path, backend: CPUBackend(threadCount: 1))
            try model.setWeights(model.weights().map { Tensor(shape: $0.shape, scalars: [Float](repeating: 0.5, count: $0.scalars.count)) })
            return model
        }
        var report: [String] = []
        let started = Date()

        // .h5 (Keras 2 and Keras 3 legacy): Sequential.load and loadWeights.
        var h5 = Tally()
        for name in h5Names {
            let originalPath = Self.models.appendingPathComponent(name).path
            let original = try Data(contentsOf: URL(fileURLWithPath: originalPath))
            let originalModel = try Sequential.load(from: originalPath, backend: CPUBackend(threadCount: 1))
            let originalNumbers = try numbers(originalModel)
            for index in 0..<(mutantsPerFormat / h5Names.count) {
                var mutant = original
                _ = Self.mutate(&mutant, using: &random)
                let path = directory.appendingPathComponent("mutant-\(index)-\(name)").path
                try mutant.write(to: URL(fileURLWithPath: path))
                h5.tried += 1
                attempt(&h5, path: path, original: originalNumbers) { try Sequential.load(from: path, backend: CPUBackend(threadCount: 1)) }
                let target = try Sequential.load(from: originalPath, backend: CPUBackend(threadCount: 1))
                try target.setWeights(target.weights().map { Tensor(shape: $0.shape, scalars: [Float](repeating: 0.5, count: $0.scalars.count)) })
                attempt(&h5, path: path, original: originalNumbers) {
                    try target.loadWeights(from: path)
                    return target
                }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        report.append(".h5: \(h5)")

        // .weights.h5 (Keras 3): loadWeights into a built model.
        var weights = Tally()
        let weightsData = try Data(contentsOf: Self.models.appendingPathComponent(weightsName))
        for index in 0..<mutantsPerFormat {
            var mutant = weightsData
            _ = Self.mutate(&mutant, using: &random)
            let path = directory.appendingPathComponent("mutant-\(index).weights.h5").path
            try mutant.write(to: URL(fileURLWithPath: path))
            weights.tried += 1
            let target = try freshClassifier()
            attempt(&weights, path: path, original: referenceNumbers) {
                try target.loadWeights(from: path)
                return target
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        report.append(".weights.h5: \(weights)")

        // .keras: half the mutants anywhere in the archive, half inside one stored entry's bytes.
        var keras = Tally()
        let kerasData = try Data(contentsOf: Self.models.appendingPathComponent(kerasName))
        let entries = Self.entryDataRanges(kerasData)
        XCTAssertEqual(Set(entries.keys), ["metadata.json", "config.json", "model.weights.h5"])
        XCTAssertTrue(entries.values.allSatisfy { !$0.isEmpty })
        let entryNames = entries.keys.sorted()
        for index in 0..<mutantsPerFormat {
            var mutant = kerasData
            let inside = index % 2 == 1 ? entries[entryNames[Int.random(in: 0..<entryNames.count, using: &random)]]! : nil
            let changed = Self.mutate(&mutant, in: inside, using: &random)
            // Entry bytes that really changed (a zero run over zeros changes nothing).
            let hitEntry = mutant.count == kerasData.count
                && entries.values.contains { entry in entry.clamped(to: changed).contains { mutant[$0] != kerasData[$0] } }
            let path = directory.appendingPathComponent("mutant-\(index).keras").path
            try mutant.write(to: URL(fileURLWithPath: path))
            keras.tried += 1
            let loads = keras.loads
            attempt(&keras, path: path, original: referenceNumbers) { try Sequential.load(from: path, backend: CPUBackend(threadCount: 1)) }
            let target = try freshClassifier()
            attempt(&keras, path: path, original: referenceNumbers) { try target.loadWeights(from: path); return target }
            if hitEntry && keras.loads > loads { keras.entryBytesChangedLoads += 1 }
            try? FileManager.default.removeItem(atPath: path)
        }
        report.append(".keras: \(keras); loads of a mutant with changed entry bytes: \(keras.entryBytesChangedLoads)")
        XCTAssertEqual(keras.changedLoads, 0, "a corrupted .keras loaded silently with different numbers")
        XCTAssertEqual(keras.entryBytesChangedLoads, 0, "a .keras whose stored entry bytes changed loaded")

        // .json: MLPKit's model file (Sequential.load, loadWeights) and a Keras config (fromKerasConfig).
        var json = Tally()
        let jsonPath = directory.appendingPathComponent("reference.json").path
        try reference.save(to: jsonPath)
        let jsonData = try Data(contentsOf: URL(fileURLWithPath: jsonPath))
        for index in 0..<mutantsPerFormat {
            var mutant = jsonData
            _ = Self.mutate(&mutant, using: &random)
            let path = directory.appendingPathComponent("mutant-\(index).json").path
            try mutant.write(to: URL(fileURLWithPath: path))
            json.tried += 1
            attempt(&json, path: path, original: referenceNumbers) { try Sequential.load(from: path, backend: CPUBackend(threadCount: 1)) }
            let target = try freshClassifier()
            attempt(&json, path: path, original: referenceNumbers) { try target.loadWeights(from: path); return target }
            try? FileManager.default.removeItem(atPath: path)
        }
        report.append(".json: \(json)")

        var config = Tally()
        let configText = try JSONSerialization.data(withJSONObject: KerasConfig.modelConfig(reference, flavour: .keras3), options: [.sortedKeys])
        for _ in 0..<mutantsPerFormat {
            var mutant = configText
            _ = Self.mutate(&mutant, using: &random)
            config.tried += 1
            do {
                _ = try Sequential(fromKerasConfig: String(decoding: mutant, as: UTF8.self), seed: 1, backend: CPUBackend(threadCount: 1))
                config.loads += 1
            } catch is MLPError {
                config.errors += 1
            } catch {
                XCTFail("Keras config mutant: not an MLPError: \(error)")
            }
        }
        report.append("Keras config JSON: mutants \(config.tried), crashes 0, errors \(config.errors), builds \(config.loads)")

        for (tally, name) in [(h5, ".h5"), (weights, ".weights.h5"), (keras, ".keras"), (json, ".json")] {
            XCTAssertEqual(tally.runs, tally.errors + tally.loads, name)
            if !isLongRun { XCTAssertGreaterThan(tally.errors, 0, "\(name): some mutants must be errors") }
        }
        report.append(String(format: "seed %llu, %.1f s", seed, Date().timeIntervalSince(started)))
        print("model-file fuzz:\n  " + report.joined(separator: "\n  "))
    }
}
