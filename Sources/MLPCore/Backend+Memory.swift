/// Buffers on the device: allocation, transfers, copies, the batch gather, synchronisation and the deferred error.
public protocol BackendMemory: AnyObject {
    /// A short, human-readable name of the device ("CPU (pure Swift, 2 threads)").
    var deviceDescription: String { get }

    /// A new buffer of `count` values (contents unspecified).
    func makeBuffer(count: Int) -> DeviceBuffer

    /// Copies `values` into `buffer` starting at element `offset`.
    func upload(_ values: [Float], to buffer: DeviceBuffer, offset: Int)

    /// Copies `values` into `buffer` without waiting for the device when the backend can: the values are
    /// staged in backend-owned memory and written asynchronously, in queue order (the batch upload of a
    /// streamed source). Defaults to ``upload(_:to:offset:)``.
    func uploadStaged(_ values: [Float], to buffer: DeviceBuffer, offset: Int)

    /// Reads `count` values starting at `offset` (waits for queued work).
    func download(_ buffer: DeviceBuffer, offset: Int, count: Int) -> [Float]

    /// Copies `count` values between buffers.
    func copy(_ source: DeviceBuffer, sourceOffset: Int, to destination: DeviceBuffer, destinationOffset: Int, count: Int)

    /// Sets `count` values starting at `offset` to `value`.
    func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int)

    /// Waits until all queued work is done.
    func synchronize()

    /// Throws the first error an asynchronous op met since the last check (out of device memory, a failed
    /// kernel launch), then clears it. Ops never throw themselves: after an error they do nothing until
    /// checked, so the caller checks at its sync points (after uploads, at epoch end).
    func checkError() throws

    /// Replaces the first `indices.count` indices of an index buffer.
    func uploadIndices(_ indices: [Int32], to buffer: DeviceBuffer)

    /// `destination[r] = source[indices[indexOffset + r]]` for `r < rows`, row by row (`rowLength` values a
    /// row): the batch gather for shuffled samples, reading indices already on the device.
    func gatherRows(source: DeviceBuffer, rowLength: Int, indices: DeviceBuffer, indexOffset: Int, rows: Int,
                    destination: DeviceBuffer)
}

public extension BackendMemory {
    func uploadStaged(_ values: [Float], to buffer: DeviceBuffer, offset: Int) {
        upload(values, to: buffer, offset: offset)
    }

    /// A buffer holding `values`.
    func makeBuffer(_ values: [Float]) -> DeviceBuffer {
        let buffer = makeBuffer(count: values.count)
        upload(values, to: buffer, offset: 0)
        return buffer
    }

    /// A buffer of `Int32` indices (for ``gatherRows(source:rowLength:indices:indexOffset:rows:destination:)``).
    func makeIndexBuffer(_ indices: [Int32]) -> DeviceBuffer {
        let buffer = makeBuffer(count: indices.count)
        uploadIndices(indices, to: buffer)
        return buffer
    }

    /// The whole buffer's values.
    func download(_ buffer: DeviceBuffer) -> [Float] {
        download(buffer, offset: 0, count: buffer.count)
    }
}
