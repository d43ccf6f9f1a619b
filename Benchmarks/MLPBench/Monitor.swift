import ArgumentParser
import Foundation
import MLPKit

/// GradientMonitor's cost: epochs of `workload` timed alternately without and with a monitor (every 10 steps, the
/// default), five pairs after a warm-up epoch; the overhead is the median of the pairs' time ratios minus 1.
func monitorOverhead(_ workload: Workload, backend: any Backend) throws -> (overhead: Double, ratios: [Double]) {
    let (x, y) = workload.data(samples: nil)
    let model = try workload.model(backend: backend)
    model.output = { _ in }
    try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
    var ratios: [Double] = []
    for _ in 0..<5 {
        let plain = try seconds { try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false) }
        let monitored = try seconds {
            try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false, callbacks: [GradientMonitor()])
        }
        ratios.append(monitored / plain)
    }
    return (middle(ratios) - 1, ratios)
}

func benchMonitor(backend: any Backend) throws -> [String: Any] {
    print("GradientMonitor(every: 10) overhead per training epoch (median of 5 alternating pairs)")
    var rows: [String: Any] = [:]
    let file = try WorkloadsFile.shared()
    for workload in file.monitorWorkloads {
        let name = workload.rawValue
        let result = try monitorOverhead(file.workload(workload), backend: backend)
        print(String(format: "  %-6@ %+.1f%%  (pairs %@)", name as NSString, result.overhead * 100,
                     result.ratios.map { String(format: "%.3f", $0) }.joined(separator: " ") as NSString))
        rows[name] = ["overhead": result.overhead, "ratios": result.ratios]
    }
    return rows
}

/// `mlp-bench monitor [--device D]`.
struct MonitorCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor", abstract: "GradientMonitor's cost per training epoch (monitor_workloads of Benchmarks/workloads.json).")

    @OptionGroup var device: DeviceOptions

    func run(on backend: (any Backend)?) throws { _ = try benchMonitor(backend: backend ?? CPUBackend.shared) }
}
