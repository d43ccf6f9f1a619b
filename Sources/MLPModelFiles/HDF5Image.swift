import CHDF5
import Foundation
import MLPCore

/// HDF5 files built in memory: libhdf5's core driver with its backing store off, so libhdf5 never writes to
/// the disk (a full disk cannot fail inside it). The finished file's bytes (``HDF5File/image()``) are then
/// written by `AtomicFile`, which checks every call.
extension HDF5File {
    /// A new, empty HDF5 file in memory; `path` is the file it will be saved as, named in errors.
    static func inMemory(for path: String) throws -> HDF5File {
        H5open()
        let access = H5Pcreate(mlp_h5p_file_access())
        guard access >= 0 else { throw MLPError.fileNotWritable(path: path, reason: "libhdf5 cannot make a file access list") }
        defer { H5Pclose(access) }
        guard H5Pset_fapl_core(access, 1 << 20, false) >= 0 else {
            throw MLPError.fileNotWritable(path: path, reason: "libhdf5 cannot make an in-memory file")
        }
        // The core driver keys open files by name: a unique one keeps concurrent saves apart.
        let id = H5Fcreate("mlpkit-memory-\(UUID().uuidString).h5", mlp_h5f_acc_trunc(), mlp_h5p_default(), access)
        guard id >= 0 else { throw MLPError.fileNotWritable(path: path, reason: "libhdf5 cannot make an in-memory file (out of memory?)") }
        return HDF5File(path: path, id: id)
    }

    /// The complete file's bytes, as they would be on disk.
    func image() throws -> Data {
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw MLPError.fileNotWritable(path: path, reason: "libhdf5 cannot finish the file") }
        let size = H5Fget_file_image(id, nil, 0)
        guard size > 0 else { throw MLPError.fileNotWritable(path: path, reason: "libhdf5 cannot produce the file's bytes") }
        var data = Data(count: size)
        let copied = data.withUnsafeMutableBytes { H5Fget_file_image(id, $0.baseAddress, size) }
        guard copied == size else { throw MLPError.fileNotWritable(path: path, reason: "libhdf5 cannot produce the file's bytes") }
        return data
    }
}
