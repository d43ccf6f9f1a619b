import ArgumentParser
import Foundation
import MLPKit

/// The machine's multiply-add peak, GFLOP/s: every thread (`threads`, default the CPU backend's) runs twelve
/// independent `SIMD8` multiply-add chains on registers only (no memory traffic), the fastest of five runs. A
/// GEMM or a training run can approach this bound, not pass it, so it says how far any implementation can get
/// ahead of another on this machine.
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
                let x = SIMD8<Float>(repeating: 0.999_999), y = SIMD8<Float>(repeating: 1e-7)
                var a0 = SIMD8<Float>(repeating: 1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
                var a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0
                for _ in 0..<iterations {
                    #if MLPKIT_FMA
                    a0.addProduct(a0, x); a1.addProduct(a1, x); a2.addProduct(a2, x); a3.addProduct(a3, x)
                    a4.addProduct(a4, x); a5.addProduct(a5, x); a6.addProduct(a6, x); a7.addProduct(a7, x)
                    a8.addProduct(a8, x); a9.addProduct(a9, x); a10.addProduct(a10, x); a11.addProduct(a11, x)
                    #else
                    a0 = a0 * x + y; a1 = a1 * x + y; a2 = a2 * x + y; a3 = a3 * x + y; a4 = a4 * x + y; a5 = a5 * x + y
                    a6 = a6 * x + y; a7 = a7 * x + y; a8 = a8 * x + y; a9 = a9 * x + y; a10 = a10 * x + y; a11 = a11 * x + y
                    #endif
                }
                sink[thread] = ((a0 + a1 + a2 + a3) + (a4 + a5 + a6 + a7) + (a8 + a9 + a10 + a11)).sum()
            }
        }
        best = max(best, Double(threads * iterations * 12 * 8 * 2) / time / 1e9)
    }
    return best
}

/// `mlp-bench peak`.
struct PeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak", abstract: "The machine's multiply-add peak (registers only, all of the CPU backend's threads).")

    func run() {
        print(String(format: "Multiply-add peak (%d threads, registers only): %.1f GFLOP/s", CPUBackend.defaultThreadCount, peakGFLOPS()))
    }
}
