#!/usr/bin/env bash
# Installs every Debian package vkseek needs to build, test and run; with --train, also
# what tools/train needs to train the built-in model (PyTorch, and OpenBLAS, which makes
# PyTorch's CPU matrix products ~20x faster than Debian's reference BLAS); with --fuzz,
# clang and its libFuzzer runtime for tools/fuzz.sh.
# Non-interactive and idempotent: packages already present are left alone.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git
  libvulkan-dev glslc mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libpng-dev libjpeg62-turbo-dev libglfw3-dev libpcre2-dev libcjson-dev libmicrohttpd-dev
  libunistring-dev libedit-dev
  python3 python3-numpy
  xvfb x11-apps x11-utils xdotool
)
case "${1:-}" in
  --train) pkgs+=(python3-torch libopenblas0-pthread) ;;
  --fuzz) pkgs+=(clang libclang-rt-dev) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
