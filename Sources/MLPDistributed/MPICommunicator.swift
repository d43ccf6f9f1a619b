import CMPI
import Foundation
import MLPCore
import MLPTraining

/// A ``Communicator`` over Open MPI's `MPI_COMM_WORLD`: the ranks `mpirun -np N` started.
///
/// ``launched()`` initialises MPI only when the process was started by `mpirun` (Open MPI sets
/// `OMPI_COMM_WORLD_SIZE`, PMIx sets `PMIX_RANK`); a process started on its own stays a single process and never
/// calls into MPI. Open MPI's library is not linked: ``launched()`` loads it then (`libmpi.so.40`, else
/// `libmpi.so`, or the file ``libraryVariable`` names), so a program using this type builds without Open MPI's
/// headers and runs where Open MPI is not installed. Call ``finalize()`` on every rank after a clean end: a
/// process that exits without it (an error, an exit in the middle of training) aborts the whole job, so no rank
/// waits forever in a collective for it. MPI errors are fatal (Open MPI's default), which also ends the job.
public final class MPICommunicator: Communicator, Sendable {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of ranks in `MPI_COMM_WORLD`.
    public let size: Int
    /// `OMPI_COMM_WORLD_LOCAL_RANK` (the rank among this machine's processes), else 0.
    public let localRank: Int
    /// `OMPI_COMM_WORLD_LOCAL_SIZE` (the number of this job's processes on this machine), else ``size``.
    public let localSize: Int

    /// The environment variable that names the Open MPI library to load instead of `libmpi.so.40` (then
    /// `libmpi.so`): a path, or a file name the dynamic loader searches for. Only that file is tried.
    public static let libraryVariable = "MLPKIT_MPI_LIBRARY"

    private init(rank: Int, size: Int, localRank: Int, localSize: Int) {
        self.rank = rank
        self.size = size
        self.localRank = localRank
        self.localSize = localSize
    }

    /// Whether the environment says this process was started by `mpirun`.
    public static var isLaunchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// The job this process was launched in (Open MPI loaded and MPI initialised on first use), or nil when it
    /// was not started by `mpirun`. Throws when Open MPI's library cannot be loaded (the error names the files
    /// tried and the package that provides them) or `MPI_Init` fails.
    public static func launched() throws -> MPICommunicator? {
        guard isLaunchedByMPI else { return nil }
        return try shared.get()
    }

    private static let shared: Result<MPICommunicator, MLPError> = {
        let environment = ProcessInfo.processInfo.environment
        let library = environment[libraryVariable].flatMap { $0.isEmpty ? nil : $0 }
        var reason = [CChar](repeating: 0, count: 4096)
        let loaded = library.map { mlp_mpi_load($0, &reason, reason.count) } ?? mlp_mpi_load(nil, &reason, reason.count)
        guard loaded == 0 else {
            let tried = library.map { "\(libraryVariable)=\($0)" } ?? "libmpi.so.40, libmpi.so"
            let detail = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(.notReady("mpirun started this process (OMPI_COMM_WORLD_SIZE or PMIX_RANK is set), "
                + "but Open MPI's library could not be loaded (tried \(tried): \(detail)); data-parallel training "
                + "needs Open MPI 4 or later on every machine of the job (Debian/Ubuntu: apt install openmpi-bin)"))
        }
        let status = mlp_mpi_init()
        guard status == 0 else { return .failure(.notReady("MPI_Init failed with MPI error \(status)")) }
        var rank: Int32 = 0
        var size: Int32 = 1
        mlp_mpi_rank(&rank)
        mlp_mpi_size(&size)
        let localRank = environment["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap { Int($0) } ?? 0
        let localSize = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }.map { max($0, 1) } ?? Int(size)
        return .success(MPICommunicator(rank: Int(rank), size: Int(size), localRank: localRank, localSize: localSize))
    }()

    /// `MPI_Allreduce(MPI_IN_PLACE, …, MPI_FLOAT, MPI_SUM)`; large buffers go in chunks of at most 2³⁰ floats.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        guard let base = values.baseAddress else { return }
        var offset = 0
        while offset < values.count {
            let count = min(values.count - offset, 1 << 30)
            mlp_mpi_allreduce_sum_floats(base + offset, Int32(count))
            offset += count
        }
    }

    /// `MPI_Iallreduce(MPI_IN_PLACE, …, MPI_FLOAT, MPI_SUM)`, one request per chunk of at most 2³⁰ floats.
    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) -> AllreduceRequest {
        guard let base = values.baseAddress else { return AllreduceRequest() }
        var request = AllreduceRequest()
        var offset = 0
        while offset < values.count {
            let count = min(values.count - offset, 1 << 30)
            var handle: UnsafeMutableRawPointer?
            mlp_mpi_iallreduce_sum_floats(base + offset, Int32(count), &handle)
            request.handles.append(handle)
            offset += count
        }
        return request
    }

    /// `MPI_Test` on each outstanding part (which also advances Open MPI's transports); drops the completed ones.
    public func test(_ request: inout AllreduceRequest) -> Bool {
        request.handles.removeAll { handle in
            var handle = handle
            var completed: Int32 = 0
            mlp_mpi_test(&handle, &completed)
            return completed != 0
        }
        return request.isComplete
    }

    /// `MPI_Wait` on each outstanding part.
    public func wait(_ request: inout AllreduceRequest) {
        for index in request.handles.indices { mlp_mpi_wait(&request.handles[index]) }
        request.handles.removeAll()
    }

    /// `MPI_Bcast` of the bytes from `root`, in chunks of at most 2³⁰ bytes.
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let count = min(bytes.count - offset, 1 << 30)
            mlp_mpi_broadcast_bytes(base + offset, Int32(count), Int32(root))
            offset += count
        }
    }

    /// `MPI_Barrier`.
    public func barrier() {
        mlp_mpi_barrier()
    }

    /// Ends MPI cleanly (`MPI_Finalize`); every rank calls it once, after its last collective.
    public func finalize() {
        _ = mlp_mpi_finalize()
    }
}
