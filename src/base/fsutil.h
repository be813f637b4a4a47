/*
 * fsutil: small file-system helpers: mkdir -p and atomic file replacement.
 */
#ifndef SOCKERLESS_BASE_FSUTIL_H
#define SOCKERLESS_BASE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

/* Creates path and its missing parents with mode; an existing directory is fine. */
int fsutil_mkdir_p(const char *path, mode_t mode, struct err **err);
/* Writes all of buf to fd (retrying short writes and EINTR); -1 with errno on failure. */
int fsutil_write_all(int fd, const void *buf, size_t len);
/* Writes data to path atomically: a uniquely named temporary file in the same directory (so
 * concurrent writers of one path never share it), fsync, rename. */
int fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                        struct err **err);
/* The same without the fsync: readers see the old or the new content, never a mix, but after
 * a crash the file may be empty. For files rewritten before every use (a container's bundle). */
int fsutil_write_replace(const char *path, const void *data, size_t len, mode_t mode,
                         struct err **err);

/* path cleaned lexically as a path relative to a root (a leading '/' is the root): "." and
 * empty components dropped, ".." resolved. A new string, "" for the root itself; NULL when a
 * ".." climbs above the root. No file is looked at. */
char *fsutil_clean_relative(const char *path);
/* path cleaned as Go's filepath.Clean cleans an absolute path ("/a/../b/./" -> "/b"): the same
 * rules, with a ".." at the root dropped. A new string that starts with '/'. */
char *fsutil_clean_absolute(const char *path);
/* Removes path and everything below it without following links (a symlink inside is removed,
 * never followed) and without crossing into other file systems. Missing path: 0. */
int fsutil_remove_tree(const char *path, struct err **err);

#endif
