import CHDF5
import Foundation
import MLPCore

/// A small Swift layer over libhdf5: files, groups, string attributes (scalar and 1-D, variable- or
/// fixed-length) and numeric datasets — what Keras' `.h5` and `.weights.h5` files use.
///
/// HDF5's own error-stack printing is off; every failure becomes an `MLPError` naming the file and what
/// was being read or written.
final class HDF5File {
    let path: String
    let id: hid_t

    private static let silenced: Void = { mlp_h5_silence() }()

    /// Wraps an open file `id`; `path` is the name errors use (an in-memory file's target, see `inMemory(for:)`).
    init(path: String, id: hid_t) {
        _ = HDF5File.silenced
        self.path = path
        self.id = id
    }

    /// Opens `path` for reading; a missing, truncated or non-HDF5 file is a clear error.
    init(reading path: String) throws {
        _ = HDF5File.silenced
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: "no such file")
        }
        guard H5Fis_hdf5(path) > 0 else {
            throw MLPError.malformedFile(path: path, line: 0, reason: "not an HDF5 file (or truncated)")
        }
        id = H5Fopen(path, mlp_h5f_acc_rdonly(), mlp_h5p_default())
        guard id >= 0 else { throw MLPError.malformedFile(path: path, line: 0, reason: "the HDF5 file cannot be opened (corrupt or truncated)") }
    }

    deinit { H5Fclose(id) }

    var root: HDF5Group { HDF5Group(file: self, id: id, path: "/", owned: false) }

    /// Flushes everything to disk.
    func flush() { H5Fflush(id, H5F_SCOPE_GLOBAL) }

    func bad(_ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: reason) }
}

/// A group (or the file's root) in an ``HDF5File``.
final class HDF5Group {
    let file: HDF5File
    let id: hid_t
    let path: String
    let owned: Bool

    init(file: HDF5File, id: hid_t, path: String, owned: Bool = true) {
        self.file = file
        self.id = id
        self.path = path
        self.owned = owned
    }

    deinit { if owned { H5Gclose(id) } }

    func child(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    // MARK: Groups

    func exists(_ name: String) -> Bool {
        // Check each link on the way so a missing parent is "no", not an error.
        var prefix = ""
        for component in name.split(separator: "/") {
            prefix += (prefix.isEmpty ? "" : "/") + component
            if H5Lexists(id, prefix, mlp_h5p_default()) <= 0 { return false }
        }
        return true
    }

    func group(_ name: String) throws -> HDF5Group {
        guard exists(name) else { throw file.bad("no group '\(child(name))'") }
        let made = H5Gopen2(id, name, mlp_h5p_default())
        guard made >= 0 else { throw file.bad("'\(child(name))' is not a group") }
        return HDF5Group(file: file, id: made, path: child(name))
    }

    func createGroup(_ name: String) throws -> HDF5Group {
        let properties = H5Pcreate(mlp_h5p_link_create())
        defer { H5Pclose(properties) }
        H5Pset_create_intermediate_group(properties, 1)
        let made = H5Gcreate2(id, name, properties, mlp_h5p_default(), mlp_h5p_default())
        guard made >= 0 else { throw MLPError.fileNotWritable(path: file.path, reason: "cannot create the group '\(child(name))'") }
        return HDF5Group(file: file, id: made, path: child(name))
    }

    /// The names of the links (groups and datasets) directly in this group, in name order.
    func childNames() -> [String] {
        var names: [String] = []
        var info = H5G_info_t()
        guard H5Gget_info(id, &info) >= 0 else { return [] }
        for index in 0..<info.nlinks {
            let size = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, mlp_h5p_default())
            guard size >= 0 else { continue }
            var bytes = [CChar](repeating: 0, count: Int(size) + 1)
            H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &bytes, Int(size) + 1, mlp_h5p_default())
            names.append(bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return names
    }

    // MARK: Attributes

    func hasAttribute(_ name: String) -> Bool { H5Aexists(id, name) > 0 }

    /// Writes a variable-length UTF-8 string attribute (what h5py writes for a Python `str`).
    func setAttribute(_ name: String, _ value: String) throws {
        try setAttribute(name, strings: [value], scalar: true)
    }

    /// Writes a 1-D array of variable-length UTF-8 strings (Keras' `layer_names`, `weight_names`); an empty
    /// list is written as an empty float64 array, as Keras/h5py do.
    func setAttribute(_ name: String, strings: [String], scalar: Bool = false) throws {
        if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
        if strings.isEmpty && !scalar {
            var dims: [hsize_t] = [0]
            let space = H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let attribute = H5Acreate2(id, name, mlp_h5t_ieee_f64le(), space, mlp_h5p_default(), mlp_h5p_default())
            guard attribute >= 0 else { throw MLPError.fileNotWritable(path: file.path, reason: "cannot write the attribute \(name)") }
            H5Aclose(attribute)
            return
        }
        let type = H5Tcopy(mlp_h5t_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, mlp_h5t_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        var dims: [hsize_t] = [hsize_t(strings.count)]
        let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let attribute = H5Acreate2(id, name, type, space, mlp_h5p_default(), mlp_h5p_default())
        guard attribute >= 0 else { throw MLPError.fileNotWritable(path: file.path, reason: "cannot write the attribute \(name)") }
        defer { H5Aclose(attribute) }
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
        guard H5Awrite(attribute, type, &pointers) >= 0 else {
            throw MLPError.fileNotWritable(path: file.path, reason: "cannot write the attribute \(name)")
        }
    }

    /// A string attribute's value(s): scalar or 1-D, variable- or fixed-length strings. A non-string
    /// attribute (Keras' empty `weight_names`) reads as no strings; a missing one is nil.
    func stringAttribute(_ name: String) throws -> [String]? {
        guard H5Aexists(id, name) > 0 else { return nil }
        let attribute = H5Aopen(id, name, mlp_h5p_default())
        guard attribute >= 0 else { throw file.bad("cannot open the attribute \(child(name))") }
        defer { H5Aclose(attribute) }
        let stored = H5Aget_type(attribute)
        defer { H5Tclose(stored) }
        guard H5Tget_class(stored) == H5T_STRING else { return [] }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = max(1, Int(H5Sget_simple_extent_npoints(space)))
        if H5Tis_variable_str(stored) > 0 {
            let type = H5Tcopy(mlp_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, mlp_h5t_variable())
            H5Tset_cset(type, H5Tget_cset(stored))
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attribute, type, &pointers) >= 0 else { throw file.bad("cannot read the attribute \(child(name))") }
            let values = pointers.map { $0.map { String(cString: $0) } ?? "" }
            H5Dvlen_reclaim(type, space, mlp_h5p_default(), &pointers)
            return values
        }
        let size = H5Tget_size(stored)
        guard size > 0, size < 1 << 24 else { throw file.bad("the attribute \(child(name)) has an implausible string size") }
        var bytes = [CChar](repeating: 0, count: size * count + 1)
        guard H5Aread(attribute, stored, &bytes) >= 0 else { throw file.bad("cannot read the attribute \(child(name))") }
        return (0..<count).map { index in
            let slice = bytes[(index * size)..<((index + 1) * size)].prefix { $0 != 0 }
            return String(decoding: slice.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// A scalar string attribute.
    func string(_ name: String) throws -> String? { try stringAttribute(name)?.first }

    // MARK: Datasets

    /// Writes a float32 dataset of `shape` at `name` (intermediate groups are created: `dense/kernel:0`).
    func writeDataset(_ name: String, shape: [Int], values: [Float]) throws {
        precondition(shape.reduce(1, *) == values.count, "dataset \(name): \(values.count) values for shape \(shape)")
        try writeRaw(name, shape: shape, fileType: mlp_h5t_ieee_f32le(), memoryType: mlp_h5t_native_float(), values: values)
    }

    /// Writes a scalar int64 dataset (an optimizer's iteration count).
    func writeScalar(_ name: String, int64 value: Int64) throws {
        try writeRaw(name, shape: [], fileType: mlp_h5t_std_i64le(), memoryType: mlp_h5t_native_llong(), values: [value])
    }

    private func writeRaw<T>(_ name: String, shape: [Int], fileType: hid_t, memoryType: hid_t, values: [T]) throws {
        var dims = shape.map { hsize_t($0) }
        let space = shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(shape.count), &dims, nil)
        defer { H5Sclose(space) }
        let properties = H5Pcreate(mlp_h5p_link_create())
        defer { H5Pclose(properties) }
        H5Pset_create_intermediate_group(properties, 1)
        let dataset = H5Dcreate2(id, name, fileType, space, properties, mlp_h5p_default(), mlp_h5p_default())
        guard dataset >= 0 else { throw MLPError.fileNotWritable(path: file.path, reason: "cannot create the dataset \(child(name))") }
        defer { H5Dclose(dataset) }
        let status = values.withUnsafeBytes { H5Dwrite(dataset, memoryType, mlp_h5s_all(), mlp_h5s_all(), mlp_h5p_default(), $0.baseAddress) }
        guard status >= 0 else { throw MLPError.fileNotWritable(path: file.path, reason: "cannot write the dataset \(child(name))") }
    }

    /// Reads a numeric dataset as float32 (converting from whatever it is stored as), with its shape.
    func readDataset(_ name: String) throws -> Tensor {
        guard exists(name) else { throw file.bad("no dataset '\(child(name))'") }
        let dataset = H5Dopen2(id, name, mlp_h5p_default())
        guard dataset >= 0 else { throw file.bad("'\(child(name))' is not a dataset") }
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        guard typeClass == H5T_FLOAT || typeClass == H5T_INTEGER else { throw file.bad("'\(child(name))' is not numeric") }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 && rank <= 8 else { throw file.bad("'\(child(name))' has an unreadable shape") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let shape = rank == 0 ? [] : dims.prefix(rank).map { Int($0) }
        let count = shape.reduce(1, *)
        guard count < 1 << 31 else { throw file.bad("'\(child(name))' is implausibly large") }
        var values = [Float](repeating: 0, count: max(count, 1))
        let status = values.withUnsafeMutableBytes {
            H5Dread(dataset, mlp_h5t_native_float(), mlp_h5s_all(), mlp_h5s_all(), mlp_h5p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw file.bad("cannot read the dataset '\(child(name))' (corrupt or truncated)") }
        return Tensor(shape: shape, scalars: Array(values.prefix(count)))
    }
}
