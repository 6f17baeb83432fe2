#!/usr/bin/env bash
# Packs node-llama-cpp's Vulkan build for compare-llamacpp.sh (~10 MB): the JS runtime from
# bench/llamacpp/node_modules without its CPU binary and its 34 MB source bundle, and the
# @node-llama-cpp/linux-x64-vulkan package from the npm registry, both xz-compressed; plus the
# llama.cpp runner and the GGUF converter.
#
# Usage: bench/webgpu/pack-llamacpp.sh DEST   (after `npm install --prefix bench/llamacpp --omit=optional --ignore-scripts`)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:?usage: pack-llamacpp.sh DEST}
mkdir -p "$dest"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
(cd "$root/bench/llamacpp" && tar --exclude='node_modules/@node-llama-cpp/linux-x64' \
  --exclude='node_modules/node-llama-cpp/llama/gitRelease.bundle' --exclude='*.map' -cf - node_modules) | xz -9 -T0 > "$dest/lcpp-modules.tar.xz"
(cd "$stage" && npm pack --silent @node-llama-cpp/linux-x64-vulkan@3.22.1 >/dev/null && mkdir x && tar -xzf ./*.tgz -C x && tar -C x -cf - package) | xz -9 -T0 > "$dest/vk.tar.xz"
cp "$root/bench/llamacpp/bench.mjs" "$dest/llamacpp-bench.mjs"
cp "$root/bench/gguf.mjs" "$dest/gguf.mjs"
cp "$root/bench/webgpu/compare-llamacpp.sh" "$dest/run.sh"
du -sh "$dest"
