import Foundation
import XCTest
@testable import MLPCommandLine
import MLPKit
import MLPTestSupport

/// Open MPI is loaded at run time, under `mpirun` only: the binaries link no libmpi, a missing or wrong library is
/// one clear error, and the local size a rank's thread share comes from is the communicator's.
extension CommandLineTests {
    /// `readelf -d file`'s shared-library dependencies (its NEEDED entries).
    func neededLibraries(_ file: URL) throws -> [String] {
        let readelf = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("readelf") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        guard let readelf else {
            let message = "readelf is not on PATH (binutils)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw MPIUnavailable(description: message) }
            throw XCTSkip(message)
        }
        let run = try runProcess(readelf, ["-d", file.path], currentDirectory: directory)
        XCTAssertEqual(run.status, 0, run.stderr)
        return run.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line in
            guard let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]"), open < close else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    /// Neither `mlp` nor `mlp-bench` needs Open MPI's libraries to start (they `dlopen` libmpi under mpirun).
    func testBinariesLinkNoOpenMPILibrary() throws {
        for binary in [executable, Bundle.main.bundleURL.appendingPathComponent("mlp-bench")] {
            let needed = try neededLibraries(binary)
            XCTAssertTrue(needed.contains("libc.so.6"), "\(binary.lastPathComponent) needs \(needed)")
            XCTAssertEqual(needed.filter { $0.contains("libmpi") || $0.contains("libopen-") || $0.contains("libpmix") }, [],
                           "\(binary.lastPathComponent) needs \(needed)")
        }
    }

    /// Under mpirun's environment with a library that is not there: one `error:` line naming the file tried and
    /// the package to install, exit status 1, no model written.
    func testMissingOpenMPILibraryIsOneClearError() throws {
        let missing = directory.appendingPathComponent("no-open-mpi/libmpi.so.40").path
        let run = try mlp("train", "--epochs", "1", "--verbose", "0", "--save", "model.keras",
                          environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0", "MLPKIT_MPI_LIBRARY": missing])
        assertOneLineError(run, contains: "Open MPI's library could not be loaded (tried MLPKIT_MPI_LIBRARY=\(missing): \(missing): cannot open shared object file")
        XCTAssertTrue(run.stderr.contains("apt install openmpi-bin"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.keras").path))
        // PMIx's variable alone (another launcher) counts as mpirun too.
        let pmix = try mlp("train", "--epochs", "1", "--verbose", "0", environment: ["PMIX_RANK": "0", "MLPKIT_MPI_LIBRARY": missing])
        assertOneLineError(pmix, contains: "cannot open shared object file")
    }

    /// A library that loads but is not Open MPI's (zlib, which `mlp` itself links) is refused with the symbol it lacks.
    func testALibraryThatIsNotOpenMPIIsRefused() throws {
        let run = try mlp("train", "--epochs", "1", "--verbose", "0",
                          environment: ["OMPI_COMM_WORLD_SIZE": "2", "MLPKIT_MPI_LIBRARY": "libz.so.1"])
        assertOneLineError(run, contains: "libz.so.1 has no symbol MPI_Init, so it is not Open MPI's libmpi")
    }

    /// Without mpirun's environment nothing is loaded: a library setting that could not load changes nothing.
    func testASingleProcessNeverLoadsOpenMPI() throws {
        let run = try mlp("train", "--epochs", "1", "--verbose", "0", "--save", "model.keras",
                          environment: ["MLPKIT_MPI_LIBRARY": directory.appendingPathComponent("missing.so").path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.keras").path))
    }

    /// The thread share's local rank and size are the communicator's (not read from the environment apart).
    func testLocalPlacementIsTheCommunicators() {
        final class Placed: Communicator {
            var rank: Int { 5 }
            var size: Int { 8 }
            var localRank: Int { 1 }
            var localSize: Int { 3 }
            func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
            func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {}
            func barrier() {}
        }
        let placed = Train.localPlacement(Placed())
        XCTAssertEqual(placed.rank, 1)
        XCTAssertEqual(placed.size, 3)
        let single = Train.localPlacement(SingleProcess())
        XCTAssertEqual(single.rank, 0)
        XCTAssertEqual(single.size, 1)
    }
}
