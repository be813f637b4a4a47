/*
 * docker_archive: reads a `docker save` archive with libarchive: the docker-archive layout
 * (manifest.json, <hex>.json configs, <dir>/layer.tar) and the OCI image layout newer engines
 * write (index.json, blobs/sha256/...; manifest.json is read first when both are present).
 * Every layer goes into the layer store, each image's config into its config blob, and each
 * config becomes the engine's image object. Not here: adding the images to the engine.
 */
#ifndef SOCKERLESS_IMAGE_DOCKER_ARCHIVE_H
#define SOCKERLESS_IMAGE_DOCKER_ARCHIVE_H

#include <stddef.h>

#include "base/err.h"
#include "image/image.h"

struct layerstore;

enum { ARCHIVE_MAX_JSON = 8 * 1024 * 1024, ARCHIVE_MAX_IMAGES = 256 };

/*
 * Reads the archive in data (plain or compressed), in two passes: the small JSON members,
 * then each layer streamed into ls (decompressed, hashed, extracted). Each image's
 * rootfs.diff_ids must be the digests of its layers as read ("invalid diffID for layer N"
 * otherwise); its config blob is stored byte for byte, so its ID is the config's sha256 as
 * dockerd's. On success *out is an array of *n images (new references) with ID, config, tags
 * (normalized), and Size and history sizes from the layers.
 *
 * *stored (a malloc'd NULL-ended list, set on failure too) gets the diff IDs of the layers
 * put into ls: the caller takes back those no image keeps when it does not add the images.
 * ERR_INVALID for anything that is not such an archive; ERR_TOO_LARGE past the caps.
 */
int docker_archive_read(const void *data, size_t len, struct layerstore *ls, struct image ***out,
                        size_t *n, char ***stored, struct err **err);

/* The image object of a config blob as docker load decodes it (ID: the blob's sha256; no
 * tags; sizes left 0), for images whose config comes from elsewhere (a registry). ERR_INVALID
 * when the blob is not a JSON object. */
struct image *docker_archive_image_of_config(const char *blob, size_t len, struct err **err);

#endif
