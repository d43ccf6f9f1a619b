#!/usr/bin/env bash
# Builds portable `mlp` and `MLPBench` binaries for GPU machines without a Swift toolchain: the Swift runtime,
# Foundation, CLBlast and the C++ runtime are linked statically, so only the system's libOpenCL.so.1 (the ICD
# loader) and the C library are needed at run time.
#
# Output, in dist/: mlp.xz and MLPBench.xz (xz-compressed: each binary is ~60 MB, mostly Foundation's ICU
# data), lib/libOpenCL.so.1 (ocl-icd's loader, for machines that lack one) and clinfo. Scripts/gpu-check.sh
# unpacks and uses them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh
command -v clinfo >/dev/null || { apt-get install -y -qq --no-install-recommends clinfo >/dev/null; }
command -v xz >/dev/null || { apt-get install -y -qq --no-install-recommends xz-utils >/dev/null; }

# A folder of static archives only, searched before the system's: -lclblast and -lstdc++ then take these.
static_dir="$PWD/.build-portable/static-libs"
mkdir -p "$static_dir"
multiarch=$(gcc -print-multiarch)
ln -sf "/usr/lib/$multiarch/libclblast.a" "$static_dir/libclblast.a"
ln -sf "$(gcc -print-file-name=libstdc++.a)" "$static_dir/libstdc++.a"
touch Package.swift  # the manifest reads MLPKIT_STATIC_LIBS: make SwiftPM evaluate it again

rm -rf dist && mkdir -p dist/lib
for product in mlp MLPBench; do
    MLPKIT_STATIC_LIBS="$static_dir" swift build -c release --static-swift-stdlib --scratch-path .build-portable \
        --product "$product"
    strip -o "dist/$product" ".build-portable/release/$product"
    echo "$product needs:"
    ldd "dist/$product" | sed 's/^/  /'
    if ldd "dist/$product" | grep -qE 'libswift|libclblast|libstdc\+\+|libFoundation|libdispatch'; then
        echo "error: dist/$product still needs a shared Swift, CLBlast or C++ library" >&2
        exit 1
    fi
    xz -T0 -f "dist/$product"
done
touch Package.swift
cp "$(readlink -f "/usr/lib/$multiarch/libOpenCL.so.1")" dist/lib/libOpenCL.so.1
cp "$(command -v clinfo)" dist/clinfo
ls -la dist dist/lib
