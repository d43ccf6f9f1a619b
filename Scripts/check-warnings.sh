#!/usr/bin/env bash
# Fails (exit 1) when the compiler warns about the project's own code: Sources/, Tests/, Benchmarks/, Plugins/ or
# Examples/. Warnings in dependencies (swift-protobuf, ZIPFoundation, …) are not counted.
#
# An incremental build prints the warnings of the files it recompiles only, so the project's own modules are
# rebuilt from scratch (their `<Module>.build` folders are removed; the dependencies keep their build). The debug
# build includes the tests; the release build uses this machine's CPU flags (Scripts/cpu-flags.sh), as CI does.
# Usage: Scripts/check-warnings.sh [debug] [release] [-- extra swift build arguments]   (default: debug release)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
configurations=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
    case "$1" in
        debug|release) configurations+=("$1") ;;
        *) echo "error: unknown configuration '$1' (expected debug or release)" >&2; exit 2 ;;
    esac
    shift
done
[[ "${1:-}" == "--" ]] && shift
[[ ${#configurations[@]} -eq 0 ]] && configurations=(debug release)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
for configuration in "${configurations[@]}"; do
    # The project's own modules: every folder of its code, as SwiftPM names the build folder (- becomes _).
    products=".build/$configuration"
    if [[ -d "$products" ]]; then
        for folder in Sources/* Tests/* Benchmarks/* Plugins/* Examples/*; do
            [[ -d "$folder" ]] || continue
            rm -rf "$products/$(basename "$folder").build"
        done
        # Targets whose name differs from their folder (Package.swift's `path:`).
        for module in EmbedKernels MLPBench MLPTestSupport MallocCounter example_seed_notebook example_custom_callback \
                      example_streaming example_gpu; do
            rm -rf "$products/$module.build" "$products/$module-tool.build"
        done
    fi
    if [[ $configuration == debug ]]; then
        arguments=(--build-tests)
    else
        # shellcheck disable=SC2207
        arguments=(-c release $(bash Scripts/cpu-flags.sh))
    fi
    echo "check-warnings: swift build ${arguments[*]} $*"
    status=0
    swift build "${arguments[@]}" "$@" > "$log" 2>&1 || status=$?
    if [[ $status -ne 0 ]]; then
        grep -E 'error:' "$log" | sort -u | head -50 || tail -30 "$log"
        echo "error: the $configuration build failed (exit $status)" >&2
        exit 1
    fi
    # `path:line:column: warning: …` for a file of the project (sorted: a warning may be printed more than once).
    own=$(awk -v root="$root/" 'index($0, root) == 1 {
              rest = substr($0, length(root) + 1)
              if (rest ~ /^(Sources|Tests|Benchmarks|Plugins|Examples)\/[^:]*:[0-9]+:[0-9]+: warning:/) print rest
          }' "$log" | sort -u)
    count=$(printf '%s' "$own" | grep -c . || true)
    echo "check-warnings: $configuration: $count warning(s) in the project's code"
    if [[ $count -gt 0 ]]; then
        printf '%s\n' "$own"
        failed=1
    fi
done
exit $failed
