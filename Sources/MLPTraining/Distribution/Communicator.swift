/// The processes of a data-parallel training job, as `fit` sees them: who this process is, how many there are,
/// and the collective operations data-parallel training needs.
///
/// `fit(…, distribution:)` takes one. ``SingleProcess`` (the default) is a job of one: every collective is a
/// no-op, so training is exactly the single-process one. `MPICommunicator` (in the `MLPDistributed` product)
/// runs over Open MPI. Every rank must call the collectives in the same order with the same sizes; `fit` does.
public protocol Communicator: AnyObject {
    /// This process's index in the job, 0 ..< ``size``; rank 0 prints and writes files.
    var rank: Int { get }
    /// The number of processes in the job.
    var size: Int { get }
    /// This process's index among the job's processes on the same machine (it chooses the device).
    var localRank: Int { get }
    /// The number of the job's processes on this machine (≥ 1): this process's share of the machine's
    /// processors is 1 / ``localSize`` of them.
    var localSize: Int { get }
    /// Replaces `values` on every rank by their element-wise sum over all ranks (in place).
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>)
    /// Starts replacing `values` on every rank by their element-wise sum over all ranks and returns without
    /// waiting; `values` must stay untouched until ``wait(_:)`` returned or ``test(_:)`` said `true`. Every rank
    /// starts the same sums in the same order. Defaults to a blocking ``allreduceSum(_:)`` that returns a request
    /// already complete.
    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) -> AllreduceRequest
    /// Lets the communicator advance its outstanding sums (an MPI transport progresses only inside MPI calls) and
    /// returns whether `request` has completed (then it is emptied). Defaults to `true`.
    func test(_ request: inout AllreduceRequest) -> Bool
    /// Returns once `request` has completed (then it is emptied). Defaults to returning at once.
    func wait(_ request: inout AllreduceRequest)
    /// Replaces `bytes` on every rank by `root`'s bytes (every rank passes the same count).
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int)
    /// Returns once every rank has called it.
    func barrier()
}

/// A sum ``Communicator/startAllreduceSum(_:)`` started and ``Communicator/wait(_:)`` completes.
public struct AllreduceRequest {
    /// The communicator's handles of the sum's outstanding parts (Open MPI's `MPI_Request`s); empty once complete.
    public var handles: [UnsafeMutableRawPointer?]

    /// A request with `handles` outstanding (none: already complete).
    public init(handles: [UnsafeMutableRawPointer?] = []) {
        self.handles = handles
    }

    /// Whether no part of the sum is outstanding.
    public var isComplete: Bool { handles.isEmpty }
}

extension Communicator {
    /// Sums `values` at once (``allreduceSum(_:)``) and returns a complete request.
    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) -> AllreduceRequest {
        allreduceSum(values)
        return AllreduceRequest()
    }

    /// A request of a communicator without non-blocking sums is complete from its start.
    public func test(_ request: inout AllreduceRequest) -> Bool {
        request.handles.removeAll()
        return true
    }

    /// A request of a communicator without non-blocking sums is complete from its start.
    public func wait(_ request: inout AllreduceRequest) {
        request.handles.removeAll()
    }

    /// Whether this rank prints and writes files (rank 0).
    public var isWriter: Bool { rank == 0 }

    /// Sums `values` over all ranks, in place.
    public func allreduceSum(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { allreduceSum($0) }
    }

    /// Replaces `values` by `root`'s (every rank passes the same count).
    public func broadcast(_ values: inout [Float], root: Int = 0) {
        values.withUnsafeMutableBytes { broadcast($0, root: root) }
    }

    /// Replaces `values` by `root`'s (every rank passes the same count).
    public func broadcast(_ values: inout [UInt64], root: Int = 0) {
        values.withUnsafeMutableBytes { broadcast($0, root: root) }
    }

    /// This rank's contiguous share of `count` rows split over ``size`` ranks (earlier ranks get the shorter
    /// shares when `count` does not divide evenly; a share may be empty when `count < size`).
    public func share(of count: Int) -> Range<Int> {
        Batch.shareRows(of: count, part: rank, of: size)
    }
}

/// A job of one process: rank 0 of 1; the collectives do nothing. `fit`'s default.
public final class SingleProcess: Communicator {
    /// Creates the single-process communicator.
    public init() {}
    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }
    /// Always 0.
    public var localRank: Int { 0 }
    /// Always 1.
    public var localSize: Int { 1 }
    /// Leaves `values` as they are (the sum over one rank).
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
    /// Leaves `bytes` as they are.
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {}
    /// Returns at once.
    public func barrier() {}
}
