#!/bin/sh
# exports: the shared library exports exactly the names the version script
# lists, which are exactly the functions the public headers declare with
# CSCALP_API (and no header declares a function without it); every export
# carries the version node the map puts it under; the SONAME is
# libcryptoscalp.so.<CSCALP_VERSION_MAJOR>; the static archive defines no
# global symbol outside the cscalp_ namespace (it is linked into hosts); every
# version node of the map is named in CHANGELOG.md (the ABI grows by nodes,
# and each growth gets a CHANGELOG line).
#
# usage: check-exports.sh LIB.so LIB.a MAPFILE CHANGELOG HEADER... [-- CC [CC_ARGS...]]
# The first HEADER is cryptoscalp.h (it defines CSCALP_VERSION_MAJOR); the
# others are the further public headers (cryptoscalp_sim.h). CC (the C
# compiler command) is used only to preprocess the headers, so that
# declarations are read after comments and macros are gone; without it that
# one check is skipped.
set -eu
so=$1 archive=$2 map=$3 changelog=$4
shift 4
# The header paths are split on blanks (they are the source tree's own).
headers=""
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    headers="$headers $1"
    shift
done
if [ $# -gt 0 ]; then shift; fi
[ -n "$headers" ] || { echo "usage: check-exports.sh LIB.so LIB.a MAPFILE CHANGELOG HEADER... [-- CC...]"; exit 2; }
# shellcheck disable=SC2086
header=$(set -- $headers; echo "$1")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cscalp-exports.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
problem() { echo "FAIL: $*"; fail=1; }

# Sets A and B differ: print both sides of the difference under a title.
compare() { # compare FILE_A LABEL_A FILE_B LABEL_B
    if ! cmp -s "$1" "$3"; then
        problem "$2 and $4 differ"
        comm -23 "$1" "$3" | sed "s/^/    only in $2: /"
        comm -13 "$1" "$3" | sed "s/^/    only in $4: /"
    fi
}

# Strip /* */ comments from a file (the map and the header use only those).
strip_comments() {
    awk '{ t = t $0 "\n" }
         END {
             out = ""
             while ((i = index(t, "/*")) > 0) {
                 out = out substr(t, 1, i - 1)
                 t = substr(t, i + 2)
                 j = index(t, "*/")
                 if (j == 0) { t = ""; break }
                 t = substr(t, j + 2)
             }
             printf "%s", out t
         }' "$1"
}

# ---- (a) the shared library's dynamic exports -----------------------------
# binutils >= 2.35 prints versions by default; older nm needs the option.
{ nm -D --defined-only --with-symbol-versions "$so" 2>/dev/null ||
    nm -D --defined-only "$so"; } > "$tmp/nm"
# Version-node names are absolute ('A') symbols; they are nodes, not exports.
awk '$2 == "A" { sub(/@.*/, "", $3); print $3 }' "$tmp/nm" | sort -u > "$tmp/so.nodes"
awk '$2 != "A" { s = $3; sub(/@.*/, "", s); print s }' "$tmp/nm" | sort -u > "$tmp/so.names"
# name -> default version node ("-" when unversioned); compat versions apart.
awk '$2 != "A" {
        s = $3
        if (index(s, "@@")) { n = s; sub(/@@.*/, "", n); v = s; sub(/.*@@/, "", v); print n, v }
        else if (index(s, "@") == 0) print s, "-"
     }' "$tmp/nm" | sort -u > "$tmp/so.pairs"
awk '$2 != "A" && $3 ~ /[^@]@[^@]/ { print $3 }' "$tmp/nm" | sort -u > "$tmp/so.compat"
[ -s "$tmp/so.names" ] || problem "$so exports no symbols"

# ---- (b) the version script -----------------------------------------------
# Grammar used: NODE { global: names; local: *; } [PARENT] ;
strip_comments "$map" | awk '
    { t = t " " $0 }
    END {
        gsub(/[{};:]/, " & ", t)
        n = split(t, tok, /[ \t]+/)
        state = "node"
        for (k = 1; k <= n; k++) {
            w = tok[k]
            if (w == "") continue
            if (state == "node") {
                if (w == ";") continue
                node = w; print "node", node; state = "open"
            } else if (state == "open") {
                if (w != "{") { print "error expected { after", node; exit }
                state = "body"; section = "global"
            } else if (state == "body") {
                if (w == "}") state = "after"
                else if ((w == "global" || w == "local") && tok[k + 1] == ":") { section = w; k++ }
                else if (w != ";" && section == "global") print "sym", w, node
            } else if (w == ";") state = "node"
        }
    }' > "$tmp/map.parsed"
if grep -q '^error' "$tmp/map.parsed"; then
    problem "cannot parse $map: $(grep '^error' "$tmp/map.parsed")"
fi
awk '$1 == "node" { print $2 }' "$tmp/map.parsed" | sort -u > "$tmp/map.nodes"
awk '$1 == "sym" { print $2, $3 }' "$tmp/map.parsed" | sort -u > "$tmp/map.pairs"
awk '$1 == "sym" { print $2 }' "$tmp/map.parsed" | sort > "$tmp/map.all"
sort -u "$tmp/map.all" > "$tmp/map.names"
dups=$(uniq -d "$tmp/map.all")
[ -z "$dups" ] || problem "listed more than once in the map: $dups"
globs=$(grep '[*?[]' "$tmp/map.names" || true)
[ -z "$globs" ] || problem "wildcards in a global: section of the map: $globs"
bad_nodes=$(grep -v '^CSCALP_[0-9][0-9]*\.[0-9][0-9]*$' "$tmp/map.nodes" || true)
[ -z "$bad_nodes" ] || problem "version nodes not named CSCALP_<major>.<minor>: $bad_nodes"

# ---- (c) functions declared with CSCALP_API in the headers ----------------
for h in $headers; do
    strip_comments "$h" | tr '\n' ' ' | grep -o 'CSCALP_API[^;(]*(' |
        sed -E 's/[[:space:]]*\($//; s/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)$/\1/' |
        grep -E '^cscalp_[a-z0-9_]+$' || true
done | sort -u > "$tmp/header.names"

# ---- (d) every function the headers declare, after preprocessing ----------
# Each header is read on its own; only the lines that come from it count (a
# header that includes cryptoscalp.h does not declare its functions again).
: > "$tmp/header.declared.all"
if [ $# -gt 0 ]; then
    for h in $headers; do
        if ! "$@" -E -x c "$h" > "$tmp/header.i" 2> "$tmp/cpp.err"; then
            problem "$h does not preprocess: $(cat "$tmp/cpp.err")"
            continue
        fi
        awk -v hdr="$h" '
            function handle(s,    name) {
                if (s ~ /^[ \t]*typedef[ \t]/) return
                gsub(/__attribute__ *\(\([^()]*(\([^()]*\))?[^()]*\)\)/, " ", s)
                if (match(s, /[A-Za-z_][A-Za-z0-9_]* *\(/)) {
                    name = substr(s, RSTART, RLENGTH)
                    sub(/ *\($/, "", name)
                    print name
                }
            }
            /^# [0-9]+ "/ { f = $0; sub(/^# [0-9]+ "/, "", f); sub(/"[^"]*$/, "", f); mine = (f == hdr); next }
            /^#/ { next }
            mine { buf = buf " " $0 }
            END {
                depth = 0; stmt = ""; n = length(buf)
                for (i = 1; i <= n; i++) {
                    c = substr(buf, i, 1)
                    if (c == "{") depth++
                    else if (c == "}") depth--
                    if (c == ";" && depth == 0) { handle(stmt); stmt = "" }
                    else stmt = stmt c
                }
            }' "$tmp/header.i" >> "$tmp/header.declared.all"
    done
    sort -u "$tmp/header.declared.all" > "$tmp/header.declared"
    compare "$tmp/header.names" "declared-with-CSCALP_API" "$tmp/header.declared" "declared-in-header"
else
    echo "note: no compiler given; not checking for functions declared without CSCALP_API"
fi

# ---- the three sets are one set --------------------------------------------
compare "$tmp/so.names" "exported" "$tmp/map.names" "map"
compare "$tmp/map.names" "map" "$tmp/header.names" "headers"

# ---- version nodes ----------------------------------------------------------
# Each export's default version is the node the map lists it under (so a
# symbol added in CSCALP_1.1 cannot land in CSCALP_1.0), and the nodes defined
# in the library are those of the map.
compare "$tmp/so.pairs" "exported-name+node" "$tmp/map.pairs" "map-name+node"
compare "$tmp/so.nodes" "library-nodes" "$tmp/map.nodes" "map-nodes"
unversioned=$(awk '$2 == "-" { print $1 }' "$tmp/so.pairs")
[ -z "$unversioned" ] || problem "exports without a version node: $unversioned"
# A compatibility (non-default) version is fine if its node is in the map.
while read -r sym; do
    node=${sym#*@}
    grep -qx "$node" "$tmp/map.nodes" ||
        problem "$sym: compatibility version on a node the map does not define"
done < "$tmp/so.compat"

while read -r node; do
    grep -qF "$node" "$changelog" ||
        problem "version node $node is not named in $(basename "$changelog"); the ABI grew without a CHANGELOG line"
done < "$tmp/map.nodes"

# ---- SONAME -----------------------------------------------------------------
major=$(strip_comments "$header" |
    awk '$1 == "#define" && $2 == "CSCALP_VERSION_MAJOR" { print $3 }')
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ -z "$major" ]; then
    problem "CSCALP_VERSION_MAJOR not found in $header"
elif [ "$soname" != "libcryptoscalp.so.$major" ]; then
    problem "SONAME '$soname' is not libcryptoscalp.so.$major (CSCALP_VERSION_MAJOR)"
fi

# ---- static archive namespace ----------------------------------------------
nm -g --defined-only "$archive" | awk 'NF == 3 { print $3 }' | sort -u > "$tmp/ar.globals"
outside=$(grep -v -e "^cscalp_" "$tmp/ar.globals" | tr "\n" " " || true)
[ -z "$outside" ] || problem "libcryptoscalp.a defines globals outside cscalp_* (they can clash with a host's symbols): $outside"

if [ $fail -eq 0 ]; then
    echo "OK: $(wc -l < "$tmp/so.names") exports == map == headers; nodes: $(tr '\n' ' ' < "$tmp/map.nodes")SONAME $soname; $(wc -l < "$tmp/ar.globals") globals in the static archive, all cscalp_*"
fi
exit $fail
