#!/usr/bin/env bash
# Packs what the webgpu checks and benchmark need on a GPU machine that has no Node and no Vulkan
# loader (this project's GPU machines): a compressed Node binary, the node_modules the compiled
# @fs2/core imports (tfjs bundles, webgpu's linux-x64 dawn.node only), the bundled test child,
# the bench scripts, and Debian's Vulkan loader + libglvnd packages (NVIDIA's Vulkan driver loads
# libGLX_nvidia through libglvnd). run-on-device.sh, copied beside them, unpacks and runs them.
#
# Usage: bench/webgpu/pack-for-device.sh DEST   (after `npm run build`; ~30 MB)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:?usage: pack-for-device.sh DEST}
mkdir -p "$dest"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
nm="$stage/node_modules"
mkdir -p "$nm"

# Node: xz compresses the 99 MB binary to ~24 MB (gzip: 36 MB).
if [ ! -f "$dest/node.xz" ] || [ "$(command -v node)" -nt "$dest/node.xz" ]; then
  xz -9 -T0 -c "$(command -v node)" > "$dest/node.xz"
fi

# The TF.js packages: package.json and the one CommonJS bundle each that Node loads.
for pkg in tfjs tfjs-core tfjs-layers tfjs-converter tfjs-data tfjs-backend-cpu tfjs-backend-webgl tfjs-backend-webgpu; do
  mkdir -p "$nm/@tensorflow/$pkg/dist"
  cp "$root/node_modules/@tensorflow/$pkg/package.json" "$nm/@tensorflow/$pkg/"
  cp "$root/node_modules/@tensorflow/$pkg/dist/"*.node.js "$nm/@tensorflow/$pkg/dist/"
done
# webgpu: its entry and the linux-x64 Dawn build only (132 MB with every platform).
mkdir -p "$nm/webgpu/dist/linux-x64"
cp "$root/node_modules/webgpu/"{package.json,index.js} "$nm/webgpu/"
cp "$root/node_modules/webgpu/dist/linux-x64/dawn.node" "$nm/webgpu/dist/linux-x64/"
# Everything else @fs2/core's compiled modules import at load time, whole.
for pkg in @sinclair/typebox @inversifyjs inversify reflect-metadata yaml ajv fast-uri fast-deep-equal json-schema-traverse \
  cli-progress string-width strip-ansi ansi-regex emoji-regex is-fullwidth-code-point seedrandom tar yauzl pend buffer-crc32 \
  long @huggingface/tokenizers @huggingface/jinja @huggingface/hub minipass @isaacs chownr minizlib yallist mkdirp; do
  if [ -e "$root/node_modules/$pkg" ]; then
    mkdir -p "$nm/$(dirname "$pkg")"
    cp -rL "$root/node_modules/$pkg" "$nm/$pkg"
  fi
done
# @fs2/core and @fs2/cli (for `fs2 devices`), compiled.
mkdir -p "$nm/@fs2/core" "$nm/@fs2/cli"
cp "$root/packages/core/package.json" "$nm/@fs2/core/"
cp -r "$root/packages/core/dist" "$nm/@fs2/core/"
cp "$root/packages/cli/package.json" "$nm/@fs2/cli/"
cp -r "$root/packages/cli/dist" "$root/packages/cli/bin" "$nm/@fs2/cli/"
cp -rL "$root/node_modules/commander" "$nm/commander"
find "$nm/@fs2" \( -name '*.map' -o -name '*.d.ts' -o -name '.tsbuildinfo' -o -name '*.spec.js' \) -delete

# The test child (bundled against @fs2/core) and the bench scripts.
node --input-type=module -e "
import { build } from '$root/node_modules/esbuild/lib/main.js';
await build({ entryPoints: ['$root/test/support/webgpu-child.ts'], outfile: '$stage/webgpu-child.mjs', bundle: true,
  platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
"
mkdir -p "$stage/bench/webgpu"
cp "$root/bench/prompt.mjs" "$stage/bench/"
cp "$root/bench/webgpu/"{bench.mjs,make_weights.py} "$stage/bench/webgpu/"
tar -C "$stage" -cJf "$dest/fs2.tar.xz" .

# Debian's Vulkan loader and libglvnd, for amd64 (the device README's recipe).
if ! ls "$dest"/libvulkan1_*.deb >/dev/null 2>&1; then
  lists=$(mktemp -d)
  o=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o "Dir::State::Lists=$lists")
  apt-get "${o[@]}" update >/dev/null
  (cd "$dest" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
  rm -rf "$lists"
fi
cp "$root/bench/webgpu/run-on-device.sh" "$dest/"
du -sh "$dest"
