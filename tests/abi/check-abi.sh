#!/bin/sh
# abidiff: the ABI of the built shared library equals the committed baseline
# lib/libcryptoscalp.abi; any difference fails, added functions included.
#
# usage: check-abi.sh LIBRARY.so SOURCE_ROOT            compare (the test)
#        check-abi.sh --update LIBRARY.so SOURCE_ROOT   rewrite the baseline
#
# The dump keeps only the public ABI: types defined outside include/ are
# dropped (--drop-private-types), so the layout of struct cscalp_engine and
# every other internal type can change freely; declarations without an
# exported symbol are dropped; locations, paths and DT_NEEDED are left out, so
# the dump depends neither on the build directory nor on the sanitizer or BLAS
# link flags. What remains: every exported function, its signature and every
# type reachable from it (struct sizes, member names, types and offsets).
#
# abidiff's exit status is a bit mask (libabigail abidiff manual):
#   1 tool error, 2 usage error, 4 ABI change, 8 incompatible ABI change.
# Any non-zero status fails this test. Exit 77 (meson: skipped) when abidw is
# missing, the library has no DWARF (no -g: the dump would hold symbols only
# and abidiff would pass every type change), or the baseline is for another
# architecture.
set -eu
mode=check
if [ "${1:-}" = --update ]; then mode=update; shift; fi
lib=$1 root=$2
baseline=$root/lib/libcryptoscalp.abi

skip() { echo "SKIP: $*"; exit 77; }
command -v abidw > /dev/null || skip "abidw not found (Debian package abigail-tools)"
command -v abidiff > /dev/null || skip "abidiff not found (Debian package abigail-tools)"
if ! readelf -S "$lib" | grep -q 'debug_info'; then
    [ $mode = update ] && { echo "error: $lib has no debug info; build with -g (buildtype debugoptimized or debug)" >&2; exit 1; }
    skip "$lib has no debug info (buildtype without -g); abidw could only compare symbol names"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cscalp-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

abidw --headers-dir "$root/include" --drop-private-types --drop-undefined-syms \
      --no-show-locs --no-corpus-path --no-comp-dir-path --no-elf-needed \
      --out-file "$tmp/raw.abi" "$lib"
# Translation units are named by the path the compiler was given, which
# depends on where the build directory is: keep it from src/ on.
sed "s|<abi-instr \(.*\) path='[^']*/src/|<abi-instr \1 path='src/|" "$tmp/raw.abi" > "$tmp/current.abi"
grep -q '<function-decl ' "$tmp/current.abi" || {
    echo "FAIL: abidw found no exported function with debug info in $lib"; exit 1; }

if [ $mode = update ]; then
    cp "$tmp/current.abi" "$baseline"
    echo "wrote $baseline from $lib ($(grep -c '<elf-symbol ' "$baseline") exported symbols)"
    exit 0
fi

[ -f "$baseline" ] || { echo "FAIL: no baseline $baseline (tests/abi/update-baseline.sh writes it)"; exit 1; }
arch_of() { sed -n "s/.*<abi-corpus[^>]* architecture='\([^']*\)'.*/\1/p" "$1" | head -n 1; }
want=$(arch_of "$baseline") have=$(arch_of "$tmp/current.abi")
[ "$want" = "$have" ] || skip "the baseline is for $want, this build is $have"

set +e
abidiff "$baseline" "$tmp/current.abi"
rc=$?
set -e
if [ $rc -ne 0 ]; then
    bits=""
    [ $((rc & 1)) -ne 0 ] && bits="$bits tool-error"
    [ $((rc & 2)) -ne 0 ] && bits="$bits usage-error"
    [ $((rc & 4)) -ne 0 ] && bits="$bits ABI-change"
    [ $((rc & 8)) -ne 0 ] && bits="$bits INCOMPATIBLE-ABI-change"
    echo "FAIL: abidiff exit $rc ($bits ) against lib/libcryptoscalp.abi"
    echo "A deliberate change: tests/abi/update-baseline.sh BUILD_DIR, a CHANGELOG line,"
    echo "and for an incompatible one a new SONAME major (see lib/README.md)."
    exit 1
fi
echo "OK: the ABI of $(basename "$lib") equals lib/libcryptoscalp.abi" \
     "($(grep -c '<elf-symbol ' "$baseline") symbols, $(grep -c '<class-decl ' "$baseline") struct types)"
