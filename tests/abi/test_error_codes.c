/* Error codes are pinned: this table is written out by hand, so renumbering,
 * removing or renaming a code fails here. New codes are appended to the
 * table when they are added to the header. */
#include <stdio.h>
#include <string.h>

#include "cryptoscalp.h"

static const struct {
    int code;
    const char *name;
} pinned[] = {
    {0, "CSCALP_OK"},          {-1, "CSCALP_EINVAL"},        {-2, "CSCALP_ENOMEM"},
    {-3, "CSCALP_EBUFFER"},    {-4, "CSCALP_ESTRUCT"},       {-5, "CSCALP_EJSON"},
    {-6, "CSCALP_ECONFIG_KEY"}, {-7, "CSCALP_ECONFIG_TYPE"}, {-8, "CSCALP_ECONFIG_RANGE"},
    {-9, "CSCALP_ENONFINITE"}, {-10, "CSCALP_EPRICE"},       {-11, "CSCALP_ESIZE"},
    {-12, "CSCALP_ESIDE"},     {-13, "CSCALP_ECROSSED"},     {-14, "CSCALP_ELEVELS"},
    {-15, "CSCALP_ETIME"},     {-16, "CSCALP_EUNSUPPORTED"},
};

int main(void)
{
    const int n = (int)(sizeof pinned / sizeof pinned[0]);
    int failures = 0, listed = 0;
#define CSCALP_COUNT_(name, value, text) listed++;
    CSCALP_ERROR_LIST(CSCALP_COUNT_)
#undef CSCALP_COUNT_
    if (listed != n) {
        printf("CSCALP_ERROR_LIST has %d codes, the pinned table %d\n", listed, n);
        failures++;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(cscalp_error_name(pinned[i].code), pinned[i].name) != 0) {
            printf("code %d is %s, pinned as %s\n", pinned[i].code,
                   cscalp_error_name(pinned[i].code), pinned[i].name);
            failures++;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(cscalp_strerror(pinned[i].code), cscalp_strerror(pinned[j].code)) == 0) {
                printf("codes %d and %d share their text\n", pinned[i].code, pinned[j].code);
                failures++;
            }
    }
    if (CSCALP_ECROSSED != -13 || CSCALP_ETIME != -15)
        failures++;
    printf("%d pinned error codes checked, %d failures\n", n, failures);
    return failures != 0;
}
