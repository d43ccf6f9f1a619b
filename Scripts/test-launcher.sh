#!/usr/bin/env bash
# Tests the portable bundle's launcher (Scripts/portable-launcher.sh) on fake /proc/cpuinfo files (MLPKIT_CPUINFO)
# and fake binaries that print their level: the level chosen for v2/v3/v4 CPUs, the MLPKIT_CPU_LEVEL override
# (and its refusals), MLPKIT_LAUNCHER_VERBOSE, the arguments passed on, the exit status kept, a missing binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for level in v2 v3 v4; do
    mkdir -p "$work/$level"
    printf '#!/bin/sh\necho "%s $*"\nexit 3\n' "$level" > "$work/$level/mlp"
    chmod +x "$work/$level/mlp"
done
cp "$root/Scripts/portable-launcher.sh" "$work/mlp"
v2="fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt cx16"
v3="$v2 avx avx2 fma bmi1 bmi2 movbe"
v4="$v3 avx512f avx512bw avx512cd avx512dq avx512vl"
printf 'processor\t: 0\nflags\t\t: %s\n\nprocessor\t: 1\nflags\t\t: %s\n' "$v2" "$v4" > "$work/cpu-v2"   # the first line counts
printf 'flags\t\t: %s\n' "$v3" > "$work/cpu-v3"
printf 'flags\t\t: %s\n' "$v4" > "$work/cpu-v4"
printf 'flags\t\t: %s\n' "${v4/ avx512vl/}" > "$work/cpu-v4-no-vl"
printf 'flags\t\t: %s\n' "${v3/ movbe/}" > "$work/cpu-v3-no-movbe"
failures=0
check() {  # check NAME EXPECTED_OUTPUT EXPECTED_STATUS [env assignments...] -- args
    local name=$1 expected=$2 status=$3
    shift 3
    local env_args=()
    while [[ $1 != -- ]]; do env_args+=("$1"); shift; done
    shift
    local out rc=0
    out=$(env -u MLPKIT_CPU_LEVEL -u MLPKIT_LAUNCHER_VERBOSE "${env_args[@]}" sh "$work/mlp" "$@" 2>&1) || rc=$?
    if [[ $out != "$expected" || $rc != "$status" ]]; then
        echo "FAIL $name: got '$out' (status $rc), expected '$expected' (status $status)"
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
}
check "v2 CPU" "v2 --version" 3 MLPKIT_CPUINFO="$work/cpu-v2" -- --version
check "v3 CPU" "v3 train --epochs 2" 3 MLPKIT_CPUINFO="$work/cpu-v3" -- train --epochs 2
check "v4 CPU" "v4 " 3 MLPKIT_CPUINFO="$work/cpu-v4" --
check "AVX-512 without VL is v3" "v3 " 3 MLPKIT_CPUINFO="$work/cpu-v4-no-vl" --
check "AVX2 without MOVBE is v2" "v2 " 3 MLPKIT_CPUINFO="$work/cpu-v3-no-movbe" --
check "no cpuinfo is v2" "v2 " 3 MLPKIT_CPUINFO="$work/missing" --
check "override v3 on v4" "v3 x" 3 MLPKIT_CPUINFO="$work/cpu-v4" MLPKIT_CPU_LEVEL=v3 -- x
check "override v2 on v4" "v2 " 3 MLPKIT_CPUINFO="$work/cpu-v4" MLPKIT_CPU_LEVEL=v2 --
check "override above the CPU" "error: MLPKIT_CPU_LEVEL=v4, but this CPU has only x86-64-v3" 1 \
    MLPKIT_CPUINFO="$work/cpu-v3" MLPKIT_CPU_LEVEL=v4 --
check "bad override" "error: MLPKIT_CPU_LEVEL must be v2, v3 or v4; got 'avx2'" 1 MLPKIT_CPUINFO="$work/cpu-v4" MLPKIT_CPU_LEVEL=avx2 --
check "verbose" "mlp: x86-64-v4 ($work/v4/mlp)
v4 a b" 3 MLPKIT_CPUINFO="$work/cpu-v4" MLPKIT_LAUNCHER_VERBOSE=1 -- a b
check "arguments with spaces" "v3 one two  three" 3 MLPKIT_CPUINFO="$work/cpu-v3" -- "one two" " three"
# This machine: the launcher's level is the one Scripts/cpu-flags.sh builds for.
case "$(env -u MLPKIT_CPU_LEVEL -u MLPKIT_GENERIC_CPU bash "$root/Scripts/cpu-flags.sh")" in
    *skylake-avx512*) here=v4 ;;
    *haswell*) here=v3 ;;
    *) here=v2 ;;
esac
[[ -r /proc/cpuinfo && $(uname -m) == x86_64 ]] && check "this CPU, as cpu-flags.sh" "$here " 3 --
rm "$work/v4/mlp"
check "missing binary" "error: $work/v4/mlp is missing (the portable bundle is incomplete)" 1 MLPKIT_CPUINFO="$work/cpu-v4" --
if [[ $failures != 0 ]]; then echo "error: $failures launcher checks failed" >&2; exit 1; fi
echo "launcher: all checks passed"
