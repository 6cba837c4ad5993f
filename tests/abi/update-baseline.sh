#!/bin/sh
# Rewrite lib/libcryptoscalp.abi from a build's shared library, on purpose:
# only for a deliberate ABI change, which also needs a CHANGELOG line (see
# lib/README.md). usage: tests/abi/update-baseline.sh [BUILD_DIR] (default build/)
# Use a gcc build with debug info (the default buildtype, debugoptimized).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-"$root/build"}
exec sh "$root/tests/abi/check-abi.sh" --update "$build/src/libcryptoscalp.so.1" "$root"
