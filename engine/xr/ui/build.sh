#!/usr/bin/env bash
# Refreshes the browser files the Go binary embeds (../web/vendor) from
# node_modules, so `go build` needs no node. Run after changing package.json:
#   npm ci --prefix engine/xr/ui && bash engine/xr/ui/build.sh
set -euo pipefail
cd "$(dirname "$0")"
for p in three @cycjimmy/jsmpeg-player; do
  [ -d "node_modules/$p" ] || { echo "build.sh: node_modules/$p missing; run: npm ci --prefix engine/xr/ui" >&2; exit 1; }
done
out=../web/vendor
mkdir -p "$out"
ver() { node -p "require('./node_modules/$1/package.json').version"; }
# three.js r187 ships no minified ES module: three.module.js imports
# ./three.core.js, so both are copied, unchanged.
cp node_modules/three/build/three.module.js "$out/three.module.js"
cp node_modules/three/build/three.core.js "$out/three.core.js"
{
  echo "three.js $(ver three) — https://threejs.org/"
  echo "Files: three.module.js, three.core.js (copied unchanged from the npm package by ui/build.sh)"
  echo
  cat node_modules/three/LICENSE
} > "$out/three.LICENSE.txt"
# The MPEG-1 video / MP2 audio decoder: phoboslab's JSMpeg as packaged by
# @cycjimmy/jsmpeg-player (both MIT).
cp node_modules/@cycjimmy/jsmpeg-player/dist/jsmpeg-player.esm.js "$out/jsmpeg-player.esm.js"
{
  echo "@cycjimmy/jsmpeg-player $(ver @cycjimmy/jsmpeg-player) — https://github.com/cycjimmy/jsmpeg-player"
  echo "Files: jsmpeg-player.esm.js (copied unchanged from the npm package by ui/build.sh)"
  echo "It bundles JSMpeg by Dominic Szablewski (https://github.com/phoboslab/jsmpeg), MIT licensed:"
  echo "\"Copyright (c) 2017 Dominic Szablewski\" under the same MIT terms as below."
  echo
  cat node_modules/@cycjimmy/jsmpeg-player/LICENSE
} > "$out/jsmpeg.LICENSE.txt"
echo "build.sh: refreshed $out"
