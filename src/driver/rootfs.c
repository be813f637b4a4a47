/*
 * rootfs: see rootfs.h and docs/internals/rootfs.md.
 *
 * A container directory holds init/ (Docker's init layer: the files and mount points every
 * container gets, made once from the image's view), upper/ and work/ (overlay mode) and
 * merged/. The old view (what the container started from) is the stack init, top layer, ...,
 * base layer; docker diff compares the new view against it the way dockerd's naive differ does.
 */
#include "driver/rootfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/map.h"
#include "base/xalloc.h"

enum { OVERLAYFS_MAGIC = 0x794c7630, IO_CHUNK = 64 * 1024, APPLETS_MAX = 1024 * 1024 };

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define CAP_XATTR "security.capability"
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define HOST_BUSYBOX "/bin/busybox"

/* redirect_dir and metacopy off: a renamed directory or a chmod'ed file must be a plain copy
 * in upper/, since changes and the commit tar read upper/ as a layer. */
#define OVERLAY_FIXED_OPTS "redirect_dir=off,metacopy=off"

const char *
rootfs_mode_name(enum rootfs_mode m)
{
    return m == ROOTFS_OVERLAY ? "overlay" : "copy";
}

/* ---- small helpers ---------------------------------------------------------------------- */

struct names {
    char **v;
    size_t n, cap;
};

static void
names_add(struct names *ns, const char *s)
{
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 16;
        ns->v = xrealloc(ns->v, ns->cap * sizeof(*ns->v));
    }
    ns->v[ns->n++] = xstrdup(s);
}

static void
names_fini(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
    memset(ns, 0, sizeof(*ns));
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory path, sorted byte-wise (the order of Go's filepath.Walk). A missing
 * directory has none. */
static int
names_read(const char *path, struct names *out, struct err **err)
{
    memset(out, 0, sizeof(*out));
    DIR *d = opendir(path);
    if (d == NULL)
        return errno == ENOENT || errno == ENOTDIR ? 0 : err_errno(err, "open %s", path);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            names_add(out, de->d_name);
    closedir(d);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_str);
    return 0;
}

static bool
is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool
is_opaque(const char *path)
{
    char v[2];
    ssize_t n = lgetxattr(path, OPAQUE_XATTR, v, sizeof(v));
    return n == 1 && v[0] == 'y';
}

static int
remove_any(const char *path, struct err **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : err_errno(err, "stat %s", path);
    if (S_ISDIR(st.st_mode))
        return fsutil_remove_tree(path, err);
    if (unlink(path) < 0 && errno != ENOENT)
        return err_errno(err, "remove %s", path);
    return 0;
}

static bool
dir_has_entries(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    struct dirent *de;
    bool any = false;
    while (!any && (de = readdir(d)) != NULL)
        any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return any;
}

/* mkdir with exactly mode, whatever the umask. */
static int
mkdir_mode(const char *path, mode_t mode, struct err **err)
{
    if (mkdir(path, 0700) < 0 || chmod(path, mode) < 0)
        return err_errno(err, "mkdir %s", path);
    return 0;
}

static void
free_map_values(struct map *m)
{
    const char *k;
    void *v;
    for (size_t it = 0; map_next(m, &it, &k, &v);)
        free(v);
    map_fini(m);
}

static char *
inode_key(const struct stat *st)
{
    return xasprintf("%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
}

/* read/write copy, for file systems without copy_file_range between them. */
static int
copy_plain(int in, int out, const char *src, const char *dst, struct err **err)
{
    char *chunk = xmalloc(IO_CHUNK);
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, chunk, IO_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0)
                rc = err_errno(err, "read %s", src);
            break;
        }
        for (ssize_t off = 0; off < r && rc == 0;) {
            ssize_t w = write(out, chunk + off, (size_t)(r - off));
            if (w < 0 && errno != EINTR)
                rc = err_errno(err, "write %s", dst);
            else if (w > 0)
                off += w;
        }
        if (rc < 0)
            break;
    }
    free(chunk);
    return rc;
}

/* Copies the bytes of src into a new file dst (copy_file_range: a reflink where the file
 * system has them). */
static int
copy_data(const char *src, const char *dst, mode_t mode, struct err **err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return err_errno(err, "open %s", src);
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (out < 0) {
        err_errno(err, "create %s", dst);
        close(in);
        return -1;
    }
    int rc = 0;
    for (off_t total = 0;;) {
        ssize_t r = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (r > 0) {
            total += r;
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if (total == 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                           errno == EOPNOTSUPP || errno == EPERM))
            rc = copy_plain(in, out, src, dst, err);
        else
            rc = err_errno(err, "copy %s", src);
        break;
    }
    close(in);
    if (close(out) < 0 && rc == 0)
        rc = err_errno(err, "write %s", dst);
    return rc;
}

/* ---- the old view: a stack of directories, top first -------------------------------------- */

struct stack {
    char **dirs; /* owned */
    size_t n;
};

static void
stack_fini(struct stack *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->dirs[i]);
    free(s->dirs);
    memset(s, 0, sizeof(*s));
}

/* init (when present) above the layers, top layer first: overlayfs's lowerdir order. */
static void
stack_root(char *const *lowers, size_t n, const char *init, struct stack *s)
{
    s->dirs = xcalloc(n + 1, sizeof(*s->dirs));
    s->n = 0;
    struct stat st;
    if (init != NULL && lstat(init, &st) == 0 && S_ISDIR(st.st_mode))
        s->dirs[s->n++] = xstrdup(init);
    for (size_t i = n; i > 0; i--)
        s->dirs[s->n++] = xstrdup(lowers[i - 1]);
}

/*
 * Looks name up in the directory s stands for, as overlayfs does: the topmost entry wins and a
 * whiteout hides the name; a directory merges with the directories of the same name below it
 * until a non-directory or an opaque directory. *st gets the topmost entry, *top its path and
 * *sub (when not NULL) the stack of a directory.
 */
static bool
stack_lookup(const struct stack *s, const char *name, struct stat *st, char **top,
             struct stack *sub)
{
    bool found = false;
    if (sub != NULL)
        *sub = (struct stack){.dirs = xcalloc(s->n + 1, sizeof(char *))};
    for (size_t i = 0; i < s->n; i++) {
        char *p = xasprintf("%s/%s", s->dirs[i], name);
        struct stat cur;
        if (lstat(p, &cur) < 0) {
            free(p);
            continue;
        }
        if (!found) {
            if (is_whiteout(&cur)) {
                free(p);
                return false;
            }
            *st = cur;
            found = true;
            if (top != NULL)
                *top = xstrdup(p);
        }
        if (!S_ISDIR(cur.st_mode) || sub == NULL) {
            free(p);
            break;
        }
        bool opaque = is_opaque(p);
        sub->dirs[sub->n++] = p;
        if (opaque)
            break;
    }
    return found;
}

/* The names the directory s stands for holds (whiteouts applied), sorted. */
static int
stack_names(const struct stack *s, struct names *out, struct err **err)
{
    struct names all = {0};
    for (size_t i = 0; i < s->n; i++) {
        struct names one;
        if (names_read(s->dirs[i], &one, err) < 0) {
            names_fini(&all);
            return -1;
        }
        for (size_t j = 0; j < one.n; j++)
            names_add(&all, one.v[j]);
        names_fini(&one);
    }
    if (all.n > 1)
        qsort(all.v, all.n, sizeof(*all.v), cmp_str);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < all.n; i++) {
        struct stat st;
        if (i > 0 && strcmp(all.v[i], all.v[i - 1]) == 0)
            continue;
        if (stack_lookup(s, all.v[i], &st, NULL, NULL))
            names_add(out, all.v[i]);
    }
    names_fini(&all);
    return 0;
}

/* The old view's entry at rel ("etc/hosts"). */
static bool
view_stat(const struct stack *root, const char *rel, struct stat *st)
{
    cleanup_free char *copy = xstrdup(rel);
    struct stack cur = {0};
    const struct stack *at = root;
    bool found = false;
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
        struct stack sub;
        found = stack_lookup(at, c, st, NULL, &sub);
        stack_fini(&cur);
        cur = sub;
        at = &cur;
        if (!found || (!S_ISDIR(st->st_mode) && save != NULL && *save != '\0')) {
            found = false;
            break;
        }
    }
    stack_fini(&cur);
    return found;
}

/* ---- the working directory at create ----------------------------------------------------- */

/* dockerd's limit on the links followed while resolving a path in a container's root. */
#define WORKDIR_MAX_LINKS 255

/* Pops the walk's directories down to depth, cutting *path back to that directory. */
static void
walk_pop(struct stack *levels, const size_t *ends, size_t *depth, size_t to, char *path)
{
    while (*depth > to) {
        stack_fini(&levels[*depth]);
        (*depth)--;
    }
    path[ends[*depth]] = '\0';
}

int
rootfs_check_workdir(char *const *lowers, size_t n, const char *wd, struct err **err)
{
    /* levels[d] is the directory at depth d of the resolved path (levels[0] the root); ends[d]
     * the length of that path in path. Bounded by wd's components and the links' targets. */
    size_t cap = 8, depth = 0;
    struct stack *levels = xcalloc(cap, sizeof(*levels));
    size_t *ends = xcalloc(cap, sizeof(*ends));
    stack_root(lowers, n, NULL, &levels[0]);
    char *path = xstrdup("");
    char *todo = xstrdup(wd);
    const char *p = todo;
    int links = 0, rc = 0;
    while (rc == 0) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        size_t len = strcspn(p, "/");
        cleanup_free char *name = xstrndup(p, len);
        p += len;
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            walk_pop(levels, ends, &depth, depth > 0 ? depth - 1 : 0, path);
            continue;
        }
        struct stat st;
        cleanup_free char *top = NULL;
        struct stack sub;
        bool found = stack_lookup(&levels[depth], name, &st, &top, &sub);
        if (!found || !S_ISDIR(st.st_mode))
            stack_fini(&sub);
        if (!found)
            break; /* the runtime makes the rest, as dockerd's mkdir -p does */
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t tl = readlink(top, target, sizeof(target) - 1);
            if (tl < 0) {
                rc = err_errno(err, "readlink %s/%s", path, name);
                break;
            }
            if (++links > WORKDIR_MAX_LINKS) {
                rc = err_make(err, ERR_INTERNAL, 0, "too many links in %s", wd);
                break;
            }
            target[tl] = '\0';
            if (target[0] == '/')
                walk_pop(levels, ends, &depth, 0, path);
            char *next = xasprintf("%s/%s", target, p);
            free(todo);
            todo = next;
            p = todo;
        } else if (S_ISDIR(st.st_mode)) {
            if (depth + 1 == cap) {
                cap *= 2;
                levels = xrealloc(levels, cap * sizeof(*levels));
                ends = xrealloc(ends, cap * sizeof(*ends));
            }
            char *longer = xasprintf("%s/%s", path, name);
            free(path);
            path = longer;
            levels[++depth] = sub;
            ends[depth] = strlen(path);
        } else {
            while (*p == '/')
                p++;
            if (*p == '\0')
                rc = err_make(err, ERR_INTERNAL, 0, "Cannot mkdir: %s is not a directory", wd);
            else
                rc = err_make(err, ERR_INTERNAL, 0, "lstat %s/%s/%.*s: not a directory", path, name,
                              (int)strcspn(p, "/"), p);
        }
    }
    walk_pop(levels, ends, &depth, 0, path);
    stack_fini(&levels[0]);
    free(levels);
    free(ends);
    free(todo);
    free(path);
    return rc;
}

/* ---- the init layer ----------------------------------------------------------------------- */

/* Docker's init layer (daemon/initlayer): what every container gets whatever its image. */
static const struct {
    const char *path;
    char type; /* 'd' directory, 'f' empty file, 'l' symlink */
} init_entries[] = {
    {"dev/pts", 'd'},     {"dev/shm", 'd'},         {"proc", 'd'},      {"sys", 'd'},
    {".dockerenv", 'f'},  {"etc/resolv.conf", 'f'}, {"etc/hosts", 'f'}, {"etc/hostname", 'f'},
    {"dev/console", 'f'}, {"etc/mtab", 'l'},
};

static int
init_entry(const char *tmp, const struct stack *view, const char *rel, char type, struct err **err)
{
    struct stat st;
    /* dockerd unlinks a file in the way and keeps a directory. */
    if (view_stat(view, rel, &st) && S_ISDIR(st.st_mode))
        return 0;
    const char *slash = strchr(rel, '/');
    if (slash != NULL) {
        cleanup_free char *parent = xstrndup(rel, (size_t)(slash - rel));
        cleanup_free char *pdir = xasprintf("%s/%s", tmp, parent);
        struct stat pst;
        if (lstat(pdir, &pst) < 0) {
            if (mkdir_mode(pdir, 0755, err) < 0)
                return -1;
            /* As a copy-up would: the image's directory keeps its owner and mode. */
            if (view_stat(view, parent, &pst) && S_ISDIR(pst.st_mode)) {
                if (lchown(pdir, pst.st_uid, pst.st_gid) < 0 && errno != EPERM)
                    return err_errno(err, "chown %s", pdir);
                if (chmod(pdir, pst.st_mode & 07777) < 0)
                    return err_errno(err, "chmod %s", pdir);
            }
        }
    }
    cleanup_free char *p = xasprintf("%s/%s", tmp, rel);
    if (type == 'd') {
        if (mkdir_mode(p, 0755, err) < 0)
            return -1;
    } else if (type == 'f') {
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (fd < 0)
            return err_errno(err, "create %s", p);
        int rc = fchmod(fd, 0755);
        close(fd);
        if (rc < 0)
            return err_errno(err, "chmod %s", p);
    } else if (symlink("/proc/mounts", p) < 0) {
        return err_errno(err, "symlink %s", p);
    }
    return 0;
}

/* Makes <cdir>/init once (built aside, then renamed). */
static int
ensure_init(char *const *lowers, size_t n, const char *cdir, struct err **err)
{
    cleanup_free char *init = xasprintf("%s/init", cdir);
    struct stat st;
    if (lstat(init, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    cleanup_free char *tmp = xasprintf("%s/init.tmp", cdir);
    if (remove_any(tmp, err) < 0)
        return -1;
    if (mkdir_mode(tmp, 0755, err) < 0)
        return -1;
    struct stack view;
    stack_root(lowers, n, NULL, &view);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(init_entries) / sizeof(init_entries[0]); i++)
        rc = init_entry(tmp, &view, init_entries[i].path, init_entries[i].type, err);
    stack_fini(&view);
    if (rc == 0 && rename(tmp, init) < 0)
        rc = err_errno(err, "rename %s", tmp);
    if (rc < 0)
        remove_any(tmp, NULL);
    return rc;
}

/* ---- overlay mounts ----------------------------------------------------------------------- */

/* Appends s to b with the characters overlayfs's option parser splits on escaped. */
static void
append_escaped(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == ':' || *s == ',' || *s == '\\')
            buf_append(b, "\\", 1, NULL);
        buf_append(b, s, 1, NULL);
    }
}

/* The new mount API: one "lowerdir+" per layer, so no page limit on the option string
 * (Linux >= 6.8). */
static int
overlay_mount_fsconfig(char *const *lowers, size_t n, const char *upper, const char *work,
                       const char *merged, struct err **err)
{
    int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return err_errno(err, "fsopen overlay");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0);
    if (rc == 0)
        rc = fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0);
    if (rc == 0)
        rc = fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0);
    if (rc == 0)
        rc = fsconfig(fs, FSCONFIG_SET_STRING, "redirect_dir", "off", 0);
    if (rc == 0)
        rc = fsconfig(fs, FSCONFIG_SET_STRING, "metacopy", "off", 0);
    if (rc == 0)
        rc = fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    int mfd = rc == 0 ? fsmount(fs, FSMOUNT_CLOEXEC, 0) : -1;
    if (mfd >= 0) {
        rc = move_mount(mfd, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH);
        close(mfd);
    }
    if (mfd < 0 || rc < 0) {
        int saved = errno;
        char msg[256] = ""; /* the kernel's reason, when it left one in the context */
        ssize_t r = read(fs, msg, sizeof(msg) - 1);
        msg[r > 0 ? r : 0] = '\0';
        close(fs);
        return err_make(err, ERR_INTERNAL, saved, "mount overlay on %s: %s%s%s", merged,
                        strerror(saved), *msg ? ": " : "", msg);
    }
    close(fs);
    return 0;
}

/* Mounts overlay on merged with lowers (top first). */
static int
overlay_mount(char *const *lowers, size_t n, const char *upper, const char *work,
              const char *merged, struct err **err)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    buf_append(&b, "lowerdir=", 9, NULL);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_append(&b, ":", 1, NULL);
        append_escaped(&b, lowers[i]);
    }
    buf_append(&b, ",upperdir=", 10, NULL);
    append_escaped(&b, upper);
    buf_append(&b, ",workdir=", 9, NULL);
    append_escaped(&b, work);
    buf_append(&b, "," OVERLAY_FIXED_OPTS, strlen("," OVERLAY_FIXED_OPTS), NULL);
    size_t len = 0;
    cleanup_free char *data = buf_take(&b, &len);
    /* mount(2) copies one page of options: longer stacks go through fsconfig. */
    if (len >= (size_t)sysconf(_SC_PAGESIZE))
        return overlay_mount_fsconfig(lowers, n, upper, work, merged, err);
    if (mount("overlay", merged, "overlay", 0, data) < 0)
        return err_errno(err, "mount overlay on %s", merged);
    return 0;
}

static bool
is_overlay_mounted(const char *merged, const char *cdir)
{
    struct statfs sf;
    struct stat a, b;
    return statfs(merged, &sf) == 0 && sf.f_type == OVERLAYFS_MAGIC && stat(merged, &a) == 0 &&
           stat(cdir, &b) == 0 && a.st_dev != b.st_dev;
}

enum rootfs_mode
rootfs_probe(const char *scratch_dir)
{
    cleanup_free char *dir = xasprintf("%s/.rootfs-probe-XXXXXX", scratch_dir);
    if (mkdtemp(dir) == NULL) {
        LOG_WARN("rootfs: cannot probe overlayfs in %s: %s", scratch_dir, strerror(errno));
        return ROOTFS_COPY;
    }
    cleanup_free char *l1 = xasprintf("%s/l1", dir), *l2 = xasprintf("%s/l2", dir);
    cleanup_free char *upper = xasprintf("%s/upper", dir), *work = xasprintf("%s/work", dir);
    cleanup_free char *merged = xasprintf("%s/merged", dir);
    cleanup_free char *lowfile = xasprintf("%s/a", l2), *seen = xasprintf("%s/a", merged);
    cleanup_free char *written = xasprintf("%s/b", merged);
    struct err *e = NULL;
    bool ok = false;
    char *lowers[] = {l1, l2};
    if (mkdir(l1, 0755) == 0 && mkdir(l2, 0755) == 0 && mkdir(upper, 0755) == 0 &&
        mkdir(work, 0755) == 0 && mkdir(merged, 0755) == 0 &&
        fsutil_write_atomic(lowfile, "a", 1, 0644, &e) == 0 &&
        overlay_mount(lowers, 2, upper, work, merged, &e) == 0) {
        int fd = open(written, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ok = access(seen, F_OK) == 0 && fd >= 0;
        if (fd >= 0)
            close(fd);
        if (umount2(merged, 0) < 0)
            umount2(merged, MNT_DETACH);
    }
    if (!ok)
        LOG_INFO("rootfs: overlayfs unusable in %s (%s), copying layers", scratch_dir,
                 e ? e->msg : strerror(errno));
    err_clear(&e);
    fsutil_remove_tree(dir, NULL);
    return ok ? ROOTFS_OVERLAY : ROOTFS_COPY;
}

/* ---- copy mode ---------------------------------------------------------------------------- */

static void
copy_xattrs(const char *src, const char *dst)
{
    ssize_t len = llistxattr(src, NULL, 0);
    if (len <= 0)
        return;
    cleanup_free char *list = xmalloc((size_t)len + 1);
    len = llistxattr(src, list, (size_t)len);
    for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t)strlen(list + off) + 1) {
        const char *name = list + off;
        if (strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0)
            continue;
        ssize_t vlen = lgetxattr(src, name, NULL, 0);
        if (vlen < 0)
            continue;
        cleanup_free char *val = xmalloc((size_t)vlen + 1);
        vlen = lgetxattr(src, name, val, (size_t)vlen);
        if (vlen < 0 || lsetxattr(dst, name, val, (size_t)vlen, 0) < 0)
            LOG_DEBUG("rootfs: xattr %s on %s not copied: %s", name, dst, strerror(errno));
    }
}

/* Owner, mode, xattrs (after the chown, which drops security.capability), then times. */
static int
apply_attrs(const char *src, const char *dst, const struct stat *st, struct err **err)
{
    if (lchown(dst, st->st_uid, st->st_gid) < 0 && errno != EPERM && errno != EINVAL)
        return err_errno(err, "chown %s", dst);
    if (!S_ISLNK(st->st_mode) && chmod(dst, st->st_mode & 07777) < 0)
        return err_errno(err, "chmod %s", dst);
    copy_xattrs(src, dst);
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return err_errno(err, "set times of %s", dst);
    return 0;
}

static int copy_layer_dir(const char *src, const char *dst, struct map *links, struct err **err);

static int
copy_non_dir(const char *src, const char *dst, const struct stat *st, struct map *links,
             struct err **err)
{
    if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
        cleanup_free char *key = inode_key(st);
        const char *first = map_get(links, key);
        if (first != NULL && link(first, dst) == 0)
            return 0;
        if (first == NULL)
            map_put(links, key, xstrdup(dst), NULL);
    }
    if (S_ISREG(st->st_mode)) {
        if (copy_data(src, dst, 0600, err) < 0)
            return -1;
    } else if (S_ISLNK(st->st_mode)) {
        char target[4096];
        ssize_t n = readlink(src, target, sizeof(target) - 1);
        if (n < 0)
            return err_errno(err, "readlink %s", src);
        target[n] = '\0';
        if (symlink(target, dst) < 0)
            return err_errno(err, "symlink %s", dst);
    } else if (mknod(dst, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0) {
        if (errno != EPERM)
            return err_errno(err, "mknod %s", dst);
        LOG_WARN("rootfs: device %s skipped: %s", dst, strerror(errno));
        return 0;
    }
    return apply_attrs(src, dst, st, err);
}

/* Applies one layer entry onto dst: whiteouts delete, an opaque directory is emptied first. */
static int
copy_layer_entry(const char *src, const char *dst, struct map *links, struct err **err)
{
    struct stat st, dt;
    if (lstat(src, &st) < 0)
        return err_errno(err, "stat %s", src);
    bool exists = lstat(dst, &dt) == 0;
    if (is_whiteout(&st))
        return exists ? remove_any(dst, err) : 0;
    if (!S_ISDIR(st.st_mode)) {
        if (exists && remove_any(dst, err) < 0)
            return -1;
        return copy_non_dir(src, dst, &st, links, err);
    }
    if (exists && !S_ISDIR(dt.st_mode)) {
        if (unlink(dst) < 0)
            return err_errno(err, "remove %s", dst);
        exists = false;
    }
    if (!exists && mkdir(dst, 0700) < 0)
        return err_errno(err, "mkdir %s", dst);
    if (exists && is_opaque(src)) {
        struct names old;
        if (names_read(dst, &old, err) < 0)
            return -1;
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < old.n; i++) {
            cleanup_free char *p = xasprintf("%s/%s", dst, old.v[i]);
            rc = remove_any(p, err);
        }
        names_fini(&old);
        if (rc < 0)
            return -1;
    }
    if (copy_layer_dir(src, dst, links, err) < 0)
        return -1;
    return apply_attrs(src, dst, &st, err);
}

static int
copy_layer_dir(const char *src, const char *dst, struct map *links, struct err **err)
{
    struct names ns;
    if (names_read(src, &ns, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ns.n; i++) {
        cleanup_free char *s = xasprintf("%s/%s", src, ns.v[i]);
        cleanup_free char *d = xasprintf("%s/%s", dst, ns.v[i]);
        rc = copy_layer_entry(s, d, links, err);
    }
    names_fini(&ns);
    return rc;
}

static int
copy_layer(const char *src, const char *dst, struct err **err)
{
    struct map links; /* hard links within the layer: inode -> first copy */
    map_init(&links);
    int rc = copy_layer_dir(src, dst, &links, err);
    free_map_values(&links);
    return rc < 0 ? err_wrap(err, "copy layer %s", src) : 0;
}

/* merged/ is made aside in merged.tmp and renamed, so a present merged/ is complete. */
static int
mount_copy(char *const *lowers, size_t n, const char *cdir, struct err **err)
{
    cleanup_free char *merged = xasprintf("%s/merged", cdir);
    if (dir_has_entries(merged))
        return 0;
    cleanup_free char *tmp = xasprintf("%s/merged.tmp", cdir);
    cleanup_free char *init = xasprintf("%s/init", cdir);
    if (remove_any(tmp, err) < 0)
        return -1;
    if (mkdir_mode(tmp, 0755, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = copy_layer(lowers[i], tmp, err);
    if (rc == 0)
        rc = copy_layer(init, tmp, err);
    if (rc == 0 && rename(tmp, merged) < 0)
        rc = err_errno(err, "rename %s", tmp);
    if (rc < 0)
        remove_any(tmp, NULL);
    return rc;
}

/* ---- mount / unmount ---------------------------------------------------------------------- */

int
rootfs_mount(enum rootfs_mode mode, char *const *lowers, size_t n, const char *cdir,
             struct err **err)
{
    if (fsutil_mkdir_p(cdir, 0700, err) < 0 || ensure_init(lowers, n, cdir, err) < 0)
        return err_wrap(err, "prepare root in %s", cdir);
    if (mode == ROOTFS_COPY)
        return mount_copy(lowers, n, cdir, err);
    cleanup_free char *upper = xasprintf("%s/upper", cdir);
    cleanup_free char *work = xasprintf("%s/work", cdir);
    cleanup_free char *merged = xasprintf("%s/merged", cdir);
    cleanup_free char *init = xasprintf("%s/init", cdir);
    if (fsutil_mkdir_p(upper, 0755, err) < 0 || fsutil_mkdir_p(work, 0700, err) < 0 ||
        fsutil_mkdir_p(merged, 0755, err) < 0)
        return -1;
    /* upper/ is the root directory the container sees: 0755 as in dockerd. */
    if (chmod(upper, 0755) < 0)
        return err_errno(err, "chmod %s", upper);
    if (is_overlay_mounted(merged, cdir))
        return 0;
    /* The init layer is the topmost lower; it also stands in for an empty image. */
    cleanup_free char **stack = xcalloc(n + 1, sizeof(char *));
    stack[0] = init;
    for (size_t i = 0; i < n; i++)
        stack[i + 1] = lowers[n - 1 - i];
    return overlay_mount(stack, n + 1, upper, work, merged, err);
}

int
rootfs_unmount(enum rootfs_mode mode, const char *cdir, struct err **err)
{
    if (mode == ROOTFS_COPY)
        return 0;
    cleanup_free char *merged = xasprintf("%s/merged", cdir);
    /* Until nothing is mounted there (EINVAL), should a racing mount have stacked two. */
    for (int i = 0; i < 8; i++) {
        if (umount2(merged, UMOUNT_NOFOLLOW) == 0)
            continue;
        if (errno == EINVAL || errno == ENOENT)
            return 0;
        if (errno != EBUSY || umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
            return err_errno(err, "unmount %s", merged);
    }
    return 0;
}

/* ---- changes (docker diff) ---------------------------------------------------------------- */

struct diff_walk {
    enum rootfs_mode mode;
    dev_t dev; /* copy mode: merged/'s file system; mounts inside are not the container's */
    struct rootfs_change *v;
    size_t n, cap;
};

static void
walk_add(struct diff_walk *w, size_t at, const char *path, enum rootfs_change_kind kind)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 32;
        w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    memmove(w->v + at + 1, w->v + at, (w->n - at) * sizeof(*w->v));
    w->v[at] = (struct rootfs_change){.path = xstrdup(path), .kind = kind};
    w->n++;
}

void
rootfs_changes_free(struct rootfs_change *ch, size_t n)
{
    for (size_t i = 0; ch != NULL && i < n; i++)
        free(ch[i].path);
    free(ch);
}

static bool
same_cap(const char *a, const char *b)
{
    char va[256], vb[256];
    ssize_t na = lgetxattr(a, CAP_XATTR, va, sizeof(va));
    ssize_t nb = lgetxattr(b, CAP_XATTR, vb, sizeof(vb));
    if (na < 0 || nb < 0)
        return na < 0 && nb < 0;
    return na == nb && memcmp(va, vb, (size_t)na) == 0;
}

/* dockerd's statDifferent: mode, owner and device number; size and mtime only for
 * non-directories (a directory's mtime changes with any copy-up); and the capability xattr. */
static bool
attrs_differ(const struct stat *o, const char *opath, const struct stat *s, const char *spath)
{
    if (o->st_mode != s->st_mode || o->st_uid != s->st_uid || o->st_gid != s->st_gid ||
        o->st_rdev != s->st_rdev)
        return true;
    if (!S_ISDIR(s->st_mode) &&
        (o->st_size != s->st_size || o->st_mtim.tv_sec != s->st_mtim.tv_sec ||
         o->st_mtim.tv_nsec != s->st_mtim.tv_nsec))
        return true;
    return S_ISREG(s->st_mode) && !same_cap(opath, spath);
}

static int diff_dir(struct diff_walk *w, const char *newdir, const char *rel, bool full,
                    const struct stack *old, struct err **err);

static int
diff_entry(struct diff_walk *w, const char *newdir, const char *rel, const char *name,
           const struct stack *old, struct err **err)
{
    cleanup_free char *np = xasprintf("%s/%s", newdir, name);
    cleanup_free char *path = xasprintf("%s/%s", rel, name);
    struct stat ns, os;
    if (lstat(np, &ns) < 0) /* gone while we look: the container still runs */
        return errno == ENOENT ? 0 : err_errno(err, "stat %s", np);
    if (w->mode == ROOTFS_COPY && ns.st_dev != w->dev)
        return 0;
    struct stack sub;
    cleanup_free char *op = NULL;
    bool had = stack_lookup(old, name, &os, &op, &sub);
    if (w->mode == ROOTFS_OVERLAY && is_whiteout(&ns)) {
        if (had)
            walk_add(w, w->n, path, ROOTFS_DELETED);
        stack_fini(&sub);
        return 0;
    }
    size_t at = w->n;
    bool reported = true;
    if (!had)
        walk_add(w, w->n, path, ROOTFS_ADDED);
    else if (attrs_differ(&os, op, &ns, np))
        walk_add(w, w->n, path, ROOTFS_MODIFIED);
    else
        reported = false;
    int rc = 0;
    if (S_ISDIR(ns.st_mode)) {
        /* Lists the whole directory: merged/ always; in upper/, an opaque or new directory. */
        bool full = w->mode == ROOTFS_COPY || !had || !S_ISDIR(os.st_mode) || is_opaque(np);
        rc = diff_dir(w, np, path, full, &sub, err);
        /* dockerd reports a directory with changes inside as changed, before them. */
        if (rc == 0 && !reported && w->n > at)
            walk_add(w, at, path, ROOTFS_MODIFIED);
    }
    stack_fini(&sub);
    return rc;
}

/* newdir against the old view old; full: newdir lists the whole new directory (else names it
 * lacks are unchanged lower entries). Entries in name order, each followed by what is below. */
static int
diff_dir(struct diff_walk *w, const char *newdir, const char *rel, bool full,
         const struct stack *old, struct err **err)
{
    struct names nn, on = {0};
    if (names_read(newdir, &nn, err) < 0)
        return -1;
    if (full && old->n > 0 && stack_names(old, &on, err) < 0) {
        names_fini(&nn);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0, j = 0; rc == 0 && (i < nn.n || j < on.n);) {
        int c = i == nn.n ? 1 : j == on.n ? -1 : strcmp(nn.v[i], on.v[j]);
        if (c > 0) {
            cleanup_free char *path = xasprintf("%s/%s", rel, on.v[j++]);
            walk_add(w, w->n, path, ROOTFS_DELETED);
            continue;
        }
        rc = diff_entry(w, newdir, rel, nn.v[i++], old, err);
        if (c == 0)
            j++;
    }
    names_fini(&nn);
    names_fini(&on);
    return rc;
}

static int
collect_changes(enum rootfs_mode mode, char *const *lowers, size_t n, const char *cdir,
                struct diff_walk *w, struct err **err)
{
    cleanup_free char *init = xasprintf("%s/init", cdir);
    cleanup_free char *root = xasprintf("%s/%s", cdir, mode == ROOTFS_OVERLAY ? "upper" : "merged");
    *w = (struct diff_walk){.mode = mode};
    struct stat st;
    if (lstat(root, &st) < 0)
        return errno == ENOENT ? 0 : err_errno(err, "stat %s", root);
    w->dev = st.st_dev;
    struct stack old;
    stack_root(lowers, n, init, &old);
    int rc = diff_dir(w, root, "", mode == ROOTFS_COPY, &old, err);
    stack_fini(&old);
    if (rc < 0) {
        rootfs_changes_free(w->v, w->n);
        *w = (struct diff_walk){0};
    }
    return rc;
}

int
rootfs_changes(enum rootfs_mode mode, char *const *lowers, size_t n, const char *cdir,
               struct rootfs_change **out, size_t *n_out, struct err **err)
{
    struct diff_walk w;
    if (collect_changes(mode, lowers, n, cdir, &w, err) < 0)
        return err_wrap(err, "changes of %s", cdir);
    *out = w.v;
    *n_out = w.n;
    return 0;
}

/* ---- the commit tar ----------------------------------------------------------------------- */

struct tar_out {
    struct archive *a;
    struct map links; /* inode -> name of its first entry */
};

static int
tar_fail(struct tar_out *t, const char *name, struct err **err)
{
    return err_make(err, ERR_INTERNAL, archive_errno(t->a), "tar %s: %s", name,
                    archive_error_string(t->a));
}

/* An empty regular file: a whiteout (`.wh.<name>`) or an opaque marker. */
static int
tar_marker(struct tar_out *t, const char *name, mode_t perm, const struct stat *owner, time_t mtime,
           struct err **err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, owner ? owner->st_uid : 0);
    archive_entry_set_gid(e, owner ? owner->st_gid : 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, mtime, 0);
    int r = archive_write_header(t->a, e);
    archive_entry_free(e);
    return r < ARCHIVE_WARN ? tar_fail(t, name, err) : 0;
}

static int
tar_data(struct tar_out *t, const char *disk, const char *name, off_t size, struct err **err)
{
    int fd = open(disk, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return err_errno(err, "open %s", disk);
    char *chunk = xmalloc(IO_CHUNK);
    int rc = 0;
    /* A file that grows meanwhile is cut at its header's size; one that shrinks is padded. */
    for (off_t done = 0; rc == 0 && done < size;) {
        size_t want = size - done < IO_CHUNK ? (size_t)(size - done) : IO_CHUNK;
        ssize_t r = read(fd, chunk, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = err_errno(err, "read %s", disk);
        else if (r == 0)
            break;
        else if (archive_write_data(t->a, chunk, (size_t)r) < 0)
            rc = tar_fail(t, name, err);
        else
            done += r;
    }
    free(chunk);
    close(fd);
    return rc;
}

/* One entry from the file system: type, mode, owner, mtime (seconds, as dockerd's tars),
 * symlink target, hard link to an earlier entry, security.capability. */
static int
tar_file(struct tar_out *t, const char *disk, const char *name, const struct stat *st,
         struct err **err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, name);
    archive_entry_copy_stat(e, st);
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
    archive_entry_set_ino(e, 0);
    archive_entry_set_dev(e, 0);
    archive_entry_set_nlink(e, 1);
    bool data = S_ISREG(st->st_mode) && st->st_size > 0;
    if (!S_ISREG(st->st_mode))
        archive_entry_set_size(e, 0);
    int rc = 0;
    if (S_ISLNK(st->st_mode)) {
        char target[4096];
        ssize_t n = readlink(disk, target, sizeof(target) - 1);
        if (n < 0)
            rc = err_errno(err, "readlink %s", disk);
        target[n < 0 ? 0 : n] = '\0';
        archive_entry_copy_symlink(e, target);
    }
    if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
        cleanup_free char *key = inode_key(st);
        const char *first = map_get(&t->links, key);
        if (first != NULL) {
            archive_entry_copy_hardlink(e, first);
            archive_entry_set_size(e, 0);
            data = false;
        } else {
            map_put(&t->links, key, xstrdup(name), NULL);
        }
    }
    char cap[256];
    ssize_t ncap = S_ISREG(st->st_mode) ? lgetxattr(disk, CAP_XATTR, cap, sizeof(cap)) : -1;
    if (ncap > 0)
        archive_entry_xattr_add_entry(e, CAP_XATTR, cap, (size_t)ncap);
    if (rc == 0 && archive_write_header(t->a, e) < ARCHIVE_WARN)
        rc = tar_fail(t, name, err);
    archive_entry_free(e);
    if (rc == 0 && data)
        rc = tar_data(t, disk, name, st->st_size, err);
    return rc;
}

/* upper/ as a layer, in name order: whiteout devices as `.wh.` files, opaque directories
 * followed by their `.wh..wh..opq` marker (what dockerd's overlay2 commit writes). */
static int
tar_upper_dir(struct tar_out *t, const char *dir, const char *rel, struct err **err)
{
    struct names ns;
    if (names_read(dir, &ns, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ns.n; i++) {
        cleanup_free char *disk = xasprintf("%s/%s", dir, ns.v[i]);
        cleanup_free char *name = xasprintf("%s%s%s", rel, *rel ? "/" : "", ns.v[i]);
        struct stat st;
        if (lstat(disk, &st) < 0) {
            rc = errno == ENOENT ? 0 : err_errno(err, "stat %s", disk);
            continue;
        }
        if (is_whiteout(&st)) {
            cleanup_free char *wh = xasprintf("%s%s" WH_PREFIX "%s", rel, *rel ? "/" : "", ns.v[i]);
            rc = tar_marker(t, wh, 0600, &st, st.st_mtim.tv_sec, err);
            continue;
        }
        rc = tar_file(t, disk, name, &st, err);
        if (rc == 0 && S_ISDIR(st.st_mode) && is_opaque(disk)) {
            cleanup_free char *opq = xasprintf("%s/" WH_OPAQUE, name);
            rc = tar_marker(t, opq, st.st_mode & 0777, &st, 0, err);
        }
        if (rc == 0 && S_ISDIR(st.st_mode))
            rc = tar_upper_dir(t, disk, name, err);
    }
    names_fini(&ns);
    return rc;
}

/* Copy mode: the changes of merged/ against the layers, deleted names as whiteouts. */
static int
tar_changes(struct tar_out *t, const struct diff_walk *w, const char *merged, struct err **err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < w->n; i++) {
        const char *path = w->v[i].path + 1;
        if (w->v[i].kind == ROOTFS_DELETED) {
            const char *slash = strrchr(path, '/');
            cleanup_free char *wh =
                slash ? xasprintf("%.*s/" WH_PREFIX "%s", (int)(slash - path), path, slash + 1)
                      : xasprintf(WH_PREFIX "%s", path);
            rc = tar_marker(t, wh, 0600, NULL, 0, err);
            continue;
        }
        cleanup_free char *disk = xasprintf("%s/%s", merged, path);
        struct stat st;
        if (lstat(disk, &st) < 0)
            rc = errno == ENOENT ? 0 : err_errno(err, "stat %s", disk);
        else
            rc = tar_file(t, disk, path, &st, err);
    }
    return rc;
}

int
rootfs_diff_tar(enum rootfs_mode mode, char *const *lowers, size_t n, const char *cdir, int out_fd,
                struct err **err)
{
    struct diff_walk w = {0};
    if (mode == ROOTFS_COPY && collect_changes(mode, lowers, n, cdir, &w, err) < 0)
        return err_wrap(err, "commit %s", cdir);
    struct tar_out t = {.a = archive_write_new()};
    map_init(&t.links);
    archive_write_set_format_pax_restricted(t.a);
    archive_write_set_bytes_in_last_block(t.a, 1);
    int rc = 0;
    if (archive_write_open_fd(t.a, out_fd) != ARCHIVE_OK)
        rc = tar_fail(&t, "open", err);
    cleanup_free char *root = xasprintf("%s/%s", cdir, mode == ROOTFS_OVERLAY ? "upper" : "merged");
    if (rc == 0)
        rc = mode == ROOTFS_OVERLAY ? tar_upper_dir(&t, root, "", err)
                                    : tar_changes(&t, &w, root, err);
    if (archive_write_close(t.a) != ARCHIVE_OK && rc == 0)
        rc = tar_fail(&t, "close", err);
    archive_write_free(t.a);
    free_map_values(&t.links);
    rootfs_changes_free(w.v, w.n);
    return rc < 0 ? err_wrap(err, "commit %s", cdir) : 0;
}

/* ---- the busybox base layer --------------------------------------------------------------- */

/* Whether the ELF file at path asks for a program interpreter (a dynamic executable). */
static int
elf_has_interp(const char *path, bool *interp, struct err **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, "open %s", path);
    unsigned char ident[EI_NIDENT];
    Elf64_Ehdr h64;
    Elf32_Ehdr h32;
    int rc = -1;
    uint64_t off = 0, num = 0, ent = 0;
    if (pread(fd, ident, sizeof(ident), 0) != (ssize_t)sizeof(ident) ||
        memcmp(ident, ELFMAG, SELFMAG) != 0) {
        rc = err_make(err, ERR_NOT_FOUND, 0, "%s is not an ELF executable", path);
    } else if (ident[EI_CLASS] == ELFCLASS64 && pread(fd, &h64, sizeof(h64), 0) == sizeof(h64)) {
        off = h64.e_phoff, num = h64.e_phnum, ent = h64.e_phentsize, rc = 0;
    } else if (ident[EI_CLASS] == ELFCLASS32 && pread(fd, &h32, sizeof(h32), 0) == sizeof(h32)) {
        off = h32.e_phoff, num = h32.e_phnum, ent = h32.e_phentsize, rc = 0;
    } else {
        rc = err_make(err, ERR_NOT_FOUND, 0, "%s: unreadable ELF header", path);
    }
    *interp = false;
    for (uint64_t i = 0; rc == 0 && i < num && !*interp; i++) {
        uint32_t type; /* p_type is the first field of both program header layouts */
        if (pread(fd, &type, sizeof(type), (off_t)(off + i * ent)) != sizeof(type))
            rc = err_make(err, ERR_NOT_FOUND, 0, "%s: unreadable program headers", path);
        else
            *interp = type == PT_INTERP;
    }
    close(fd);
    return rc;
}

static bool
applet_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 64 && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
           strcmp(s, "..") != 0 && strcmp(s, "busybox") != 0;
}

/* The applets `busybox --list` names. */
static int
busybox_applets(const char *busybox, struct names *out, struct err **err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_errno(err, "pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    char *argv[] = {(char *)"busybox", (char *)"--list", NULL};
    char *envp[] = {NULL};
    pid_t pid;
    int sr = posix_spawn(&pid, busybox, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (sr != 0) {
        close(p[0]);
        return err_make(err, ERR_INTERNAL, sr, "run %s --list: %s", busybox, strerror(sr));
    }
    struct buf b;
    buf_init(&b, APPLETS_MAX);
    char chunk[4096];
    int rc = 0;
    for (;;) {
        ssize_t r = read(p[0], chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || buf_append(&b, chunk, (size_t)r, err) < 0) {
            rc = r < 0 ? err_errno(err, "read %s --list", busybox) : r == 0 ? 0 : -1;
            break;
        }
    }
    close(p[0]);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    /* ECHILD: a subreaper thread of the daemon took the status; the list speaks for itself. */
    if (rc == 0 && w == pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = err_make(err, ERR_INTERNAL, 0, "%s --list failed", busybox);
    size_t len;
    cleanup_free char *text = buf_take(&b, &len);
    memset(out, 0, sizeof(*out));
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); rc == 0 && l; l = strtok_r(NULL, "\n", &save))
        if (applet_name_ok(l))
            names_add(out, l);
    if (rc == 0 && out->n == 0)
        rc = err_make(err, ERR_INTERNAL, 0, "%s --list named no applet", busybox);
    if (rc < 0)
        names_fini(out);
    return rc;
}

static int
busybox_fill(const char *root, const char *busybox, const struct names *applets, struct err **err)
{
    static const struct {
        const char *path;
        mode_t mode;
    } dirs[] = {
        {"", 0755},         {"bin", 0755},  {"sbin", 0755}, {"usr", 0755},  {"usr/bin", 0755},
        {"usr/sbin", 0755}, {"etc", 0755},  {"dev", 0755},  {"proc", 0755}, {"sys", 0755},
        {"home", 0755},     {"root", 0700}, {"tmp", 01777},
    };
    static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                 "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    static const char group[] = "root:x:0:\nnogroup:x:65534:\n";
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        cleanup_free char *p = xasprintf("%s/%s", root, dirs[i].path);
        if ((mkdir(p, 0700) < 0 && errno != EEXIST) || chmod(p, dirs[i].mode) < 0)
            return err_errno(err, "mkdir %s", p);
    }
    cleanup_free char *bb = xasprintf("%s/bin/busybox", root);
    if (copy_data(busybox, bb, 0755, err) < 0)
        return -1;
    if (chmod(bb, 0755) < 0)
        return err_errno(err, "chmod %s", bb);
    for (size_t i = 0; i < applets->n; i++) {
        cleanup_free char *l = xasprintf("%s/bin/%s", root, applets->v[i]);
        if (symlink("busybox", l) < 0 && errno != EEXIST)
            return err_errno(err, "symlink %s", l);
    }
    cleanup_free char *pw = xasprintf("%s/etc/passwd", root);
    cleanup_free char *gr = xasprintf("%s/etc/group", root);
    if (fsutil_write_atomic(pw, passwd, sizeof(passwd) - 1, 0644, err) < 0 ||
        fsutil_write_atomic(gr, group, sizeof(group) - 1, 0644, err) < 0)
        return -1;
    return 0;
}

int
rootfs_busybox_layer_from(const char *busybox, const char *dir, struct err **err)
{
    cleanup_free char *marker = xasprintf("%s/bin/busybox", dir);
    struct stat st;
    if (lstat(marker, &st) == 0)
        return 0;
    if (stat(busybox, &st) < 0)
        return err_make(err, ERR_NOT_FOUND, errno,
                        "no %s on this host: install the busybox-static package", busybox);
    bool interp = false;
    if (elf_has_interp(busybox, &interp, err) < 0)
        return -1;
    if (interp)
        return err_make(err, ERR_NOT_FOUND, 0,
                        "%s is dynamically linked: install the busybox-static package", busybox);
    struct names applets;
    if (busybox_applets(busybox, &applets, err) < 0)
        return -1;
    cleanup_free char *clean = xstrdup(dir);
    for (size_t len = strlen(clean); len > 1 && clean[len - 1] == '/';)
        clean[--len] = '\0';
    cleanup_free char *parent = xstrdup(clean);
    char *slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent)
        *slash = '\0';
    cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", clean);
    int rc = 0;
    if (slash != NULL && slash != parent && fsutil_mkdir_p(parent, 0755, err) < 0)
        rc = -1;
    else if (mkdtemp(tmp) == NULL)
        rc = err_errno(err, "mkdir %s", tmp);
    else if (busybox_fill(tmp, busybox, &applets, err) < 0)
        rc = -1;
    else if (rename(tmp, clean) < 0) {
        /* A layer built meanwhile by another caller is as good as ours. */
        if ((errno == ENOTEMPTY || errno == EEXIST) && lstat(marker, &st) == 0)
            rc = 0;
        else if (errno == ENOTEMPTY || errno == EEXIST)
            rc = err_make(err, ERR_CONFLICT, errno, "%s exists and is not empty", clean);
        else
            rc = err_errno(err, "rename %s", tmp);
    }
    names_fini(&applets);
    if (lstat(tmp, &st) == 0)
        fsutil_remove_tree(tmp, NULL);
    return rc < 0 ? err_wrap(err, "busybox layer") : 0;
}

int
rootfs_busybox_layer(const char *dir, struct err **err)
{
    return rootfs_busybox_layer_from(HOST_BUSYBOX, dir, err);
}
