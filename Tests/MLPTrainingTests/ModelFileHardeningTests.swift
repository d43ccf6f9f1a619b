import CHDF5
import Foundation
import MLPCore
import MLPTestSupport
@testable import MLPModelFiles
@testable import MLPTraining
import XCTest

/// Hand-made hostile model files: HDF5 external storage, external and soft links, virtual datasets,
/// NaN weights, shapes that do not fit, unknown names, `.keras` entries that are corrupt or claim to be huge,
/// and an `.h5` that crashes libhdf5. Each is one error naming the file (and the dataset or entry).
final class ModelFileHardeningTests: ScratchDirectoryTestCase {
    static let models = KerasReferenceTests.fixtures.appendingPathComponent("models")

    func small(seed: UInt64 = 1) -> Sequential {
        Sequential(inputDim: 3, [Dense(2, activation: .relu)], seed: seed, backend: CPUBackend(threadCount: 1))
    }

    /// Saves a small model as `.h5` and returns the path and the path of its kernel dataset inside the file.
    func savedH5(_ name: String) throws -> (path: String, kernel: String) {
        let path = directory.appendingPathComponent(name).path
        try small().save(to: path)
        let weights = try HDF5Snapshot(reading: path).root.group("model_weights")
        let layer = try XCTUnwrap(try weights.stringAttribute("layer_names")?.first)
        let group = try weights.group(layer)
        let kernel = try XCTUnwrap(try group.stringAttribute("weight_names")?.first { $0.contains("kernel") })
        return (path, group.child(kernel))
    }

    /// Opens `path` for writing with libhdf5, runs `body` on the file id, closes it.
    func editHDF5(_ path: String, _ body: (hid_t) throws -> Void) throws {
        H5open()
        let file = H5Fopen(path, 0x0001 /* H5F_ACC_RDWR, a macro Swift cannot import */, mlp_h5p_default())
        XCTAssertGreaterThanOrEqual(file, 0, "open \(path) for writing")
        defer { H5Fclose(file) }
        try body(file)
    }

    /// Writes a float32 HDF5 file holding `values` at `/x` (the "other file" a hostile link points at).
    func otherFile(_ values: [Float]) throws -> String {
        let path = directory.appendingPathComponent("secret.h5").path
        let file = try HDF5File.inMemory(for: path)
        try file.root.writeDataset("x", shape: [values.count], values: values)
        try file.image().write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertRefused(_ path: String, _ expected: String..., line: UInt = #line) {
        XCTAssertThrowsError(try Sequential.load(from: path, backend: CPUBackend(threadCount: 1)), line: line) { error in
            XCTAssertTrue(error is MLPError, "\(error)", line: line)
            XCTAssertTrue("\(error)".hasPrefix(path), "names the file: \(error)", line: line)
            for part in expected { XCTAssertTrue("\(error)".contains(part), "mentions \(part): \(error)", line: line) }
        }
    }

    func testExternalStorageIsRefusedNamingTheDataset() throws {
        let (path, kernel) = try savedH5("external-storage.h5")
        let secret = directory.appendingPathComponent("secret.bin").path
        try Data(repeating: 0x42, count: 6 * 4).write(to: URL(fileURLWithPath: secret))
        try editHDF5(path) { file in
            XCTAssertGreaterThanOrEqual(H5Ldelete(file, kernel, mlp_h5p_default()), 0)
            let dcpl = H5Pcreate(mlp_h5p_dataset_create())
            defer { H5Pclose(dcpl) }
            XCTAssertGreaterThanOrEqual(H5Pset_external(dcpl, secret, 0, 6 * 4), 0)
            var dims: [hsize_t] = [3, 2]
            let space = H5Screate_simple(2, &dims, nil)
            defer { H5Sclose(space) }
            let dataset = H5Dcreate2(file, kernel, mlp_h5t_ieee_f32le(), space, mlp_h5p_default(), dcpl, mlp_h5p_default())
            XCTAssertGreaterThanOrEqual(dataset, 0)
            H5Dclose(dataset)
        }
        assertRefused(path, kernel, "external storage")
        XCTAssertThrowsError(try small(seed: 2).loadWeights(from: path)) { XCTAssertTrue("\($0)".contains("external storage"), "\($0)") }
    }

    func testExternalLinksSoftLinksAndVirtualDatasetsAreRefused() throws {
        let secret = try otherFile([1, 2, 3, 4, 5, 6])

        let (external, kernel) = try savedH5("external-link.h5")
        try editHDF5(external) { file in
            XCTAssertGreaterThanOrEqual(H5Ldelete(file, kernel, mlp_h5p_default()), 0)
            XCTAssertGreaterThanOrEqual(H5Lcreate_external(secret, "/x", file, kernel, mlp_h5p_default(), mlp_h5p_default()), 0)
        }
        assertRefused(external, kernel, "external link")

        let (soft, softKernel) = try savedH5("soft-link.h5")
        try editHDF5(soft) { file in
            XCTAssertGreaterThanOrEqual(H5Ldelete(file, softKernel, mlp_h5p_default()), 0)
            XCTAssertGreaterThanOrEqual(H5Lcreate_soft("/model_weights", file, softKernel, mlp_h5p_default(), mlp_h5p_default()), 0)
        }
        assertRefused(soft, softKernel, "soft link")

        let (virtual, virtualKernel) = try savedH5("virtual.h5")
        try editHDF5(virtual) { file in
            XCTAssertGreaterThanOrEqual(H5Ldelete(file, virtualKernel, mlp_h5p_default()), 0)
            var dims: [hsize_t] = [3, 2], sourceDims: [hsize_t] = [6]
            let space = H5Screate_simple(2, &dims, nil), sourceSpace = H5Screate_simple(1, &sourceDims, nil)
            defer { H5Sclose(space); H5Sclose(sourceSpace) }
            let dcpl = H5Pcreate(mlp_h5p_dataset_create())
            defer { H5Pclose(dcpl) }
            XCTAssertGreaterThanOrEqual(H5Pset_virtual(dcpl, space, secret, "/x", sourceSpace), 0)
            let dataset = H5Dcreate2(file, virtualKernel, mlp_h5t_ieee_f32le(), space, mlp_h5p_default(), dcpl, mlp_h5p_default())
            XCTAssertGreaterThanOrEqual(dataset, 0)
            H5Dclose(dataset)
        }
        assertRefused(virtual, virtualKernel, "virtual dataset")
    }

    func testNonFiniteWeightsAreRefusedNamingTheDataset() throws {
        let model = small()
        var weights = model.weights()
        weights[0] = Tensor(shape: weights[0].shape, scalars: [1, 2, .nan, 4, 5, 6])
        try model.setWeights(weights)
        for name in ["nan.h5", "nan.keras"] {
            let path = directory.appendingPathComponent(name).path
            try model.save(to: path)
            assertRefused(path, "the dataset '", "nan at index 2", "finite")
        }
        let weightsPath = directory.appendingPathComponent("nan.weights.h5").path
        try model.saveWeights(to: weightsPath)
        XCTAssertThrowsError(try small(seed: 2).loadWeights(from: weightsPath)) {
            XCTAssertTrue("\($0)".hasPrefix(weightsPath) && "\($0)".contains("nan at index 2"), "\($0)")
        }
        // JSON cannot spell NaN; a number past float32's range would become infinity.
        let json = directory.appendingPathComponent("huge.json").path
        try small().save(to: json)
        let text = try String(contentsOfFile: json, encoding: .utf8)
        let values = try XCTUnwrap(text.range(of: "\"values\":["))
        try (text[..<values.upperBound] + "1e39," + text[values.upperBound...]).write(toFile: json, atomically: true, encoding: .utf8)
        // The first values list gained one value: drop the last so the count still fits the shape.
        let edited = try String(contentsOfFile: json, encoding: .utf8)
        let close = try XCTUnwrap(edited.range(of: "]", range: values.upperBound..<edited.endIndex))
        let lastComma = try XCTUnwrap(edited.range(of: ",", options: .backwards, range: values.upperBound..<close.lowerBound))
        try (edited[..<lastComma.lowerBound] + edited[close.lowerBound...]).write(toFile: json, atomically: true, encoding: .utf8)
        assertRefused(json, "1e+39", "finite")
    }

    func testWeightShapesThatDoNotFitNameTheDatasetAndShapes() throws {
        let (path, kernel) = try savedH5("three-inputs.h5")
        let wider = Sequential(inputDim: 5, [Dense(2, activation: .relu)], seed: 1, backend: CPUBackend(threadCount: 1))
        XCTAssertThrowsError(try wider.loadWeights(from: path)) {
            XCTAssertTrue("\($0)".hasPrefix(path) && "\($0)".contains(kernel) && "\($0)".contains("[3, 2]") && "\($0)".contains("[5, 2]"), "\($0)")
        }
        let weightsPath = directory.appendingPathComponent("three-inputs.weights.h5").path
        try small().saveWeights(to: weightsPath)
        XCTAssertThrowsError(try wider.loadWeights(from: weightsPath)) {
            XCTAssertTrue("\($0)".hasPrefix(weightsPath) && "\($0)".contains("/vars/0") && "\($0)".contains("[3, 2]"), "\($0)")
        }
    }

    func testUnknownNamesInAConfigNameTheFile() throws {
        let json = directory.appendingPathComponent("unknown.json").path
        try small().save(to: json)
        let text = try String(contentsOfFile: json, encoding: .utf8)
        XCTAssertTrue(text.contains("\"relu\""))
        try text.replacingOccurrences(of: "\"relu\"", with: "\"swishy\"").write(toFile: json, atomically: true, encoding: .utf8)
        assertRefused(json, "unknown activation 'swishy'")

        let (h5, _) = try savedH5("unknown.h5")
        try rewriteModelConfig(h5) { $0.replacingOccurrences(of: "\"relu\"", with: "\"swishy\"") }
        assertRefused(h5, "unknown activation 'swishy'")
    }

    /// A config asking for far more weights than the file holds is refused before the model is built.
    func testAConfigNeedingMoreWeightsThanTheFileHoldsIsRefusedBeforeAllocating() throws {
        let (h5, _) = try savedH5("huge.h5")
        try rewriteModelConfig(h5) { $0.replacingOccurrences(of: "\"units\":2,", with: "\"units\":200000000,") }
        assertRefused(h5, "needs 800000000 weights, but the file holds only")
        let json = directory.appendingPathComponent("huge-units.json").path
        try small().save(to: json)
        let text = try String(contentsOfFile: json, encoding: .utf8)
        XCTAssertTrue(text.contains("\"units\":2"), text)
        try text.replacingOccurrences(of: "\"units\":2", with: "\"units\":1000000000000").write(toFile: json, atomically: true, encoding: .utf8)
        assertRefused(json, "the model is too large")
    }

    /// Replaces the `model_config` attribute of the `.h5` at `path` with `transform` of itself.
    func rewriteModelConfig(_ path: String, _ transform: (String) -> String) throws {
        let config = try XCTUnwrap(try HDF5Snapshot(reading: path).root.string("model_config"))
        let replaced = transform(config)
        XCTAssertNotEqual(replaced, config, "the edit changed the config")
        try editHDF5(path) { file in
            H5Adelete(file, "model_config")
            let type = H5Tcopy(mlp_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, mlp_h5t_variable())
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let attribute = H5Acreate2(file, "model_config", type, space, mlp_h5p_default(), mlp_h5p_default())
            defer { H5Aclose(attribute) }
            let edited = strdup(replaced)
            defer { free(edited) }
            var pointer: UnsafePointer<CChar>? = UnsafePointer(edited)
            XCTAssertGreaterThanOrEqual(H5Awrite(attribute, type, &pointer), 0)
        }
    }

    func testAKerasEntryWithFlippedBytesIsACRCError() throws {
        var data = try Data(contentsOf: Self.models.appendingPathComponent("keras3-classifier.keras"))
        let entries = ModelFileFuzzTests.entryDataRanges(data)
        for name in ["model.weights.h5", "config.json", "metadata.json"] {
            var copy = data
            let range = try XCTUnwrap(entries[name])
            copy[range.lowerBound + range.count / 2] ^= 0x10
            let path = directory.appendingPathComponent("flipped-\(name).keras").path
            try copy.write(to: URL(fileURLWithPath: path))
            assertRefused(path, "entry '\(name)'", "CRC32")
        }
        // The weights entry's declared size, raised to 3 GB in the central directory: refused before extraction.
        let central = try XCTUnwrap(data.range(of: Data("PK\u{1}\u{2}".utf8)))
        var at = central.lowerBound
        while at + 46 <= data.count, data[at..<(at + 4)] == Data("PK\u{1}\u{2}".utf8) {
            let nameLength = Int(data[at + 28]) | Int(data[at + 29]) << 8
            let extra = Int(data[at + 30]) | Int(data[at + 31]) << 8, comment = Int(data[at + 32]) | Int(data[at + 33]) << 8
            if String(decoding: data[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self) == "model.weights.h5" {
                data.replaceSubrange((at + 24)..<(at + 28), with: [0x00, 0x5E, 0xD0, 0xB2])   // 3,000,000,000
            }
            at += 46 + nameLength + extra + comment
        }
        let bomb = directory.appendingPathComponent("bomb.keras").path
        try data.write(to: URL(fileURLWithPath: bomb))
        assertRefused(bomb, "entry 'model.weights.h5'", "would expand to 3000000000 bytes")
    }

    /// A bit-flipped tf-keras `.h5` that makes libhdf5 1.10 segfault (found by the fuzz test): the crash
    /// happens in the reader's child process and is one error here.
    func testAnH5ThatCrashesLibHDF5IsAnError() throws {
        let path = Self.models.appendingPathComponent("corrupt-crashes-libhdf5.h5").path
        let copy = directory.appendingPathComponent("crasher.h5").path
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        assertRefused(copy, "the HDF5 library crashed reading it")
    }
}
