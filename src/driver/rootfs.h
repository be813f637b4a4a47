/*
 * rootfs: a container's root filesystem assembled from image layer directories (the layer
 * store's diff/ trees, whiteouts in overlayfs form): an overlay mount of the layers under a
 * per-container upper dir where the kernel allows it, a copy of the layers otherwise.
 *
 * A container directory <cdir> holds init/, upper/, work/ and merged/ (the root the runtime
 * gets). init/ is Docker's init layer, made once per container above the image's layers: empty
 * /etc/hosts, /etc/hostname, /etc/resolv.conf, /.dockerenv, /dev/console, /etc/mtab ->
 * /proc/mounts and the /proc, /sys, /dev/pts, /dev/shm mount points, so the runtime's bind
 * mounts find their targets and docker diff does not report them. In copy mode merged/ is a
 * plain directory with the layers and init/ applied in order (whiteouts honoured) and upper/ is
 * not used. Layout and rules: docs/internals/rootfs.md.
 */
#ifndef SOCKERLESS_DRIVER_ROOTFS_H
#define SOCKERLESS_DRIVER_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

enum rootfs_mode { ROOTFS_OVERLAY, ROOTFS_COPY };

/* Whether an overlay mount works in scratch_dir (a directory on the data root's filesystem):
 * mounts and unmounts a tiny overlay there. */
enum rootfs_mode rootfs_probe(const char *scratch_dir);
const char *rootfs_mode_name(enum rootfs_mode m);

/* Builds <cdir>/merged from lowers[0..n) (lowers[0] the base layer, the last the top), init/
 * and <cdir>/upper, creating <cdir> and its subdirectories as needed. An already mounted (or
 * already copied) merged/ is kept. n may be 0 (an empty root: init/ alone). Errors: the
 * mount's or the copy's, ERR_INTERNAL with errno. */
int rootfs_mount(enum rootfs_mode mode, char *const *lowers, size_t n, const char *cdir,
                 struct err **err);
/* dockerd's check of a container's working directory at create, in the root lowers[0..n)
 * make (without the init layer): the path wd (absolute) is resolved as the kernel would inside
 * that root, symlinks followed within it. A missing part is fine (the runtime makes it, as
 * dockerd's mkdir -p does). Errors (ERR_INTERNAL, dockerd's 500 and its words, with container
 * paths where dockerd shows its host paths): "Cannot mkdir: <wd> is not a directory" when wd
 * names a non-directory, "lstat <path>: not a directory" when a non-directory is on the way,
 * "too many links in <wd>" past 255 links. */
int rootfs_check_workdir(char *const *lowers, size_t n, const char *wd, struct err **err);
/* Unmounts merged/ (overlay; lazily if busy). Not mounted is not an error. */
int rootfs_unmount(enum rootfs_mode mode, const char *cdir, struct err **err);

enum rootfs_change_kind { ROOTFS_MODIFIED = 0, ROOTFS_ADDED = 1, ROOTFS_DELETED = 2 };
struct rootfs_change {
    char *path; /* "/etc/x" */
    enum rootfs_change_kind kind;
};
void rootfs_changes_free(struct rootfs_change *ch, size_t n);
/* docker diff: what the container changed against its layers and init/, with dockerd's rules
 * (a directory with changes below it is C; a deleted directory is one D). Order: a walk in
 * name order, each directory before what is below it, deleted names at their place (dockerd
 * 20.10 lists siblings in random map order; one of its orders per directory is this one but
 * with deletions last). *out is a new array of *n_out (free with rootfs_changes_free); a
 * container never mounted has none. */
int rootfs_changes(enum rootfs_mode mode, char *const *lowers, size_t n, const char *cdir,
                   struct rootfs_change **out, size_t *n_out, struct err **err);
/* The container's changes as a layer tar written to out_fd (borrowed, not closed), for docker
 * commit: overlay mode writes upper/ as dockerd's overlay2 does (whiteout devices as `.wh.`
 * entries, an opaque directory followed by `<dir>/.wh..wh..opq`); copy mode writes the changes
 * of rootfs_changes (deletions as `.wh.` entries). Entries in name order, parents first. */
int rootfs_diff_tar(enum rootfs_mode mode, char *const *lowers, size_t n, const char *cdir,
                    int out_fd, struct err **err);

/*
 * The base layer for images without layers (a synthetic pull): in dir (created if needed,
 * filled only when it holds no bin/busybox yet), the host's static busybox as /bin/busybox
 * with a link per applet in /bin, and the minimal /etc (passwd, group with root and nobody),
 * /tmp, /root, /home, /proc, /sys, /dev a shell needs. ERR_NOT_FOUND when the host has no static
 * busybox (busybox-static provides /bin/busybox).
 */
int rootfs_busybox_layer(const char *dir, struct err **err);
/* The same from the busybox binary at path (rootfs_busybox_layer uses /bin/busybox). */
int rootfs_busybox_layer_from(const char *busybox, const char *dir, struct err **err);

#endif
