/*
 * tarfs: tar archives in and out of a directory tree that stands for a container's root
 * (docker cp). Every path is resolved inside the root: `..` and symlinks never lead out of it
 * (openat2 with RESOLVE_IN_ROOT for the target, libarchive's secure extraction for entries).
 * Extraction refuses absolute and `..` entry names, hard links out of the tree and device
 * nodes, and drops setuid/setgid bits: the root is a directory the daemon owns.
 */
#ifndef SOCKERLESS_IMAGE_TARFS_H
#define SOCKERLESS_IMAGE_TARFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct tarfs_stat {
    char name[256];
    int64_t size;
    uint32_t mode; /* Go's os.FileMode (compat-notes 20) */
    int64_t mtime_ns;
    char link_target[4096];
};

/* Stats path (as seen inside root; links are not followed at the last component, as Docker's
 * stat). ERR_NOT_FOUND when it does not exist. */
int tarfs_stat(const char *root, const char *path, struct tarfs_stat *out, struct err **err);
/* Extracts the tar in data into directory path of root. ERR_NOT_FOUND when path does not exist,
 * ERR_INVALID when it is not a directory or an entry is refused. no_overwrite_dir_non_dir (docker
 * cp sends it): refuse to replace a directory with a non-directory or the other way round. */
int tarfs_extract(const char *root, const char *path, const void *data, size_t len,
                  bool no_overwrite_dir_non_dir, struct err **err);
/* Archives path of root into out (capped by out's cap: ERR_TOO_LARGE), entries named from the
 * basename of path ("dir/." archives the contents). */
int tarfs_create(const char *root, const char *path, struct buf *out, struct err **err);

/* Every path under root, "/"-rooted, parents before children (a malloc'd NULL-ended list), or
 * NULL with *err. */
char **tarfs_list(const char *root, struct err **err);

#endif
