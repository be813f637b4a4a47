#include "image/tarfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/strv.h"
#include "base/xalloc.h"

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

static bool cross_mounts;

void
tarfs_set_cross_mounts(bool on)
{
    cross_mounts = on;
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
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (cross_mounts ? 0 : RESOLVE_NO_XDEV),
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

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
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

/* Where an extraction reads its archive from: the caller's reader and the block it fills. */
struct source {
    tarfs_read_fn read;
    void *ctx;
    char *block;
    size_t total; /* bytes read so far */
    bool failed;  /* the reader failed (not the archive) */
    int read_errno;
};

enum { SOURCE_BLOCK = 256 * 1024 };

static la_ssize_t
source_read(struct archive *a, void *cls, const void **out)
{
    struct source *s = cls;
    ssize_t n = s->read(s->ctx, s->block, SOURCE_BLOCK);
    if (n < 0) {
        s->failed = true;
        s->read_errno = errno;
        archive_set_error(a, EIO, "cannot read the archive");
        return ARCHIVE_FATAL;
    }
    s->total += (size_t)n;
    *out = s->block;
    return n;
}

/* A malformed archive, in the words of dockerd's untar (Go's archive/tar): an archive cut short
 * (a first block shorter than a tar header, or a header or data past the end) is "unexpected
 * EOF", anything else an invalid header. dockerd answers both with 500. */
static int
archive_fail(struct archive *in, const struct source *src, struct err **err)
{
    if (src->failed)
        return err_make(err, ERR_UNAVAILABLE, src->read_errno, "cannot read the archive");
    const char *m = archive_error_string(in);
    bool cut = src->total < 512 || (m != NULL && strncmp(m, "Truncated", 9) == 0);
    return err_make(err, ERR_INTERNAL, EBADMSG, "Error processing tar file(exit status 1): %s",
                    cut ? "unexpected EOF" : "archive/tar: invalid tar header");
}

/* Writes entry e of in below dest (the resolved directory path of root stands for). */
static int
extract_entry(struct archive *in, const struct source *src, struct archive *out,
              struct archive_entry *e, const char *dest, const char *path,
              bool no_overwrite_dir_non_dir, const struct tarfs_owner *owner, struct err **err)
{
    cleanup_free char *name = xstrdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
    const char *hard = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (!safe_name(name) || (hard != NULL && !safe_name(hard)))
        return err_make(err, ERR_INVALID, 0, "invalid archive entry: %.200s",
                        *name ? name : "(none)");
    if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK)
        return err_make(err, ERR_INVALID, 0, "device nodes and sockets are not allowed: %.200s",
                        name);
    cleanup_free char *full = xasprintf("%s/%s", dest, name);
    struct stat old;
    /* dockerd's texts and status (500: its untar fails) */
    if (no_overwrite_dir_non_dir && lstat(full, &old) == 0 &&
        S_ISDIR(old.st_mode) != (type == AE_IFDIR))
        return err_make(err, ERR_INTERNAL, EEXIST,
                        S_ISDIR(old.st_mode)
                            ? "Error processing tar file(exit status 1): cannot overwrite "
                              "directory \"/%s\" with non-directory \"%s\""
                            : "Error processing tar file(exit status 1): cannot overwrite "
                              "non-directory \"/%s\" with directory \"%s\"",
                        name, path);
    archive_entry_set_pathname(e, full);
    if (hard != NULL) {
        cleanup_free char *target = xasprintf("%s/%s", dest, hard);
        archive_entry_set_hardlink(e, target);
    }
    if (owner != NULL) {
        archive_entry_set_uid(e, owner->uid);
        archive_entry_set_gid(e, owner->gid);
    }
    if (archive_write_header(out, e) != ARCHIVE_OK)
        return err_make(err, ERR_INVALID, 0, "cannot extract %.200s: %s", name,
                        archive_error_string(out));
    const void *block;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK)
        if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK)
            return err_make(err, ERR_INTERNAL, 0, "write %.200s: %s", name,
                            archive_error_string(out));
    if (r != ARCHIVE_EOF)
        return archive_fail(in, src, err);
    if (archive_write_finish_entry(out) != ARCHIVE_OK)
        return err_make(err, ERR_INTERNAL, 0, "finish %.200s: %s", name, archive_error_string(out));
    return 0;
}

int
tarfs_extract_from(const char *root, const char *path, tarfs_read_fn read, void *read_ctx,
                   bool no_overwrite_dir_non_dir, const struct tarfs_owner *owner, struct err **err)
{
    int fd = open_in_root(root, path, true, err);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = fstat(fd, &st);
    cleanup_free char *dest = rc == 0 ? fd_path(fd) : NULL;
    close(fd);
    if (rc < 0 || dest == NULL)
        return err_make(err, ERR_INTERNAL, errno, "cannot resolve %s", path);
    if (!S_ISDIR(st.st_mode)) /* dockerd's text and status (500) */
        return err_make(err, ERR_INTERNAL, ENOTDIR, "extraction point is not a directory");
    struct source src = {.read = read, .ctx = read_ctx, .block = xmalloc(SOURCE_BLOCK)};
    struct archive *in = archive_read_new();
    archive_read_support_format_all(in);
    archive_read_support_filter_all(in);
    struct archive *out = archive_write_disk_new();
    /* As dockerd: the entries' numeric owners (no name lookup: archive_write_disk without a
     * lookup function keeps the ids) and their whole mode, setuid and setgid included (which
     * libarchive restores only when it could set the owner too). */
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_OWNER |
                                            ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                            ARCHIVE_EXTRACT_UNLINK);
    rc = 0;
    if (archive_read_open(in, &src, NULL, source_read, NULL) != ARCHIVE_OK)
        rc = src.total == 0 && !src.failed ? 0 : archive_fail(in, &src, err); /* empty: nothing */
    struct archive_entry *e;
    int r = ARCHIVE_EOF;
    while (rc == 0 && (r = archive_read_next_header(in, &e)) == ARCHIVE_OK)
        rc = extract_entry(in, &src, out, e, dest, path, no_overwrite_dir_non_dir, owner, err);
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = archive_fail(in, &src, err);
    archive_write_close(out);
    archive_write_free(out);
    archive_read_free(in);
    free(src.block);
    return rc;
}

struct mem_source {
    const char *data;
    size_t len, off;
};

static ssize_t
mem_read(void *ctx, void *buf, size_t len)
{
    struct mem_source *m = ctx;
    size_t n = m->len - m->off < len ? m->len - m->off : len;
    memcpy(buf, m->data + m->off, n);
    m->off += n;
    return (ssize_t)n;
}

int
tarfs_extract(const char *root, const char *path, const void *data, size_t len,
              bool no_overwrite_dir_non_dir, const struct tarfs_owner *owner, struct err **err)
{
    struct mem_source m = {.data = data, .len = len};
    return tarfs_extract_from(root, path, mem_read, &m, no_overwrite_dir_non_dir, owner, err);
}

/* ---- archives out (docker cp from a container, docker export) ---- */

/* User or group names by id, from the root's /etc/passwd or /etc/group: dockerd makes its tars
 * chrooted in the container's root, so uname and gname are the container's names for the ids,
 * the first matching line winning (as getpwuid), and empty for ids it does not list. */
struct id_name {
    unsigned long id;
    const char *name; /* in text */
};
struct id_names {
    char *text; /* the file, its lines cut in place */
    struct id_name *v;
    size_t n;
};

enum { ID_FILE_MAX = 1 << 20 };

/* Reads the regular file path of root (symlinks resolved inside it) into a new string, at most
 * ID_FILE_MAX bytes; NULL when it is absent, not a regular file or unreadable. */
static char *
read_small_file(const char *root, const char *path)
{
    struct err *err = NULL;
    int pfd = open_in_root(root, path, true, &err);
    err_clear(&err);
    if (pfd < 0)
        return NULL;
    struct stat st;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
    /* Only a regular file is opened: opening a FIFO or a device has effects. */
    int fd = fstat(pfd, &st) == 0 && S_ISREG(st.st_mode) ? open(proc, O_RDONLY | O_CLOEXEC) : -1;
    close(pfd);
    if (fd < 0)
        return NULL;
    char *text = xmalloc(ID_FILE_MAX + 1);
    size_t len = 0;
    ssize_t n;
    while (len < ID_FILE_MAX &&
           ((n = read(fd, text + len, ID_FILE_MAX - len)) > 0 || (n < 0 && errno == EINTR)))
        len += n > 0 ? (size_t)n : 0;
    close(fd);
    text[len] = '\0';
    return text;
}

static void
id_names_load(struct id_names *m, const char *root, const char *path)
{
    memset(m, 0, sizeof(*m));
    m->text = read_small_file(root, path);
    size_t cap = 0;
    for (char *line = m->text, *next; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        /* name:password:id:... */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL || c1 == line || c2[1] < '0' || c2[1] > '9')
            continue;
        char *end;
        errno = 0;
        unsigned long id = strtoul(c2 + 1, &end, 10);
        if (errno != 0 || (*end != ':' && *end != '\0'))
            continue;
        *c1 = '\0';
        if (m->n == cap) {
            cap = cap ? 2 * cap : 32;
            m->v = xrealloc(m->v, cap * sizeof(*m->v));
        }
        m->v[m->n++] = (struct id_name){id, line};
    }
}

static const char *
id_names_find(const struct id_names *m, unsigned long id)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].id == id)
            return m->v[i].name;
    return NULL;
}

static void
id_names_fini(struct id_names *m)
{
    free(m->v);
    free(m->text);
}

/* One archive being written from a tree. */
struct tar_out {
    struct archive *w;
    struct archive_entry *e;
    struct archive_entry_linkresolver *links;
    struct id_names users, groups;
    char *chunk;      /* the copy buffer */
    const char *what; /* the path asked for, for messages */
};

enum { CHUNK = 1 << 16, TAR_NAME_MAX = 4096 };

/* The entries of directory fd (an open directory), sorted bytewise as Go's filepath.Walk
 * visits them; a malloc'd NULL-ended list, or NULL with errno. */
static char **
sorted_names(int fd)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (d == NULL) {
        if (dup_fd >= 0)
            close(dup_fd);
        return NULL;
    }
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0, cap = 1;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n + 1 == cap) {
            cap *= 2;
            v = xrealloc(v, cap * sizeof(char *));
        }
        v[n++] = xstrdup(de->d_name);
        v[n] = NULL;
    }
    int saved = errno;
    closedir(d);
    if (saved != 0) {
        strv_free(v);
        errno = saved;
        return NULL;
    }
    qsort(v, n, sizeof(char *), cmp_str);
    return v;
}

/* The header of an entry, as dockerd writes it: the container's names for the owner, whole
 * seconds for mtime and no atime or ctime (reproducible), security.capability as the only
 * extended attribute. */
static void
fill_entry(struct tar_out *o, const struct stat *st, const char *name, int data_fd)
{
    struct archive_entry *e = o->e;
    archive_entry_clear(e);
    archive_entry_copy_stat(e, st);
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
    archive_entry_set_pathname(e, name);
    const char *u = id_names_find(&o->users, st->st_uid);
    const char *g = id_names_find(&o->groups, st->st_gid);
    archive_entry_copy_uname(e, u ? u : "");
    archive_entry_copy_gname(e, g ? g : "");
    if (data_fd >= 0 && S_ISREG(st->st_mode)) {
        ssize_t n = fgetxattr(data_fd, "security.capability", o->chunk, CHUNK);
        if (n > 0)
            archive_entry_xattr_add_entry(e, "security.capability", o->chunk, (size_t)n);
    }
}

static int
write_error(struct tar_out *o, struct err **err)
{
    return err_make(err, ERR_INTERNAL, archive_errno(o->w), "archive %s: %s", o->what,
                    archive_error_string(o->w));
}

/* Copies the file data_fd into the current entry. libarchive writes exactly the header's size:
 * a file that grows meanwhile is cut, one that shrinks is padded with zeros. */
static int
write_data(struct tar_out *o, int data_fd, const char *name, struct err **err)
{
    ssize_t n;
    while ((n = read(data_fd, o->chunk, CHUNK)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_errno(err, "read %s", name);
        if (archive_write_data(o->w, o->chunk, (size_t)n) < 0)
            return write_error(o, err);
    }
    return 0;
}

static int add_dir_entries(struct tar_out *o, int dir_fd, const char *name, struct err **err);

/* Adds the object path_fd (an O_PATH fd, not following a last symlink) as entry name ("" : no
 * entry of its own, only its contents), and below it everything it holds. Only regular files
 * and directories are opened (through /proc/self/fd, which reopens the very inode): a FIFO or
 * a device node in the tree is archived, never opened. Sockets are skipped, as dockerd does. */
static int
add_tree(struct tar_out *o, int path_fd, const char *name, struct err **err)
{
    struct stat st;
    if (fstatat(path_fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return err_errno(err, "stat %s", name);
    if (S_ISSOCK(st.st_mode))
        return 0;
    int data_fd = -1;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
        data_fd = open(proc, O_RDONLY | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
        if (data_fd < 0)
            return err_errno(err, "open %s", name);
    }
    int rc = 0;
    if (*name != '\0') {
        fill_entry(o, &st, name, data_fd);
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlinkat(path_fd, "", o->chunk, CHUNK - 1);
            if (n < 0)
                rc = err_errno(err, "readlink %s", name);
            o->chunk[n > 0 ? n : 0] = '\0';
            archive_entry_copy_symlink(o->e, o->chunk);
        }
        struct archive_entry *e = o->e, *unused = NULL;
        if (S_ISREG(st.st_mode))
            archive_entry_linkify(o->links, &e, &unused); /* a later name of a hard link */
        if (rc == 0 && archive_write_header(o->w, e) != ARCHIVE_OK)
            rc = write_error(o, err);
        if (rc == 0 && S_ISREG(st.st_mode) && archive_entry_hardlink(e) == NULL)
            rc = write_data(o, data_fd, name, err);
    }
    if (rc == 0 && S_ISDIR(st.st_mode))
        rc = add_dir_entries(o, data_fd, name, err);
    if (data_fd >= 0)
        close(data_fd);
    return rc;
}

static int
add_dir_entries(struct tar_out *o, int dir_fd, const char *name, struct err **err)
{
    char **names = sorted_names(dir_fd);
    if (names == NULL)
        return err_errno(err, "read directory %s", *name ? name : "/");
    size_t nlen = strlen(name);
    int rc = 0;
    for (size_t i = 0; rc == 0 && names[i] != NULL; i++) {
        /* "" for export's top, "/" for docker cp of the root: no separator added. */
        const char *sep = nlen == 0 || name[nlen - 1] == '/' ? "" : "/";
        cleanup_free char *child = xasprintf("%s%s%s", name, sep, names[i]);
        if (strlen(child) > TAR_NAME_MAX) {
            rc = err_make(err, ERR_TOO_LARGE, 0, "archive %s: path too long: %.200s...", o->what,
                          child);
            break;
        }
        int fd = openat(dir_fd, names[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) /* removed meanwhile (a running container) */
                continue;
            rc = err_errno(err, "open %s", child);
            break;
        }
        rc = add_tree(o, fd, child, err);
        close(fd);
    }
    strv_free(names);
    return rc;
}

/* Writes the tree at path of root to fd as a tar whose top entry is named top ("": none). */
static int
write_tar(const char *root, const char *path, const char *top, int fd, struct err **err)
{
    int path_fd = open_in_root(root, path, false, err);
    if (path_fd < 0)
        return -1;
    struct tar_out o = {.w = archive_write_new(), .e = archive_entry_new(), .what = path};
    id_names_load(&o.users, root, "/etc/passwd");
    id_names_load(&o.groups, root, "/etc/group");
    o.chunk = xmalloc(CHUNK);
    archive_write_set_format_pax_restricted(o.w);
    /* Writes of 64 KiB rather than libarchive's 10 KiB (a pipe to a client is the usual fd);
     * the last one is not padded, so the bytes are the same. */
    archive_write_set_bytes_per_block(o.w, CHUNK);
    archive_write_set_bytes_in_last_block(o.w, 1);
    o.links = archive_entry_linkresolver_new();
    archive_entry_linkresolver_set_strategy(o.links, archive_format(o.w));
    int rc = 0;
    if (archive_write_open_fd(o.w, fd) != ARCHIVE_OK)
        rc = write_error(&o, err);
    if (rc == 0)
        rc = add_tree(&o, path_fd, top, err);
    if (rc == 0 && archive_write_close(o.w) != ARCHIVE_OK)
        rc = write_error(&o, err);
    archive_write_free(o.w);
    archive_entry_linkresolver_free(o.links);
    archive_entry_free(o.e);
    id_names_fini(&o.users);
    id_names_fini(&o.groups);
    free(o.chunk);
    close(path_fd);
    return rc;
}

/* The name of the top entry of docker cp's archive of path, as dockerd makes it: the last
 * component of the path cleaned lexically (Go's filepath.Clean: "/a/../b/" gives "b"), "/" for
 * the root itself, and "." when the path ends in "/." (the contents of a directory). */
static char *
top_name(const char *path)
{
    size_t plen = strlen(path);
    if (strcmp(path, ".") == 0 || (plen >= 2 && strcmp(path + plen - 2, "/.") == 0))
        return xstrdup(".");
    char **parts = xcalloc(1, sizeof(char *));
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            size_t k = strv_len(parts);
            if (k > 0) {
                free(parts[k - 1]);
                parts[k - 1] = NULL;
            }
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            char *part = xstrndup(p, n);
            parts = strv_append(parts, part);
            free(part);
        }
        p += n;
        while (*p == '/')
            p++;
    }
    size_t k = strv_len(parts);
    char *top = xstrdup(k > 0 ? parts[k - 1] : "/");
    strv_free(parts);
    return top;
}

int
tarfs_create(const char *root, const char *path, int fd, struct err **err)
{
    cleanup_free char *top = top_name(path);
    return write_tar(root, path, top, fd, err);
}

int
tarfs_export(const char *root, int fd, struct err **err)
{
    return write_tar(root, "/", "", fd, err);
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
