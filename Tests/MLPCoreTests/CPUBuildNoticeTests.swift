import Foundation
@testable import MLPCore
import MLPTestSupport
import XCTest

/// The decision behind the one-line notice of a build that leaves the CPU's vector units unused.
final class CPUBuildNoticeTests: XCTestCase {
    let v3: Set<String> = ["sse2", "avx", "avx2", "fma", "bmi2", "movbe"]
    var v4: Set<String> { v3.union(["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]) }

    func testCPULevelNeedsEveryFeatureOfTheLevel() {
        XCTAssertEqual(CPUBuildNotice.cpuLevel(flags: v4, architecture: "x86_64"), .avx512)
        XCTAssertEqual(CPUBuildNotice.cpuLevel(flags: v3, architecture: "x86_64"), .fma)
        // AVX-512 F without VL is not x86-64-v4 (Xeon Phi); v3 without MOVBE is not v3.
        XCTAssertEqual(CPUBuildNotice.cpuLevel(flags: v4.subtracting(["avx512vl"]), architecture: "x86_64"), .fma)
        XCTAssertEqual(CPUBuildNotice.cpuLevel(flags: v3.subtracting(["movbe"]), architecture: "x86_64"), .baseline)
        XCTAssertEqual(CPUBuildNotice.cpuLevel(flags: [], architecture: "x86_64"), .baseline)
        XCTAssertEqual(CPUBuildNotice.cpuLevel(flags: ["fp", "asimd"], architecture: "aarch64"), .fma)
        XCTAssertEqual(CPUBuildNotice.cpuLevel(flags: v4, architecture: "riscv64"), .baseline)
    }

    func testAPlainReleaseBuildOnAnAVX512CPUNamesTheExactFlags() throws {
        let line = try XCTUnwrap(CPUBuildNotice.notice(cpuFlags: v4, architecture: "x86_64", built: .baseline,
                                                       optimized: true, environment: [:]))
        XCTAssertTrue(line.contains("`swift build -c release -Xswiftc -Xcc -Xswiftc -fno-math-errno -Xswiftc -target-cpu "
                                    + "-Xswiftc skylake-avx512 -Xswiftc -DMLPKIT_FMA -Xswiftc -DMLPKIT_AVX512`"), line)
        XCTAssertTrue(line.contains("MLPKIT_NO_CPU_NOTICE=1"), line)
        XCTAssertFalse(line.contains("\n"), "one line")
        // An AVX2 build on the same CPU is told about AVX-512 too.
        let fromV3 = try XCTUnwrap(CPUBuildNotice.notice(cpuFlags: v4, architecture: "x86_64", built: .fma,
                                                         optimized: true, environment: [:]))
        XCTAssertTrue(fromV3.contains("uses FMA vector code but the CPU has AVX-512"), fromV3)
        let onV3 = try XCTUnwrap(CPUBuildNotice.notice(cpuFlags: v3, architecture: "x86_64", built: .baseline,
                                                       optimized: true, environment: [:]))
        XCTAssertTrue(onV3.contains("-target-cpu -Xswiftc haswell -Xswiftc -DMLPKIT_FMA`"), onV3)
        let onArm = try XCTUnwrap(CPUBuildNotice.notice(cpuFlags: ["asimd"], architecture: "aarch64", built: .baseline,
                                                        optimized: true, environment: [:]))
        XCTAssertTrue(onArm.contains("-fno-math-errno -Xswiftc -DMLPKIT_FMA`"), onArm)
    }

    func testNoNoticeWhenTheBuildMatchesSilencedOrUnoptimised() {
        XCTAssertNil(CPUBuildNotice.notice(cpuFlags: v4, architecture: "x86_64", built: .avx512, optimized: true, environment: [:]))
        XCTAssertNil(CPUBuildNotice.notice(cpuFlags: v3, architecture: "x86_64", built: .fma, optimized: true, environment: [:]))
        XCTAssertNil(CPUBuildNotice.notice(cpuFlags: [], architecture: "x86_64", built: .baseline, optimized: true, environment: [:]))
        XCTAssertNil(CPUBuildNotice.notice(cpuFlags: v4, architecture: "x86_64", built: .baseline, optimized: true,
                                           environment: ["MLPKIT_NO_CPU_NOTICE": "1"]))
        XCTAssertNil(CPUBuildNotice.notice(cpuFlags: v4, architecture: "x86_64", built: .baseline, optimized: false, environment: [:]))
    }

    func testReadsTheFlagsLineOfCPUInfo() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 fma\nbugs\t\t: spectre\n"
        XCTAssertEqual(CPUBuildNotice.cpuFlags(cpuinfo: x86), ["fpu", "sse2", "avx2", "fma"])
        XCTAssertEqual(CPUBuildNotice.cpuFlags(cpuinfo: "processor\t: 0\nFeatures\t: fp asimd\n"), ["fp", "asimd"])
        XCTAssertEqual(CPUBuildNotice.cpuFlags(cpuinfo: ""), [])
    }

    /// The notice's flags are the ones Scripts/cpu-flags.sh prints for this machine, so the two cannot drift apart.
    func testFlagsMatchCPUFlagsScriptOnThisMachine() throws {
        #if arch(x86_64)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts/cpu-flags.sh")
        // The script's own overrides (a generic or capped build) cleared: the machine's best flags.
        let result = try runProcess(URL(fileURLWithPath: "/bin/bash"), [script.path],
                                    environment: ["MLPKIT_GENERIC_CPU": "0", "MLPKIT_CPU_LEVEL": ""])
        XCTAssertEqual(result.status, 0, result.stderr)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let level = CPUBuildNotice.cpuLevel(flags: CPUBuildNotice.cpuFlags(cpuinfo: cpuinfo), architecture: "x86_64")
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                       CPUBuildNotice.buildFlags(for: level, architecture: "x86_64"))
        #else
        throw XCTSkip("cpu-flags.sh reads /proc/cpuinfo on x86-64 only")
        #endif
    }
}
