#!/bin/sh
# The portable bundle's `mlp` / `mlp-bench` (Scripts/build-portable.sh copies this file under both names): runs the
# binary of the same name built for the best x86-64 level this CPU has, from the folders beside it:
#   v4/  -target-cpu skylake-avx512, MLPKIT_FMA, MLPKIT_AVX512 (AVX-512 F/BW/CD/DQ/VL on top of v3)
#   v3/  -target-cpu haswell, MLPKIT_FMA (AVX2, FMA, BMI2, MOVBE)
#   v2/  generic x86-64 (swiftc takes no x86-64-v2 target CPU): runs on any x86-64 CPU
# The levels are decided as Scripts/cpu-flags.sh decides them, from the first `flags` line of /proc/cpuinfo
# (MLPKIT_CPUINFO names another file, for tests); unreadable: v2.
# MLPKIT_CPU_LEVEL=v2|v3|v4 chooses a level at most the CPU's (a higher one would stop on an illegal instruction:
# refused with an error); MLPKIT_LAUNCHER_VERBOSE=1 prints the chosen level to stderr.
# No subprocess (dirname, basename, grep): each fork and exec cost ~1–2 ms on a loaded machine, more than the rest.
case "$0" in */*) dir=${0%/*} ;; *) dir=. ;; esac
name=${0##*/}
flags=
if [ -r "${MLPKIT_CPUINFO:-/proc/cpuinfo}" ]; then
    while IFS= read -r line; do
        case "$line" in flags*) flags=${line#*:}; break ;; esac
    done < "${MLPKIT_CPUINFO:-/proc/cpuinfo}"
fi
has() {
    for flag in "$@"; do
        case " $flags " in *" $flag "*) ;; *) return 1 ;; esac
    done
    return 0
}
level=v2
if has avx2 fma bmi2 movbe; then
    level=v3
    has avx512f avx512bw avx512cd avx512dq avx512vl && level=v4
fi
case "${MLPKIT_CPU_LEVEL:-}" in
    "") ;;
    v2 | v3 | v4)
        if [ "${MLPKIT_CPU_LEVEL#v}" -gt "${level#v}" ]; then
            echo "error: MLPKIT_CPU_LEVEL=$MLPKIT_CPU_LEVEL, but this CPU has only x86-64-$level" >&2
            exit 1
        fi
        level=$MLPKIT_CPU_LEVEL
        ;;
    *)
        echo "error: MLPKIT_CPU_LEVEL must be v2, v3 or v4; got '$MLPKIT_CPU_LEVEL'" >&2
        exit 1
        ;;
esac
[ "${MLPKIT_LAUNCHER_VERBOSE:-0}" = 1 ] && echo "$name: x86-64-$level ($dir/$level/$name)" >&2
if [ ! -x "$dir/$level/$name" ]; then
    echo "error: $dir/$level/$name is missing (the portable bundle is incomplete)" >&2
    exit 1
fi
exec "$dir/$level/$name" "$@"
