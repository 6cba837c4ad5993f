/* The backend table: the cpu reference always, OpenBLAS when built. */
#include "cscalp_build_config.h"
#include "nn/nn.h"
#include "nn/nn_backends.h"

static const cscalp_nn_backend cpu_backend = {CSCALP_NN_BACKEND_CPU, "cpu",
                                              cscalp_nn_gemm_cpu};
#if CSCALP_HAVE_BLAS
static const cscalp_nn_backend blas_backend = {CSCALP_NN_BACKEND_BLAS, "blas",
                                               cscalp_nn_gemm_blas};
#endif

const cscalp_nn_backend *cscalp_nn_backend_get(int id)
{
    switch (id) {
    case CSCALP_NN_BACKEND_CPU:
        return &cpu_backend;
#if CSCALP_HAVE_BLAS
    case CSCALP_NN_BACKEND_BLAS:
        return &blas_backend;
#endif
    default:
        return NULL;
    }
}
