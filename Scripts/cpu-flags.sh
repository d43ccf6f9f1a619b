#!/usr/bin/env bash
# Prints the extra `swift build` flags that let the CPU backend use this machine's vector units:
# - `-Xcc -fno-math-errno` (any CPU): Swift's `squareRoot()` on Linux goes through a C inline that keeps glibc's
#   errno contract, which stops LLVM from vectorising it (Adam's update then takes a scalar square root and a
#   branch per lane); without errno it is one `sqrtps` per 8 lanes. Results are unchanged (the square root is
#   correctly rounded either way; MLPKit never reads errno).
# - AVX2 + FMA (x86-64-v3, named `haswell` to the Swift compiler) when /proc/cpuinfo lists them. MLPKIT_FMA
#   switches the GEMM micro-kernel to fused multiply-adds (`addProduct`), which only a target with FMA turns
#   into instructions.
# The flags stay out of Package.swift (SwiftPM refuses unsafe flags in a package used as a dependency); a build
# without them is correct everywhere, only slower. MLPKIT_GENERIC_CPU=1 prints nothing (the plain build).
set -euo pipefail
[[ "${MLPKIT_GENERIC_CPU:-0}" == "1" ]] && exit 0
out="-Xswiftc -Xcc -Xswiftc -fno-math-errno"
if [[ "$(uname -m)" == "x86_64" ]] && [[ -r /proc/cpuinfo ]]; then
    flags=$(grep -m1 '^flags' /proc/cpuinfo)
    if [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* && " $flags " == *" bmi2 "* && " $flags " == *" movbe "* ]]; then
        out+=" -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DMLPKIT_FMA"
    fi
fi
echo "$out"
