/*
 * changes: the Dockerfile instructions `docker import --change` and `docker commit --change`
 * accept, applied to an image config: CMD, ENTRYPOINT (JSON or shell form), ENV, LABEL,
 * EXPOSE, USER, WORKDIR, STOPSIGNAL. Any other instruction is ERR_INVALID, as in dockerd.
 */
#ifndef SOCKERLESS_IMAGE_CHANGES_H
#define SOCKERLESS_IMAGE_CHANGES_H

#include "base/err.h"
#include "image/image.h"

int image_apply_change(struct image_config *c, const char *line, struct err **err);

/* The uncompressed digest ("sha256:...") and size of a layer tar, plain or compressed. */
int image_layer_digest(const void *data, size_t len, char out[72], int64_t *size, struct err **err);

#endif
