/* header_sim_c99 / header_sim_c11: cryptoscalp_sim.h, included first and
 * alone, compiles under the C standard this file is built with (-pedantic
 * -Werror) and links against the shared library; its events go into an
 * engine unchanged. */
#include "cryptoscalp_sim.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    cscalp_sim_market_config cfg;
    cscalp_sim_market_event ev;
    cscalp_sim_market *market = NULL;
    cscalp_engine *engine = NULL;
    char why[128];
    int i, rc = CSCALP_OK;

    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    if (cscalp_sim_market_config_init(&cfg) != CSCALP_OK ||
        cscalp_sim_market_open(&market, &cfg, NULL, why, sizeof why) != CSCALP_OK ||
        cscalp_open(&engine, NULL) != CSCALP_OK) {
        printf("FAIL: open (%s)\n", why);
        return 1;
    }
    for (i = 0; i < 1000 && rc == CSCALP_OK; i++) {
        rc = cscalp_sim_market_next(market, &ev);
        if (rc != CSCALP_OK)
            break;
        if (ev.kind == CSCALP_KIND_TRADE)
            rc = cscalp_push_trade(engine, &ev.trade);
        else if (ev.kind == CSCALP_KIND_QUOTE)
            rc = cscalp_push_quote(engine, &ev.quote);
        else
            rc = cscalp_push_book(engine, &ev.book);
    }
    printf("C %ldL: %u regimes, %d events, last regime %d -> %s\n", (long)__STDC_VERSION__,
           cscalp_sim_market_regime_count(market), i, (int)ev.regime, cscalp_error_name(rc));
    cscalp_sim_market_close(market);
    cscalp_close(engine);
    return rc == CSCALP_OK ? 0 : 1;
}
