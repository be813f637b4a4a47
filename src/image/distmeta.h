/*
 * distmeta: which registry blobs hold a layer. A layer is stored by its diff ID (the digest of
 * the uncompressed tar); a registry knows it by the digest of a compressed blob. For each diff
 * ID this keeps the blobs seen holding it and where (registry and repository), as dockerd's
 * distribution metadata (v2metadata) does, so that a push can skip an upload (the registry has
 * the blob, or can mount it from another repository) and reuse the registry's blob, which
 * keeps the manifest a pulled image had:
 *
 *   <data-root>/image/distribution/<diff ID hex>   one "<digest> <registry>/<repository>" a line
 *
 * Entries are only hints: a push checks with the registry before relying on one. Thread-safe
 * (appends of one short line each).
 */
#ifndef SOCKERLESS_IMAGE_DISTMETA_H
#define SOCKERLESS_IMAGE_DISTMETA_H

#include <stddef.h>

#include "base/err.h"

struct distmeta_entry {
    char digest[72]; /* "sha256:..." of the compressed blob */
    char *repo;      /* "127.0.0.1:5000/sockerless/busybox", "docker.io/library/busybox" */
};

/* Records that blob digest, in repository repo, holds layer diff_id (a no-op when known). */
int distmeta_add(const char *data_root, const char *diff_id, const char *digest, const char *repo,
                 struct err **err);
/* What is known of diff_id, the latest first, without repeats: a malloc'd array of *n (NULL
 * and 0 when nothing is). */
struct distmeta_entry *distmeta_list(const char *data_root, const char *diff_id, size_t *n);
void distmeta_entries_free(struct distmeta_entry *e, size_t n);

#endif
