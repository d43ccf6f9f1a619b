import Foundation
import PackagePlugin

/// Turns `Kernels/*.cl` into `EmbeddedKernels.swift` in the target being built (MLPOpenCL), rerun
/// whenever a kernel file changes.
@main
struct EmbedKernelsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernels = context.package.directoryURL.appending(path: "Kernels")
        let files = try FileManager.default.contentsOfDirectory(at: kernels, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "cl" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedKernels.swift")
        return [.buildCommand(displayName: "Embedding \(files.count) OpenCL kernel files",
                              executable: try context.tool(named: "EmbedKernels").url,
                              arguments: [output.path] + files.map(\.path),
                              inputFiles: files, outputFiles: [output])]
    }
}
