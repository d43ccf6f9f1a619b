import Foundation

/// The plain reference implementation of every ``Backend`` op: straight loops over row-major buffers,
/// written to be read and checked, not to be fast.
///
/// ``CPUBackend`` runs these directly for the element-wise ops (they are memory-bound and already
/// simple); for GEMM it runs an optimised kernel that the tests check against ``gemm(transA:transB:m:n:k:alpha:a:b:beta:c:)``.
/// The OpenCL backend's parity tests compare against ``CPUBackend``. One file per ``Backend`` concern
/// (`CPUReference+X.swift`, X as in `Backend+X.swift`).
public enum CPUReference {}
