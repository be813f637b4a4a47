/*
 * archive_write: docker save. Writes images (configs and layers from the layer store) as a
 * docker-archive tar that docker load of any engine reads: manifest.json, repositories, the
 * config blobs and one directory per layer with its layer.tar.
 */
#ifndef SOCKERLESS_IMAGE_ARCHIVE_WRITE_H
#define SOCKERLESS_IMAGE_ARCHIVE_WRITE_H

#include <stddef.h>

#include "base/err.h"

struct layerstore;
struct image;

/* One image to save and the references to record for it (RepoTags: familiar "name:tag";
 * none for an image saved by ID). */
struct archive_item {
    const struct image *img;
    char *const *repo_tags; /* NULL-ended, may be NULL */
};

/* Writes the archive to out_fd, streaming the layer tars from the store (nothing is written
 * before every image is checked). An image listed twice is written once with the references
 * of both. ERR_NOT_FOUND when a layer or config is missing from the store (an image without
 * layers: a synthetic pull); ERR_UNSUPPORTED for an image with a config but no layer, as
 * dockerd ("empty export - not implemented"); ERR_INTERNAL when out_fd fails. */
int docker_archive_write(struct layerstore *ls, const struct archive_item *items, size_t n,
                         int out_fd, struct err **err);

#endif
