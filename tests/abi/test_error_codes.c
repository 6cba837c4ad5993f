/* error_codes: the error codes are pinned. The table below is written out by
 * hand, so renumbering, removing or renaming a code in CSCALP_ERROR_LIST
 * fails here; a new code fails until it is appended to the table. Also:
 * every code in the list has its own value, name and text; the library's
 * cscalp_error_name and cscalp_strerror return exactly the list's name and
 * text (the library is built from the same list, not a stale copy); unknown
 * codes get the documented fallbacks. */
#include "cryptoscalp.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
} pinned[] = {
    {0, "CSCALP_OK"},
    {-1, "CSCALP_EINVAL"},
    {-2, "CSCALP_ENOMEM"},
    {-3, "CSCALP_EBUFFER"},
    {-4, "CSCALP_ESTRUCT"},
    {-5, "CSCALP_EJSON"},
    {-6, "CSCALP_ECONFIG_KEY"},
    {-7, "CSCALP_ECONFIG_TYPE"},
    {-8, "CSCALP_ECONFIG_RANGE"},
    {-9, "CSCALP_ENONFINITE"},
    {-10, "CSCALP_EPRICE"},
    {-11, "CSCALP_ESIZE"},
    {-12, "CSCALP_ESIDE"},
    {-13, "CSCALP_ECROSSED"},
    {-14, "CSCALP_ELEVELS"},
    {-15, "CSCALP_ETIME"},
    {-16, "CSCALP_EUNSUPPORTED"},
    {-17, "CSCALP_ECONFIG_FIXED"},
    {-18, "CSCALP_ECORRUPT"},
    {-19, "CSCALP_EVERSION"},
    {-20, "CSCALP_EIO"},
    {-21, "CSCALP_EORDER_UNKNOWN"},
    {-22, "CSCALP_EORDER_CLOSED"},
    {-23, "CSCALP_EOVERFILL"},
    {-24, "CSCALP_ETRANSITION"},
    {-25, "CSCALP_EKILLED"},
    {-26, "CSCALP_ERISK"},
    {-27, "CSCALP_EOUTLIER"},
};
#define PINNED_COUNT (sizeof pinned / sizeof pinned[0])

/* The list as the header has it: value from the list, value of the enum
 * constant the list generated, name, text. */
static const struct {
    int code;
    int enum_value;
    const char *name;
    const char *text;
} listed[] = {
#define CSCALP_LISTED_(name, code, text) {code, (int)CSCALP_##name, "CSCALP_" #name, text},
    CSCALP_ERROR_LIST(CSCALP_LISTED_)
#undef CSCALP_LISTED_
};
#define LISTED_COUNT (sizeof listed / sizeof listed[0])

static int failures;

static void fail(const char *what, const char *name, const char *detail)
{
    printf("FAIL: %s: %s%s%s\n", name, what, detail ? ": " : "", detail ? detail : "");
    failures++;
}

static void check_list_against_pins(void)
{
    size_t i, j;
    for (i = 0; i < PINNED_COUNT; i++) {
        for (j = 0; j < LISTED_COUNT && strcmp(listed[j].name, pinned[i].name) != 0; j++)
            ;
        if (j == LISTED_COUNT) {
            fail("pinned code removed or renamed in CSCALP_ERROR_LIST", pinned[i].name, NULL);
        } else if (listed[j].code != pinned[i].code || listed[j].enum_value != pinned[i].code) {
            char detail[96];
            snprintf(detail, sizeof detail, "pinned %d, list %d, enum %d", pinned[i].code,
                     listed[j].code, listed[j].enum_value);
            fail("renumbered", pinned[i].name, detail);
        }
    }
    for (j = 0; j < LISTED_COUNT; j++) {
        for (i = 0; i < PINNED_COUNT && strcmp(listed[j].name, pinned[i].name) != 0; i++)
            ;
        if (i == PINNED_COUNT)
            fail("new code not in the pinned table (append it there)", listed[j].name, NULL);
    }
}

static void check_distinct_and_library(void)
{
    size_t i, j;
    for (i = 0; i < LISTED_COUNT; i++) {
        const char *name = cscalp_error_name(listed[i].code);
        const char *text = cscalp_strerror(listed[i].code);
        if (listed[i].code > 0)
            fail("error codes are 0 or negative", listed[i].name, NULL);
        if (listed[i].text[0] == '\0' || strcmp(listed[i].text, "unknown error") == 0)
            fail("text empty or the unknown-code fallback", listed[i].name, listed[i].text);
        if (name == NULL || strcmp(name, listed[i].name) != 0)
            fail("cscalp_error_name differs from the list", listed[i].name, name);
        if (text == NULL || strcmp(text, listed[i].text) != 0)
            fail("cscalp_strerror differs from the list", listed[i].name, text);
        for (j = 0; j < i; j++) {
            if (listed[i].code == listed[j].code)
                fail("value shared with", listed[i].name, listed[j].name);
            if (strcmp(listed[i].name, listed[j].name) == 0)
                fail("name listed twice", listed[i].name, NULL);
            if (strcmp(listed[i].text, listed[j].text) == 0)
                fail("text shared with", listed[i].name, listed[j].name);
        }
    }
}

static void check_unknown_codes(void)
{
    static const int unknown[] = {1, 2, -28, -1000, INT_MAX, INT_MIN};
    size_t i;
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = cscalp_error_name(unknown[i]);
        const char *text = cscalp_strerror(unknown[i]);
        char code[32];
        snprintf(code, sizeof code, "code %d", unknown[i]);
        if (name == NULL || strcmp(name, "CSCALP_EUNKNOWN") != 0)
            fail("unknown code: cscalp_error_name is not CSCALP_EUNKNOWN", code, name);
        if (text == NULL || strcmp(text, "unknown error") != 0)
            fail("unknown code: cscalp_strerror is not \"unknown error\"", code, text);
    }
}

int main(void)
{
    size_t i;
    if (LISTED_COUNT != PINNED_COUNT) {
        printf("FAIL: CSCALP_ERROR_LIST has %u codes, the pinned table %u\n",
               (unsigned)LISTED_COUNT, (unsigned)PINNED_COUNT);
        failures++;
    }
    check_list_against_pins();
    check_distinct_and_library();
    check_unknown_codes();
    for (i = 0; i < LISTED_COUNT; i++)
        printf("%4d %-22s %s\n", listed[i].code, cscalp_error_name(listed[i].code),
               cscalp_strerror(listed[i].code));
    printf("%u pinned error codes checked, %d failures\n", (unsigned)PINNED_COUNT, failures);
    return failures != 0;
}
