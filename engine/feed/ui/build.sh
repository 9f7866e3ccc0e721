#!/usr/bin/env bash
# Refreshes the browser files the Go binary embeds (../web/vendor) from
# node_modules, so `go build` needs no node. Run after changing package.json:
#   npm ci --prefix engine/feed/ui && bash engine/feed/ui/build.sh
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/uplot ] || { echo "build.sh: node_modules/uplot missing; run: npm ci --prefix engine/feed/ui" >&2; exit 1; }
out=../web/vendor
mkdir -p "$out"
cp node_modules/uplot/dist/uPlot.iife.min.js "$out/uPlot.iife.min.js"
cp node_modules/uplot/dist/uPlot.min.css "$out/uPlot.min.css"
# uPlot is MIT: its licence travels with the file.
{
  echo "uPlot $(node -p 'require("./node_modules/uplot/package.json").version') — https://github.com/leeoniya/uPlot"
  echo "Files: uPlot.iife.min.js, uPlot.min.css (copied unchanged from the npm package by ui/build.sh)"
  echo
  cat node_modules/uplot/LICENSE
} > "$out/uPlot.LICENSE.txt"
echo "build.sh: refreshed $out"
