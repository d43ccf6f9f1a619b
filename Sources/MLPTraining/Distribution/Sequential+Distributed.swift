import Foundation
import MLPCore

/// What `fit` keeps between the steps of a data-parallel run.
final class DistributedState {
    /// The rows of the current global batch (all ranks together); 0 outside a distributed step.
    var globalRows = 0
    /// The epoch's loss and metric sums over all ranks, as of the last step's allreduce.
    var reducedSums: [Float] = []
    /// The number of gradient buckets of the last data-parallel `fit` (0 before one).
    var bucketCount = 0
    /// Time spent summing gradients across ranks outside the layers' own work (downloads, starting, testing and
    /// waiting for the sums, uploads) and the steps it covers, for the last `fit`.
    var allreduceSeconds: Double = 0
    var allreduceSteps = 0
}

/// A data-parallel step's gradients, grouped in buckets in the order the backward pass produces them (last layer
/// first), each summed across the ranks by its own non-blocking allreduce started as soon as the backward pass has
/// produced the bucket's last gradient, so the sums travel while the lower layers' backward computes.
///
/// A bucket closes at the first layer boundary where it holds at least ``bucketBytes`` of gradients; the last one
/// (the first layers' gradients) also carries the loss and metric accumulator. With one bucket (``bucketBytes`` 0,
/// or a model smaller than one bucket) the step makes one fused, blocking allreduce after the backward pass.
final class GradientBuckets {
    /// One bucket: the parameters whose gradients it carries (positions in the compiled parameter list) and
    /// where they lie in ``host``.
    struct Bucket {
        /// The layer after whose backward pass the bucket is complete.
        let closingLayer: Int
        /// The parameters (indices into the compiled parameter list), in backward order.
        let parameters: [Int]
        /// Offset of each parameter's gradient in ``host``.
        let offsets: [Int]
        /// The bucket's values in ``host`` (the accumulator's included, for the last bucket).
        let range: Range<Int>
    }

    /// The environment variable that sets ``bucketBytes`` (a whole number of bytes; 0: one fused allreduce after
    /// the backward pass).
    static let bucketBytesVariable = "MLPKIT_ALLREDUCE_BUCKET_BYTES"
    /// The bucket size without ``bucketBytesVariable``: 0, one fused allreduce (see Distributed.md for the figures).
    static let defaultBucketBytes = 0

    let bucketBytes: Int
    let buckets: [Bucket]
    /// The host copy of every bucket, back to back (bucket 0 first), then the accumulator.
    let host: UnsafeMutableBufferPointer<Float>
    /// Where the accumulator's sums lie in ``host``.
    let accumulatorRange: Range<Int>
    /// The outstanding sums of the buckets started in this step.
    private var requests: [AllreduceRequest] = []
    /// The next bucket to close in this step.
    private var next = 0

    /// The bucket size `environment` asks for, or the default; throws on a value that is not a whole number ≥ 0.
    static func bucketBytes(environment: [String: String]) throws -> Int {
        guard let text = environment[bucketBytesVariable] else { return defaultBucketBytes }
        guard let bytes = Int(text.trimmingCharacters(in: .whitespaces)), bytes >= 0 else {
            throw MLPError.invalidArgument("\(bucketBytesVariable) must be a whole number of bytes ≥ 0 (0: one fused "
                + "allreduce after the backward pass); received \"\(text)\"")
        }
        return bytes
    }

    /// Plans the buckets of `layers`' trainable gradients (`parameters` is their concatenated parameter list) and
    /// an accumulator of `accumulatorCount` values.
    init(layers: [Layer], parameters: [Parameter], accumulatorCount: Int, bucketBytes: Int) {
        self.bucketBytes = bucketBytes
        // Each layer's trainable parameters, as indices into `parameters` (its parameters lie there in layer order).
        var first = 0
        var perLayer: [[Int]] = []
        for layer in layers {
            let indices = first..<(first + layer.parameters.count)
            perLayer.append(indices.filter { parameters[$0].gradient != nil })
            first = indices.upperBound
        }
        var buckets: [Bucket] = []
        var members: [Int] = []
        var offsets: [Int] = []
        var start = 0
        var offset = 0
        for position in stride(from: layers.count - 1, through: 0, by: -1) {
            for index in perLayer[position] {
                members.append(index)
                offsets.append(offset)
                offset += parameters[index].count
            }
            let remaining = perLayer[..<position].contains { !$0.isEmpty }
            let full = bucketBytes > 0 && (offset - start) * MemoryLayout<Float>.size >= bucketBytes
            if position == 0 || (full && remaining) {
                if position == 0 { offset += accumulatorCount }
                buckets.append(Bucket(closingLayer: position, parameters: members, offsets: offsets, range: start..<offset))
                members = []
                offsets = []
                start = offset
            }
        }
        self.buckets = buckets
        accumulatorRange = (offset - accumulatorCount)..<offset
        host = .allocate(capacity: max(offset, 1))
        host.initialize(repeating: 0)
        requests.reserveCapacity(buckets.count)
    }

    deinit { host.deallocate() }

    /// Starts a step: no bucket closed yet.
    func beginStep() {
        next = 0
        requests.removeAll(keepingCapacity: true)
    }

    /// Called after layer `position`'s backward pass: lets the outstanding sums progress, then downloads the
    /// bucket the layer completes, if any, and starts its sum (a lone bucket waits for ``finishStep``).
    func layerFinished(_ position: Int, parameters: [Parameter], accumulator: DeviceBuffer, backend: any Backend,
                       distribution: any Communicator) {
        for index in requests.indices where !requests[index].isComplete { _ = distribution.test(&requests[index]) }
        guard next < buckets.count, buckets[next].closingLayer == position else { return }
        let bucket = buckets[next]
        for (index, offset) in zip(bucket.parameters, bucket.offsets) {
            let parameter = parameters[index]
            let values = backend.download(parameter.gradient!, offset: 0, count: parameter.count)
            _ = UnsafeMutableBufferPointer(rebasing: host[offset..<(offset + values.count)]).update(fromContentsOf: values)
        }
        if next == buckets.count - 1 {
            let sums = backend.download(accumulator)
            _ = UnsafeMutableBufferPointer(rebasing: host[accumulatorRange]).update(fromContentsOf: sums)
        }
        if buckets.count > 1 {
            requests.append(distribution.startAllreduceSum(UnsafeMutableBufferPointer(rebasing: host[bucket.range])))
        }
        next += 1
    }

    /// After the backward pass: sums a lone bucket (one blocking allreduce) or waits for every bucket's sum, then
    /// uploads the summed gradients. Returns the accumulator's sums over the ranks.
    func finishStep(parameters: [Parameter], backend: any Backend, distribution: any Communicator) -> [Float] {
        precondition(next == buckets.count, "the backward pass closed \(next) of \(buckets.count) gradient buckets")
        if buckets.count == 1 {
            distribution.allreduceSum(host)
        } else {
            for index in requests.indices { distribution.wait(&requests[index]) }
        }
        for bucket in buckets {
            for (index, offset) in zip(bucket.parameters, bucket.offsets) {
                let parameter = parameters[index]
                backend.upload(Array(host[offset..<(offset + parameter.count)]), to: parameter.gradient!, offset: 0)
            }
        }
        return Array(host[accumulatorRange])
    }
}

extension Sequential {
    /// Seconds the last `fit` spent per step summing gradients across ranks outside the layers' own work (the
    /// device-to-host downloads, starting, advancing and waiting for the allreduces, the uploads); 0 for a single
    /// process. Sums that travel while the backward pass computes cost only their start and tests here.
    public var allreduceSecondsPerStep: Double {
        distributedState.allreduceSteps > 0 ? distributedState.allreduceSeconds / Double(distributedState.allreduceSteps) : 0
    }

    /// The number of gradient buckets (allreduces per step) of the last data-parallel `fit`: 1 for one fused
    /// allreduce after the backward pass; 0 before any data-parallel `fit`.
    public var allreduceBucketCount: Int { distributedState.bucketCount }

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

    /// The gradient buckets of a data-parallel `fit` (planned at its start, from `MLPKIT_ALLREDUCE_BUCKET_BYTES`).
    func prepareBuckets(compiled: Compilation, buffers: StepBuffers) throws -> GradientBuckets {
        let bytes = try GradientBuckets.bucketBytes(environment: ProcessInfo.processInfo.environment)
        let buckets = GradientBuckets(layers: layers, parameters: compiled.parameters, accumulatorCount: buffers.accumulator.count,
                                      bucketBytes: bytes)
        distributedState.bucketCount = buckets.buckets.count
        return buckets
    }

    /// One data-parallel step's gradients, summed over the ranks: forward and backward on this rank's `rows`
    /// (none: zero gradients), each gradient bucket's allreduce started as soon as the backward pass has produced
    /// it (see ``GradientBuckets``), the epoch's loss and metric sums riding in the last bucket. Then uploads the
    /// sums and adds the weight penalties' gradients, once (every rank holds the same weights, so they agree).
    func computeDistributedGradients(rows: Int, buffers: StepBuffers, compiled: Compilation, needs: StepNeeds,
                                     buckets: GradientBuckets) {
        let state = distributedState
        let parameters = compiled.parameters
        buckets.beginStep()
        var seconds: Double = 0
        let hook: (Int) -> Void = { [backend, distribution] position in
            let started = DispatchTime.now().uptimeNanoseconds
            buckets.layerFinished(position, parameters: parameters, accumulator: buffers.accumulator, backend: backend,
                                  distribution: distribution)
            seconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        }
        if rows > 0 {
            computeGradients(rows: rows, buffers: buffers, compiled: compiled, needs: needs, addsPenaltyGradients: false,
                             afterLayerBackward: hook)
        } else {
            zeroGradients(parameters)
            for position in stride(from: layers.count - 1, through: 0, by: -1) { hook(position) }
        }
        let started = DispatchTime.now().uptimeNanoseconds
        state.reducedSums = buckets.finishStep(parameters: parameters, backend: backend, distribution: distribution)
        addPenaltyGradients(compiled: compiled)
        seconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        state.allreduceSeconds += seconds
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
