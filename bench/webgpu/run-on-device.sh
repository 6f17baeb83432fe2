#!/usr/bin/env bash
# On the GPU machine, from the repository root: unpacks what pack-for-device.sh packed (beside
# this script), installs the Vulkan loader and libglvnd, points the loader at NVIDIA's driver,
# then runs the webgpu checks on the test fixtures and the benchmark (~125M and Llama-3.2-1B
# shapes, random f32 weights made there with Python). Logs and JSON go to $OUT (or ./out).
#
# Usage: FS2_INSTALL_VULKAN=1 bash <dir>/run-on-device.sh [checks] [devices] [bench-125m] [bench-1b] [tfjs-125m]
#        [bench-1b-long] [bench-1b-fs2]   (default: all but the last two)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(pwd)
out=${OUT:-$repo/out}
work=/tmp/fs2gpu
mkdir -p "$out" "$work"
steps=${*:-checks devices bench-125m bench-1b tfjs-125m}
log() { echo "== $*"; }

if [ ! -x "$work/node" ]; then
  xz -dc "$here/node.xz" > "$work/node" && chmod +x "$work/node"
  tar -C "$work" -xJf "$here/fs2.tar.xz"
fi
# Unpacked into / (the device README's recipe): only where asked, on a throw-away machine.
if [ "${FS2_INSTALL_VULKAN:-0}" = 1 ] && ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  for f in "$here"/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] || icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1)
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-$icd}
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export FS2_TEST_FIXTURES_DIR=$repo/test/fixtures
node=$work/node
log "$(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null) node $($node --version) VK_DRIVER_FILES=$VK_DRIVER_FILES"

for step in $steps; do
  case $step in
    checks)
      for req in '{"kernels":"fs2","fixtures":["llama3","qwen2","qwen3","mistral"],"behaviours":true}' \
                 '{"kernels":"fs2","fixtures":["llama3","qwen2"],"maxWeightChunkBytes":1024}' \
                 '{"kernels":"fs2","fixtures":["llama3","qwen2","qwen3","mistral"],"transposedLinears":true,"matrixTileRows":64}' \
                 '{"kernels":"tfjs","fixtures":["llama3","qwen2","qwen3","mistral"]}'; do
        log "checks $req"
        (cd "$work" && timeout 180 "$node" webgpu-child.mjs "$req" 2>&1) | tee -a "$out/checks.log" | grep -E '^RESULT|rror' | cut -c1-3000
      done
      ;;
    devices)
      log "fs2 devices"
      (cd "$work" && "$node" node_modules/@fs2/cli/bin/fs2.js devices 2>&1) | tee "$out/devices.log"
      ;;
    bench-125m | bench-1b | bench-1b-long | bench-1b-fs2 | tfjs-125m)
      name=$(case $step in bench-1b*) echo llama32_1b ;; *) echo perf_125m ;; esac)
      if [ ! -f "$work/$name/model.safetensors" ]; then
        log "weights $name"
        PYTHONUNBUFFERED=1 python3 "$work/bench/webgpu/make_weights.py" "$name" "$work/$name" 2>&1 | tail -2
      fi
      kernels=$([ "$step" = tfjs-125m ] && echo tfjs || echo fs2)
      case $step in
        tfjs-125m) extra='--runs 1 --new-tokens 16' ;;
        bench-1b-long) extra='--runs 1 --prompt-tokens 1024' ;;
        bench-1b-fs2) extra='--runs 1 --layout fs2' ;;
        *) extra='--runs 3' ;;
      esac
      log "bench $name $kernels"
      (cd "$work" && timeout 300 "$node" bench/webgpu/bench.mjs --model "$work/$name" $extra --kernels "$kernels" 2>>"$out/bench-stderr.log") \
        | tee "$out/bench-$step.json"
      ;;
  esac
done
log "done $(date -u +%FT%TZ)"
