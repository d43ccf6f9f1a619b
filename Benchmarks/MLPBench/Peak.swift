import ArgumentParser
import Foundation
import MLPKit

/// The vector the peak loop uses: the widest this build's target has. `SIMD16` (a zmm register) when built for
/// AVX-512 (`MLPKIT_AVX512`, Scripts/cpu-flags.sh), else `SIMD8` (a ymm register with AVX2; two xmm otherwise).
#if MLPKIT_AVX512
typealias PeakVector = SIMD16<Float>
/// Independent chains per thread: sixteen of the 32 zmm registers, four per cycle of FMA latency on two ports.
let peakChains = 16
#else
typealias PeakVector = SIMD8<Float>
/// Independent chains per thread: twelve of the 16 ymm registers.
let peakChains = 12
#endif

/// What the build's peak loop runs, for the report line: lanes, and whether it is a fused multiply-add.
var peakVectorDescription: String {
    #if MLPKIT_FMA
    let operation = "fused multiply-add"
    #else
    let operation = "multiply + add"
    #endif
    #if MLPKIT_AVX512
    let register = "AVX-512"
    #else
    let register = "8-lane"
    #endif
    return "SIMD\(PeakVector.scalarCount) \(register), \(peakChains) chains, \(operation)"
}

/// One chain step: `a·x + y` (fused where the build targets FMA).
@inline(__always)
private func peakStep(_ a: inout PeakVector, _ x: PeakVector, _ y: PeakVector) {
    #if MLPKIT_FMA
    a.addProduct(a, x)
    #else
    a = a * x + y
    #endif
}

/// The machine's multiply-add peak, GFLOP/s: every thread (`threads`, default the CPU backend's) runs
/// ``peakChains`` independent multiply-add chains of the widest vector the build has (``PeakVector``) on
/// registers only (no memory traffic), the fastest of five runs. A GEMM or a training run can approach this bound,
/// not pass it, so it says how far any implementation can get ahead of another on this machine.
/// `Scripts/peak-reference.sh` runs the same loop in C (`-march=native`) to check it.
func peakGFLOPS(threads: Int = CPUBackend.defaultThreadCount) -> Double {
    let iterations = 20_000_000
    // `nonisolated(unsafe)`: a pointer is not `Sendable`; each thread writes only its own slot, read by no one (it
    // keeps the chains from being optimised away).
    nonisolated(unsafe) let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)
    defer { sink.deallocate() }
    var best = 0.0
    for _ in 0..<5 {
        let time = seconds {
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                let x = PeakVector(repeating: 0.999_999), y = PeakVector(repeating: 1e-7)
                var a0 = PeakVector(repeating: 1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
                var a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0
                #if MLPKIT_AVX512
                var a12 = a0, a13 = a0, a14 = a0, a15 = a0
                #endif
                for _ in 0..<iterations {
                    peakStep(&a0, x, y); peakStep(&a1, x, y); peakStep(&a2, x, y); peakStep(&a3, x, y)
                    peakStep(&a4, x, y); peakStep(&a5, x, y); peakStep(&a6, x, y); peakStep(&a7, x, y)
                    peakStep(&a8, x, y); peakStep(&a9, x, y); peakStep(&a10, x, y); peakStep(&a11, x, y)
                    #if MLPKIT_AVX512
                    peakStep(&a12, x, y); peakStep(&a13, x, y); peakStep(&a14, x, y); peakStep(&a15, x, y)
                    #endif
                }
                var total = (a0 + a1 + a2 + a3) + (a4 + a5 + a6 + a7) + (a8 + a9 + a10 + a11)
                #if MLPKIT_AVX512
                total += (a12 + a13) + (a14 + a15)
                #endif
                sink[thread] = total.sum()
            }
        }
        best = max(best, Double(threads * iterations * peakChains * PeakVector.scalarCount * 2) / time / 1e9)
    }
    return best
}

/// `mlp-bench peak`.
struct PeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "The machine's multiply-add peak (registers only, all of the CPU backend's threads, the build's widest vectors).")

    func run() {
        print("Multiply-add peak (\(CPUBackend.defaultThreadCount) threads, registers only, \(peakVectorDescription)): "
              + String(format: "%.1f GFLOP/s", peakGFLOPS()))
    }
}
