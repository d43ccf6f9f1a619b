import Foundation
import Synchronization

/// The one-line notice for a build of MLPKit that leaves the CPU's vector units unused.
///
/// SwiftPM gives a package no way to choose the target CPU for its users: `unsafeFlags` are refused in a
/// dependency, and a plain `swift build -c release` compiles for the generic x86-64 (SSE2, no FMA), several times
/// slower for training than a build for the machine. So the first training step of an optimised build checks what
/// the build was compiled for (the `MLPKIT_FMA`/`MLPKIT_AVX512` conditions that `Scripts/cpu-flags.sh` sets)
/// against what the CPU has (`/proc/cpuinfo`) and, where the CPU has more, prints one line to stderr naming the
/// exact flags to add, once per process. `MLPKIT_NO_CPU_NOTICE=1` silences it; a debug build never prints it
/// (it is slow for other reasons, and the advice is for release builds).
public enum CPUBuildNotice {
    /// The vector levels the notice compares, lowest first.
    public enum Level: Int, Comparable, Sendable, CustomStringConvertible {
        /// No FMA: baseline x86-64 (SSE2), or AArch64 without the `MLPKIT_FMA` condition.
        case baseline
        /// Fused multiply-add without AVX-512: x86-64-v3 (AVX2, FMA, BMI2, MOVBE), or AArch64's NEON FMA.
        case fma
        /// x86-64-v4: AVX-512 F, BW, CD, DQ and VL on top of v3.
        case avx512

        /// Levels are ordered by what they add: baseline < fma (x86-64-v3) < avx512 (x86-64-v4).
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .baseline: return "no FMA"
            case .fma: return "FMA"
            case .avx512: return "AVX-512"
            }
        }
    }

    /// The level this build of MLPCore was compiled for (its compilation conditions).
    public static var builtLevel: Level {
        #if MLPKIT_AVX512
        return .avx512
        #elseif MLPKIT_FMA
        return .fma
        #else
        return .baseline
        #endif
    }

    /// The highest level a CPU with these `/proc/cpuinfo` flags runs, for an x86-64 CPU (`architecture`
    /// "x86_64") or AArch64 ("aarch64"/"arm64", where FMA is part of the base architecture); `.baseline` for others.
    public static func cpuLevel(flags: Set<String>, architecture: String) -> Level {
        switch architecture {
        case "x86_64":
            guard ["avx2", "fma", "bmi2", "movbe"].allSatisfy(flags.contains) else { return .baseline }
            return ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"].allSatisfy(flags.contains) ? .avx512 : .fma
        case "aarch64", "arm64":
            return .fma
        default:
            return .baseline
        }
    }

    /// The `swift build` flags for `level`, as `Scripts/cpu-flags.sh` prints them.
    public static func buildFlags(for level: Level, architecture: String) -> String {
        var flags = "-Xswiftc -Xcc -Xswiftc -fno-math-errno"
        switch (level, architecture) {
        case (.baseline, _): break
        case (.fma, "x86_64"): flags += " -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DMLPKIT_FMA"
        case (.avx512, "x86_64"): flags += " -Xswiftc -target-cpu -Xswiftc skylake-avx512 -Xswiftc -DMLPKIT_FMA -Xswiftc -DMLPKIT_AVX512"
        default: flags += " -Xswiftc -DMLPKIT_FMA"
        }
        return flags
    }

    /// The notice, or nil when none is due: the CPU (`cpuFlags`, `architecture`) has a higher level than the build
    /// (`built`), the build is optimised (`optimized`) and `environment` has no `MLPKIT_NO_CPU_NOTICE=1`.
    public static func notice(cpuFlags: Set<String>, architecture: String, built: Level, optimized: Bool,
                              environment: [String: String]) -> String? {
        guard optimized, environment["MLPKIT_NO_CPU_NOTICE"] != "1" else { return nil }
        let cpu = cpuLevel(flags: cpuFlags, architecture: architecture)
        guard cpu > built else { return nil }
        return "MLPKit: this build uses \(built) vector code but the CPU has \(cpu); for faster training rebuild with "
            + "`swift build -c release \(buildFlags(for: cpu, architecture: architecture))` "
            + "(MLPKIT_NO_CPU_NOTICE=1 silences this)"
    }

    /// The first line of `/proc/cpuinfo` that starts with `flags` (x86) or `Features` (AArch64), split into words;
    /// empty when the file is missing or unreadable (the notice then stays quiet on x86).
    public static func cpuFlags(cpuinfo: String) -> Set<String> {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") || line.hasPrefix("Features") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// This process's notice (nil when none is due), decided once.
    static let current: String? = {
        #if arch(x86_64)
        let architecture = "x86_64"
        #elseif arch(arm64)
        let architecture = "aarch64"
        #else
        let architecture = "other"
        #endif
        #if DEBUG
        let optimized = false
        #else
        let optimized = true
        #endif
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return notice(cpuFlags: cpuFlags(cpuinfo: cpuinfo), architecture: architecture, built: builtLevel,
                      optimized: optimized, environment: ProcessInfo.processInfo.environment)
    }()

    private static let shown = Atomic<Bool>(false)

    /// Prints this process's notice to stderr the first time it is called (the first training step); later
    /// calls, and processes with nothing to say, print nothing.
    public static func showOnce() {
        guard !shown.exchange(true, ordering: .relaxed), let current else { return }
        FileHandle.standardError.write(Data((current + "\n").utf8))
    }
}
