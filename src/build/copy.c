/* COPY and ADD: sources resolved in their root, written to a tar that is extracted into the
 * container's root after a tar of the missing parent directories. */
#include "build/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/fsutil.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "image/tarfs.h"

enum { MAX_DEPTH = 256, MAX_MATCHES = 100000 };

/* ---- paths ---- */

/* src cleaned lexically, relative to its root ("." for the root itself); NULL when `..` climbs
 * above the root. */
static char *
clean_relative(const char *src)
{
    char *out = fsutil_clean_relative(src);
    if (out != NULL && *out == '\0') {
        free(out);
        out = xstrdup(".");
    }
    return out;
}

static bool
has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Opens rel inside root, symlinks followed inside it (as Docker resolves COPY sources). */
static int
open_in(const char *root, const char *rel)
{
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return -1;
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
    int saved = errno;
    close(rootfd);
    errno = saved;
    return (int)fd;
}

/* Every path under root (relative, no "./") matching pattern, as Go's filepath.Match. */
static void
walk_match(int fd, const char *prefix, const char *pattern, char ***out, int depth)
{
    if (depth > MAX_DEPTH || strv_len(*out) >= MAX_MATCHES)
        return;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *rel = *prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
        if (fnmatch(pattern, rel, FNM_PATHNAME) == 0)
            *out = strv_append(*out, rel);
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                walk_match(sub, rel, pattern, out, depth + 1);
        }
        free(rel);
    }
    closedir(d);
}

/* ---- the tar ---- */

/* Two tars: the sources (a), whose digest is the step's cache key, and the missing parent
 * directories (parents), which are stamped with the time of the step and so stay out of it. */
struct tar {
    struct archive *a;
    struct archive *parents;
    const struct copy_req *r;
    struct err **err;
    int rc;
};

static int
archive_fail(struct tar *t, struct archive *a, const char *what)
{
    if (t->rc == 0)
        t->rc = err_make(t->err, ERR_INTERNAL, 0, "%s failed: %s: %s", t->r->what, what,
                         archive_error_string(a) ? archive_error_string(a) : "write error");
    return -1;
}

static int
tar_fail(struct tar *t, const char *what)
{
    return archive_fail(t, t->a, what);
}

/* One entry named name (relative to the container's root) from st. */
static struct archive_entry *
entry_for(const struct tar *t, const char *name, const struct stat *st)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_copy_stat(e, st);
    archive_entry_set_uid(e, t->r->uid);
    archive_entry_set_gid(e, t->r->gid);
    archive_entry_set_uname(e, "");
    archive_entry_set_gname(e, "");
    if (t->r->mode >= 0 && !S_ISLNK(st->st_mode))
        archive_entry_set_perm(e, (mode_t)t->r->mode);
    return e;
}

static int
add_dir_entry(struct tar *t, const char *name, mode_t mode)
{
    struct stat st = {.st_mode = S_IFDIR | mode};
    st.st_mtime = time(NULL);
    struct archive_entry *e = entry_for(t, name, &st);
    int rc =
        archive_write_header(t->parents, e) == ARCHIVE_OK ? 0 : archive_fail(t, t->parents, name);
    archive_entry_free(e);
    return rc;
}

/* Adds fd (open on what st describes) as name, and a directory's contents below it. */
static int add_fd(struct tar *t, int fd, const struct stat *st, const char *name, int depth);

static int
add_children(struct tar *t, int dirfd, const char *name, int depth)
{
    if (depth > MAX_DEPTH)
        return t->rc =
                   err_make(t->err, ERR_INVALID, 0, "%s failed: %s: too deep", t->r->what, name);
    int dup_fd = dup(dirfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (d == NULL) {
        if (dup_fd >= 0)
            close(dup_fd);
        return t->rc = err_errno(t->err, "%s failed: read %s", t->r->what, name);
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        cleanup_free char *child =
            *name ? xasprintf("%s/%s", name, de->d_name) : xstrdup(de->d_name);
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(dirfd, de->d_name, target, sizeof(target) - 1);
            if (n < 0)
                continue;
            target[n] = '\0';
            struct archive_entry *e = entry_for(t, child, &st);
            archive_entry_set_symlink(e, target);
            rc = archive_write_header(t->a, e) == ARCHIVE_OK ? 0 : tar_fail(t, child);
            archive_entry_free(e);
            continue;
        }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
            continue; /* devices, fifos and sockets are not copied */
        int cfd = openat(dirfd, de->d_name,
                         O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                             (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
        if (cfd < 0)
            return t->rc = err_errno(t->err, "%s failed: open %s", t->r->what, child);
        rc = add_fd(t, cfd, &st, child, depth + 1);
        close(cfd);
    }
    closedir(d);
    return rc;
}

static int
add_fd(struct tar *t, int fd, const struct stat *st, const char *name, int depth)
{
    if (S_ISDIR(st->st_mode)) {
        if (*name != '\0') {
            struct archive_entry *e = entry_for(t, name, st);
            int rc = archive_write_header(t->a, e) == ARCHIVE_OK ? 0 : tar_fail(t, name);
            archive_entry_free(e);
            if (rc < 0)
                return -1;
        }
        return add_children(t, fd, name, depth);
    }
    struct archive_entry *e = entry_for(t, name, st);
    int rc = archive_write_header(t->a, e) == ARCHIVE_OK ? 0 : tar_fail(t, name);
    archive_entry_free(e);
    char buf[65536];
    ssize_t n;
    while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
        if (archive_write_data(t->a, buf, (size_t)n) < 0)
            rc = tar_fail(t, name);
    return rc;
}

static struct archive *
archive_reader(int fd)
{
    struct archive *in = archive_read_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    lseek(fd, 0, SEEK_SET);
    if (archive_read_open_fd(in, fd, 65536) != ARCHIVE_OK) {
        archive_read_free(in);
        return NULL;
    }
    return in;
}

/* Whether fd holds a tar archive (any compression): ADD extracts those. */
static bool
is_archive(int fd)
{
    struct archive *in = archive_reader(fd);
    struct archive_entry *e;
    bool tar = in != NULL && archive_read_next_header(in, &e) == ARCHIVE_OK;
    if (in != NULL)
        archive_read_free(in);
    lseek(fd, 0, SEEK_SET);
    return tar;
}

/* ADD of a local archive: its entries, below dir. */
static int
add_archive(struct tar *t, int fd, const char *dir)
{
    struct archive *in = archive_reader(fd);
    if (in == NULL)
        return t->rc = err_make(t->err, ERR_INVALID, 0, "%s failed: cannot read the archive",
                                t->r->what);
    struct archive_entry *e;
    int r = archive_read_next_header(in, &e);
    int rcv = 0;
    int *rc = &rcv;
    for (; r == ARCHIVE_OK && *rc == 0; r = archive_read_next_header(in, &e)) {
        const char *p = archive_entry_pathname(e);
        while (*p == '/' || (p[0] == '.' && p[1] == '/'))
            p += *p == '/' ? 1 : 2;
        if (*p == '\0' || strcmp(p, ".") == 0)
            continue;
        /* Names keep their `..`s: tarfs refuses an entry that would leave the root. */
        cleanup_free char *name = *dir ? xasprintf("%s/%s", dir, p) : xstrdup(p);
        archive_entry_set_pathname(e, name);
        const char *hl = archive_entry_hardlink(e);
        if (hl != NULL) {
            while (*hl == '/')
                hl++;
            cleanup_free char *target = *dir ? xasprintf("%s/%s", dir, hl) : xstrdup(hl);
            archive_entry_set_hardlink(e, target);
        }
        if (archive_write_header(t->a, e) != ARCHIVE_OK) {
            *rc = tar_fail(t, name);
            break;
        }
        const void *buf;
        size_t len;
        int64_t off;
        while (archive_read_data_block(in, &buf, &len, &off) == ARCHIVE_OK)
            if (archive_write_data(t->a, buf, len) < 0) {
                *rc = tar_fail(t, name);
                break;
            }
    }
    if (*rc == 0 && r != ARCHIVE_EOF)
        *rc = t->rc = err_make(t->err, ERR_INVALID, 0, "%s failed: %s: %s", t->r->what, dir,
                               archive_error_string(in));
    archive_read_free(in);
    return *rc;
}

/* The missing directories on the way to dir (relative, "" for the root) as 0755 entries. */
static int
add_parents(struct tar *t, const char *dir)
{
    cleanup_free char *path = xstrdup(dir);
    for (char *slash = path;; slash++) {
        slash = strchr(slash, '/');
        if (slash != NULL)
            *slash = '\0';
        struct tarfs_stat st;
        struct err *e = NULL;
        if (*path != '\0' && tarfs_stat(t->r->dest_root, path, &st, &e) < 0) {
            err_clear(&e);
            if (add_dir_entry(t, path, 0755) < 0)
                return -1;
        }
        if (slash == NULL)
            return 0;
        *slash = '/';
    }
}

/* ---- the request ---- */

static bool
dest_is_existing_dir(const struct copy_req *r, const char *dest_rel)
{
    struct tarfs_stat st;
    struct err *e = NULL;
    bool dir = tarfs_stat(r->dest_root, dest_rel, &st, &e) == 0 && (st.mode & 0x80000000u);
    err_clear(&e);
    return dir;
}

/* The sources after wildcards, cleaned, each relative to src_root. */
static int
expand_sources(const struct copy_req *r, char ***out, struct err **err)
{
    char **list = NULL;
    for (size_t i = 0; r->srcs[i] != NULL; i++) {
        cleanup_free char *clean = clean_relative(r->srcs[i]);
        if (clean == NULL) {
            strv_free(list);
            return err_make(err, ERR_INVALID, 0,
                            "%s failed: forbidden path outside the build context: %s ()", r->what,
                            r->srcs[i]);
        }
        if (!has_wildcard(clean)) {
            list = strv_append(list, clean);
            continue;
        }
        char **matches = NULL;
        int fd = open(r->src_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
            walk_match(fd, "", clean, &matches, 0);
        for (size_t j = 0; matches != NULL && matches[j] != NULL; j++)
            list = strv_append(list, matches[j]);
        strv_free(matches);
    }
    if (strv_len(list) == 0) {
        strv_free(list);
        return err_make(err, ERR_INVALID, 0, "%s failed: no source files were specified", r->what);
    }
    *out = list;
    return 0;
}

static const char *
base_of(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return slash ? slash + 1 : rel;
}

/* A tar written to an unlinked temporary file under the build's directory; its fd, or -1 with
 * t->rc set. */
static int
spool_open(struct tar *t, struct archive **a)
{
    *a = archive_write_new();
    archive_write_set_format_pax_restricted(*a);
    int fd = open(t->r->tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        t->rc = err_errno(t->err, "%s failed: temporary file in %s", t->r->what, t->r->tmp);
        return -1;
    }
    if (archive_write_open_fd(*a, fd) != ARCHIVE_OK)
        archive_fail(t, *a, "temporary tar");
    return fd;
}

/* Closes the tar spooled to fd and, unless t failed, extracts it into the container's root;
 * digest (if not NULL) gets its SHA-256. Frees the archive and closes fd either way. */
static void
spool_extract(struct tar *t, struct archive *a, int fd, char digest[DIGEST_LEN + 1])
{
    if (a != NULL && archive_write_close(a) != ARCHIVE_OK)
        archive_fail(t, a, "temporary tar");
    archive_write_free(a);
    struct stat st;
    void *map = MAP_FAILED;
    if (t->rc == 0 && fstat(fd, &st) == 0 && st.st_size > 0)
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (t->rc == 0 && map == MAP_FAILED)
        t->rc = err_errno(t->err, "%s failed: read the temporary tar", t->r->what);
    if (t->rc == 0) {
        if (digest != NULL)
            digest_sha256(map, (size_t)st.st_size, digest);
        t->rc = tarfs_extract(t->r->dest_root, "/", map, (size_t)st.st_size, false, NULL, t->err);
        if (t->rc < 0)
            err_wrap(t->err, "%s failed", t->r->what);
    }
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    if (fd >= 0)
        close(fd);
}

int
build_copy(const struct copy_req *r, char **created_by, struct err **err)
{
    char **srcs = NULL;
    if (expand_sources(r, &srcs, err) < 0)
        return -1;
    size_t n = strv_len(srcs);
    size_t dlen = strlen(r->dest);
    bool dest_dir = dlen > 0 && r->dest[dlen - 1] == '/';
    cleanup_free char *dest_rel = clean_relative(r->dest);
    if (dest_rel == NULL || strcmp(dest_rel, ".") == 0) {
        free(dest_rel);
        dest_rel = xstrdup("");
        dest_dir = true;
    }
    if ((n > 1 || strv_len(r->srcs) > 1) && !dest_dir) {
        strv_free(srcs);
        return err_make(err, ERR_INVALID, 0,
                        "When using %s with more than one source file, the destination must be a "
                        "directory and end with a /",
                        r->what);
    }
    if (!dest_dir && *dest_rel && dest_is_existing_dir(r, dest_rel))
        dest_dir = true;

    struct tar t = {.r = r, .err = err};
    int tfd = spool_open(&t, &t.a);
    int pfd = tfd >= 0 ? spool_open(&t, &t.parents) : -1;
    const char *kind = "file";
    for (size_t i = 0; t.rc == 0 && i < n; i++) {
        int fd = open_in(r->src_root, srcs[i]);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            if (fd >= 0)
                close(fd);
            t.rc = err_make(err, ERR_NOT_FOUND, 0,
                            "%s failed: file not found in build context or excluded by "
                            ".dockerignore: stat %s: file does not exist",
                            r->what, srcs[i]);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            /* A directory's contents go into the destination, itself a directory. */
            kind = n > 1 ? "multi" : "dir";
            if (add_parents(&t, dest_rel) == 0)
                add_children(&t, fd, dest_rel, 0);
        } else if (S_ISREG(st.st_mode)) {
            if (n > 1)
                kind = "multi";
            if (r->add && is_archive(fd)) {
                /* ADD extracts a local archive into the destination, a directory. */
                if (add_parents(&t, dest_rel) == 0)
                    add_archive(&t, fd, dest_rel);
            } else {
                cleanup_free char *name =
                    dest_dir ? (*dest_rel ? xasprintf("%s/%s", dest_rel, base_of(srcs[i]))
                                          : xstrdup(base_of(srcs[i])))
                             : xstrdup(dest_rel);
                cleanup_free char *parent = xstrdup(name);
                char *slash = strrchr(parent, '/');
                if (slash != NULL)
                    *slash = '\0';
                if (add_parents(&t, slash ? parent : "") == 0)
                    add_fd(&t, fd, &st, name, 0);
            }
        } else {
            t.rc = err_make(err, ERR_INVALID, 0, "%s failed: %s is not a file or directory",
                            r->what, srcs[i]);
        }
        close(fd);
    }
    strv_free(srcs);
    char digest[DIGEST_LEN + 1];
    /* The parents first: the sources' entries then land in directories that exist. */
    spool_extract(&t, t.parents, pfd, NULL);
    spool_extract(&t, t.a, tfd, digest);
    if (t.rc == 0)
        *created_by = xasprintf("%s:%s", kind, digest + 7);
    return t.rc;
}
