import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// Hand-written backward passes against central finite differences of the model's loss: Dense with every
/// activation, every loss, and the fused softmax/sigmoid + cross-entropy paths.
final class GradientCheckTests: XCTestCase {
    let rows = 5, inputs = 3

    func features(seed: UInt64) -> Tensor {
        var random = PhiloxRandom(seed: seed, stream: 1)
        return Tensor(shape: [rows, inputs], scalars: (0..<(rows * inputs)).map { _ in random.nextNormal() })
    }

    /// Compares `∂loss/∂w` from the backward pass with `(L(w+h) − L(w−h)) / 2h` for every variable value.
    func check(_ model: Sequential, loss: Loss, y: Tensor, h: Float = 5e-3, label: String,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let x = features(seed: 3)
        try model.compile(optimizer: SGD(), loss: loss)
        let buffers = StepBuffers(batchSize: rows, xColumns: inputs, yColumns: y.columnCount, outputColumns: model.outputUnits,
                                  accumulatorWidth: 1, backend: model.backend)
        model.backend.upload(x.scalars, to: buffers.x, offset: 0)
        model.backend.upload(y.scalars, to: buffers.y, offset: 0)
        model.computeGradients(rows: rows, buffers: buffers, compiled: model.compilation!)
        for layer in model.layers {
            for parameter in layer.parameters where parameter.isTrainable {
                let analytic = model.backend.download(parameter.gradient!)
                var values = model.backend.download(parameter.value)
                var numeric = [Float](repeating: 0, count: values.count)
                for i in values.indices {
                    let original = values[i]
                    values[i] = original + h
                    model.backend.upload(values, to: parameter.value, offset: 0)
                    let plus = trainingLoss(model, buffers: buffers)
                    values[i] = original - h
                    model.backend.upload(values, to: parameter.value, offset: 0)
                    let minus = trainingLoss(model, buffers: buffers)
                    values[i] = original
                    model.backend.upload(values, to: parameter.value, offset: 0)
                    numeric[i] = (plus - minus) / (2 * h)
                }
                assertClose(analytic, numeric, absolute: 3e-3, relative: 3e-2, "\(label) \(layer.name)/\(parameter.name)",
                            file: file, line: line)
            }
        }
    }

    /// The mean loss (with penalties) of a training-mode forward pass on the batch in `buffers` — the
    /// function the backward pass differentiates (batch statistics for BatchNorm, this step's dropout mask).
    func trainingLoss(_ model: Sequential, buffers: StepBuffers) -> Float {
        model.backend.fill(buffers.accumulator, value: 0, offset: 0, count: buffers.accumulator.count)
        let output = model.forward(buffers.x, rows: rows, context: model.trainingContext(compiled: model.compilation!))
        model.accumulateLossAndMetrics(output: output, rows: rows, buffers: buffers, compiled: model.compilation!, gradient: nil)
        return model.backend.download(buffers.accumulator)[0] / Float(rows)
    }

    func testRegularizersDropoutAndBatchNormalization() throws {
        let cases: [(String, [Layer])] = [
            ("L1 + L2 penalties", [Dense(4, activation: .tanh, kernelRegularizer: .l1l2(l1: 0.05, l2: 0.1), biasRegularizer: .l2(0.3)),
                                   Dense(2, kernelRegularizer: .l1(0.2))]),
            ("dropout", [Dense(6, activation: .tanh), Dropout(0.4), Dense(2)]),
            ("batch norm", [Dense(4), BatchNormalization(), ActivationLayer(.tanh), Dense(2)]),
            ("batch norm first", [BatchNormalization(), Dense(2, activation: .sigmoid)]),
        ]
        for (label, layers) in cases {
            try check(Sequential(inputDim: inputs, layers, seed: 5), loss: .meanSquaredError, y: regressionTargets(2), label: label)
        }
    }

    func regressionTargets(_ columns: Int) -> Tensor {
        var random = PhiloxRandom(seed: 9, stream: 2)
        return Tensor(shape: [rows, columns], scalars: (0..<(rows * columns)).map { _ in random.nextNormal() })
    }

    func testDenseWithEveryActivation() throws {
        for activation in Activation.allCases {
            let model = Sequential(inputDim: inputs, [Dense(4, activation: activation), Dense(2)], seed: 21)
            try check(model, loss: .meanSquaredError, y: regressionTargets(2), label: activation.rawValue)
        }
    }

    func testEveryLossThroughTheModel() throws {
        let labels = Tensor(shape: [rows, 1], scalars: [0, 2, 1, 2, 0])
        var oneHot = [Float](repeating: 0, count: rows * 3)
        for (r, label) in labels.scalars.enumerated() { oneHot[r * 3 + Int(label)] = 1 }
        let bits = Tensor(shape: [rows, 1], scalars: [1, 0, 0, 1, 1])
        let cases: [(String, [Layer], Loss, Tensor)] = [
            ("mse", [Dense(4, activation: .tanh), Dense(2)], .meanSquaredError, regressionTargets(2)),
            ("mae", [Dense(4, activation: .tanh), Dense(2)], .meanAbsoluteError, regressionTargets(2)),
            ("softmax+sparse (fused)", [Dense(4, activation: .tanh), Dense(3, activation: .softmax)],
             .sparseCategoricalCrossentropy(fromLogits: false), labels),
            ("softmax+categorical (fused)", [Dense(4, activation: .tanh), Dense(3, activation: .softmax)],
             .categoricalCrossentropy(fromLogits: false), Tensor(shape: [rows, 3], scalars: oneHot)),
            ("sigmoid+binary (fused)", [Dense(4, activation: .tanh), Dense(1, activation: .sigmoid)],
             .binaryCrossentropy(fromLogits: false), bits),
            ("logits sparse", [Dense(4, activation: .tanh), Dense(3)], .sparseCategoricalCrossentropy(fromLogits: true), labels),
            ("logits binary", [Dense(4, activation: .tanh), Dense(1)], .binaryCrossentropy(fromLogits: true), bits),
            ("Activation(softmax) layer + MSE (softmax Jacobian)", [Dense(3), ActivationLayer(.softmax)], .meanSquaredError,
             regressionTargets(3)),
            ("sigmoid + MSE (not fused)", [Dense(4, activation: .relu), Dense(2, activation: .sigmoid)], .meanSquaredError,
             regressionTargets(2)),
            ("no bias", [Dense(4, activation: .elu, useBias: false), Dense(2, useBias: false)], .meanSquaredError,
             regressionTargets(2)),
        ]
        for (label, layers, loss, y) in cases {
            try check(Sequential(inputDim: inputs, layers, seed: 33), loss: loss, y: y, label: label)
        }
    }
}
