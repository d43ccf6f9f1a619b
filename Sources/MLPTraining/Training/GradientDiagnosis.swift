import Foundation
import MLPCore

/// What ``LayerStatistics`` say about a layer, with the thresholds below (checked in this order).
///
/// - `exploding`: the gradient or weight norm is not finite, a step moves the kernel by more than its own size
///   (update ratio > 1), or the gradient norm is more than 100× the output layer's;
/// - `dead`: at least half the units (ReLU, ReLU6) output 0 for whole batches;
/// - `vanishing`: the gradient norm is below 1% of the output layer's;
/// - `ok` otherwise.
public enum GradientVerdict: String, Sendable, CaseIterable {
    case ok, vanishing, exploding, dead

    /// A gradient norm below this fraction of the output layer's (1%) is `vanishing`.
    public static let vanishingBelow: Float = 0.01
    /// A gradient norm above this multiple of the output layer's (100×) is `exploding`.
    public static let explodingAbove: Float = 100
    /// An update ratio above this (a step larger than the kernel itself) is `exploding`.
    public static let explodingUpdateRatio: Float = 1
    /// A dead fraction from this value (half the units) is `dead`.
    public static let deadFrom: Float = 0.5

    /// The usual remedies, for messages and `mlp diagnose`.
    public var remedy: String {
        switch self {
        case .ok: return ""
        case .vanishing: return "use ReLU-family activations with He initialization, add BatchNormalization, or use fewer layers"
        case .exploding: return "lower the learning rate, clip gradients (clipnorm / global_clipnorm), or add BatchNormalization"
        case .dead: return "lower the learning rate, use leaky_relu, or initialize biases at 0 (or slightly positive)"
        }
    }
}

/// One layer's statistics, its gradient norm relative to the output layer's, and the verdict.
public struct LayerDiagnosis: Equatable, Sendable {
    /// The layer's measured statistics.
    public var statistics: LayerStatistics
    /// The layer's gradient norm divided by the output layer's (1 for the output layer).
    public var relativeGradientNorm: Float
    /// What the statistics say, by ``GradientVerdict``'s thresholds.
    public var verdict: GradientVerdict

    /// Diagnoses every layer of one epoch's statistics (model order; the last is the output layer).
    public static func diagnose(_ layers: [LayerStatistics]) -> [LayerDiagnosis] {
        guard let output = layers.last else { return [] }
        return layers.enumerated().map { index, layer in
            // The output layer is the reference (1); with a zero output gradient, any other gradient is infinitely
            // larger and a zero one is 0.
            let relative: Float = index == layers.count - 1 ? 1
                : output.gradientNorm > 0 ? layer.gradientNorm / output.gradientNorm
                : layer.gradientNorm > 0 ? .infinity : 0
            let verdict: GradientVerdict
            if !layer.gradientNorm.isFinite || !layer.weightNorm.isFinite || !(layer.updateRatio <= GradientVerdict.explodingUpdateRatio)
                || relative > GradientVerdict.explodingAbove {
                verdict = .exploding
            } else if let dead = layer.deadFraction, dead >= GradientVerdict.deadFrom {
                verdict = .dead
            } else if relative < GradientVerdict.vanishingBelow {
                verdict = .vanishing
            } else {
                verdict = .ok
            }
            return LayerDiagnosis(statistics: layer, relativeGradientNorm: relative, verdict: verdict)
        }
    }
}

extension Sequential {
    /// Trains for `steps` batches from the model's current weights with a ``GradientMonitor`` on every step and
    /// diagnoses each Dense layer (what `mlp diagnose` prints). The model must be compiled; its weights change.
    public func diagnose(x: Tensor, y: Tensor, batchSize: Int = 32, steps: Int = 50) throws -> [LayerDiagnosis] {
        let rows = min(x.rowCount, max(1, steps) * batchSize)
        let epochs = max(1, (max(1, steps) * batchSize + rows - 1) / rows)
        let monitor = GradientMonitor(every: 1)
        try fit(x: x.rows(0..<rows), y: y.rows(0..<rows), batchSize: batchSize, epochs: epochs, verbose: 0, shuffle: false,
                callbacks: [monitor])
        // Over all monitored epochs: the last epoch's statistics describe where training went.
        return LayerDiagnosis.diagnose(monitor.statistics)
    }
}
