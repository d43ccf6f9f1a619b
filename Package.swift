// swift-tools-version:6.0
import PackageDescription

// Scripts/build-portable.sh sets MLPKIT_STATIC_LIBS to a folder holding only static archives (libclblast.a,
// libstdc++.a). Searched first, it makes the linker take those archives instead of the shared libraries,
// so the binary needs only the system's libOpenCL.so.1 and the C library at run time.
let staticLibraries = Context.environment["MLPKIT_STATIC_LIBS"]
let clblastLinking: [LinkerSetting] = [.linkedLibrary("clblast")]
    + (staticLibraries.map { [.linkedLibrary("stdc++"), .unsafeFlags(["-L", $0, "-Xclang-linker", "-static-libgcc"])] } ?? [])

let package = Package(
    name: "MLPKit",
    products: [
        .library(name: "MLPKit", targets: ["MLPKit"]),
        // Data-parallel training over Open MPI (`MPICommunicator`); Open MPI's library is loaded at run time, under mpirun only.
        .library(name: "MLPDistributed", targets: ["MLPDistributed"]),
        .executable(name: "mlp", targets: ["mlp"]),
        .executable(name: "mlp-bench", targets: ["MLPBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .target(name: "CPrefetch"),
        .target(name: "MLPCore", dependencies: ["CPrefetch"]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlibShim", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CHDF5Reader", dependencies: ["CHDF5"]),
        // Layers, models, training and data: no HDF5, zip or protobuf (zlib only, for .gz data and backup checksums).
        .target(name: "MLPTraining", dependencies: ["MLPCore", "CZlibShim"]),
        // Model files: Keras .h5 (HDF5), .keras (zip), MLPKit's JSON, and the ModelCheckpoint callback.
        .target(name: "MLPModelFiles", dependencies: ["MLPCore", "MLPTraining", "CHDF5", "CHDF5Reader",
                                                      .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        // The TensorBoard callback and its event files (protobuf); Generated/ holds Scripts/generate-protos.sh's output.
        .target(name: "MLPTensorBoard", dependencies: ["MLPCore", "MLPTraining",
                                                       .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .systemLibrary(name: "COpenCL",
                       providers: [.apt(["ocl-icd-opencl-dev", "libclblast-dev"])]),
        .executableTarget(name: "EmbedKernels", path: "Plugins/EmbedKernelsTool"),
        .plugin(name: "EmbedKernelsPlugin", capability: .buildTool(), dependencies: ["EmbedKernels"]),
        .target(name: "MLPOpenCL", dependencies: ["MLPCore", "COpenCL"], linkerSettings: clblastLinking,
                plugins: ["EmbedKernelsPlugin"]),
        // Open MPI (`mpirun -np N mlp train`): its own targets. CMPI `dlopen`s libmpi.so.40 when mpirun started the
        // process, so building needs no MPI headers and `mlp` starts where Open MPI is not installed.
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "MLPDistributed", dependencies: ["MLPCore", "MLPTraining", "CMPI"]),
        .target(name: "MLPKit", dependencies: ["MLPCore", "MLPTraining", "MLPModelFiles", "MLPTensorBoard", "MLPOpenCL"]),
        // The parity suite (every op and whole training runs, a candidate backend against the CPU): for the tests and
        // `mlp-bench parity`, not part of the library's API.
        .target(name: "MLPBackendParity", dependencies: ["MLPCore", "MLPTraining"]),
        .target(
            name: "MLPCommandLine",
            dependencies: ["MLPKit", "MLPDistributed", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "mlp", dependencies: ["MLPCommandLine"]),
        .target(name: "MallocCounter", path: "Benchmarks/MallocCounter"),
        .executableTarget(name: "MLPBench", dependencies: ["MLPKit", "MLPOpenCL", "MLPDistributed", "MLPBackendParity", "MallocCounter",
                                                   .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Benchmarks/MLPBench"),
        .executableTarget(name: "example-seed-notebook", dependencies: ["MLPKit"], path: "Examples/SeedNotebook"),
        .executableTarget(name: "example-custom-callback", dependencies: ["MLPKit"], path: "Examples/CustomCallback"),
        .executableTarget(name: "example-streaming", dependencies: ["MLPKit"], path: "Examples/StreamingGenerator"),
        .executableTarget(name: "example-gpu", dependencies: ["MLPKit"], path: "Examples/GPUTraining"),
        .target(name: "MLPTestSupport", dependencies: ["MLPCore"], path: "Tests/MLPTestSupport"),
        .testTarget(name: "MLPCoreTests", dependencies: ["MLPCore", "MLPTestSupport"]),
        .testTarget(name: "MLPTrainingTests", dependencies: ["MLPTraining", "CZlibShim", "MLPModelFiles", "MLPTensorBoard", "MLPKit", "MLPTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "MLPOpenCLTests", dependencies: ["MLPOpenCL", "MLPTraining", "MLPModelFiles", "MLPKit", "MLPBackendParity", "MLPTestSupport"]),
        .testTarget(name: "MLPCommandLineTests", dependencies: ["MLPTestSupport", "MLPCommandLine", "mlp", "MLPBench"], exclude: ["Goldens"]),
    ],
    swiftLanguageModes: [.v6]
)
