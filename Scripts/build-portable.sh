#!/usr/bin/env bash
# Builds portable `mlp` and `MLPBench` binaries for GPU machines without a Swift toolchain: the Swift runtime,
# Foundation, CLBlast, HDF5 and the C++ runtime are linked statically, so only the system's libOpenCL.so.1 (the ICD
# loader) and the C library are needed at run time. Open MPI is not linked: under `mpirun` the binaries load the
# machine's libmpi.so.40 (Distributed.md), and without it they run as a single process.
#
# Each binary is built three times, for any x86-64 CPU and fast where the CPU allows:
#   v2: generic x86-64 (swiftc 6.3 refuses `-target-cpu x86-64-v2`), with -fno-math-errno (correct on any CPU)
#   v3: -target-cpu haswell -DMLPKIT_FMA (AVX2 + FMA), v4: -target-cpu skylake-avx512 -DMLPKIT_FMA -DMLPKIT_AVX512
# (the flags Scripts/cpu-flags.sh prints for those CPUs), each in its own scratch folder (.build-portable/<level>).
# Output, in dist/: <level>/mlp.xz and <level>/mlp-bench.xz (xz-compressed: each binary is ~60 MB, mostly
# Foundation's ICU data), the launchers mlp and mlp-bench (Scripts/portable-launcher.sh: POSIX sh, they exec the
# binary of the best level the CPU's /proc/cpuinfo flags allow; MLPKIT_CPU_LEVEL=v2|v3|v4 chooses a lower one,
# MLPKIT_LAUNCHER_VERBOSE=1 prints the choice), lib/libOpenCL.so.1 (ocl-icd's loader, for machines that lack
# one) and clinfo. Scripts/gpu-check.sh unpacks and uses them.
# Environment: MLPKIT_PORTABLE_LEVELS (default "v2 v3 v4") builds only those; MLPKIT_PORTABLE_JOBS=N passes -j N.
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
# HDF5 and its compression libraries, static. Only the parts MLPKit calls are linked (not the S3 driver, so
# none of libcurl's dependencies); a pkg-config file of our own points the CHDF5 module at these archives.
ln -sf "/usr/lib/$multiarch/hdf5/serial/libhdf5.a" "$static_dir/libhdf5.a"
for lib in sz aec z; do ln -sf "/usr/lib/$multiarch/lib$lib.a" "$static_dir/lib$lib.a"; done
mkdir -p .build-portable/pkgconfig
cat > .build-portable/pkgconfig/hdf5.pc <<PC
Name: hdf5
Description: HDF5, static, for the portable build
Version: $(pkg-config --modversion hdf5)
Cflags: $(pkg-config --cflags hdf5)
Libs: -L$static_dir -lhdf5 -lsz -laec -lz -lm -ldl
PC
# ZIPFoundation's zlib module asks pkg-config too; its system answer (-L/usr/lib/<arch>) would come first on the
# link line and turn every -l back to shared libraries.
cat > .build-portable/pkgconfig/zlib.pc <<PC
Name: zlib
Description: zlib, static, for the portable build
Version: $(pkg-config --modversion zlib)
Cflags:
Libs: -L$static_dir -lz
PC
export PKG_CONFIG_PATH="$PWD/.build-portable/pkgconfig"
touch Package.swift  # the manifest reads MLPKIT_STATIC_LIBS: make SwiftPM evaluate it again

levels="${MLPKIT_PORTABLE_LEVELS:-v2 v3 v4}"
jobs=()
[[ -n "${MLPKIT_PORTABLE_JOBS:-}" ]] && jobs=(-j "$MLPKIT_PORTABLE_JOBS")
rm -rf dist && mkdir -p dist/lib
for level in $levels; do
    flags=(-Xswiftc -Xcc -Xswiftc -fno-math-errno)
    case "$level" in
        v2) ;;
        v3) flags+=(-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DMLPKIT_FMA) ;;
        v4) flags+=(-Xswiftc -target-cpu -Xswiftc skylake-avx512 -Xswiftc -DMLPKIT_FMA -Xswiftc -DMLPKIT_AVX512) ;;
        *) echo "error: MLPKIT_PORTABLE_LEVELS takes v2, v3 and v4; got '$level'" >&2; exit 1 ;;
    esac
    mkdir -p "dist/$level"
    for product in mlp mlp-bench; do
        MLPKIT_STATIC_LIBS="$static_dir" swift build -c release --static-swift-stdlib --scratch-path ".build-portable/$level" \
            "${jobs[@]}" --product "$product" "${flags[@]}"
        strip -o "dist/$level/$product" ".build-portable/$level/release/$product"
        echo "$level/$product needs:"
        ldd "dist/$level/$product" | sed 's/^/  /'
        # Open MPI is never linked: MPICommunicator dlopens libmpi.so.40 under mpirun only.
        if ldd "dist/$level/$product" | grep -qE 'libswift|libclblast|libstdc\+\+|libFoundation|libdispatch|libhdf5|libcurl|libmpi|libopen-'; then
            echo "error: dist/$level/$product still needs a shared Swift, CLBlast, C++, HDF5 or MPI library" >&2
            exit 1
        fi
        xz -T0 -f "dist/$level/$product"
    done
done
for product in mlp mlp-bench; do
    cp Scripts/portable-launcher.sh "dist/$product"
    chmod +x "dist/$product"
done
touch Package.swift
cp "$(readlink -f "/usr/lib/$multiarch/libOpenCL.so.1")" dist/lib/libOpenCL.so.1
cp "$(command -v clinfo)" dist/clinfo
ls -la dist dist/lib dist/v*
