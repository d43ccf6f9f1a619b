import CHDF5
import Foundation
import MLPCore

/// A small Swift layer over libhdf5 for WRITING Keras' `.h5` and `.weights.h5` files (in memory, see
/// `HDF5Image.swift`): groups, string attributes and numeric datasets. Reading never goes through it: files are
/// read in an isolated child process (`HDF5Snapshot`).
///
/// HDF5's own error-stack printing is off; every failure becomes an `MLPError` naming the file and what
/// was being written.
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

    deinit { H5Fclose(id) }

    var root: HDF5Group { HDF5Group(file: self, id: id, path: "/", owned: false) }

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

    func createGroup(_ name: String) throws -> HDF5Group {
        let properties = H5Pcreate(mlp_h5p_link_create())
        defer { H5Pclose(properties) }
        H5Pset_create_intermediate_group(properties, 1)
        let made = H5Gcreate2(id, name, properties, mlp_h5p_default(), mlp_h5p_default())
        guard made >= 0 else { throw MLPError.fileNotWritable(path: file.path, reason: "cannot create the group '\(child(name))'") }
        return HDF5Group(file: file, id: made, path: child(name))
    }

    // MARK: Attributes


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
}
