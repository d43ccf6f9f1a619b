import MLPCore

/// The batch gather by device-side indices (``BackendMemory``; Kernels/memory.cl). The buffers and transfers are in OpenCLBackend.swift.
extension OpenCLBackend {
    public func gatherRows(source: DeviceBuffer, rowLength: Int, indices: DeviceBuffer, indexOffset: Int, rows: Int,
                           destination: DeviceBuffer) {
        precondition(rows * rowLength <= destination.count && indexOffset + rows <= indices.count, "gatherRows: buffer too small")
        launch("gather_rows", items: rows * rowLength, [.buffer(source), .buffer(indices), .int(indexOffset),
                                                         .buffer(destination), .int(rows), .int(rowLength)])
    }
}
