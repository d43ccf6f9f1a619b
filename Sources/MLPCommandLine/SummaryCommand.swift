import ArgumentParser
import Foundation
import MLPKit

/// `mlp summary`: Keras' `model.summary()` of a model file or of the model flags.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "summary", abstract: "Print the Keras summary of a model file or of the model flags.")

    @Argument(help: "A model file saved by `mlp train --save` (instead of model flags).")
    var file: String?
    @OptionGroup var model: ModelOptions
    @Option(help: "keras2 (tf-keras text, default) | keras3 (box-drawn table).",
            transform: { text in
                guard let style = SummaryStyle(rawValue: text.lowercased()) else {
                    throw MLPError.unknownName(kind: "summary style", received: text, valid: SummaryStyle.allCases.map(\.rawValue))
                }
                return style
            })
    var style: SummaryStyle = .keras2

    /// A model from flags is sized from its shapes, never allocated: a model too large to train still gets its
    /// table (Keras users size models with summary).
    func run() throws {
        try reportingErrors {
            if let file {
                print(try Sequential.load(from: file, compile: false).summary(style: style), terminator: "")
            } else {
                guard let inputDim = model.inputDim else {
                    throw MLPError.invalidArgument("summary needs --input-dim (or a model file)")
                }
                guard let output = try model.outputSpec() else {
                    throw MLPError.invalidArgument("summary needs --output UNITS:ACTIVATION (or a model file)")
                }
                print(Sequential.summary(of: try model.size(inputDim: inputDim, output: output), style: style), terminator: "")
            }
        }
    }
}
