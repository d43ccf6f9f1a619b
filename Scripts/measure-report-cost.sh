#!/usr/bin/env bash
# What `--report` costs the main job (`mlp train` on the embedded digits, as Scripts/train.sh runs it): the release
# `mlp` trains RUNS times without and RUNS times with `--report`, alternating so that a busy machine slows both
# alike, and prints each run's wall time and CPU time (user + system of the child, from getrusage(RUSAGE_CHILDREN))
# and the medians and minima of both. On a busy shared machine series differ by several percent; instruction
# counts are repeatable (valgrind --tool=callgrind on a build without AVX-512, e.g. MLPKIT_CPU_LEVEL=v3). Extra arguments go to every `mlp train` (default: --epochs 20 --seed 1).
#   Scripts/measure-report-cost.sh            # RUNS=21 by default
#   RUNS=11 Scripts/measure-report-cost.sh --epochs 30 --seed 2
#   MLP=.build/debug/mlp RUNS=3 Scripts/measure-report-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-21}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive whole number, got '$runs'" >&2; exit 2; }
[ $# -eq 0 ] && set -- --epochs 20 --seed 1
mlp="${MLP:-}"   # MLP=path/to/mlp measures that binary instead of building the release one
if [ -z "$mlp" ]; then
    # shellcheck disable=SC2046
    swift build -c release --product mlp $(bash Scripts/cpu-flags.sh) >/dev/null
    mlp=.build/release/mlp
fi
[ -x "$mlp" ] || { echo "MLP must name an executable mlp, got '$mlp'" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 - "$runs" "$mlp" "$scratch/run.html" "$@" <<'PY'
import os, resource, statistics, subprocess, sys, time

runs, mlp, report = int(sys.argv[1]), sys.argv[2], sys.argv[3]
command = [mlp, "train", "--verbose", "0", *sys.argv[4:]]

def measure(arguments):
    """Wall and CPU seconds (user + system) of one run; the run must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    if subprocess.run(arguments, stdout=subprocess.DEVNULL).returncode != 0:
        sys.exit(f"this run failed (its error is above): {' '.join(arguments)}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

measure(command)  # a warm-up run, not counted: the binary and the data in the page cache
plain, reported = [], []
for run in range(runs):
    plain.append(measure(command))
    reported.append(measure(command + ["--report", report]))
    print(f"run {run + 1}: without {plain[-1][0] * 1000:.1f} ms wall, {plain[-1][1] * 1000:.1f} ms CPU; "
          f"with --report {reported[-1][0] * 1000:.1f} ms wall, {reported[-1][1] * 1000:.1f} ms CPU", flush=True)
# Medians, and minima (the least disturbed run of each kind: on a shared machine the steadier of the two).
for index, what in ((0, "wall"), (1, "CPU (user + system)")):
    for name, pick in (("median", statistics.median), ("minimum", min)):
        a = pick(v[index] for v in plain)
        b = pick(v[index] for v in reported)
        print(f"{name} {what}: without --report {a * 1000:.1f} ms, with {b * 1000:.1f} ms, cost {100 * (b - a) / a:+.1f}%")
print(f"({runs} runs each, alternating; report {os.path.getsize(report) // 1024} KiB)")
PY
