// header_sim_c++98 / header_sim_c++11: cryptoscalp_sim.h compiles as C++
// (-pedantic -Werror), its declarations have C linkage (the program links
// against the C library), and an event it makes goes into an engine.
#include "cryptoscalp_sim.h"

#include <cstdio>
#include <cstring>

int main()
{
    cscalp_sim_market_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cscalp_sim_market_event ev;
    std::memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    cscalp_sim_market *market = 0;
    cscalp_engine *engine = 0;
    if (cscalp_sim_market_config_init(&cfg) != CSCALP_OK ||
        cscalp_sim_market_open(&market, &cfg, 0, 0, 0) != CSCALP_OK ||
        cscalp_open(&engine, 0) != CSCALP_OK)
        return 1;
    int rc = cscalp_sim_market_next(market, &ev);
    if (rc == CSCALP_OK)
        rc = cscalp_push_quote(engine, &ev.quote); // the first event is a quote
    std::printf("C++ %ldL: first event kind %d, regime %d -> %s\n", static_cast<long>(__cplusplus),
                static_cast<int>(ev.kind), static_cast<int>(ev.regime), cscalp_error_name(rc));
    cscalp_sim_market_close(market);
    cscalp_close(engine);
    return rc == CSCALP_OK && ev.kind == CSCALP_KIND_QUOTE ? 0 : 1;
}
