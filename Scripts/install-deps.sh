#!/usr/bin/env bash
# Installs the system packages MLPKit needs on Debian/Ubuntu (idempotent: installs only what is missing).
# Swift itself must already be on PATH (https://swift.org/install).
set -euo pipefail

# Debian packages the build and tests need: the OpenCL headers and ICD loader, CLBlast, and PoCL (a real
# OpenCL implementation on the CPU, so the OpenCL backend is built and tested on machines without a GPU).
# libhdf5-dev reads and writes Keras' .h5 model files. Open MPI (openmpi-bin: mpirun, and libopenmpi3's
# libmpi.so.40) runs data-parallel training, `mpirun -np N mlp train`; `mlp` loads libmpi at run time, under
# mpirun only, so no MPI headers are needed to build.
APT_PACKAGES=(pkg-config ocl-icd-opencl-dev libclblast-dev pocl-opencl-icd libhdf5-dev openmpi-bin)
# With --tests (Scripts/test.sh), also what only the tests use: chromium renders a training report (mlp train
# --report) in a headless browser to check the page is drawn (ReportBrowserTests).
if [ "${1:-}" = "--tests" ]; then APT_PACKAGES+=(chromium); fi

if ! command -v swift >/dev/null 2>&1; then
    echo "error: swift is not on PATH; install Swift 6 first (https://swift.org/install)" >&2
    exit 1
fi

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
