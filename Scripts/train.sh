#!/usr/bin/env bash
# The main job: installs what is needed, builds `mlp` in release mode and trains on the embedded digits
# data set (extra arguments go to `mlp train`, e.g. Scripts/train.sh --epochs 30 --seed 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh
# shellcheck disable=SC2046
swift build -c release --product mlp $(bash Scripts/cpu-flags.sh)
exec .build/release/mlp train "$@"
