#!/usr/bin/env bash
# gpu-check.sh — exercise the imaging encoder's CUDA path on a machine with an
# NVIDIA GPU, in a few seconds of device time. Run from the repository root.
#
#   scripts/gpu-check.sh --build   (on a development machine, no GPU needed)
#       builds the imaging test binary into .cache/gpu/ so that the GPU machine
#       needs no Go toolchain; carry .cache/ (onnxruntime and gpu/) to it.
#   scripts/gpu-check.sh           (on the GPU machine)
#       1. reports the GPU (nvidia-smi);
#       2. locates libonnxruntime (scripts/onnxruntime.sh, cached in .cache/);
#       3. checks for the CUDA execution provider libraries beside it
#          (libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so)
#          and what they still miss (ldd: CUDA 12 runtime, cuBLAS, cuDNN 9);
#       4. runs TestEmbedderCUDA (device cuda must load, embeddings must match
#          the plain-Go pass to 1e-5), the device-choice and round-trip tests,
#          and the CPU and CUDA latency benchmarks.
#
# The npm package onnxruntime-node ships only the CPU library: its postinstall
# downloads the CUDA provider, which cannot work here. Put the two provider
# libraries of the same ONNX Runtime version (1.24.1, e.g. from the
# Microsoft.ML.OnnxRuntime.Gpu.Linux package's runtimes/linux-x64/native/) in a
# folder and name it with SPINECAST_ORT_CUDA_DIR; they are linked beside
# libonnxruntime.so.1. Without them step 4 shows the fallback: auto runs on the
# CPU with one log line giving the reason, and cuda fails with
# "imaging embeddings unavailable: cuda execution provider: ...".
#
# Known state (2026-11): no registry reachable here serves the 1.24.1 CUDA
# provider. npm's com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 ships
# providers for ONNX Runtime 1.29.0 built against CUDA 13 (230 MB, over the
# device machine's 64 MiB transfer): usable only together with a 1.29
# libonnxruntime (onnxruntime_go accepts >= 1.24) and CUDA 13 + cuDNN on the
# GPU machine.
#
# Exit status: 0 when the CUDA path works; 1 otherwise (with the reason).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bin=".cache/gpu/imaging.test"

if [ "${1:-}" = "--build" ]; then
  mkdir -p .cache/gpu
  go test -c -o "$bin" ./imaging/ && scripts/onnxruntime.sh >/dev/null && echo "built $bin; carry .cache/ to the GPU machine"
  exit $?
fi

echo "== GPU"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
else
  echo "nvidia-smi not found: no NVIDIA driver here"
fi

echo "== ONNX Runtime"
if ! lib="$(scripts/onnxruntime.sh)"; then
  echo "FAIL: libonnxruntime unavailable"
  exit 1
fi
echo "library: $lib"
libdir="$(dirname "$lib")"
if [ -n "${SPINECAST_ORT_CUDA_DIR:-}" ]; then
  for f in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
    if [ -f "$SPINECAST_ORT_CUDA_DIR/$f" ]; then ln -sf "$SPINECAST_ORT_CUDA_DIR/$f" "$libdir/$f"; fi
  done
fi
providers=yes
for f in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  if [ -e "$libdir/$f" ]; then echo "found $f"; else echo "missing $f beside the library"; providers=no; fi
done
if [ "$providers" = yes ]; then
  echo "unresolved dependencies of the CUDA provider (none is good):"
  ldd "$libdir/libonnxruntime_providers_cuda.so" | grep "not found" || true
fi

echo "== tests"
export SPINECAST_ONNXRUNTIME_LIB="$lib" SPINECAST_REQUIRE_CUDA=1
if [ ! -x "$bin" ]; then
  if command -v go >/dev/null 2>&1; then
    mkdir -p .cache/gpu && go test -c -o "$bin" ./imaging/ || exit 1
  else
    echo "FAIL: no Go toolchain and no $bin (run scripts/gpu-check.sh --build first and carry .cache/)"
    exit 1
  fi
fi
bin="$repo/$bin"
cd imaging
"$bin" -test.count=1 -test.v -test.run 'TestEmbedderCUDA|TestEmbedderDeviceChoice|TestONNXRoundTrip|TestRuntimeVersion' 2>&1 | grep -v '^=== RUN'
status=${PIPESTATUS[0]}
"$bin" -test.run '^$' -test.bench 'BenchmarkEmbed(CPU|CUDA)' -test.benchtime 50x 2>&1 | grep -E 'Benchmark|skip|unavailable' || true
if [ "$status" -eq 0 ]; then echo "GPU CHECK: OK (CUDA execution provider runs the encoder)"; else echo "GPU CHECK: FAILED (see above)"; fi
exit "$status"
