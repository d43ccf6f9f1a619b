import ArgumentParser
import Foundation
import MLPDistributed
import MLPKit

/// A ``Communicator`` that times another's collectives: seconds inside `allreduceSum`, its calls and bytes
/// (the MPI call alone; the gradients' download and upload around it are the model's `allreduceSecondsPerStep`).
/// With several ranks each allreduce is preceded by a timed barrier, so the wait for the slowest rank (load
/// imbalance, a core taken by another process) is counted apart from the transfer. Bucketed sums
/// (`MLPKIT_ALLREDUCE_BUCKET_BYTES`) are timed in their start, tests and wait, without a barrier (it would stop
/// the overlap), so there the wait for the slowest rank is part of the allreduce seconds.
final class TimingCommunicator: Communicator {
    let inner: any Communicator
    var waitSeconds: Double = 0
    var allreduceSeconds: Double = 0
    var allreduceCalls = 0
    var allreduceBytes = 0

    init(_ inner: any Communicator) { self.inner = inner }

    var rank: Int { inner.rank }
    var size: Int { inner.size }
    var localRank: Int { inner.localRank }
    var localSize: Int { inner.localSize }

    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        if inner.size > 1 {
            let arrived = DispatchTime.now().uptimeNanoseconds
            inner.barrier()
            waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - arrived) / 1e9
        }
        let started = DispatchTime.now().uptimeNanoseconds
        inner.allreduceSum(values)
        allreduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        allreduceCalls += 1
        allreduceBytes += values.count * MemoryLayout<Float>.size
    }

    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) -> AllreduceRequest {
        allreduceCalls += 1
        allreduceBytes += values.count * MemoryLayout<Float>.size
        return timed { inner.startAllreduceSum(values) }
    }

    func test(_ request: inout AllreduceRequest) -> Bool {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { allreduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        return inner.test(&request)
    }

    func wait(_ request: inout AllreduceRequest) {
        let started = DispatchTime.now().uptimeNanoseconds
        inner.wait(&request)
        allreduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    }

    private func timed<T>(_ body: () -> T) -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { allreduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        return body()
    }

    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) { inner.broadcast(bytes, root: root) }
    func barrier() { inner.barrier() }

    func reset() { waitSeconds = 0; allreduceSeconds = 0; allreduceCalls = 0; allreduceBytes = 0 }
}

/// Clocks the steps after the warm-up: resets the communicator's counters when step `warmUp − 1` ends and
/// reads them and the clock when the last step ends.
final class StepClock: Callback {
    let warmUp: Int, last: Int
    let communicator: TimingCommunicator
    var started: UInt64 = 0
    var seconds: Double = 0
    var allreduce: (wait: Double, seconds: Double, calls: Int, bytes: Int) = (0, 0, 0, 0)

    init(warmUp: Int, last: Int, communicator: TimingCommunicator) {
        self.warmUp = warmUp
        self.last = last
        self.communicator = communicator
    }

    override func onTrainBatchEnd(_ batch: Int, logs: Logs?) throws {
        if batch == warmUp - 1 {
            communicator.reset()
            started = DispatchTime.now().uptimeNanoseconds
        } else if batch == last {
            seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            allreduce = (communicator.waitSeconds, communicator.allreduceSeconds, communicator.allreduceCalls, communicator.allreduceBytes)
        }
    }
}

/// One rank of `mlp-bench scale`'s job (run under `mpirun` by the parent): `warmUp + steps` training steps of
/// the workload's global batch split over the ranks, on a CPU backend of `threads` threads; rank 0 returns the
/// figures, the others nil. With several ranks it then probes the transport: the median `allreduceSum` of 1 float
/// (latency) and of 4 Mi floats (bandwidth).
func runScaleRank(_ workload: Workload, steps: Int, threads: Int) throws -> [String: Any]? {
    guard let mpi = try MPICommunicator.launched() else {
        throw ValidationError("scale --worker runs under mpirun (mlp-bench scale launches it)")
    }
    let communicator = TimingCommunicator(mpi)
    let warmUp = max(2, steps / 10)
    let (x, y) = workload.data(samples: (warmUp + steps) * workload.batch)
    let model = try workload.model(backend: CPUBackend(threadCount: threads))
    model.output = { _ in }
    let clock = StepClock(warmUp: warmUp, last: warmUp + steps - 1, communicator: communicator)
    try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false, callbacks: [clock],
                  distribution: communicator)
    var probe: [String: Any] = [:]
    if mpi.size > 1 {
        var small: [Float] = [1]
        var large = [Float](repeating: 1, count: 1 << 22)
        let latency = (0..<200).map { _ in seconds { mpi.allreduceSum(&small) } }
        let bulk = (0..<5).map { _ in seconds { mpi.allreduceSum(&large) } }
        probe = ["probe_small_seconds": middle(latency), "probe_large_seconds": middle(bulk), "probe_large_bytes": large.count * 4]
    }
    mpi.barrier()
    mpi.finalize()
    guard mpi.rank == 0 else { return nil }
    let parameters = model.layers.flatMap(\.parameters).map(\.count).reduce(0, +)
    let stepsDone = Double(steps)
    return [
        "workload": workload.name, "ranks": mpi.size, "threads_per_rank": threads, "steps": steps,
        "global_batch": workload.batch, "parameters": parameters,
        "training_flops_per_step": workload.trainingFlopsPerSample * Double(workload.batch),
        "seconds": clock.seconds, "steps_per_second": stepsDone / clock.seconds,
        "allreduce_seconds_per_step": clock.allreduce.seconds / stepsDone,
        "step_allreduce_seconds_per_step": model.allreduceSecondsPerStep,
        "wait_seconds_per_step": clock.allreduce.wait / stepsDone,
        "allreduce_calls_per_step": Double(clock.allreduce.calls) / stepsDone,
        "allreduce_bytes_per_step": Double(clock.allreduce.bytes) / stepsDone,
    ].merging(probe) { a, _ in a }
}
