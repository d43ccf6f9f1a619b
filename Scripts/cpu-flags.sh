#!/usr/bin/env bash
# Prints the extra `swift build` flags that let the CPU backend use this machine's vector units:
# - `-Xcc -fno-math-errno` (any CPU): Swift's `squareRoot()` on Linux goes through a C inline that keeps glibc's
#   errno contract, which stops LLVM from vectorising it (Adam's update then takes a scalar square root and a
#   branch per lane); without errno it is one `sqrtps` per 8 lanes. Results are unchanged (the square root is
#   correctly rounded either way; MLPKit never reads errno).
# - x86-64-v4 (AVX-512 F/BW/CD/DQ/VL on top of v3) when /proc/cpuinfo lists them: `-target-cpu skylake-avx512`
#   (swiftc takes no `x86-64-v4`; skylake-avx512 is the first CPU with exactly that set and every AVX-512 CPU
#   since, Intel or AMD Zen 4/5, has it) with MLPKIT_FMA and MLPKIT_AVX512, which switches the GEMM to its
#   `SIMD16` micro-kernels sized for the 32 zmm registers and `mlp-bench peak` to 16 lanes.
# - else AVX2 + FMA (x86-64-v3, named `haswell` to the Swift compiler) when /proc/cpuinfo lists them. MLPKIT_FMA
#   switches the GEMM micro-kernel to fused multiply-adds (`addProduct`), which only a target with FMA turns
#   into instructions.
# - AArch64 (Linux `aarch64`, macOS `arm64`): NEON and its fused multiply-add are part of the base architecture,
#   so only MLPKIT_FMA.
# The flags stay out of Package.swift (SwiftPM refuses unsafe flags in a package used as a dependency); a build
# without them is correct everywhere, only slower. MLPKIT_GENERIC_CPU=1 prints nothing (the plain build);
# MLPKIT_CPU_LEVEL=v3 caps an AVX-512 machine at the AVX2 flags (to build and test the eight-lane path there).
set -euo pipefail
[[ "${MLPKIT_GENERIC_CPU:-0}" == "1" ]] && exit 0
out="-Xswiftc -Xcc -Xswiftc -fno-math-errno"
has() { [[ " $flags " == *" $1 "* ]]; }
case "$(uname -m)" in
    x86_64)
        if [[ -r /proc/cpuinfo ]]; then
            flags=$(grep -m1 '^flags' /proc/cpuinfo)
            if has avx2 && has fma && has bmi2 && has movbe; then
                if [[ "${MLPKIT_CPU_LEVEL:-}" != "v3" ]] && has avx512f && has avx512bw && has avx512cd \
                    && has avx512dq && has avx512vl; then
                    out+=" -Xswiftc -target-cpu -Xswiftc skylake-avx512 -Xswiftc -DMLPKIT_FMA -Xswiftc -DMLPKIT_AVX512"
                else
                    out+=" -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DMLPKIT_FMA"
                fi
            fi
        fi
        ;;
    aarch64 | arm64)
        out+=" -Xswiftc -DMLPKIT_FMA"
        ;;
esac
echo "$out"
