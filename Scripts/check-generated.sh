#!/usr/bin/env bash
# Checks that the committed generated sources are what their scripts produce:
#   Sources/MLPTensorBoard/Generated/tensorboard.pb.swift  from Protos/tensorboard.proto  (Scripts/generate-protos.sh)
#   Sources/MLPTraining/Generated/DigitsData.swift         from scikit-learn's digits     (Scripts/make-digits.py)
# Each is regenerated into a temporary folder and compared byte for byte with the committed file.
#
# Where a generator's tools are missing (protoc; a Python with scikit-learn, taken from $MLPKIT_DIGITS_PYTHON, else
# python3), that file falls back to Scripts/generated.sha256: SHA-256 sums of the inputs and outputs recorded by the
# last full check (`--record`). The fallback says so; it proves that nothing was edited since then, not that the
# generator still agrees. Under CI=true a missing tool is an error: CI always regenerates.
#   bash Scripts/check-generated.sh            check (exit 1 on a difference)
#   bash Scripts/check-generated.sh --record   full check, then rewrite Scripts/generated.sha256
set -euo pipefail
cd "$(dirname "$0")/.."
record=false
[ "${1:-}" = "--record" ] && record=true
sums=Scripts/generated.sha256
proto_out=Sources/MLPTensorBoard/Generated/tensorboard.pb.swift
digits_out=Sources/MLPTraining/Generated/DigitsData.swift
digits_python="${MLPKIT_DIGITS_PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0

# The generator version is an input too: protoc-gen-swift is built from the swift-protobuf that Package.resolved pins.
protobuf_version() {
    python3 -c 'import json,sys; pins=json.load(open("Package.resolved"))["pins"]; print(next(p["state"]["version"] for p in pins if p["identity"]=="swift-protobuf"))'
}

# The recorded lines for one generated file: its inputs' and its own sums.
manifest() {
    case "$1" in
        proto) echo "swift-protobuf $(protobuf_version)"; sha256sum Protos/tensorboard.proto Scripts/generate-protos.sh "$proto_out" ;;
        digits) sha256sum Scripts/make-digits.py "$digits_out" ;;
    esac
}

# The lines recorded for one generated file in $sums (between its `# name` line and the next comment).
recorded() { awk -v name="# $1" '$0 == name { on = 1; next } /^# / { on = 0 } on' "$sums"; }

compare() { # name committed regenerated
    if cmp -s "$2" "$3"; then
        echo "ok: $2 is what its generator writes"
    else
        echo "error: $2 differs from what its generator writes now (run the generator and commit the result):" >&2
        diff -u "$2" "$3" | head -20 >&2 || true
        failed=1
    fi
}

fallback() { # name reason
    if [ "${CI:-}" = "true" ] || $record; then
        echo "error: cannot regenerate $1: $2" >&2
        failed=1
        return
    fi
    if diff <(recorded "$1") <(manifest "$1") >/dev/null; then
        echo "ok (hash only, $2): $1's inputs and output match $sums"
    else
        echo "error: $1's inputs or output changed since $sums was recorded ($2, so not regenerated here):" >&2
        diff <(recorded "$1") <(manifest "$1") >&2 || true
        failed=1
    fi
}

if command -v protoc >/dev/null 2>&1; then
    if bash Scripts/generate-protos.sh "$tmp/proto" >/dev/null; then
        compare proto "$proto_out" "$tmp/proto/tensorboard.pb.swift"
    else
        echo "error: Scripts/generate-protos.sh failed" >&2
        failed=1
    fi
else
    fallback proto "protoc is not installed"
fi

if "$digits_python" -c "import sklearn" >/dev/null 2>&1; then
    "$digits_python" Scripts/make-digits.py "$tmp/DigitsData.swift" >/dev/null
    compare digits "$digits_out" "$tmp/DigitsData.swift"
else
    fallback digits "no scikit-learn in $digits_python"
fi

if $record && [ "$failed" -eq 0 ]; then
    { echo "# Written by Scripts/check-generated.sh --record after a full check; read by its hash-only fallback."
      echo "# proto"; manifest proto
      echo "# digits"; manifest digits; } > "$sums"
    echo "recorded $sums"
fi
exit "$failed"
