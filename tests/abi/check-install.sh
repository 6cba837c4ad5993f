#!/bin/sh
# install_consumer: `meson install` staged into a private DESTDIR holds the
# headers (cryptoscalp.h, cryptoscalp_sim.h), libcryptoscalp.so.1 (+ the .so
# link), libcryptoscalp.a and cryptoscalp.pc; a consumer built with nothing
# but `pkg-config --cflags --libs cryptoscalp` links against the staged shared
# library (not some other copy), opens an engine, pushes a quote made by the
# synthetic market and prints the version; the same consumer links
# statically against the staged archive
# with `pkg-config --static` (Libs.private / Requires.private are complete).
#
# usage: check-install.sh BUILD_DIR SANITIZE CC [CC_ARGS...]
# SANITIZE is meson's b_sanitize ("none", "address,undefined", ...): an
# instrumented library needs an instrumented consumer.
# Safe to run beside other tests: everything it writes is under its own
# mktemp directory (meson install itself only reads the build directory,
# apart from meson-logs/install-log.txt).
set -eu
build=$1 sanitize=$2
shift 2
skip() { echo "SKIP: $*"; exit 77; }
command -v pkg-config > /dev/null || skip "pkg-config not found"
meson=${MESON:-meson}
command -v "$meson" > /dev/null || skip "meson not found (set MESON)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/cscalp-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
root=$stage/root
if ! DESTDIR=$root "$meson" install -C "$build" --no-rebuild --quiet > "$stage/install.log" 2>&1; then
    cat "$stage/install.log"
    echo "FAIL: meson install into a staging directory"
    exit 1
fi

fail=0
find_one() { find "$root" -name "$1" | head -n 1; }
for f in cryptoscalp.h cryptoscalp_sim.h libcryptoscalp.so libcryptoscalp.so.1 libcryptoscalp.a cryptoscalp.pc; do
    [ -n "$(find_one "$f")" ] || { echo "FAIL: $f is not installed"; fail=1; }
done
[ $fail -eq 0 ] || { (cd "$root" && find . -type f -o -type l); exit 1; }
for f in cryptoscalp.h cryptoscalp_sim.h; do
    case $(find_one $f) in
        */include/$f) ;;
        *) echo "FAIL: $f is installed outside an include/ directory"; exit 1 ;;
    esac
done
pcdir=$(dirname "$(find_one cryptoscalp.pc)")
libdir=$(dirname "$(find_one libcryptoscalp.so.1)")
echo "staged: $(cd "$root" && find . -name 'cryptoscalp*.h' -o -name 'libcryptoscalp.*' -o -name cryptoscalp.pc | sort | tr '\n' ' ')"

cat > "$stage/consumer.c" <<'C'
#include <cryptoscalp.h>
#include <cryptoscalp_sim.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    cscalp_engine *engine = NULL;
    cscalp_sim_market *market = NULL;
    cscalp_sim_market_config cfg;
    cscalp_sim_market_event ev;
    const char *names[64];
    double raw[64];
    size_t count = 0;
    int rc;

    if (cscalp_version() != (unsigned)CSCALP_VERSION_HEX) {
        printf("header 0x%06x, library 0x%06x\n", (unsigned)CSCALP_VERSION_HEX, cscalp_version());
        return 1;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    if (cscalp_sim_market_config_init(&cfg) != CSCALP_OK ||
        cscalp_sim_market_open(&market, &cfg, NULL, NULL, 0) != CSCALP_OK ||
        cscalp_sim_market_next(market, &ev) != CSCALP_OK || ev.kind != CSCALP_KIND_QUOTE) {
        printf("synthetic market: no opening quote\n");
        return 1;
    }
    cscalp_sim_market_close(market);
    rc = cscalp_open(&engine, NULL);
    if (rc != CSCALP_OK) {
        printf("cscalp_open: %s\n", cscalp_strerror(rc));
        return 1;
    }
    rc = cscalp_push_quote(engine, &ev.quote);
    if (rc == CSCALP_OK)
        rc = cscalp_features(engine, raw, NULL, 64, &count);
    if (rc == CSCALP_OK)
        rc = cscalp_feature_names(names, 64, NULL);
    if (rc != CSCALP_OK || count == 0) {
        printf("push/features: %s (%s)\n", cscalp_error_name(rc), cscalp_last_error(engine));
        cscalp_close(engine);
        return 1;
    }
    printf("libcryptoscalp %s: engine open, simulated quote pushed, %s = %g, %zu features\n",
           cscalp_version_string(), names[0], raw[0], count);
    cscalp_close(engine);
    return 0;
}
C

pc() { PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@" cryptoscalp; }
cflags=$(pc --cflags)
libs=$(pc --libs)
static_libs=$(pc --static --libs)
echo "pkg-config --cflags --libs: $cflags $libs"
strict="-std=c99 -pedantic -Wall -Werror"
san=""
[ "$sanitize" = none ] || [ -z "$sanitize" ] || san="-fsanitize=$sanitize"

# Shared: only what pkg-config gives, run with the staged libdir first.
# shellcheck disable=SC2086
"$@" $strict $san -o "$stage/consumer" "$stage/consumer.c" $cflags $libs
resolved=$(LD_LIBRARY_PATH=$libdir ldd "$stage/consumer" | awk '/libcryptoscalp/ { print $3 }')
case $resolved in
    "$root"/*) ;;
    *) echo "FAIL: the consumer resolves libcryptoscalp to '$resolved', not the staged copy"; exit 1 ;;
esac
LD_LIBRARY_PATH=$libdir "$stage/consumer" || { echo "FAIL: the shared consumer"; exit 1; }

# Static: the archive in place of -lcryptoscalp, the rest from --static.
archive=$(find_one libcryptoscalp.a)
with_archive=""
for word in $static_libs; do
    [ "$word" = -lcryptoscalp ] && word=$archive
    with_archive="$with_archive $word"
done
# shellcheck disable=SC2086
"$@" $strict $san -o "$stage/consumer-static" "$stage/consumer.c" $cflags $with_archive
if LD_LIBRARY_PATH=$libdir ldd "$stage/consumer-static" | grep -q libcryptoscalp; then
    echo "FAIL: the static consumer still loads libcryptoscalp.so"; exit 1
fi
"$stage/consumer-static" || { echo "FAIL: the static consumer"; exit 1; }
echo "OK: staged install is complete; shared and static consumers built with pkg-config ran"
