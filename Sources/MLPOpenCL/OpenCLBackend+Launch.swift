import COpenCL
import MLPCore

/// A kernel argument.
enum KernelArgument {
    case buffer(DeviceBuffer?)
    case int(Int)
    case uint(UInt32)
    case float(Float)
}

/// What `accumulate_sum` (reduce.cl) sums: `SUM_VALUE` v (loss and metric sums), `SUM_SQUARE` v² (norms),
/// `SUM_PENALTY` l1·|v| + l2·v² (penalties).
enum SumTerm: String, KernelSelector {
    case value = "VALUE", square = "SQUARE", penalty = "PENALTY"

    static var macroPrefix: String { "SUM" }
    var macroSuffix: String { rawValue }
    static let codes = codeTable()
    var code: Int { SumTerm.codes[self]! }
}

/// Kernel launches, shared by every concern's file (`OpenCLBackend+X.swift`, kernels in `Kernels/x.cl`).
extension OpenCLBackend {
    /// Work-group size of the 1-D element-wise kernels.
    static let workGroup = 64

    /// Sets `arguments` and enqueues `name` over `items` work-items (rounded up to the work-group size;
    /// kernels bound-check). `local` overrides the work-group size.
    func launch(_ name: String, items: Int, local: Int = OpenCLBackend.workGroup, _ arguments: [KernelArgument]) {
        guard items > 0, !failed else { return }
        guard let kernel = kernels[name] else { preconditionFailure("no kernel named \(name) in Kernels/") }
        for (index, argument) in arguments.enumerated() {
            let status: cl_int
            switch argument {
            case .buffer(let buffer):
                var handle: cl_mem? = memory(buffer ?? placeholder)
                guard handle != nil else { return }  // a failed allocation; the error is recorded
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem?>.size, &handle)
            case .int(let value):
                precondition(value >= Int(Int32.min) && value <= Int(Int32.max), "kernel argument \(value) does not fit in an int")
                var converted = cl_int(value)
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_int>.size, &converted)
            case .uint(let value):
                var converted = cl_uint(value)
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_uint>.size, &converted)
            case .float(let value):
                var converted = cl_float(value)
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_float>.size, &converted)
            }
            guard succeeded(status, "clSetKernelArg(\(name), \(index))") else { return }
        }
        var global = (items + local - 1) / local * local
        var localSize = local
        counts.launches += 1
        succeeded(clEnqueueNDRangeKernel(queue, kernel, 1, nil, &global, &localSize, 0, nil, nil), "clEnqueueNDRangeKernel(\(name))")
    }

    /// `accumulator[index] += scale·Σ term(values)` (reduce.cl).
    func accumulate(_ values: DeviceBuffer, count: Int, into accumulator: DeviceBuffer, index: Int, term: SumTerm = .value,
                    l1: Float = 0, l2: Float = 0, scale: Float = 1) {
        launch("accumulate_sum", items: reduceWorkGroup, local: reduceWorkGroup,
               [.buffer(values), .int(count), .buffer(accumulator), .int(index), .int(term.code), .float(l1), .float(l2), .float(scale)])
    }
}
