/* cscalp-bench backtest (bench/README.md): engine + simulated venue replay
 * throughput. */
#ifndef CSCALP_BENCH_BACKTEST_H
#define CSCALP_BENCH_BACKTEST_H

/* Prints one JSON line per case (only the case named `only` unless it is
 * NULL); 0, −1 with a message on stderr, or −2 for an unknown case name.
 * `source` names the capture in the output. */
int bench_backtest(const char *path, const char *source, const char *only);

#endif
