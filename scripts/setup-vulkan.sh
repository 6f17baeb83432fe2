#!/usr/bin/env bash
# Installs a software Vulkan driver (Mesa lavapipe) and the Vulkan loader into a private folder,
# without touching the system, so that the `webgpu` device (Dawn through the `webgpu` npm package)
# can run where there is no GPU: the CI machine, a laptop without drivers.
#
# Debian 12's own Mesa (22.3) lavapipe is rejected by Dawn; Mesa 25 from bookworm-backports is
# accepted (measured; see docs/gpu.md). Packages are downloaded with apt into a private apt state
# and unpacked with `dpkg -x`: no root needed for the result, nothing installed system-wide.
#
# Usage: scripts/setup-vulkan.sh [DIR]   (default: ${FS2_VULKAN_DIR:-$HOME/.cache/fs2/vulkan})
# Prints the folder on success; the webgpu device and the tests look there.
set -euo pipefail
dir=${1:-${FS2_VULKAN_DIR:-$HOME/.cache/fs2/vulkan}}
if [ -f "$dir/lvp_icd.json" ] && [ -e "$dir/root/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ]; then
  echo "$dir"
  exit 0
fi
if [ "$(uname -m)" != "x86_64" ] || ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  echo "setup-vulkan: needs an x86_64 Debian-like system with apt-get and dpkg" >&2
  exit 3
fi
. /etc/os-release
codename=${VERSION_CODENAME:-bookworm}
mirror=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true) \
  | grep -E '^[[:space:]]*(URIs:|deb )' | grep -oE 'https?://[^[:space:]]+' | grep debian | grep -v security | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$dir"
cat > "$work/sources.list" <<SOURCES
deb $mirror $codename main
deb $mirror $codename-updates main
deb $mirror $codename-backports main
SOURCES
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Architecture=amd64"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -q)
apt-get "${apt_opts[@]}" update >/dev/null
cd "$work/debs"
# The driver and what it needs newer than bookworm's; the loader. Libraries the driver links that
# bookworm already has (libLLVM-15, xcb, wayland, ...) are unpacked too, so that a minimal system works.
apt-get "${apt_opts[@]}" download \
  "mesa-vulkan-drivers/$codename-backports" "libdrm2/$codename-backports" "libdrm-amdgpu1/$codename-backports" \
  libvulkan1 libllvm15 libwayland-client0 libx11-xcb1 libxcb-dri3-0 libxcb-present0 libxcb-randr0 \
  libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxshmfence1 libz3-4 libedit2 libbsd0 libmd0 libxml2 libicu72 \
  libsensors5 libelf1 libffi8 libtinfo6 libxcb1 libxau6 libxdmcp6 libx11-6 >/dev/null 2>&1
rm -rf "$dir/root"
for deb in *.deb; do dpkg -x "$deb" "$dir/root"; done
lib="$dir/root/usr/lib/x86_64-linux-gnu"
cat > "$dir/lvp_icd.json" <<JSON
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib/libvulkan_lvp.so", "api_version": "1.4.305" } }
JSON
echo "$dir"
