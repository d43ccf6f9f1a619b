#!/usr/bin/env bash
# The test command: installs what is needed (chromium too, for the report's browser test), then runs the whole test suite with `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh --tests
# The tests are XCTest; --disable-swift-testing keeps the empty Swift Testing run from printing "0 tests".
swift test --disable-swift-testing "$@"
