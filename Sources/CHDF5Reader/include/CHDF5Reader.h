#ifndef MLPKIT_CHDF5READER_H
#define MLPKIT_CHDF5READER_H

#include <stddef.h>
#include <stdint.h>

/// How an isolated HDF5 read ended (see mlp_h5r_read).
enum mlp_h5r_outcome {
    /// The child exited; `detail` is its exit status (0: the stream ends in an 'Z' or 'E' record).
    MLP_H5R_EXITED = 0,
    /// The child was killed by signal `detail` (a crash inside libhdf5, or a resource limit).
    MLP_H5R_SIGNALED = 1,
    /// The child ran past the wall-clock limit and was killed.
    MLP_H5R_TIMED_OUT = 2,
    /// The child wrote more than the stream cap and was killed.
    MLP_H5R_TOO_LARGE = 3,
    /// fork or pipe failed; `detail` is errno.
    MLP_H5R_NO_CHILD = 4,
};

/// Parses the HDF5 file image `image` (`size` bytes) in a forked child that runs only C code and libhdf5,
/// under address-space, CPU-time and wall-clock limits, and returns the child's serialized tree.
///
/// On return `*stream` (malloc'd, the caller frees it; may be NULL when empty) holds `*stream_size` bytes of
/// records: 'G' group, 'A' attribute, 'D' dataset, 'E' fatal error, 'Z' end. Strings are a uint32 length and
/// bytes, counts uint32, dimensions uint64, values float32 / float64, all in the host's byte order.
/// Returns an mlp_h5r_outcome; `*detail` qualifies it.
int mlp_h5r_read(const void *image, size_t size, int timeout_ms, size_t max_stream,
                 unsigned char **stream, size_t *stream_size, int *detail);

#endif
