#include "image/tarfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/strv.h"
#include "base/xalloc.h"

#include <ftw.h>

/* Go's os.FileMode bits. */
enum {
    GO_DIR = 1u << 31,
    GO_SYMLINK = 1u << 27,
    GO_DEVICE = 1u << 26,
    GO_PIPE = 1u << 25,
    GO_SOCKET = 1u << 24,
    GO_SETUID = 1u << 23,
    GO_SETGID = 1u << 22,
    GO_CHARDEV = 1u << 21,
    GO_STICKY = 1u << 20,
};

static uint32_t
go_mode(mode_t m)
{
    uint32_t g = m & 0777;
    if (S_ISDIR(m))
        g |= GO_DIR;
    else if (S_ISLNK(m))
        g |= GO_SYMLINK;
    else if (S_ISFIFO(m))
        g |= GO_PIPE;
    else if (S_ISSOCK(m))
        g |= GO_SOCKET;
    else if (S_ISBLK(m))
        g |= GO_DEVICE;
    else if (S_ISCHR(m))
        g |= GO_DEVICE | GO_CHARDEV;
    if (m & S_ISUID)
        g |= GO_SETUID;
    if (m & S_ISGID)
        g |= GO_SETGID;
    if (m & S_ISVTX)
        g |= GO_STICKY;
    return g;
}

/* Opens path inside root (O_PATH). follow: follow a symlink at the last component (inside the
 * root). Returns the fd or -1 with *err. */
static int
open_in_root(const char *root, const char *path, bool follow, struct err **err)
{
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_errno(err, "open container root");
    const char *rel = path;
    while (*rel == '/')
        rel++;
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    long fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
    int saved = errno;
    close(rootfd);
    if (fd < 0) {
        errno = saved;
        if (saved == ENOENT || saved == ENOTDIR)
            return err_make(err, ERR_NOT_FOUND, saved, "Could not find the file %s", path);
        return err_errno(err, "open %s", path);
    }
    return (int)fd;
}

/* The host path an O_PATH fd stands for (already resolved inside the root). */
static char *
fd_path(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
        return NULL;
    target[n] = '\0';
    return xstrdup(target);
}

static const char *
base_name(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '/')
            slash = path + i;
    return slash && slash[1] ? slash + 1 : path;
}

int
tarfs_stat(const char *root, const char *path, struct tarfs_stat *out, struct err **err)
{
    int fd = open_in_root(root, path, false, err);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
        err_errno(err, "stat %s", path);
        close(fd);
        return -1;
    }
    memset(out, 0, sizeof(*out));
    const char *b = base_name(path);
    size_t blen = strcspn(b, "/");
    snprintf(out->name, sizeof(out->name), "%.*s", (int)(blen ? blen : 1), blen ? b : "/");
    out->size = st.st_size;
    out->mode = go_mode(st.st_mode);
    out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlinkat(fd, "", out->link_target, sizeof(out->link_target) - 1);
        if (n > 0)
            out->link_target[n] = '\0';
    }
    close(fd);
    return 0;
}

/* An entry name is acceptable when relative and free of ".." components. */
static bool
safe_name(const char *name)
{
    if (name == NULL || *name == '\0' || *name == '/')
        return false;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += n;
        while (*p == '/')
            p++;
    }
    return true;
}

int
tarfs_extract(const char *root, const char *path, const void *data, size_t len,
              bool no_overwrite_dir_non_dir, struct err **err)
{
    int fd = open_in_root(root, path, true, err);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = fstat(fd, &st);
    char *dest = rc == 0 ? fd_path(fd) : NULL;
    close(fd);
    if (rc < 0 || dest == NULL) {
        free(dest);
        return err_make(err, ERR_INTERNAL, errno, "cannot resolve %s", path);
    }
    if (!S_ISDIR(st.st_mode)) {
        free(dest);
        return err_make(err, ERR_INVALID, 0, "extraction point is not a directory");
    }
    struct archive *in = archive_read_new();
    archive_read_support_format_all(in);
    archive_read_support_filter_all(in);
    struct archive *out = archive_write_disk_new();
    archive_write_disk_set_options(
        out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                 ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_UNLINK);
    rc = 0;
    if (archive_read_open_memory(in, data, len) != ARCHIVE_OK)
        rc = err_make(err, ERR_INVALID, 0, "invalid tar archive: %s", archive_error_string(in));
    struct archive_entry *e;
    int r = ARCHIVE_OK;
    while (rc == 0 && (r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        const char *hard = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        if (!safe_name(name) || (hard != NULL && !safe_name(hard))) {
            rc = err_make(err, ERR_INVALID, 0, "invalid archive entry: %.200s",
                          name ? name : "(none)");
            break;
        }
        if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK) {
            rc = err_make(err, ERR_INVALID, 0, "device nodes are not allowed: %.200s", name);
            break;
        }
        char *full = xasprintf("%s/%s", dest, name);
        struct stat old;
        if (no_overwrite_dir_non_dir && lstat(full, &old) == 0 &&
            S_ISDIR(old.st_mode) != (type == AE_IFDIR)) {
            rc = err_make(err, ERR_INVALID, 0,
                          S_ISDIR(old.st_mode)
                              ? "cannot overwrite directory \"/%s\" with non-directory \"%s\""
                              : "cannot overwrite non-directory \"/%s\" with directory \"%s\"",
                          name, path);
            free(full);
            break;
        }
        archive_entry_set_pathname(e, full);
        free(full);
        if (hard != NULL) {
            char *target = xasprintf("%s/%s", dest, hard);
            archive_entry_set_hardlink(e, target);
            free(target);
        }
        /* The tree belongs to the daemon: no setuid or setgid files in it. */
        archive_entry_set_perm(e, archive_entry_perm(e) & ~(mode_t)(S_ISUID | S_ISGID));
        if (archive_write_header(out, e) != ARCHIVE_OK) {
            rc = err_make(err, ERR_INVALID, 0, "cannot extract %.200s: %s", name,
                          archive_error_string(out));
            break;
        }
        const void *block;
        size_t size;
        la_int64_t offset;
        while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK) {
            if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK) {
                rc = err_make(err, ERR_INTERNAL, 0, "write %.200s: %s", name,
                              archive_error_string(out));
                break;
            }
        }
        if (rc == 0 && r != ARCHIVE_EOF)
            rc = err_make(err, ERR_INVALID, 0, "invalid tar archive: %s", archive_error_string(in));
        if (rc == 0 && archive_write_finish_entry(out) != ARCHIVE_OK)
            rc = err_make(err, ERR_INTERNAL, 0, "finish %.200s: %s", name,
                          archive_error_string(out));
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = err_make(err, ERR_INVALID, 0, "invalid tar archive: %s", archive_error_string(in));
    archive_write_close(out);
    archive_write_free(out);
    archive_read_free(in);
    free(dest);
    return rc;
}

struct sink {
    struct buf *out;
    bool too_large;
};

static la_ssize_t
sink_write(struct archive *a, void *ctx, const void *data, size_t len)
{
    (void)a;
    struct sink *s = ctx;
    if (buf_append(s->out, data, len, NULL) < 0) {
        s->too_large = true;
        return -1;
    }
    return (la_ssize_t)len;
}

int
tarfs_create(const char *root, const char *path, struct buf *out, struct err **err)
{
    int fd = open_in_root(root, path, false, err);
    if (fd < 0)
        return -1;
    char *src = fd_path(fd);
    close(fd);
    if (src == NULL)
        return err_make(err, ERR_INTERNAL, errno, "cannot resolve %s", path);
    size_t plen = strlen(path);
    bool contents = plen >= 2 && strcmp(path + plen - 2, "/.") == 0;
    const char *b = base_name(path);
    char *top = contents ? xstrdup(".") : xstrndup(b, strcspn(b, "/"));
    if (*top == '\0' || strcmp(top, "/") == 0) {
        free(top);
        top = xstrdup(".");
    }
    struct archive *disk = archive_read_disk_new();
    archive_read_disk_set_symlink_physical(disk);
    archive_read_disk_set_standard_lookup(disk);
    struct sink sink = {.out = out};
    struct archive *w = archive_write_new();
    archive_write_set_format_pax_restricted(w);
    archive_write_set_bytes_in_last_block(w, 1);
    int rc = 0;
    if (archive_write_open(w, &sink, NULL, sink_write, NULL) != ARCHIVE_OK ||
        archive_read_disk_open(disk, src) != ARCHIVE_OK)
        rc = err_make(err, ERR_INTERNAL, 0, "cannot archive %s: %s", path,
                      archive_error_string(disk));
    size_t srclen = strlen(src);
    struct archive_entry *e = archive_entry_new();
    int r;
    while (rc == 0 && (r = archive_read_next_header2(disk, e)) == ARCHIVE_OK) {
        archive_read_disk_descend(disk);
        const char *p = archive_entry_pathname(e);
        const char *rest = strncmp(p, src, srclen) == 0 ? p + srclen : "";
        char *name = xasprintf("%s%s", top, rest);
        archive_entry_set_pathname(e, name);
        free(name);
        if (archive_write_header(w, e) != ARCHIVE_OK) {
            rc = sink.too_large ? err_make(err, ERR_TOO_LARGE, 0, "archive of %s exceeds %zu bytes",
                                           path, out->cap)
                                : err_make(err, ERR_INTERNAL, 0, "archive %s: %s", path,
                                           archive_error_string(w));
            break;
        }
        if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
            int ffd = open(archive_entry_sourcepath(e), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            char chunk[65536];
            ssize_t n;
            while (ffd >= 0 && (n = read(ffd, chunk, sizeof(chunk))) > 0) {
                if (archive_write_data(w, chunk, (size_t)n) < 0) {
                    rc = sink.too_large
                             ? err_make(err, ERR_TOO_LARGE, 0, "archive of %s exceeds %zu bytes",
                                        path, out->cap)
                             : err_make(err, ERR_INTERNAL, 0, "archive %s", path);
                    break;
                }
            }
            if (ffd >= 0)
                close(ffd);
        }
        archive_entry_clear(e);
    }
    archive_entry_free(e);
    if (rc == 0 && archive_write_close(w) != ARCHIVE_OK)
        rc = err_make(err, sink.too_large ? ERR_TOO_LARGE : ERR_INTERNAL, 0, "archive %s", path);
    archive_write_free(w);
    archive_read_free(disk);
    free(top);
    free(src);
    return rc;
}

static char **list_acc;
static size_t list_root_len;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;

static int
list_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0)
        list_acc = strv_append(list_acc, path + list_root_len);
    return 0;
}

char **
tarfs_list(const char *root, struct err **err)
{
    /* nftw has no context argument: one walk at a time. */
    pthread_mutex_lock(&list_lock);
    list_acc = xcalloc(1, sizeof(char *));
    list_root_len = strlen(root);
    int rc = nftw(root, list_entry, 16, FTW_PHYS | FTW_MOUNT);
    char **out = list_acc;
    list_acc = NULL;
    pthread_mutex_unlock(&list_lock);
    if (rc != 0) {
        strv_free(out);
        err_errno(err, "list %s", root);
        return NULL;
    }
    return out;
}
