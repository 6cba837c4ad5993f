#!/bin/sh
# Regenerate lib/libcryptoscalp.abi from a build (default: build/). Only for a
# deliberate ABI change, which also needs a CHANGELOG line and, for an
# incompatible one, a new SONAME major.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-"$root/build"}
lib=$(ls "$build"/src/libcryptoscalp.so.*.*.* | head -n 1)
abidw --headers-dir "$root/include" --no-corpus-path --no-comp-dir-path "$lib" \
    > "$root/lib/libcryptoscalp.abi"
echo "wrote $root/lib/libcryptoscalp.abi from $lib"
