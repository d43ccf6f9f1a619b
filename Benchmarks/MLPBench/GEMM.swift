import ArgumentParser
import Foundation
import MLPKit

/// One GEMM shape on one backend: operands uploaded, and the product checked against the reference loop.
final class GEMMCase {
    let m: Int, n: Int, k: Int, transA: Bool, transB: Bool, backend: any Backend
    let a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer
    let maxError: Float

    init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, backend: any Backend) {
        (self.m, self.n, self.k, self.transA, self.transB, self.backend) = (m, n, k, transA, transB, backend)
        let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2)
        var reference = [Float](repeating: 0, count: m * n)
        if m * n * k <= 1 << 34 {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in reference.withUnsafeMutableBufferPointer { cp in
                CPUReference.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, b: bp.baseAddress!,
                                  beta: 0, c: cp.baseAddress!)
            } } }
        }
        (self.a, self.b, self.c) = (backend.makeBuffer(a), backend.makeBuffer(b), backend.makeBuffer(count: m * n))
        backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: self.a, b: self.b, beta: 0, c: self.c)
        maxError = zip(backend.download(self.c), reference).map { abs($0 - $1) }.max() ?? 0
    }

    /// GFLOP/s of one timed block of about 2 GFLOP after 0.1 s of untimed lead-in (as the numpy reference does),
    /// so the pool is awake and the caches warm when timing starts.
    func timedBlock() -> Double {
        let flops = 2.0 * Double(m * n * k)
        let repeats = max(1, Int(2e9 / flops))
        let leadIn = DispatchTime.now().uptimeNanoseconds
        repeat {
            backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0, c: c)
            backend.synchronize()
        } while DispatchTime.now().uptimeNanoseconds - leadIn < 100_000_000
        let time = seconds {
            for _ in 0..<repeats { backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0, c: c) }
            backend.synchronize()
        }
        return flops * Double(repeats) / time / 1e9
    }
}

/// One GEMM on a backend: GFLOP/s (median of 5 blocks after a warm-up one) and the error against the reference.
func runGEMM(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, backend: any Backend) -> (gflops: Double, maxError: Float) {
    let gemm = GEMMCase(m: m, n: n, k: k, transA: transA, transB: transB, backend: backend)
    _ = gemm.timedBlock()
    return (middle((0..<5).map { _ in gemm.timedBlock() }), gemm.maxError)
}

/// GEMM rates: the reference loop (small shapes only), the optimised CPU kernel, and the device's GEMM.
func benchGEMM(device: (any Backend)?) throws {
    let sizes = try WorkloadsFile.shared().gemmTable
    print("GEMM C = A·B (Float32), GFLOP/s; every kernel checked against the reference loop first")
    print("  shape (m×k · k×n)       reference   CPU \(CPUBackend.defaultThreadCount) threads" + (device != nil ? "      device   device/CPU" : ""))
    let cpu = CPUBackend()
    for (m, n, k) in sizes.map({ ($0.m, $0.n, $0.k) }) {
        let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2)
        let flops = 2.0 * Double(m * n * k)
        // The reference for checking: the CPU reference loop (optimised CPU for the largest shape).
        var reference = [Float](repeating: 0, count: m * n)
        var referenceRate = Double.nan
        if m <= 512 {
            let time = median(repeats: 1) {
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in reference.withUnsafeMutableBufferPointer { cp in
                    CPUReference.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!,
                                      b: bp.baseAddress!, beta: 0, c: cp.baseAddress!)
                } } }
            }
            referenceRate = flops / time / 1e9
        }
        func rate(on backend: any Backend) -> Double {
            let (ab, bb, cb) = (backend.makeBuffer(a), backend.makeBuffer(b), backend.makeBuffer(count: m * n))
            backend.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ab, b: bb, beta: 0, c: cb)
            let result = backend.download(cb)
            if m <= 512 {
                let worst = zip(result, reference).map { abs($0 - $1) }.max() ?? 0
                precondition(worst < 1e-3, "\(backend.deviceDescription): GEMM disagrees with the reference by \(worst)")
            } else if reference.allSatisfy({ $0 == 0 }) {
                reference = result
            } else {
                let worst = zip(result, reference).map { abs($0 - $1) }.max() ?? 0
                precondition(worst < 1e-2, "\(backend.deviceDescription): GEMM disagrees with the CPU by \(worst)")
            }
            let repeats = m >= 2048 ? 3 : 10
            let time = median(repeats: 3) {
                for _ in 0..<repeats {
                    backend.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ab, b: bb, beta: 0, c: cb)
                }
                backend.synchronize()
            }
            return flops * Double(repeats) / time / 1e9
        }
        let cpuRate = rate(on: cpu)
        var line = String(format: "  %4d×%-4d · %4d×%-4d  %9.2f   %14.2f", m, k, k, n, referenceRate, cpuRate)
        if let device {
            let deviceRate = rate(on: device)
            line += String(format: "   %9.1f   %9.1f×", deviceRate, deviceRate / cpuRate)
        }
        print(line)
    }
}

/// `mlp-bench gemm --m M --n N --k K [--trans-a] [--trans-b] [--device D] [--json]`: one shape, for scripts (CI).
struct GEMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "One GEMM C = op(A)·op(B): GFLOP/s (median of 5 blocks) and the largest error against the reference loop.",
        discussion: "Exits 1 when the largest error exceeds k·1e-5 (CI runs it on the FMA build).")

    @Option(help: "Rows of C.") var m: Int
    @Option(help: "Columns of C.") var n: Int
    @Option(help: "The inner dimension.") var k: Int
    @Flag(help: "A is stored k×m (transposed).") var transA = false
    @Flag(help: "B is stored n×k (transposed).") var transB = false
    @OptionGroup var device: DeviceOptions
    @OptionGroup var output: JSONOptions

    func validate() throws {
        guard m > 0, n > 0, k > 0 else { throw ValidationError("gemm needs positive --m, --n and --k (received \(m), \(n), \(k))") }
    }

    func run() throws {
        let result = runGEMM(m: m, n: n, k: k, transA: transA, transB: transB, backend: try device.backend(or: .cpu))
        output.print(["gflops": result.gflops, "max_abs_error": Double(result.maxError), "m": m, "n": n, "k": k])
        // A wrong product fails the command (CI runs it on the FMA build, which the tests' debug build is not).
        if !(result.maxError <= Float(k) * 1e-5) {
            FileHandle.standardError.write(Data("gemm: max |error| \(result.maxError) against the reference loop exceeds \(Float(k) * 1e-5)\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// `mlp-bench gemm-table [--device D]`: the older GEMM table.
struct GEMMTableCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm-table",
        abstract: "The older GEMM table (gemm_table of Benchmarks/workloads.json): reference loop, CPU backend, device.")

    @OptionGroup var device: DeviceOptions

    func run(on backend: (any Backend)?) throws { try benchGEMM(device: backend) }
}
