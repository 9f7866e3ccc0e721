#!/usr/bin/env bash
# Runs the Go tests (or benchmarks) with a virtual display and a real-time
# PulseAudio null sink, so window and sound tests run on a machine with
# neither a screen nor a sound card.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
pa_pid=""
cleanup() {
  [ -n "$pa_pid" ] && kill "$pa_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

if command -v pulseaudio >/dev/null; then
  pulseaudio -n --daemonize=no --exit-idle-time=-1 --disable-shm=yes --use-pid-file=no \
    --system=false -L "module-native-protocol-unix auth-anonymous=1 socket=$tmp/native" \
    -L "module-null-sink sink_name=null rate=48000" >"$tmp/pulse.log" 2>&1 &
  pa_pid=$!
  for _ in $(seq 100); do [ -S "$tmp/native" ] && break; sleep 0.05; done
  export PULSE_SERVER="unix:$tmp/native"
fi

# The BIDS export tests run the npm bids-validator: install it when
# node_modules is missing or older than package-lock.json.
if [ "${1:-}" != bench ] && command -v npm >/dev/null &&
  { [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# The dashboard's browser test drives Chromium with playwright-core.
if command -v npm >/dev/null &&
  { [ ! -f engine/feed/ui/node_modules/.package-lock.json ] ||
    [ engine/feed/ui/package-lock.json -nt engine/feed/ui/node_modules/.package-lock.json ]; }; then
  npm ci --prefix engine/feed/ui --no-audit --no-fund --loglevel=error
fi

# The headset page's browser test: three.js, the MPEG-1 decoder, a WebXR
# emulator (engine/xr/ui).
if command -v npm >/dev/null &&
  { [ ! -f engine/xr/ui/node_modules/.package-lock.json ] ||
    [ engine/xr/ui/package-lock.json -nt engine/xr/ui/node_modules/.package-lock.json ]; }; then
  npm ci --prefix engine/xr/ui --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = bench ]; then
  cmd=(go test -run='^$' -bench=. -benchmem ./...)
else
  cmd=(go test -race -count=1 -timeout=25m ./...)
fi

if [ -z "${DISPLAY:-}" ]; then
  xvfb-run -a -s "-screen 0 1920x1080x24 -nolisten tcp" "${cmd[@]}"
else
  "${cmd[@]}"
fi
