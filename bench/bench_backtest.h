/* cscalp-bench backtest (bench/README.md): engine + simulated venue replay
 * throughput. */
#ifndef CSCALP_BENCH_BACKTEST_H
#define CSCALP_BENCH_BACKTEST_H

/* Prints one JSON line per case; 0, or −1 with a message on stderr.
 * `source` names the capture in the output. */
int bench_backtest(const char *path, const char *source);

#endif
