#!/usr/bin/env bash
# The GPU truth: on a machine with a GPU and no Swift, runs the portable build's parity suite (every op and a
# training run, OpenCL device against the CPU backend) and the benchmark, then the PyTorch-CUDA reference on the
# same GPU, in one run. Needs dist/ from Scripts/build-portable.sh (carried to the machine).
#
# Usage: Scripts/gpu-check.sh   # writes its log to $OUT (or ./gpu-check-out) as gpu-check.log;
#        BENCH_ARGS=--quick Scripts/gpu-check.sh   # shorter training workloads (for a dry run on PoCL)
# mlp-bench reads Benchmarks/workloads.json below the working directory (this script runs from the repository root).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="${OUT:-$root/gpu-check-out}"
mkdir -p "$out"
log="$out/gpu-check.log"
exec > >(tee "$log") 2>&1

bin="${TMPDIR:-/tmp}/mlpkit-portable"
mkdir -p "$bin"
# Each level's binaries (dist/<level>/*.xz) into $bin/<level>/, and the launchers (dist/mlp, dist/mlp-bench) into
# $bin: they run the best level this machine's CPU has (MLPKIT_CPU_LEVEL=v2|v3|v4 chooses a lower one).
for level in v2 v3 v4; do
    mkdir -p "$bin/$level"
    for product in mlp mlp-bench; do
        python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
            "dist/$level/$product.xz" "$bin/$level/$product" && chmod +x "$bin/$level/$product"
    done
done
for product in mlp mlp-bench; do cp "dist/$product" "$bin/$product" && chmod +x "$bin/$product"; done

# OpenCL: the system's ICD loader if there is one, else the carried one. An NVIDIA driver mounted under
# /usr/local/nvidia without an ICD file gets one that names libnvidia-opencl.so.1.
if ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL.so.1'; then
    export LD_LIBRARY_PATH="$root/dist/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -d "$dir" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$dir"
done
if [ -z "${OCL_ICD_VENDORS:-}" ] && ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
    mkdir -p "$bin/vendors"
    echo "libnvidia-opencl.so.1" > "$bin/vendors/nvidia.icd"
    export OCL_ICD_VENDORS="$bin/vendors"
fi

echo "== OpenCL platforms (clinfo -l)"
"$root/dist/clinfo" -l || echo "clinfo failed"
echo "== the launcher's choice"
MLPKIT_LAUNCHER_VERBOSE=1 "$bin/mlp" --version
echo "== mlp devices"
"$bin/mlp" devices
status=0
echo "== parity: every op and a 5-epoch training run, OpenCL GPU vs the CPU backend"
"$bin/mlp-bench" parity --device gpu || status=1
echo "== mlp train --device gpu (embedded digits, 30 epochs)"
"$bin/mlp" train --device gpu --epochs 30 --seed 1 --verbose 2 || status=1
echo "== MLPKit benchmark (CPU backend and OpenCL GPU, same run)"
"$bin/mlp-bench" gemm-table --device gpu || status=1
# shellcheck disable=SC2086
"$bin/mlp-bench" train-table --device gpu ${BENCH_ARGS:-} || status=1
echo "== crossover sweep: CPU vs GPU step times, and the cost model --device auto reads ($out/cost-model.json)"
MLPKIT_COST_MODEL="$out/cost-model.json" "$bin/mlp-bench" crossover --device gpu || status=1
echo "== PyTorch-CUDA reference on the same GPU"
python3 Scripts/torch-reference.py || status=1
echo "== gpu-check finished with status $status"
exit $status
