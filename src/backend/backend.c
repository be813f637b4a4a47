#include "backend/backend.h"

#include <stddef.h>

#include "driver/driver.h"

/* The agent driver owns the containers whose labels name an agent, and every container with
 * --agent-mode forward|reverse. The process driver owns every other container when a runtime
 * works on this machine; otherwise the synthetic driver answers for them, and /info says so. */
static const struct driver *const local_chain[] = {&driver_agent, &driver_process,
                                                   &driver_synthetic, NULL};

const struct backend backend_local = {
    .name = "local",
    .drivers = local_chain,
    /* Container filesystems are overlay mounts of the image layers (a copy where overlayfs
     * cannot mount). */
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
