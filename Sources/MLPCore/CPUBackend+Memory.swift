/// Host memory: ``CPUBuffer`` allocations, copies and the batch gather (``BackendMemory``).
extension CPUBackend {
    public func makeBuffer(count: Int) -> DeviceBuffer { CPUBuffer(count: count) }

    public func upload(_ values: [Float], to buffer: DeviceBuffer, offset: Int) {
        precondition(offset >= 0 && offset + values.count <= buffer.count, "upload of \(values.count) values at \(offset) overflows a buffer of \(buffer.count)")
        values.withUnsafeBufferPointer { (ptr(buffer) + offset).update(from: $0.baseAddress!, count: values.count) }
    }

    public func download(_ buffer: DeviceBuffer, offset: Int, count: Int) -> [Float] {
        precondition(offset >= 0 && offset + count <= buffer.count, "download of \(count) values at \(offset) overflows a buffer of \(buffer.count)")
        return Array(UnsafeBufferPointer(start: ptr(buffer) + offset, count: count))
    }

    public func copy(_ source: DeviceBuffer, sourceOffset: Int, to destination: DeviceBuffer, destinationOffset: Int, count: Int) {
        (ptr(destination) + destinationOffset).update(from: ptr(source) + sourceOffset, count: count)
    }

    public func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int) {
        (ptr(buffer) + offset).update(repeating: value, count: count)
    }

    public func synchronize() {}

    /// The CPU backend's ops cannot fail asynchronously.
    public func checkError() throws {}

    public func uploadIndices(_ indices: [Int32], to buffer: DeviceBuffer) {
        precondition(indices.count <= buffer.count, "uploadIndices: \(indices.count) indices into a buffer of \(buffer.count)")
        indices.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(ptr(buffer)).copyMemory(from: source.baseAddress!, byteCount: indices.count * 4)
        }
    }

    public func gatherRows(source: DeviceBuffer, rowLength: Int, indices: DeviceBuffer, indexOffset: Int, rows: Int,
                           destination: DeviceBuffer) {
        precondition(rows * rowLength <= destination.count && indexOffset + rows <= indices.count, "gatherRows: buffer too small")
        ptr(indices).withMemoryRebound(to: Int32.self, capacity: indices.count) { indexPointer in
            CPUReference.gatherRows(source: ptr(source), rowLength: rowLength, indices: indexPointer + indexOffset, rows: rows,
                                    destination: ptr(destination))
        }
    }
}
