#!/usr/bin/env bash
# fs2 webgpu vs llama.cpp Vulkan on the same GPU machine, same weights, same run: for the ~125M and
# the Llama-3.2-1B-shaped model (random f32 weights made there with Python), three alternating
# fresh processes of each engine (llama.cpp: 1 warm-up + 3 timed runs per process; fs2: 3 runs).
#
# Needs, beside the repository on the GPU machine: $FS2_GPU_CARRY (default .gpu-carry), made by
# bench/webgpu/pack-for-device.sh, and $FS2_LLAMACPP_CARRY (default .gpu-cmp), made by
# bench/webgpu/pack-llamacpp.sh. Results (JSON lines) go to $OUT.
set -uo pipefail
repo=$(pwd); C=${FS2_GPU_CARRY:-$repo/.gpu-carry}; G=${FS2_LLAMACPP_CARRY:-$repo/.gpu-cmp}; out=${OUT:-/tmp/out}; work=/tmp/fs2gpu
mkdir -p "$out" "$work"
xz -dc "$C/node.xz" > "$work/node" && chmod +x "$work/node"
tar -C "$work" -xJf "$C/fs2.tar.xz"
tar -C "$work" -xJf "$G/lcpp-modules.tar.xz"
mkdir -p "$work/node_modules/@node-llama-cpp" /tmp/vkx && tar -C /tmp/vkx -xJf "$G/vk.tar.xz" && mv /tmp/vkx/package "$work/node_modules/@node-llama-cpp/linux-x64-vulkan"
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then for f in "$C"/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] || icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1)
export VK_DRIVER_FILES=$icd XDG_RUNTIME_DIR=/tmp
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json; [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
mkdir -p "$work/bench/llamacpp" && cp "$G/llamacpp-bench.mjs" "$work/bench/llamacpp/bench.mjs" && cp "$G/gguf.mjs" "$work/bench/gguf.mjs"
node=$work/node
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader) node $($node --version)" | tee "$out/machine.txt"
for name in perf_125m llama32_1b; do
  vocab=$([ $name = perf_125m ] && echo 32000 || echo 128256)
  t0=$(date +%s.%N)
  PYTHONUNBUFFERED=1 python3 "$work/bench/webgpu/make_weights.py" "$name" "$work/$name" 2>&1 | tail -1
  (cd "$work" && $node -e "import('./bench/gguf.mjs').then(m => m.convertHfToGguf('$work/$name', '$work/$name/model-f32.gguf'))") || echo "gguf failed"
  echo "== $name weights+gguf done at $(date -u +%T) (started $t0); $(ls -la $work/$name | tail -n +2)"
  for r in 1 2 3; do
    (cd "$work" && timeout 120 $node bench/llamacpp/bench.mjs --model "$work/$name/model-f32.gguf" --gpu vulkan --vocab $vocab --warmup 1 --runs 3 2>>"$out/lcpp-stderr.log") | tee -a "$out/lcpp-$name.jsonl" | cut -c1-400
    (cd "$work" && timeout 120 $node bench/webgpu/bench.mjs --model "$work/$name" --runs 3 2>>"$out/fs2-stderr.log") | tee -a "$out/fs2-$name.jsonl" | cut -c1-400
  done
done
echo "== done $(date -u +%FT%TZ)"
