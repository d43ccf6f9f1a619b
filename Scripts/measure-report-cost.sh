#!/usr/bin/env bash
# What `--report` costs the main job (`mlp train` on the embedded digits, as Scripts/train.sh runs it): the release
# `mlp` trains RUNS times without and RUNS times with `--report`, alternating so that a busy machine slows both
# alike, and prints each time and the medians. Extra arguments go to every `mlp train` (default: --epochs 20 --seed 1).
#   Scripts/measure-report-cost.sh            # RUNS=7 by default
#   RUNS=11 Scripts/measure-report-cost.sh --epochs 30 --seed 2
#   MLP=.build/debug/mlp RUNS=3 Scripts/measure-report-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-7}"
[ $# -eq 0 ] && set -- --epochs 20 --seed 1
mlp="${MLP:-}"   # MLP=path/to/mlp measures that binary instead of building the release one
if [ -z "$mlp" ]; then
    # shellcheck disable=SC2046
    swift build -c release --product mlp $(bash Scripts/cpu-flags.sh) >/dev/null
    mlp=.build/release/mlp
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
seconds() { # the wall time of one `mlp train` run, in seconds
    local start end
    start=$(date +%s.%N)
    "$mlp" train --verbose 0 "$@" >/dev/null
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}
plain=() reported=()
for ((i = 0; i < runs; i++)); do
    plain+=("$(seconds "$@")")
    reported+=("$(seconds "$@" --report "$scratch/run.html")")
    echo "run $((i + 1)): without ${plain[-1]} s, with --report ${reported[-1]} s"
done
python3 - "${plain[*]}" "${reported[*]}" "$(stat -c %s "$scratch/run.html")" <<'PY'
import statistics, sys
plain = [float(v) for v in sys.argv[1].split()]
reported = [float(v) for v in sys.argv[2].split()]
a, b = statistics.median(plain), statistics.median(reported)
print(f"median without --report: {a:.3f} s; with --report: {b:.3f} s; cost {100 * (b - a) / a:+.1f}% "
      f"({len(plain)} runs each; report {int(sys.argv[3]) // 1024} KiB)")
PY
