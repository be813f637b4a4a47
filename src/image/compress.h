/*
 * compress: a layer tar gzip-compressed for a registry, deterministically (no name, no time in
 * the gzip header; zlib's default level), so pushing the same layer twice gives the same blob
 * and digest. Not byte-identical to dockerd's (Go's compress/flate encodes differently): a
 * layer pushed by both gets two blobs.
 */
#ifndef SOCKERLESS_IMAGE_COMPRESS_H
#define SOCKERLESS_IMAGE_COMPRESS_H

#include <stdint.h>

#include "base/err.h"

/* Compresses the file at path into out_fd (written from its current offset); digest gets
 * "sha256:..." of the compressed bytes, *size their count. */
int compress_gzip_file(const char *path, int out_fd, char digest[72], int64_t *size,
                       struct err **err);

#endif
