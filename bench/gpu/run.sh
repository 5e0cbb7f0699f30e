#!/usr/bin/env bash
# Run on the lent GPU machine (packed by bench/gpu/prepare.sh; carry .gpu): WebGPU forward of
# AlexNet (bvlc and paper, 1 and 2 devices, batch 1, 16, 128) through Dawn on the NVIDIA Vulkan
# driver, then PyTorch fp32 (cuDNN, TF32 off) on the same GPU, in the same run. Writes
# $OUT/webgpu.json, $OUT/torch.json and $OUT/gpu-bench.md. To check the bundle here before spending
# GPU minutes on it: GPU_BENCH_LOCAL=1 GPU_BENCH_BATCHES=1 PYTHON=/usr/bin/python3 bash bench/gpu/run.sh
# (lavapipe, and CPU PyTorch if that Python has it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$repo/.gpu/out}
mkdir -p "$out"
work=$(mktemp -d)
if [ -z "${GPU_BENCH_LOCAL:-}" ]; then
  for f in "$repo"/.gpu/*.deb; do dpkg -x "$f" /; done
  ldconfig
  export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
fi
xz -dc "$repo/.gpu/node.xz" > "$work/node" && chmod +x "$work/node"
tar xzf "$repo/.gpu/project.tgz" -C "$work"
mkdir -p "$work/node_modules/webgpu/dist/linux-x64"
xz -dc "$repo/.gpu/dawn.node.xz" > "$work/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$repo/bench/gpu/webgpu-bench.mjs" "$work/"
echo "node $("$work/node" --version)"
(cd "$work" && ./node webgpu-bench.mjs "$out/webgpu.json")
"${PYTHON:-python3}" "$repo/bench/gpu/torch_bench.py" "$out/torch.json" || echo "PyTorch run failed (see above)" >&2
"$work/node" "$repo/bench/gpu/report.mjs" "$out" | tee "$out/gpu-bench.md"
rm -rf "$work"
