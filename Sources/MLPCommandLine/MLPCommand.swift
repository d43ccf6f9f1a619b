import ArgumentParser
import Foundation

/// `mlp`: build, train, evaluate and run Keras-style multilayer perceptrons.
///
/// Exit statuses: 0 on success and for `--help`/`--version`; 1 for every user error — a bad flag or flag value
/// (ArgumentParser's own parse and validation errors included), a bad or missing file, a model too large, a
/// shape mismatch, a failed `mlp check` — printed as ONE line `error: …` on standard error, without a usage
/// dump.
public struct MLPCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mlp",
        abstract: "Build, train, evaluate and run Keras-style multilayer perceptrons.",
        version: "0.1.0",
        subcommands: [Train.self, Evaluate.self, Predict.self, Summary.self, Check.self, Diagnose.self, Report.self, Convert.self, Devices.self])

    /// Creates the root command (swift-argument-parser fills the options in when parsing).
    public init() {}

    /// Parses the process arguments, runs the command and exits with ``exitStatus(for:)``'s convention.
    public static func main() {
        Foundation.exit(run(Array(CommandLine.arguments.dropFirst())))
    }

    /// Parses and runs `arguments`; returns the exit status after printing help (standard output) or one error
    /// line (standard error).
    public static func run(_ arguments: [String]) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch {
            return report(error)
        }
    }

    /// Prints what `error` means for the user and returns the exit status: help and version text (status 0)
    /// go to standard output; an ``ExitCode`` thrown after its message was printed keeps its status; anything
    /// else is one line `error: …` on standard error and status 1.
    static func report(_ error: Error) -> Int32 {
        if let code = error as? ExitCode { return code.rawValue }
        if exitCode(for: error) == .success {
            print(fullMessage(for: error))
            return 0
        }
        FileHandle.standardError.write(Data(("error: " + oneLine(message(for: error)) + "\n").utf8))
        return 1
    }

    /// `text` with its lines joined by spaces (ArgumentParser's messages can span lines).
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}
