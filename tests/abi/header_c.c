/* header_c99 / header_c11: cryptoscalp.h, included first and alone, compiles
 * under the C standard this file is built with (-pedantic -Werror), links
 * against the shared library, and its version macros equal what the linked
 * library reports (cscalp_version, cscalp_version_string). */
#include "cryptoscalp.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    char expect[32];
    cscalp_engine *engine = NULL;
    const unsigned lib = cscalp_version();
    snprintf(expect, sizeof expect, "%d.%d.%d", CSCALP_VERSION_MAJOR, CSCALP_VERSION_MINOR,
             CSCALP_VERSION_PATCH);
    if (lib != (unsigned)CSCALP_VERSION_HEX || (lib >> 16) != CSCALP_VERSION_MAJOR ||
        ((lib >> 8) & 0xffu) != CSCALP_VERSION_MINOR || (lib & 0xffu) != CSCALP_VERSION_PATCH ||
        strcmp(cscalp_version_string(), expect) != 0) {
        printf("FAIL: header %s (0x%06x) != library %s (0x%06x)\n", expect,
               (unsigned)CSCALP_VERSION_HEX, cscalp_version_string(), lib);
        return 1;
    }
    if (cscalp_open(&engine, NULL) != CSCALP_OK) {
        printf("FAIL: cscalp_open\n");
        return 1;
    }
    cscalp_close(engine);
    printf("C %ldL: header and library agree on %s (0x%06x)\n", (long)__STDC_VERSION__, expect, lib);
    return 0;
}
