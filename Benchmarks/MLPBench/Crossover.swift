import ArgumentParser
import Foundation
import MLPKit
import MLPOpenCL

extension DeviceCostModel.Line {
    var json: [String: Double] {
        ["seconds_per_step": secondsPerStep, "seconds_per_flop": secondsPerFlop, "seconds_per_parameter": secondsPerParameter]
    }
}

/// The CPU-vs-device crossover sweep (width × batch; 784 inputs, two hidden layers of `width`, 10 classes, from
/// `Benchmarks/workloads.json`):
/// training steps timed on the CPU backend and on `device`, a ``DeviceCostModel/Line`` fitted per backend, and
/// the model written to ``DeviceCostModel/defaultURL`` for `--device auto` (merged with what is there).
func runCrossover(device: (any Backend)?) throws -> [String: Any] {
    // (The sweep's rows, filled below, are read again once the lines are fitted.)
    let shape = try WorkloadsFile.shared().crossover
    let (inputs, classes) = (shape.inputs, shape.classes)
    print("CPU vs device crossover (training samples/s; width × batch, 2 hidden layers of `width`, \(inputs) inputs)")
    let cpu = CPUBackend.shared
    var sweep: [[String: Any]] = []
    var cpuPoints: [(work: StepWork, seconds: Double)] = [], devicePoints: [(work: StepWork, seconds: Double)] = []
    for width in shape.widths {
        for batch in shape.batches {
            let workload = Workload(name: "sweep", inputs: inputs, hidden: [width, width], classes: classes, batch: batch,
                                    samples: batch * shape.steps)
            let work = StepWork(parameters: inputs * width + width + width * width + width + width * classes + classes, batchSize: batch)
            let flops = work.flops
            let onCPU = try runWorkload(workload, backend: cpu)
            cpuPoints.append((work, Double(batch) / onCPU.samplesPerSecond))
            var row: [String: Any] = ["width": width, "batch": batch, "mflop_per_step": flops / 1e6, "cpu": onCPU.samplesPerSecond]
            var line = String(format: "  width %5d batch %4d: %7.1f MFLOP/step  CPU %9.0f", width, batch, flops / 1e6, onCPU.samplesPerSecond)
            if let device {
                let onDevice = try runWorkload(workload, backend: device)
                devicePoints.append((work, Double(batch) / onDevice.samplesPerSecond))
                row["device"] = onDevice.samplesPerSecond
                line += String(format: "  device %9.0f  (%@ faster)", onDevice.samplesPerSecond,
                               (onDevice.samplesPerSecond > onCPU.samplesPerSecond ? "device" : "CPU") as NSString)
            }
            print(line)
            sweep.append(row)
        }
    }
    let url = DeviceCostModel.defaultURL
    var model = (try? DeviceCostModel.load(from: url)) ?? DeviceCostModel()
    var fitted: [String: Any] = [:]
    if let line = DeviceCostModel.Line.fit(cpuPoints) {
        model.cpu = line
        model.cpuThreads = cpu.threadCount
        fitted["cpu"] = line.json
        print("  CPU backend: " + line.formula)
    }
    if let device, let openCL = device as? OpenCLBackend, let line = DeviceCostModel.Line.fit(devicePoints) {
        let name = openCL.device.name
        fitted[name] = line.json
        print("  \(name): " + line.formula)
        if openCL.device.kind == .gpu {
            model.devices[name] = line
            // Where `auto` switches, for this sweep's shape of model.
            for row in sweep.indices {
                let work = cpuPoints[row].work
                sweep[row]["auto"] = model.choice(work, gpuName: name, cpuThreads: cpu.threadCount).useGPU ? "device" : "cpu"
            }
            print("  auto picks per point: " + sweep.map { "\($0["width"]!)×\($0["batch"]!) → \($0["auto"]!)" }.joined(separator: ", "))
        } else {
            print("  (not a GPU: `auto` only ever weighs GPUs against the CPU backend, so it is not stored)")
        }
    }
    model.measured = "measured " + ISO8601DateFormatter().string(from: Date())
    try model.save(to: url)
    print("  cost model written to \(url.path) (read by --device auto)")
    return ["sweep": sweep, "fitted": fitted, "cost_model": url.path]
}

/// `mlp-bench crossover [--device D]`.
struct CrossoverCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "crossover",
        abstract: "Training step times CPU vs device over a width × batch sweep; fits and writes the cost model --device auto reads.")

    @OptionGroup var device: DeviceOptions

    func run(on backend: (any Backend)?) throws { _ = try runCrossover(device: backend) }
}
