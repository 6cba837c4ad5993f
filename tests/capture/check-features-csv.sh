#!/bin/sh
# cscalp-features on the bundled real capture: the header is ts_ns plus the
# feature names in the order of docs/features.md, there is one row per quote
# and book event the reader emitted (none refused), every value is a finite
# number, and time never decreases.
# usage: check-features-csv.sh CSCALP_FEATURES DOCS_FEATURES_MD
set -eu
exe=$1 doc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$exe" > "$tmp/out.csv" 2> "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }

expected="ts_ns,$(awk -F'`' '/^\| [0-9]+ \| `/ { printf "%s%s", sep, $2; sep = "," }' "$doc")"
header=$(head -n 1 "$tmp/out.csv")
[ "$header" = "$expected" ] || { echo "FAIL: header\n  got  $header\n  want $expected"; exit 1; }

quotes=$(sed -n 's/.*"quotes":\([0-9]*\).*/\1/p' "$tmp/err.txt" | head -n 1)
books=$(sed -n 's/.*"books":\([0-9]*\).*/\1/p' "$tmp/err.txt" | head -n 1)
rows=$(($(wc -l < "$tmp/out.csv") - 1))
[ -n "$quotes" ] && [ -n "$books" ] || { echo "FAIL: no reader summary on stderr"; cat "$tmp/err.txt"; exit 1; }
[ "$rows" -eq $((quotes + books)) ] || { echo "FAIL: $rows rows for $quotes quotes + $books books"; exit 1; }
[ "$rows" -gt 1000 ] || { echo "FAIL: only $rows rows"; exit 1; }
if grep -q '"rejected":{[^}]*[1-9]' "$tmp/err.txt"; then echo "FAIL: events refused"; cat "$tmp/err.txt"; exit 1; fi

awk -F, -v n="$(echo "$expected" | awk -F, '{ print NF }')" '
  NR == 1 { next }
  NF != n { printf "FAIL: row %d has %d fields\n", NR, NF; bad = 1; exit }
  { for (i = 1; i <= NF; i++) if ($i !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) {
        printf "FAIL: row %d field %d is %s\n", NR, i, $i; bad = 1; exit } }
  $1 + 0 < last { printf "FAIL: time goes back at row %d\n", NR; bad = 1; exit }
  { last = $1 + 0 }
  END { exit bad }' "$tmp/out.csv"
echo "OK: $rows rows x $(echo "$expected" | awk -F, '{ print NF }') columns, header matches docs/features.md"
