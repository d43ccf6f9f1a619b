#!/usr/bin/env bash
# The long model-file fuzz run: the CI fuzz test (ModelFileFuzzTests) with thousands of mutants per format,
# in a release build. Prints, per format: mutants tried, loader runs, crashes (always 0: the test process
# survived), errors (with how many were libhdf5 crashing or hanging in the isolated reader process), loads,
# and loads with changed numbers.
#
#   Scripts/fuzz.sh [MUTANTS_PER_FORMAT [SEED]]     (defaults: 5000, 15)
set -euo pipefail
cd "$(dirname "$0")/.."
mutants="${1:-5000}"
seed="${2:-15}"
export MLPKIT_FUZZ_MUTANTS="$mutants" MLPKIT_FUZZ_SEED="$seed"
# -enable-testing: the test target uses @testable imports, which a release build drops otherwise.
swift build -c release -j "${JOBS:-1}" --build-tests -Xswiftc -enable-testing
swift test -c release -j "${JOBS:-1}" --skip-build --disable-swift-testing -Xswiftc -enable-testing \
    --filter ModelFileFuzzTests 2>&1 | grep -v "^Test Case .* started" 
