/* Error text and names, generated from the one list in the public header. */
#include "cryptoscalp.h"

const char *cscalp_strerror(int code)
{
    switch (code) {
#define CSCALP_ERROR_TEXT_(name, value, text)                                  \
    case value:                                                                \
        return text;
        CSCALP_ERROR_LIST(CSCALP_ERROR_TEXT_)
#undef CSCALP_ERROR_TEXT_
    default:
        return "unknown error";
    }
}

const char *cscalp_error_name(int code)
{
    switch (code) {
#define CSCALP_ERROR_NAME_(name, value, text)                                  \
    case value:                                                                \
        return "CSCALP_" #name;
        CSCALP_ERROR_LIST(CSCALP_ERROR_NAME_)
#undef CSCALP_ERROR_NAME_
    default:
        return "CSCALP_EUNKNOWN";
    }
}
