#!/bin/sh
# Exported symbols == names in the version script == functions the public
# header declares; every export carries a version node; SONAME major matches
# the header's CSCALP_VERSION_MAJOR.
# usage: check-exports.sh LIBRARY.so HEADER MAPFILE
set -eu
lib=$1 header=$2 map=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# (a) dynamic exports, without the version-node marker symbols (absolute, 'A')
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp/exported"
# (b) global names in the map (between "global:" and "local:")
awk '/global:/ { g = 1; next } /local:/ { g = 0 } g && /;/ { gsub(/[ \t;]/, ""); if ($0 != "") print }' \
    "$map" | sort -u > "$tmp/map"
# (c) functions declared with CSCALP_API in the header (name before the first '(')
tr '\n' ' ' < "$header" | grep -o 'CSCALP_API[^;(]*(' |
    sed -E 's/\($//; s/.*[ *]([A-Za-z_][A-Za-z0-9_]*)$/\1/' | grep -E '^cscalp_[a-z0-9_]+$' |
    sort -u > "$tmp/header"

status=0
compare() {
    if ! diff -u "$tmp/$1" "$tmp/$2" > "$tmp/diff"; then
        echo "FAIL: $1 and $2 differ (- only in $1, + only in $2):"
        grep '^[-+][a-z]' "$tmp/diff" || true
        status=1
    fi
}
compare exported map
compare map header
[ -s "$tmp/exported" ] || { echo "FAIL: no exported symbols found in $lib"; status=1; }

unversioned=$(nm -D --defined-only "$lib" | awk '$2 != "A" && $3 !~ /@@?CSCALP_[0-9]+\.[0-9]+$/ { print $3 }')
if [ -n "$unversioned" ]; then
    echo "FAIL: exports without a CSCALP_x.y version node: $unversioned"
    status=1
fi

major=$(awk '/#define CSCALP_VERSION_MAJOR/ { print $3 }' "$header")
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ "$soname" != "libcryptoscalp.so.$major" ]; then
    echo "FAIL: SONAME '$soname' does not match CSCALP_VERSION_MAJOR $major"
    status=1
fi

[ $status -eq 0 ] && echo "OK: $(wc -l < "$tmp/exported") exports == map == header; SONAME $soname"
exit $status
