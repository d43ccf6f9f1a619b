#!/usr/bin/env bash
# The long model-file fuzz run: the CI fuzz test (ModelFileFuzzTests) with thousands of mutants per format,
# in a release build. Prints, per format: mutants tried, loader runs, crashes (always 0: the test process
# survived), errors (with how many were libhdf5 crashing or hanging in the isolated reader process), loads,
# and loads with changed numbers.
#
#   Scripts/fuzz.sh [MUTANTS_PER_FORMAT [SEED]]     (defaults: 5000, 15)
#
# CONFIG=debug reuses a debug build instead (slower per mutant, no release build to wait for);
# MLPKIT_FUZZ_TIMEOUT_MS (default 5000) bounds each read that makes libhdf5 hang.
set -euo pipefail
cd "$(dirname "$0")/.."
mutants="${1:-5000}"
seed="${2:-15}"
export MLPKIT_FUZZ_MUTANTS="$mutants" MLPKIT_FUZZ_SEED="$seed"
config="${CONFIG:-release}"
# -enable-testing: the test target uses @testable imports, which a release build drops otherwise (a debug
# build has it already; adding the flag there would rebuild everything).
flags=()
if [ "$config" = release ]; then flags=(-Xswiftc -enable-testing); fi
swift build -c "$config" -j "${JOBS:-1}" --build-tests "${flags[@]}"
swift test -c "$config" -j "${JOBS:-1}" --skip-build --disable-swift-testing "${flags[@]}" \
    --filter ModelFileFuzzTests 2>&1 | grep -v "^Test Case .* started"
