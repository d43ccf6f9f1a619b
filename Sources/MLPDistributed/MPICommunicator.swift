import CMPI
import Foundation
import MLPCore
import MLPTraining

/// A ``Communicator`` over Open MPI's `MPI_COMM_WORLD`: the ranks `mpirun -np N` started.
///
/// ``launched()`` initialises MPI only when the process was started by `mpirun` (Open MPI sets
/// `OMPI_COMM_WORLD_SIZE`, PMIx sets `PMIX_RANK`); a process started on its own stays a single process and never
/// calls into MPI. Call ``finalize()`` on every rank after a clean end: a process that exits without it (an error,
/// an exit in the middle of training) aborts the whole job, so no rank waits forever in a collective for it.
/// MPI errors are fatal (Open MPI's default), which also ends the job.
public final class MPICommunicator: Communicator, Sendable {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of ranks in `MPI_COMM_WORLD`.
    public let size: Int
    /// `OMPI_COMM_WORLD_LOCAL_RANK` (the rank among this machine's processes), else 0.
    public let localRank: Int

    private init(rank: Int, size: Int, localRank: Int) {
        self.rank = rank
        self.size = size
        self.localRank = localRank
    }

    /// Whether the environment says this process was started by `mpirun`.
    public static var isLaunchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// The job this process was launched in (MPI initialised on first use), or nil when it was not started by
    /// `mpirun` or MPI fails to start (`error` then says why).
    public static func launched() throws -> MPICommunicator? {
        guard isLaunchedByMPI else { return nil }
        return try shared.get()
    }

    private static let shared: Result<MPICommunicator, MLPError> = {
        let status = mlp_mpi_init()
        guard status == MPI_SUCCESS else { return .failure(.notReady("MPI_Init failed with MPI error \(status)")) }
        var rank: Int32 = 0
        var size: Int32 = 1
        MPI_Comm_rank(mlp_mpi_comm_world(), &rank)
        MPI_Comm_size(mlp_mpi_comm_world(), &size)
        let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap { Int($0) } ?? 0
        return .success(MPICommunicator(rank: Int(rank), size: Int(size), localRank: local))
    }()

    /// `MPI_Allreduce(MPI_IN_PLACE, …, MPI_FLOAT, MPI_SUM)`; large buffers go in chunks of at most 2³⁰ floats.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        guard let base = values.baseAddress else { return }
        var offset = 0
        while offset < values.count {
            let count = min(values.count - offset, 1 << 30)
            MPI_Allreduce(mlp_mpi_in_place(), base + offset, Int32(count), mlp_mpi_float(), mlp_mpi_sum(), mlp_mpi_comm_world())
            offset += count
        }
    }

    /// `MPI_Bcast` of the bytes from `root`, in chunks of at most 2³⁰ bytes.
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let count = min(bytes.count - offset, 1 << 30)
            MPI_Bcast(base + offset, Int32(count), mlp_mpi_byte(), Int32(root), mlp_mpi_comm_world())
            offset += count
        }
    }

    /// `MPI_Barrier`.
    public func barrier() {
        MPI_Barrier(mlp_mpi_comm_world())
    }

    /// Ends MPI cleanly (`MPI_Finalize`); every rank calls it once, after its last collective.
    public func finalize() {
        _ = mlp_mpi_finalize()
    }
}
