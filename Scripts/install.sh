#!/usr/bin/env bash
# Installs `mlp` (and `mlp-bench`) on PATH: Scripts/install.sh [PREFIX] builds them in release mode with this machine's
# CPU flags and copies them to PREFIX/bin (PREFIX defaults to /usr/local). The binaries embed their OpenCL kernels,
# so they run from any directory; they need the shared libraries the build linked (HDF5, CLBlast, the OpenCL loader).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
bash Scripts/install-deps.sh
# shellcheck disable=SC2046
swift build -c release --product mlp $(bash Scripts/cpu-flags.sh)
# shellcheck disable=SC2046
swift build -c release --product mlp-bench $(bash Scripts/cpu-flags.sh)
mkdir -p "$prefix/bin"
install -m 0755 .build/release/mlp .build/release/mlp-bench "$prefix/bin/"
echo "installed $prefix/bin/mlp and $prefix/bin/mlp-bench"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "note: $prefix/bin is not on PATH; add it: export PATH=\"$prefix/bin:\$PATH\"" ;; esac
