#!/usr/bin/env bash
# Regenerates Sources/MLPTensorBoard/Generated/tensorboard.pb.swift from Protos/tensorboard.proto (or writes it into
# the folder given as $1, which Scripts/check-generated.sh uses to compare). The generated file is committed, so
# builds never need protoc; run this only after changing the .proto.
# Needs protoc (apt-get install protobuf-compiler). protoc-gen-swift is built from the swift-protobuf checkout
# that Package.resolved pins, so the generator always matches the runtime library; PROTOC_GEN_SWIFT overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-Sources/MLPTensorBoard/Generated}"
if ! command -v protoc >/dev/null 2>&1; then
    echo "error: protoc is not on PATH (apt-get install protobuf-compiler)" >&2
    exit 1
fi
plugin="${PROTOC_GEN_SWIFT:-}"
if [ -z "$plugin" ]; then
    swift build -j 1 --product protoc-gen-swift >&2
    plugin="$(swift build --show-bin-path)/protoc-gen-swift"
fi
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" --swift_out="$out" --swift_opt=Visibility=Public \
    --proto_path=Protos Protos/tensorboard.proto
echo "wrote $out/tensorboard.pb.swift"
