/*
 * layerstore: image layers and config blobs on disk, under <data-root>/image:
 *
 *   layers/<hex>/layer.tar   the layer as an uncompressed tar; its sha256 is the diff ID
 *   layers/<hex>/diff/       the layer extracted, whiteouts in overlayfs form (a 0:0 character
 *                            device for a deleted name, trusted.overlay.opaque=y on an opaque
 *                            directory), ready to be an overlay lower dir
 *   configs/<hex>.json       image config blobs, named by their sha256 (the image ID)
 *
 * Layers are content-addressed and shared by every image that has them. An entry appears
 * atomically (built under a temporary name, then renamed), so a crash never leaves half a layer
 * under a real name. Thread-safe.
 */
#ifndef SOCKERLESS_IMAGE_LAYERSTORE_H
#define SOCKERLESS_IMAGE_LAYERSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct layerstore;

/* Opens (creating the directories of) the store under <data_root>/image. */
struct layerstore *layerstore_open(const char *data_root, struct err **err);
void layerstore_free(struct layerstore *ls);

/* Layers bigger than this once decompressed are refused (ERR_TOO_LARGE). */
#define LAYERSTORE_MAX_LAYER ((int64_t)64 << 30)

/*
 * Adds a layer from a tar read from fd to its end: plain, or gzip, bzip2, xz or zstd
 * compressed. diff_id gets "sha256:<hex>" of the uncompressed tar; *size (may be NULL) the
 * layer's size as Docker reports it (what dockerd's overlay2 counts: the sizes of the files
 * and symlinks of the extracted tree, each inode once). A layer already present is kept (the
 * same diff ID is the same content). ERR_INVALID when fd is not a tar or an entry is refused
 * (an absolute or `..` name, a name over PATH_MAX, a path through a symlink).
 */
int layerstore_add_fd(struct layerstore *ls, int fd, char diff_id[72], int64_t *size,
                      struct err **err);
/* The same from memory. */
int layerstore_add_mem(struct layerstore *ls, const void *data, size_t len, char diff_id[72],
                       int64_t *size, struct err **err);
/* A source of bytes for layerstore_add_stream: fills buf with up to len bytes and returns the
 * count, 0 at the end, -1 on failure. */
typedef ssize_t (*layerstore_read_fn)(void *ctx, void *buf, size_t len);
/* The same from a reader (a member of an archive being read, for docker load). */
int layerstore_add_stream(struct layerstore *ls, layerstore_read_fn read, void *ctx,
                          char diff_id[72], int64_t *size, struct err **err);
bool layerstore_has(struct layerstore *ls, const char *diff_id);
/* Paths of a layer's extracted tree and of its tar (new strings; the layer may not exist), or
 * NULL when diff_id is not "sha256:<64 hex>". */
char *layerstore_diff_dir(struct layerstore *ls, const char *diff_id);
char *layerstore_tar_path(struct layerstore *ls, const char *diff_id);
/* The layer's size as in layerstore_add_fd, or -1 when absent. */
int64_t layerstore_size(struct layerstore *ls, const char *diff_id);
/* Removes a layer (the caller knows no image uses it). Absent layers are not an error. */
int layerstore_remove(struct layerstore *ls, const char *diff_id, struct err **err);
/* layerstore_remove in two steps, for callers deciding under a lock: unlink takes the layer
 * out of the store at once (a rename into the store's trash: cheap, no tree walk), purge
 * deletes what unlink took out (slow: call it without locks). */
int layerstore_unlink(struct layerstore *ls, const char *diff_id, struct err **err);
void layerstore_purge(struct layerstore *ls);

/* Stores a config blob under its sha256; id gets "sha256:<hex>". */
int layerstore_put_config(struct layerstore *ls, const char *blob, size_t len, char id[72],
                          struct err **err);
/* The config blob of image id (malloc'd, *len its length), or NULL (ERR_NOT_FOUND). */
char *layerstore_get_config(struct layerstore *ls, const char *id, size_t *len, struct err **err);
bool layerstore_has_config(struct layerstore *ls, const char *id);
void layerstore_remove_config(struct layerstore *ls, const char *id);

#endif
