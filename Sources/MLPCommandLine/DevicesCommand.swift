import ArgumentParser
import MLPKit

/// `mlp devices`: the CPU and each OpenCL device, one line each.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "List the devices this build can train on.")

    func run() {
        for line in Device.inventory() { print(line) }
    }
}
