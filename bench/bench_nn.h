/* The model benchmarks of cscalp-bench (bench_nn.c). */
#ifndef CSCALP_BENCH_NN_H
#define CSCALP_BENCH_NN_H

#include <stddef.h>
#include <stdint.h>

/* Latency of cscalp_infer and of the model alone over >= calls calls (0:
 * the default, 100 000); JSON lines on stdout. 0 on success. */
int bench_infer(const char *path, size_t calls);

/* Training throughput per backend (backend_filter -1: all built) and batch
 * (batch_filter 0: 1 and 256), each timed for `seconds`. 0 on success. */
int bench_train(const char *path, double seconds, int backend_filter, uint32_t batch_filter);

#endif
