#!/bin/sh
# Stage `meson install` into a temporary root, then build a consumer with
# nothing but `pkg-config --cflags --libs cryptoscalp` and run it.
# usage: check-install.sh BUILD_DIR CC [SANITIZE]
# SANITIZE (meson's b_sanitize, e.g. address,undefined) instruments the
# consumer like the library, which an instrumented library requires.
set -eu
build=$1 cc=$2 sanitize=${3:-none}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR="$stage" meson install -C "$build" --no-rebuild --quiet > "$stage/install.log" 2>&1 || {
    cat "$stage/install.log"; exit 1; }

pcdir=$(dirname "$(find "$stage" -name cryptoscalp.pc | head -n 1)")
for f in include/cryptoscalp.h libcryptoscalp.so.1 libcryptoscalp.a cryptoscalp.pc; do
    find "$stage" -path "*$f" | grep -q . || { echo "FAIL: $f not installed"; exit 1; }
done

cat > "$stage/consumer.c" <<'C'
#include <cryptoscalp.h>
#include <stdio.h>
int main(void)
{
    cscalp_engine *e;
    if (cscalp_open(&e, NULL) != CSCALP_OK) return 1;
    cscalp_quote q = {1, 100.0, 1.0, 100.5, 2.0};
    int rc = cscalp_push_quote(e, &q);
    double raw[64];
    size_t n = 0;
    cscalp_features(e, raw, NULL, 64, &n);
    cscalp_close(e);
    printf("consumer: libcryptoscalp %s, push %s, %zu features, spread %.4f bps\n",
           cscalp_version_string(), cscalp_error_name(rc), n, raw[0]);
    return rc != CSCALP_OK || n == 0;
}
C
flags=$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --cflags --libs cryptoscalp)
[ "$sanitize" = none ] || flags="-fsanitize=$sanitize $flags"
# shellcheck disable=SC2086
"$cc" -o "$stage/consumer" "$stage/consumer.c" $flags
libdir=$(dirname "$(find "$stage" -name 'libcryptoscalp.so.1' | head -n 1)")
LD_LIBRARY_PATH="$libdir" "$stage/consumer"
