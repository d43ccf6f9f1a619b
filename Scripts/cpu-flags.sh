#!/usr/bin/env bash
# Prints the extra `swift build` flags that let the CPU backend's SIMD GEMM use this machine's vector units:
# AVX2 + FMA (x86-64-v3, named `haswell` to the Swift compiler) when /proc/cpuinfo lists them, nothing otherwise.
# MLPKIT_FMA switches the GEMM micro-kernel to fused multiply-adds (`addProduct`), which only a target with FMA
# turns into instructions.
# The flags stay out of Package.swift (SwiftPM refuses unsafe flags in a package used as a dependency); a build
# without them is correct everywhere, only its GEMM is slower (~32 vs ~80 GFLOP/s at 1024³ on the dev machine).
set -euo pipefail
if [[ "$(uname -m)" == "x86_64" && "${MLPKIT_GENERIC_CPU:-0}" != "1" ]] && [[ -r /proc/cpuinfo ]]; then
    flags=$(grep -m1 '^flags' /proc/cpuinfo)
    if [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* && " $flags " == *" bmi2 "* && " $flags " == *" movbe "* ]]; then
        echo "-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DMLPKIT_FMA"
    fi
fi
