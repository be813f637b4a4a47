#include "driver/driver.h"

#include <stddef.h>
#include <stdlib.h>

ssize_t
exec_io_no_stdin(void *ctx, char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}

const struct driver *
driver_chain_pick(const struct driver *const *chain, struct engine *eng, const struct container *c)
{
    for (size_t i = 0; chain[i] != NULL; i++)
        if (chain[i]->owns(chain[i], eng, c))
            return chain[i];
    return NULL;
}

void
driver_files_fini(struct driver_files *f)
{
    free(f->resolv_conf);
    free(f->hostname);
    free(f->hosts);
    free(f->log);
    free(f->lower);
    free(f->merged);
    free(f->upper);
    free(f->work);
}
