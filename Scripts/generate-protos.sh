#!/usr/bin/env bash
# Regenerates Sources/MLPTraining/TensorBoard/tensorboard.pb.swift from Protos/tensorboard.proto. The generated
# file is committed, so builds never need protoc; run this only after changing the .proto.
# Needs protoc (apt-get install protobuf-compiler) and protoc-gen-swift built from swift-protobuf 1.39.0:
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf && cd /tmp/swift-protobuf \
#     && git checkout 1.39.0 && swift build -c release --product protoc-gen-swift
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-/tmp/swift-protobuf/.build/release/protoc-gen-swift}"
protoc --plugin=protoc-gen-swift="$plugin" --swift_out=Sources/MLPTraining/TensorBoard --swift_opt=Visibility=Public \
    --proto_path=Protos Protos/tensorboard.proto
echo "wrote Sources/MLPTraining/TensorBoard/tensorboard.pb.swift"
