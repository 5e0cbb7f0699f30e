#!/usr/bin/env bash
# Installs Mesa's software Vulkan driver (lavapipe) on Debian bookworm, so that WebGPU (Dawn, the
# `webgpu` package) has an adapter on a machine without a GPU: it runs on the CPU, slowly, but
# correctly. Bookworm's own Mesa (22.3) lacks what Dawn needs; bookworm-backports' (25) has it.
# Run as root (or with sudo). Safe to run again.
set -euo pipefail
sources=/etc/apt/sources.list.d/debian.sources
if [ -f "$sources" ] && ! grep -q 'bookworm-backports' "$sources"; then
  sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' "$sources"
fi
grep -rq 'bookworm-backports' /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null || {
  echo "install-lavapipe: could not add bookworm-backports to the apt sources (expected $sources)" >&2
  exit 1
}
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "lavapipe installed: $(dpkg-query -W -f '${Version}' mesa-vulkan-drivers)"
