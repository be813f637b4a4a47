/*
 * docker_archive: reads a `docker save` archive (docker-archive: manifest.json, config blobs,
 * layer tars) with libarchive, and turns each image's config (the image spec's JSON) into the
 * engine's image object. Layers are counted and sized here; they are stored and extracted by
 * the image store on disk when the process driver lands.
 */
#ifndef SOCKERLESS_IMAGE_DOCKER_ARCHIVE_H
#define SOCKERLESS_IMAGE_DOCKER_ARCHIVE_H

#include <stddef.h>

#include "base/err.h"
#include "image/image.h"

enum { ARCHIVE_MAX_JSON = 8 * 1024 * 1024, ARCHIVE_MAX_IMAGES = 256 };

/* Parses the archive in data. On success *out is an array of *n images (new references),
 * each with its ID (sha256 of its config), config, tags (normalized) and size.
 * ERR_INVALID for anything that is not a docker-archive. */
int docker_archive_read(const void *data, size_t len, struct image ***out, size_t *n,
                        struct err **err);

#endif
