// header_c++98 / header_c++11: cryptoscalp.h compiles as C++ (-pedantic
// -Werror), its declarations have C linkage (the program links against the C
// library), and its version macros equal what the library reports.
#include "cryptoscalp.h"

#include <cstdio>

int main()
{
    const unsigned header = static_cast<unsigned>(CSCALP_VERSION_HEX);
    if (cscalp_version() != header) {
        std::printf("FAIL: header 0x%06x != library 0x%06x\n", header, cscalp_version());
        return 1;
    }
    cscalp_engine *engine = 0;
    if (cscalp_open(&engine, 0) != CSCALP_OK)
        return 1;
    cscalp_quote quote = {1, 100.0, 1.0, 101.0, 1.0};
    const int rc = cscalp_push_quote(engine, &quote);
    cscalp_close(engine);
    std::printf("C++ %ldL: library %s, push_quote -> %s\n", static_cast<long>(__cplusplus),
                cscalp_version_string(), cscalp_error_name(rc));
    return rc == CSCALP_OK ? 0 : 1;
}
