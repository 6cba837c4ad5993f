/* Private to src/nn: the gemm of each backend. */
#ifndef CSCALP_NN_BACKENDS_H
#define CSCALP_NN_BACKENDS_H

void cscalp_nn_gemm_cpu(int trans_a, int trans_b, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta,
                        float *c, int ldc);
void cscalp_nn_gemm_blas(int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta,
                         float *c, int ldc);

#endif
