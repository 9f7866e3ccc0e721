#!/usr/bin/env bash
# Installs the Debian packages cueroom needs, and only those missing.
# Idempotent: a second run installs nothing. Usage: scripts/deps.sh run|test
set -euo pipefail

# Build: the cgo headers ebiten (GLFW/X11, OpenGL) and its sound (ALSA) need.
build=(gcc pkg-config libc6-dev libgl1-mesa-dev libxcursor-dev libxi-dev libxinerama-dev
       libxrandr-dev libxxf86vm-dev libasound2-dev)
# Run: a virtual display for machines without one, Mesa's software GL,
# espeak-ng for text-only narration.
run=(xvfb xauth libgl1-mesa-dri espeak-ng)
# Test: a PulseAudio null sink paces audio in real time with no sound card;
# xdotool to press keys in the window,
# Chromium for the dashboard browser test; iproute2 (ip) and util-linux
# (unshare) for the LSL tests' private network namespace.
test=(pulseaudio libasound2-plugins xdotool chromium iproute2 util-linux)

want=("${build[@]}" "${run[@]}")
[ "${1:-run}" = test ] && want+=("${test[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "cueroom: installing missing system packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "cueroom: please install as root: apt-get install ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
