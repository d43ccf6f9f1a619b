import Foundation
import MLPCore

/// What `fit` keeps between the steps of a data-parallel run.
final class DistributedState {
    /// The rows of the current global batch (all ranks together); 0 outside a distributed step.
    var globalRows = 0
    /// The epoch's loss and metric sums over all ranks, as of the last step's allreduce.
    var reducedSums: [Float] = []
    /// The host copy of the fused buffer: every trainable gradient, then the accumulator.
    var fused: [Float] = []
    /// Time spent in the gradient allreduce (download, sum, upload) and the steps it covers, for the last `fit`.
    var allreduceSeconds: Double = 0
    var allreduceSteps = 0
}

extension Sequential {
    /// Seconds the last `fit` spent per step summing gradients across ranks (the device-to-host download, the
    /// allreduce and the upload); 0 for a single process.
    public var allreduceSecondsPerStep: Double {
        distributedState.allreduceSteps > 0 ? distributedState.allreduceSeconds / Double(distributedState.allreduceSteps) : 0
    }

    /// Makes every rank start from rank 0's state: the seed (shuffles, dropout), the start epoch (a resumed
    /// backup), the weights, and the optimizer's step, learning rate and slots. Returns the start epoch.
    func synchronizeStart(epoch: Int, compiled: Compilation) -> Int {
        let parameters = layers.flatMap(\.parameters)
        let optimizer = compiled.optimizer
        let slots = optimizer.slots.export(parameters, on: backend)
        var header: [UInt64] = [seed, UInt64(epoch), UInt64(optimizer.iterations), UInt64(optimizer.learningRate.bitPattern)]
            + slots.map { UInt64($0.count) }
        distribution.broadcast(&header)
        seed = header[0]
        let start = Int(header[1])
        var values = parameters.flatMap { backend.download($0.value) }
        distribution.broadcast(&values)
        var offset = 0
        for parameter in parameters {
            backend.upload(Array(values[offset..<(offset + parameter.count)]), to: parameter.value, offset: 0)
            offset += parameter.count
        }
        if optimizer.iterations != Int(header[2]) || optimizer.learningRate.bitPattern != UInt32(header[3]) {
            optimizer.iterations = Int(header[2])
            optimizer.learningRate = Float(bitPattern: UInt32(header[3]))
        }
        let slotCounts = header[4...].map(Int.init)
        if slotCounts.contains(where: { $0 > 0 }) {
            var flat: [Float] = []
            for (index, parameter) in parameters.enumerated() {
                let mine = slots[index]
                for slot in 0..<slotCounts[index] {
                    flat += slot < mine.count ? mine[slot] : [Float](repeating: 0, count: parameter.count)
                }
            }
            distribution.broadcast(&flat)
            var position = 0
            var restored: [[[Float]]] = []
            for (index, parameter) in parameters.enumerated() {
                restored.append((0..<slotCounts[index]).map { _ in
                    defer { position += parameter.count }
                    return Array(flat[position..<(position + parameter.count)])
                })
            }
            optimizer.slots.restore(restored, for: parameters, on: backend)
        }
        return start
    }

    /// Sums every trainable gradient and the epoch's loss and metric sums over the ranks in one fused buffer:
    /// one download, one in-place `allreduceSum`, one upload per gradient. Then adds the weight penalties'
    /// gradients, once (every rank holds the same weights, so they agree).
    func allreduceGradients(parameters: [Parameter], buffers: StepBuffers, compiled: Compilation) {
        let started = Date()
        let state = distributedState
        state.fused.removeAll(keepingCapacity: true)
        for parameter in parameters {
            guard let gradient = parameter.gradient else { continue }
            state.fused += backend.download(gradient, offset: 0, count: parameter.count)
        }
        let gradientCount = state.fused.count
        state.fused += backend.download(buffers.accumulator)
        distribution.allreduceSum(&state.fused)
        var offset = 0
        for parameter in parameters {
            guard let gradient = parameter.gradient else { continue }
            backend.upload(Array(state.fused[offset..<(offset + parameter.count)]), to: gradient, offset: 0)
            offset += parameter.count
        }
        state.reducedSums = Array(state.fused[gradientCount...])
        addPenaltyGradients(compiled: compiled)
        state.allreduceSeconds += Date().timeIntervalSince(started)
        state.allreduceSteps += 1
    }

    /// Adds each weight penalty's gradient to its parameter's gradient.
    func addPenaltyGradients(compiled: Compilation) {
        for (parameter, regularizer) in compiled.regularized {
            backend.regularizationGradient(parameter.value, gradients: parameter.gradient!, count: parameter.count,
                                           l1: regularizer.l1, l2: regularizer.l2)
        }
    }

    /// A rank with no rows in this global batch contributes zero gradients.
    func zeroGradients(_ parameters: [Parameter]) {
        for parameter in parameters {
            if let gradient = parameter.gradient { backend.fill(gradient, value: 0, offset: 0, count: parameter.count) }
        }
    }
}

extension Batch {
    /// The batch's rows `range` (features, targets and weights alike).
    public func rows(_ range: Range<Int>) -> Batch {
        Batch(x: x.rows(range), y: y?.rows(range), sampleWeight: sampleWeight.map { Array($0[range]) })
    }
}
