import Foundation
import XCTest
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// Every optimizer, clipping mode, weight decay and schedule against Keras 3.15: four steps on fixed
/// gradients from the same starting values (Scripts/make-keras-fixtures.py → keras-optimizers.json), to 1e-6.
final class OptimizerFixtureTests: XCTestCase {
    struct Run: Decodable {
        let initial: [[Float]]
        let shapes: [[Int]]
        let gradients: [[[Float]]]
        let after_step: [[[Float]]]
    }

    static let optimizers: [String: @Sendable () -> Optimizer] = [
        "sgd": { SGD(learningRate: 0.05) },
        "sgd_momentum": { SGD(learningRate: 0.05, momentum: 0.9) },
        "sgd_nesterov": { SGD(learningRate: 0.05, momentum: 0.9, nesterov: true) },
        "rmsprop": { RMSprop(learningRate: 0.01) },
        "rmsprop_momentum": { RMSprop(learningRate: 0.01, momentum: 0.9) },
        "rmsprop_centered": { RMSprop(learningRate: 0.01, centered: true) },
        "rmsprop_momentum_centered": { RMSprop(learningRate: 0.01, momentum: 0.5, centered: true) },
        "adagrad": { Adagrad(learningRate: 0.1) },
        "adam": { Adam(learningRate: 0.01) },
        "adam_amsgrad": { Adam(learningRate: 0.01, amsgrad: true) },
        "adamw": { AdamW(learningRate: 0.01) },
        "nadam": { Nadam(learningRate: 0.01) },
        "sgd_clipnorm": { SGD(learningRate: 0.05, clipnorm: 1) },
        "sgd_global_clipnorm": { SGD(learningRate: 0.05, globalClipnorm: 1) },
        "sgd_clipvalue": { SGD(learningRate: 0.05, clipvalue: 0.5) },
        "adam_weight_decay": { Adam(learningRate: 0.01, weightDecay: 0.1) },
        "sgd_exponential_decay": { SGD(schedule: .exponentialDecay(initial: 0.1, decaySteps: 2, decayRate: 0.5)) },
        "sgd_exponential_staircase": { SGD(schedule: .exponentialDecay(initial: 0.1, decaySteps: 2, decayRate: 0.5, staircase: true)) },
        "sgd_cosine_decay": { SGD(schedule: .cosineDecay(initial: 0.1, decaySteps: 3, alpha: 0.1)) },
    ]

    func testEveryOptimizerMatchesKeras() throws {
        let url = KerasReferenceTests.fixtures.appendingPathComponent("keras-optimizers.json")
        let runs = try JSONDecoder().decode([String: Run].self, from: Data(contentsOf: url))
        XCTAssertEqual(Set(runs.keys), Set(Self.optimizers.keys))
        for (name, make) in Self.optimizers {
            let run = runs[name]!
            for backend in [CPUBackend(threadCount: 1) as any Backend] {
                let parameters = zip(run.initial, run.shapes).enumerated().map { index, pair in
                    Parameter(name: "v\(index)", shape: pair.1, isTrainable: true, initialValues: pair.0, backend: backend)
                }
                let optimizer = make()
                for (step, gradients) in run.gradients.enumerated() {
                    for (parameter, gradient) in zip(parameters, gradients) { backend.upload(gradient, to: parameter.gradient!, offset: 0) }
                    optimizer.apply(to: parameters, on: backend)
                    for (index, parameter) in parameters.enumerated() {
                        assertClose(backend.download(parameter.value), run.after_step[step][index], absolute: 1e-6, relative: 1e-6,
                                    "\(name) step \(step + 1) variable \(index)")
                    }
                }
                XCTAssertEqual(optimizer.iterations, 4)
            }
        }
    }

    func testSchedulesAndValidation() throws {
        let schedule = LearningRateSchedule.exponentialDecay(initial: 0.1, decaySteps: 10, decayRate: 0.5)
        XCTAssertEqual(schedule.rate(at: 10), 0.05, accuracy: 1e-7)
        XCTAssertEqual(LearningRateSchedule.cosineDecay(initial: 1, decaySteps: 4).rate(at: 2), 0.5, accuracy: 1e-7)
        XCTAssertEqual(LearningRateSchedule.cosineDecay(initial: 1, decaySteps: 4, alpha: 0.2).rate(at: 100), 0.2, accuracy: 1e-7)
        let optimizer = SGD(schedule: schedule)
        XCTAssertEqual(optimizer.learningRate, 0.1)
        optimizer.learningRate = 0.3
        XCTAssertNil(optimizer.learningRateSchedule, "setting a rate replaces the schedule")
        let model = Sequential(inputDim: 2, [Dense(1)], seed: 1)
        XCTAssertThrowsError(try model.compile(optimizer: SGD(clipnorm: 1, clipvalue: 1), loss: .meanSquaredError)) {
            XCTAssertEqual("\($0)", "only one of clipnorm, global_clipnorm and clipvalue may be set, got clipnorm and clipvalue")
        }
    }
}
