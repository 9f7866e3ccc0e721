#!/usr/bin/env bash
# Builds the reference liblsl 1.16.2 (vendored in ../shared/vendor) once, with
# its example programs, into a cache outside the repository, for the lsl/
# interoperability tests. Idempotent: a second run only prints the directory.
#
# Usage: scripts/liblsl.sh            build if needed, print the cache dir
#        scripts/liblsl.sh --check    print the dir if built, exit 1 if not
# Exit 3: the vendored source is not there (nothing to build).
#
# The lsl tests find the build through $CUEROOM_LIBLSL (the printed dir) or
# the same default location; without it they skip and say how to build it.
# Nothing of liblsl ships in cueroom: it is only the independent peer.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.16.2
sha=93c98278ac37fa69a311d74d7ed7bf9368007106b4f26a42f1becf86a42373ed
tarball=${LIBLSL_TARBALL:-$(pwd)/../shared/vendor/liblsl-$version.tar.gz}
cache=${CUEROOM_LIBLSL:-${XDG_CACHE_HOME:-$HOME/.cache}/cueroom/liblsl-$version}
stamp=$cache/.built-$sha
# The example programs the tests run; GetTimeCorrection is among liblsl's own.
examples=(GetAllStreams ReceiveStringMarkersC ReceiveDataC SendDataC SendData GetTimeCorrection)

if [ -f "$stamp" ]; then echo "$cache"; exit 0; fi
if [ "${1:-}" = --check ]; then exit 1; fi

# The source is the shared vendor tarball beside the repository. Without it
# exit 3: make test goes on and the interop tests skip, saying why.
if [ ! -f "$tarball" ]; then
  echo "liblsl: source $tarball not found (set LIBLSL_TARBALL); the liblsl interop tests will skip" >&2; exit 3
fi
echo "$sha  $tarball" | sha256sum -c --quiet - >&2 || { echo "liblsl: checksum mismatch for $tarball" >&2; exit 1; }

# Debian packages the build needs, installed only when missing (as deps.sh).
missing=()
for p in cmake g++ make; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "liblsl: installing missing system packages: ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      echo "liblsl: please install as root: apt-get install ${missing[*]}" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi


mkdir -p "$(dirname "$cache")"
# One build at a time (two test runs may start it together).
exec 9>"$cache.lock"
flock 9
if [ -f "$stamp" ]; then echo "$cache"; exit 0; fi

start=$(date +%s)
rm -rf "$cache"
mkdir -p "$cache"
tar xzf "$tarball" -C "$cache"
echo "liblsl: building $version in $cache (about a minute on 2 cores)" >&2
{
  cmake -S "$cache/liblsl-$version" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release \
    -DLSL_BUILD_EXAMPLES=ON -DLSL_UNITTESTS=OFF
  cmake --build "$cache/build" -j"$(nproc)"
} >"$cache/build.log" 2>&1 || { tail -40 "$cache/build.log" >&2; echo "liblsl: build failed, log in $cache/build.log" >&2; exit 1; }

for e in "${examples[@]}"; do
  [ -x "$cache/build/examples/$e" ] || { echo "liblsl: example $e was not built" >&2; exit 1; }
done
[ -f "$cache/build/liblsl.so" ] || { echo "liblsl: liblsl.so was not built" >&2; exit 1; }
echo "liblsl: built in $(( $(date +%s) - start ))s" >&2
touch "$stamp"
echo "$cache"
