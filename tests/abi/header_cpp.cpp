// The public header compiles as C++ (-pedantic -Werror) and links.
#include "cryptoscalp.h"

#include <cstdio>

int main()
{
    cscalp_engine *e = 0;
    if (cscalp_open(&e, 0) != CSCALP_OK)
        return 1;
    cscalp_quote q = {1, 100.0, 1.0, 101.0, 1.0};
    const int rc = cscalp_push_quote(e, &q);
    cscalp_close(e);
    std::printf("C++: push_quote -> %s\n", cscalp_error_name(rc));
    return rc == CSCALP_OK ? 0 : 1;
}
