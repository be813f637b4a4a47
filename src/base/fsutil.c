#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"

int
fsutil_mkdir_p(const char *path, mode_t mode, struct err **err)
{
    cleanup_free char *p = xstrdup(path);
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return err_errno(err, "mkdir %s", p);
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return err_errno(err, "mkdir %s", p);
    struct stat st;
    if (stat(p, &st) < 0)
        return err_errno(err, "stat %s", p);
    if (!S_ISDIR(st.st_mode))
        return err_make(err, ERR_INVALID, ENOTDIR, "%s is not a directory", p);
    return 0;
}

int
fsutil_write_all(int fd, const void *buf, size_t len)
{
    const char *data = buf;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The cleaning of both: a ".." above the root fails (NULL) unless clamp, which drops it. */
static char *
clean_path(const char *path, bool clamp)
{
    char *out = xmalloc(strlen(path) + 1);
    size_t o = 0;
    for (const char *p = path; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (o == 0 && !clamp) {
                free(out);
                return NULL;
            }
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    out[o] = '\0';
    return out;
}

char *
fsutil_clean_relative(const char *path)
{
    return clean_path(path, false);
}

char *
fsutil_clean_absolute(const char *path)
{
    cleanup_free char *rel = clean_path(path, true);
    return xasprintf("/%s", rel);
}

static int
write_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable,
              struct err **err)
{
    /* A unique temporary name: threads of this process may write the same path at once. */
    cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, "create %s", tmp);
    if (fsutil_write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 || (durable && fsync(fd) < 0)) {
        err_errno(err, "write %s", tmp);
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        err_errno(err, "rename %s", tmp);
        unlink(tmp);
        return -1;
    }
    return 0;
}

int
fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err **err)
{
    return write_replace(path, data, len, mode, true, err);
}

int
fsutil_write_replace(const char *path, const void *data, size_t len, mode_t mode, struct err **err)
{
    return write_replace(path, data, len, mode, false, err);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    /* FTW_PHYS: links are removed, never followed. */
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc < 0 && errno != ENOENT ? -1 : 0;
}

int
fsutil_remove_tree(const char *path, struct err **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : err_errno(err, "stat %s", path);
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
        return err_errno(err, "remove %s", path);
    return 0;
}
