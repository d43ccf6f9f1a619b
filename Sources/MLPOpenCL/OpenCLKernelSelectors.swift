import MLPCore

/// A Swift enum whose cases pick a branch in a kernel. The kernels name the branches (`case ACT_RELU:`), never
/// their numbers: the program is built with one `-D PREFIX_NAME=code` option per case (``definitions``), the code
/// being the case's position in `allCases`, so the Swift enum is the only place the numbers come from. A case whose
/// macro no kernel uses fails `KernelSelectorTests`; a kernel naming a macro no case defines fails to build.
protocol KernelSelector: CaseIterable, Hashable {
    /// The macros' prefix (`ACT`).
    static var macroPrefix: String { get }
    /// This case's part of its macro name (`RELU`).
    var macroSuffix: String { get }
}

extension KernelSelector {
    /// The case's macro (`ACT_RELU`).
    var macro: String { Self.macroPrefix + "_" + macroSuffix }

    /// Every case's macro with its code.
    static var definitions: [(macro: String, code: Int)] { allCases.enumerated().map { ($1.macro, $0) } }

    /// Case → code, built once per type by each conformer's stored table.
    static func codeTable() -> [Self: Int] { Dictionary(uniqueKeysWithValues: allCases.enumerated().map { ($1, $0) }) }
}

extension OpenCLBackend {
    /// Every selector's macros, each `(macro, code)`.
    static var selectorDefinitions: [(macro: String, code: Int)] {
        Activation.definitions + LossSelector.definitions + AccuracyKind.definitions + SumTerm.definitions
    }

    /// The program's build options: the reduction's work-group size, OpenCL C 1.2 and every selector macro.
    static func buildOptions(reduceWorkGroup: Int) -> String {
        (["-DREDUCE_WG=\(reduceWorkGroup)", "-cl-std=CL1.2"] + selectorDefinitions.map { "-D\($0.macro)=\($0.code)" })
            .joined(separator: " ")
    }
}
