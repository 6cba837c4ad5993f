#!/bin/sh
# The built library's ABI equals the committed baseline (lib/libcryptoscalp.abi).
# A deliberate ABI change regenerates the baseline with update-baseline.sh and
# gets a CHANGELOG line. usage: check-abi.sh LIBRARY.so HEADERS_DIR BASELINE
set -eu
lib=$1 headers=$2 baseline=$3
current=$(mktemp)
trap 'rm -f "$current"' EXIT
abidw --headers-dir "$headers" --no-corpus-path --no-comp-dir-path "$lib" > "$current"
set +e
abidiff "$baseline" "$current"
rc=$?
set -e
# abidiff's exit code is a bit mask: 1 tool error, 2 usage error, 4 ABI change,
# 8 incompatible ABI change. Any bit fails the test.
if [ $rc -ne 0 ]; then
    echo "FAIL: abidiff exit $rc against $baseline (4 = ABI change, 8 = incompatible)"
    echo "If the change is deliberate: tests/abi/update-baseline.sh BUILD_DIR, and a CHANGELOG line."
    exit 1
fi
echo "OK: ABI of $(basename "$lib") matches $(basename "$baseline")"
