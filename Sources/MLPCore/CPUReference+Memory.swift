/// The reference batch gather (``BackendMemory``).
extension CPUReference {
    /// Row gather: `destination[r] = source[indices[r]]` for `r < rows`.
    public static func gatherRows(source: UnsafePointer<Float>, rowLength: Int, indices: UnsafePointer<Int32>, rows: Int,
                                  destination: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            (destination + r * rowLength).update(from: source + Int(indices[r]) * rowLength, count: rowLength)
        }
    }
}
