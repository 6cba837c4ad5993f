/* The public header compiles alone under the C standard this file is built
 * with (C99 and C11 builds, -pedantic -Werror), and its version macros match
 * the linked library. */
#include "cryptoscalp.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    char expect[32];
    cscalp_engine *e = NULL;
    snprintf(expect, sizeof expect, "%d.%d.%d", CSCALP_VERSION_MAJOR,
             CSCALP_VERSION_MINOR, CSCALP_VERSION_PATCH);
    if (cscalp_version() != (unsigned)CSCALP_VERSION_HEX ||
        strcmp(cscalp_version_string(), expect) != 0) {
        fprintf(stderr, "header %s (0x%06x) != library %s (0x%06x)\n", expect,
                (unsigned)CSCALP_VERSION_HEX, cscalp_version_string(), cscalp_version());
        return 1;
    }
    if (cscalp_open(&e, NULL) != CSCALP_OK)
        return 1;
    cscalp_close(e);
    printf("header and library agree: %s\n", expect);
    return 0;
}
