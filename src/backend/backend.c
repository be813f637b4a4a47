#include "backend/backend.h"

#include <stddef.h>

#include "driver/driver.h"

/* The process and agent drivers join the front of this chain with their issues; until then
 * the synthetic driver answers for every container, and /info says so. */
static const struct driver *const local_chain[] = {&driver_synthetic, NULL};

const struct backend backend_local = {
    .name = "local",
    .drivers = local_chain,
    /* Images and container filesystems will be assembled with overlayfs by the process
     * driver; until it lands no image exists, and the name says what will back them. */
    .storage_driver = "overlayfs",
    .logging_driver = "json-file",
};

static const struct driver *const synthetic_chain[] = {&driver_synthetic, NULL};

const struct backend backend_synthetic = {
    .name = "synthetic",
    .drivers = synthetic_chain,
    .storage_driver = "overlayfs",
    .logging_driver = "json-file",
};
