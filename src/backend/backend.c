#include "backend/backend.h"

const struct backend backend_local = {
    .name = "local",
    /* Images and container filesystems will be assembled with overlayfs by the process
     * driver; until it lands no image exists, and the name says what will back them. */
    .storage_driver = "overlayfs",
    .logging_driver = "json-file",
};
