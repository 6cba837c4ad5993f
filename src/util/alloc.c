#include "util/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *system_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return malloc(size);
}

static void system_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

int cscalp_mem_init(cscalp_allocator *out, const cscalp_allocator *in)
{
    if (in == NULL) {
        out->alloc = system_alloc;
        out->free = system_free;
        out->opaque = NULL;
        return CSCALP_OK;
    }
    if (in->alloc == NULL || in->free == NULL)
        return CSCALP_EINVAL;
    *out = *in;
    return CSCALP_OK;
}

void *cscalp_mem_calloc(const cscalp_allocator *mem, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    const size_t bytes = n * size == 0 ? 1 : n * size;
    void *p = mem->alloc(mem->opaque, bytes);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

void cscalp_mem_free(const cscalp_allocator *mem, void *ptr)
{
    if (ptr != NULL)
        mem->free(mem->opaque, ptr);
}
