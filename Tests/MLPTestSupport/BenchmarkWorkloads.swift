import Foundation

/// `Benchmarks/workloads.json` as the tests read it: the workloads and the crossover sweep that mlp-bench measures
/// (the file mlp-bench and `Scripts/bench-reference.py` read too).
public struct BenchmarkWorkloads: Decodable {
    /// A Dense stack: `inputs`, the `hidden` widths, `classes`.
    public struct Layers: Decodable {
        public let inputs: Int
        public let hidden: [Int]
        public let classes: Int
        public let batch: Int

        /// Weights and biases of the stack.
        public var parameterCount: Int {
            let widths = [inputs] + hidden + [classes]
            return zip(widths, widths.dropFirst()).map { $0 * $1 + $1 }.reduce(0, +)
        }
    }

    /// The CPU-vs-device sweep: `inputs`, two hidden layers of each width, `classes`, at each batch size.
    public struct Crossover: Decodable {
        public let inputs: Int
        public let widths: [Int]
        public let batches: [Int]
        public let classes: Int

        /// The sweep's points in mlp-bench's order (width-major): the Dense stack of each and its batch size.
        public var points: [(layers: Layers, batch: Int)] {
            widths.flatMap { width in
                batches.map { (Layers(inputs: inputs, hidden: [width, width], classes: classes, batch: $0), $0) }
            }
        }
    }

    public let workloads: [String: Layers]
    public let crossover: Crossover

    /// Reads the repository's file.
    public static func load() throws -> BenchmarkWorkloads {
        try JSONDecoder().decode(BenchmarkWorkloads.self, from: Data(contentsOf: repositoryFile("Benchmarks/workloads.json")))
    }
}
