/* OpenBLAS backend: every batched product is one cblas_sgemm. OpenBLAS's
 * thread count is the host's process-wide setting; the library never
 * changes it (docs/model.md). */
#include <cblas.h>

#include "nn/nn_backends.h"

void cscalp_nn_gemm_blas(int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta,
                         float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                beta, c, ldc);
}
