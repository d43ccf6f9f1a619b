import XCTest
@testable import MLPOpenCL
import MLPCore

/// The kernels name their branches (`case ACT_RELU:`) and the host defines the names from the Swift enums
/// (OpenCLKernelSelectors.swift): every case must have its branch, and the program must not build without them.
final class KernelSelectorTests: XCTestCase {
    func kernelFile(_ name: String) throws -> String {
        try XCTUnwrap(EmbeddedKernels.sources.first { $0.name == name }?.source, name)
    }

    /// Each activation has a branch in both `activation_value` and `activation_derivative`.
    func testEveryActivationHasAValueAndADerivativeBranch() throws {
        let source = try kernelFile("activations.cl")
        for activation in Activation.allCases {
            XCTAssertEqual(source.components(separatedBy: "case \(activation.macro):").count - 1, 2,
                           "\(activation.macro) needs a branch in activation_value and in activation_derivative")
        }
    }

    /// Each loss, accuracy and reduction term is tested by its kernel.
    func testEveryLossAccuracyAndSumTermHasABranch() throws {
        let losses = try kernelFile("losses.cl"), metrics = try kernelFile("metrics.cl"), reduce = try kernelFile("reduce.cl")
        for (macro, _) in LossSelector.definitions { XCTAssertTrue(losses.contains("kind == \(macro)"), macro) }
        for (macro, _) in AccuracyKind.definitions { XCTAssertTrue(metrics.contains("kind == \(macro)"), macro) }
        for (macro, _) in SumTerm.definitions { XCTAssertTrue(reduce.contains("mode == \(macro)"), macro) }
    }

    /// The codes are the cases' positions, distinct per enum, and all of them reach the build options.
    func testTheBuildOptionsDefineEveryCase() {
        XCTAssertEqual(Activation.allCases.map(\.kernelCode), Array(0..<Activation.allCases.count))
        XCTAssertEqual(Activation.leakyRelu.macro, "ACT_LEAKY_RELU")
        XCTAssertEqual(LossKind.sparseCategoricalCrossentropy(fromLogits: true).kernelCode.kind, LossSelector.allCases.count - 1)
        XCTAssertEqual(AccuracyKind.sparseCategorical.macro, "ACC_SPARSE_CATEGORICAL_ACCURACY")
        let options = OpenCLBackend.buildOptions(reduceWorkGroup: 128).split(separator: " ").map(String.init)
        XCTAssertEqual(Array(options.prefix(2)), ["-DREDUCE_WG=128", "-cl-std=CL1.2"])
        let expected = Activation.allCases.count + LossSelector.allCases.count + AccuracyKind.allCases.count + SumTerm.allCases.count
        XCTAssertEqual(options.count - 2, expected)
        XCTAssertEqual(Set(options).count, options.count)
        XCTAssertTrue(options.contains("-DACT_RELU=\(Activation.relu.kernelCode)"))
        XCTAssertTrue(options.contains("-DSUM_PENALTY=2"))
    }

    /// The kernels carry no fallback numbers: without the selector macros the program does not build.
    func testTheProgramNeedsTheSelectorMacros() throws {
        let gpu = try OpenCLTestDevice.backend()
        XCTAssertThrowsError(try OpenCLBackend.buildProgram(context: gpu.context, device: gpu.device, options: "-DREDUCE_WG=64 -cl-std=CL1.2")) {
            XCTAssertTrue("\($0)".contains("ACT_"), "\($0)")
        }
    }
}
