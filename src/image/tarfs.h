/*
 * tarfs: tar archives in and out of a directory tree that stands for a container's root
 * (docker cp, docker export). Every path is resolved inside the root: `..` and symlinks never
 * lead out of it (openat2 with RESOLVE_IN_ROOT for the target, libarchive's secure extraction
 * for entries, and archives made by walking directory fds without following any link).
 *
 * Ownership and modes are dockerd's: extraction keeps each entry's numeric uid/gid (or forces
 * one owner, docker cp -a) and its whole mode, setuid and setgid included; it refuses absolute
 * and `..` entry names, hard links out of the tree, and device nodes and sockets (dockerd makes
 * device nodes; a daemon without that is safer and docker cp of one is rare). Archives carry
 * the files' real uid/gid with the names the root's own /etc/passwd and /etc/group give them,
 * whole-second mtimes, hard links as links, entries in bytewise order of names (as dockerd's
 * filepath.Walk), and no sockets.
 */
#ifndef SOCKERLESS_IMAGE_TARFS_H
#define SOCKERLESS_IMAGE_TARFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "base/err.h"

struct tarfs_stat {
    char name[256];
    int64_t size;
    uint32_t mode; /* Go's os.FileMode (compat-notes 20) */
    int64_t mtime_ns;
    char link_target[4096];
};

/* Lets path lookups cross mount points inside root (default: refused with EXDEV). A process
 * that runs inside the container (sockerless-agent) sets it: /etc/hosts and volumes are bind
 * mounts there, and RESOLVE_IN_ROOT still keeps every lookup inside the root. */
void tarfs_set_cross_mounts(bool on);

/* Stats path (as seen inside root; links are not followed at the last component, as Docker's
 * stat). ERR_NOT_FOUND when it does not exist. */
int tarfs_stat(const char *root, const char *path, struct tarfs_stat *out, struct err **err);
/* The one owner given to every extracted entry. */
struct tarfs_owner {
    uid_t uid;
    gid_t gid;
};

/* Reads up to len bytes of an archive into buf: the count, 0 at its end, -1 with errno. */
typedef ssize_t (*tarfs_read_fn)(void *ctx, void *buf, size_t len);
/* Extracts the tar (plain or compressed) that read yields, as it comes, into directory path of
 * root; an empty archive extracts nothing. owner NULL keeps each entry's uid and gid; otherwise
 * every entry gets owner's. no_overwrite_dir_non_dir (docker cp sends it): refuse to replace a
 * directory with a non-directory or the other way round. Entries extracted before an error stay.
 * Errors, with dockerd's texts: ERR_NOT_FOUND when path does not exist; ERR_INTERNAL (dockerd
 * answers 500) when it is not a directory (errno ENOTDIR), the archive is malformed or cut short
 * (EBADMSG), an entry would overwrite a directory or non-directory (EEXIST), or a write fails;
 * ERR_INVALID when an entry is refused (`..`, absolute, links out, devices); ERR_UNAVAILABLE
 * (with read's errno) when read failed. Reads nothing when path is not a directory. */
int tarfs_extract_from(const char *root, const char *path, tarfs_read_fn read, void *read_ctx,
                       bool no_overwrite_dir_non_dir, const struct tarfs_owner *owner,
                       struct err **err);
/* tarfs_extract_from for an archive in memory (data, len bytes). */
int tarfs_extract(const char *root, const char *path, const void *data, size_t len,
                  bool no_overwrite_dir_non_dir, const struct tarfs_owner *owner, struct err **err);
/* Writes a tar of path of root to fd (from its current offset), as docker cp downloads it:
 * entries named from the cleaned path's last component ("/" for the root; "dir/." archives
 * the contents under "."). ERR_NOT_FOUND when path does not exist; write errors are
 * ERR_INTERNAL with the errno. */
int tarfs_create(const char *root, const char *path, int fd, struct err **err);
/* Writes a tar of the whole root to fd as docker export does: no entry for the root itself,
 * names relative to it ("bin", "bin/sh"). */
int tarfs_export(const char *root, int fd, struct err **err);

/* Every path under root, "/"-rooted, parents before children (a malloc'd NULL-ended list), or
 * NULL with *err. */
char **tarfs_list(const char *root, struct err **err);

#endif
