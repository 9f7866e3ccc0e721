#!/usr/bin/env bash
# Launches the real patient window (cueroom run) many times under Xvfb with
# a protocol of many short steps that crossfade into each other, with a
# breathing pacer, text, pictures, a panorama and a video, and counts the
# launches that crashed (killed by a signal, or "SIGSEGV"/"SIGBUS"/"fatal
# error" in their output) and those that failed otherwise.
#
# usage: scripts/window-stress.sh [-n LAUNCHES] [-s STEPS] [-j PARALLEL] [-t TREE] [-k DIR]
#   -n  launches (default 20)
#   -s  exposure steps per launch, each 0.45 s with a 0.3 s crossfade (default 12,
#       at most 100; for one long run with hundreds of crossfades see
#       CUEROOM_WINDOW_STRESS in engine/window/stress_test.go)
#   -j  launches at once (default 1)
#   -t  the source tree to build cueroom from (default: this one)
#   -k  keep each failed launch's output in DIR
# Needs xvfb-run. Prints one line per launch and a summary:
#   launches=N crossfades=M crashes=C failures=F
set -uo pipefail
if [ -z "${DISPLAY:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1920x1080x24 -nolisten tcp" "$0" "$@"
fi
here=$(cd "$(dirname "$0")/.." && pwd)
n=20 steps=12 par=1 tree=$here keep=""
while getopts "n:s:j:t:k:" o; do
  case $o in
  n) n=$OPTARG ;; s) steps=$OPTARG ;; j) par=$OPTARG ;; t) tree=$(cd "$OPTARG" && pwd) ;; k) keep=$OPTARG ;;
  *) sed -n 2,16p "$0"; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$tree" && go build -o "$work/cueroom" ./cmd/cueroom) || exit 1

# The protocol: its media copied beside it (paths may not leave its folder).
mkdir -p "$work/p/media"
for f in neutral.png bottle.png glass.png bar_pano.png bar.mpg; do
  cp "$tree/assets/demo/media/$f" "$work/p/media/"
done
{
  cat <<EOF
cueroom: 1
title: "Window stress"
substance: other
crossfade: 0.3s
baseline:
  duration: 0.6s
  cues:
    - image: media/neutral.png
    - breathing: 6
    - text: "Baseline: breathe with the circle."
steps:
EOF
  for i in $(seq 1 "$steps"); do
    echo "  - name: Step $i"
    echo "    intensity: 1"
    echo "    duration: 0.45s"
    echo "    cues:"
    case $((i % 5)) in
    0) printf '      - image: media/bottle.png\n        zoom: 1.2\n      - text: "Step %d: notice the urge."\n' "$i" ;;
    1) printf '      - video: media/bar.mpg\n        end: loop\n      - breathing: 8\n' ;;
    2) printf '      - panorama: media/bar_pano.png\n        yaw: %d\n      - text: "Look around."\n' $((i * 7 % 360 - 180)) ;;
    3) printf '      - image: media/glass.png\n        fit: fill\n        pan: left\n      - breathing: 6\n      - text: "Breathe in, and out."\n' ;;
    4) printf '      - video: media/bar.mpg\n        end: hold\n      - text: "A short clip."\n' ;;
    esac
  done
  cat <<EOF
recovery:
  duration: 0.6s
  cues:
    - image: media/neutral.png
    - breathing: 6
EOF
} >"$work/p/stress.yaml"
"$work/cueroom" check "$work/p/stress.yaml" >/dev/null || { "$work/cueroom" check "$work/p/stress.yaml"; exit 1; }

# One launch: its result on stdout as "crash", "fail" or "ok".
launch() {
  local i=$1 d="$work/run$1"
  mkdir -p "$d"
  timeout -s KILL $((60 + steps * 2)) "$work/cueroom" run --no-sound --listen 127.0.0.1:0 \
    --sessions "$d/s" "$work/p/stress.yaml" >"$d/out" 2>&1
  local rc=$? res=ok
  if [ $rc -gt 128 ] && [ $rc -ne 137 ] || grep -qE 'SIGSEGV|SIGBUS|SIGABRT|fatal error|unexpected signal' "$d/out"; then
    res=crash
  elif [ $rc -ne 0 ]; then
    res=fail
  fi
  echo "launch $i: rc=$rc $res" | tee -a "$work/results"
  if [ $res != ok ] && [ -n "$keep" ]; then
    mkdir -p "$keep" && cp "$d/out" "$keep/launch$i.log"
  fi
  rm -rf "$d"
}
export -f launch
export work steps keep

touch "$work/results"
seq 1 "$n" | xargs -P "$par" -I{} bash -c 'launch {}'
crashes=$(grep -c ' crash$' "$work/results")
fails=$(grep -c ' fail$' "$work/results")
echo "launches=$n crossfades=$((n * (steps + 1))) crashes=$crashes failures=$fails"
