import ArgumentParser
import Foundation
import MLPBackendParity
import MLPKit

func runParity(device: any Backend) throws -> Bool {
    print("Parity: \(device.deviceDescription) against the CPU backend")
    let checks = try BackendParity.ops(reference: CPUBackend(threadCount: 1), candidate: device)
        + BackendParity.training(reference: CPUBackend(threadCount: 1), candidate: device)
    for check in checks where !check.passed || check.name.hasPrefix("seed model") || check.name.hasPrefix("gemm 256") {
        print("  " + check.description)
    }
    let failed = checks.filter { !$0.passed }.count
    let worst = checks.map { $0.maxDifference / max($0.allowed, .leastNormalMagnitude) }.max() ?? 0
    print("  \(checks.count - failed) passed, \(failed) failed (worst difference \(String(format: "%.2f", worst)) of its allowance)")
    return failed == 0
}


/// `mlp-bench parity --device D`: exits 1 when a check fails.
struct ParityCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity", abstract: "Every backend op and a training run on the device against the CPU backend.")

    @OptionGroup var device: DeviceOptions

    func validate() throws {
        guard device.device != nil else { throw ValidationError("parity needs --device (gpu or opencl:P:D)") }
    }

    func run(on backend: (any Backend)?) throws {
        let backend = backend!  // checked by `validate`
        guard try runParity(device: backend) else { throw ExitCode.failure }
    }
}
