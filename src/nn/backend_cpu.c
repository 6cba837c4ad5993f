/* The reference backend: plain C, always built. Every output element sums
 * its k products in index order, so results are reproducible bit for bit.
 * Loops are ordered so that the innermost one walks contiguous memory
 * (and vectorises) wherever the operand layout allows. */
#include <stddef.h>

#include "nn/nn_backends.h"

static void scale_rows(int m, int n, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * (size_t)ldc;
        if (beta == 0.0f) {
            for (int j = 0; j < n; j++)
                row[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (int j = 0; j < n; j++)
                row[j] *= beta;
        }
    }
}

void cscalp_nn_gemm_cpu(int trans_a, int trans_b, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta,
                        float *c, int ldc)
{
    if (!trans_b) {
        /* B is k×n row-major: accumulate rows of B scaled by A's elements. */
        scale_rows(m, n, beta, c, ldc);
        for (int i = 0; i < m; i++) {
            float *crow = c + (size_t)i * (size_t)ldc;
            for (int p = 0; p < k; p++) {
                const float av = alpha * (trans_a ? a[(size_t)p * (size_t)lda + (size_t)i]
                                                  : a[(size_t)i * (size_t)lda + (size_t)p]);
                const float *brow = b + (size_t)p * (size_t)ldb;
                for (int j = 0; j < n; j++)
                    crow[j] += av * brow[j];
            }
        }
        return;
    }
    /* B is n×k row-major, used transposed: dot products of rows. */
    for (int i = 0; i < m; i++) {
        float *crow = c + (size_t)i * (size_t)ldc;
        for (int j = 0; j < n; j++) {
            const float *brow = b + (size_t)j * (size_t)ldb;
            float sum = 0.0f;
            if (!trans_a) {
                const float *arow = a + (size_t)i * (size_t)lda;
                for (int p = 0; p < k; p++)
                    sum += arow[p] * brow[p];
            } else {
                for (int p = 0; p < k; p++)
                    sum += a[(size_t)p * (size_t)lda + (size_t)i] * brow[p];
            }
            crow[j] = (beta == 0.0f ? 0.0f : beta * crow[j]) + alpha * sum;
        }
    }
}
