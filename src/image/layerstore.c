#include "image/layerstore.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

enum {
    CHUNK = 128 * 1024,
    CONFIG_MAX = 8 * 1024 * 1024, /* as docker_archive's ARCHIVE_MAX_JSON */
    ENTRY_NAME_MAX = 4095,        /* PATH_MAX less the NUL */
    COMPONENT_MAX = 255,          /* NAME_MAX */
};

/* overlayfs' whiteout forms (Documentation/filesystems/overlayfs.rst) and the image spec's
 * (image-spec layer.md, "Whiteouts"). */
static const char WH_PREFIX[] = ".wh.";
static const char WH_META_PREFIX[] = ".wh..wh.";
static const char WH_OPAQUE[] = ".wh..wh..opq";
static const char OVL_OPAQUE_XATTR[] = "trusted.overlay.opaque";
static const char OVL_XATTR_PREFIX[] = "trusted.overlay.";

struct layerstore {
    char *root; /* <data-root>/image, symlinks resolved (libarchive checks every component) */
    char *layers, *configs, *tmp, *trash;
    pthread_mutex_t purge_lock; /* one purge at a time */
    uint64_t seq;               /* atomic: unique names in the trash */
};

/* The hex of a "sha256:<64 lowercase hex>" ID; false for anything else (IDs come from
 * clients and image configs, and become path names). */
static bool
id_hex(const char *id, char hex[65])
{
    if (id == NULL || strncmp(id, "sha256:", 7) != 0 || strlen(id) != 71)
        return false;
    for (int i = 0; i < 64; i++) {
        char c = id[7 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        hex[i] = c;
    }
    hex[64] = '\0';
    return true;
}

/* Removes everything inside dir (not dir itself). */
static void
empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        cleanup_free char *p = xasprintf("%s/%s", dir, de->d_name);
        struct err *err = NULL;
        if (fsutil_remove_tree(p, &err) < 0) {
            LOG_WARN("layer store: %s", err->msg);
            err_clear(&err);
        }
    }
    closedir(d);
}

struct layerstore *
layerstore_open(const char *data_root, struct err **err)
{
    cleanup_free char *dir = xasprintf("%s/image", data_root);
    if (fsutil_mkdir_p(dir, 0700, err) < 0) {
        err_wrap(err, "image store");
        return NULL;
    }
    char *real = realpath(dir, NULL);
    if (real == NULL) {
        err_errno(err, "resolve %s", dir);
        return NULL;
    }
    struct layerstore *ls = xcalloc(1, sizeof(*ls));
    pthread_mutex_init(&ls->purge_lock, NULL);
    ls->root = real;
    ls->layers = xasprintf("%s/layers", real);
    ls->configs = xasprintf("%s/configs", real);
    ls->tmp = xasprintf("%s/tmp", real);
    ls->trash = xasprintf("%s/trash", real);
    const char *dirs[] = {ls->layers, ls->configs, ls->tmp, ls->trash};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (mkdir(dirs[i], 0700) < 0 && errno != EEXIST) {
            err_errno(err, "mkdir %s", dirs[i]);
            layerstore_free(ls);
            return NULL;
        }
    }
    /* What a crash left: layers half built, layers unlinked but not yet deleted. */
    empty_dir(ls->tmp);
    empty_dir(ls->trash);
    return ls;
}

void
layerstore_free(struct layerstore *ls)
{
    if (ls == NULL)
        return;
    free(ls->root);
    free(ls->layers);
    free(ls->configs);
    free(ls->tmp);
    free(ls->trash);
    pthread_mutex_destroy(&ls->purge_lock);
    free(ls);
}

/* ---- adding a layer: spool the uncompressed tar while hashing it, then extract it ---- */

/*
 * Normalizes a tar entry name into out: relative, without "." or empty components or a
 * trailing slash; "" for the layer root itself. False for the names refused: absolute, with
 * a ".." component, longer than PATH_MAX, or with a component longer than NAME_MAX.
 */
static bool
clean_name(const char *name, char out[ENTRY_NAME_MAX + 1])
{
    if (name == NULL || name[0] == '/' || strlen(name) > ENTRY_NAME_MAX)
        return false;
    size_t o = 0;
    for (const char *p = name; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        if (n > COMPONENT_MAX)
            return false;
        if (n > 0 && !(n == 1 && p[0] == '.')) {
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
    return true;
}

/* The uncompressed stream of a (maybe compressed) tar: libarchive's raw format. */
static struct archive *
raw_reader(void)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    return a;
}

/* Copies the uncompressed tar to tar_path, hashing it. */
static int
spool(struct archive *a, const char *tar_path, char diff_id[72], struct err **err)
{
    struct archive_entry *e;
    if (archive_read_next_header(a, &e) != ARCHIVE_OK)
        return err_make(err, ERR_INVALID, 0, "invalid layer: %s",
                        archive_error_string(a) ? archive_error_string(a) : "empty input");
    int fd = open(tar_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_errno(err, "create %s", tar_path);
    struct digest_sha256 *md = digest_sha256_new();
    int64_t total = 0;
    int rc = 0;
    for (;;) {
        const void *buf;
        size_t n;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &n, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            rc = err_make(err, ERR_INVALID, 0, "invalid layer: %s", archive_error_string(a));
            break;
        }
        total += (int64_t)n;
        if (total > LAYERSTORE_MAX_LAYER) {
            rc = err_make(err, ERR_TOO_LARGE, 0, "layer exceeds %" PRId64 " bytes uncompressed",
                          LAYERSTORE_MAX_LAYER);
            break;
        }
        digest_sha256_update(md, buf, n);
        if (fsutil_write_all(fd, buf, n) < 0) {
            rc = err_errno(err, "write %s", tar_path);
            break;
        }
    }
    if (close(fd) < 0 && rc == 0)
        rc = err_errno(err, "write %s", tar_path);
    if (rc == 0)
        digest_sha256_final(md, diff_id);
    digest_sha256_free(md);
    if (rc == 0 && total == 0)
        rc = err_make(err, ERR_INVALID, 0, "invalid layer: empty input");
    return rc;
}

struct extraction {
    struct archive *in, *out;
    const char *diff; /* the directory extracted into */
    int diff_fd;
    int64_t size;
};

/* Sets the opaque mark on directory rel of the tree (resolved inside it, no symlinks). */
static int
mark_opaque(struct extraction *x, const char *rel, struct err **err)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    long fd = syscall(SYS_openat2, x->diff_fd, *rel ? rel : ".", &how, sizeof(how));
    if (fd < 0)
        return err_make(err, ERR_INVALID, errno, "invalid layer: opaque marker in %.200s: %s",
                        *rel ? rel : "/", strerror(errno));
    int rc = 0;
    if (fsetxattr((int)fd, OVL_OPAQUE_XATTR, "y", 1, 0) < 0)
        rc = err_errno(err, "mark %.200s opaque", rel);
    close((int)fd);
    return rc;
}

/* An entry's xattrs without overlayfs' own (trusted.overlay.*): a layer must not carry
 * redirects or opaque marks of its own making; whiteouts are converted here instead. */
static void
drop_overlay_xattrs(struct archive_entry *e)
{
    const char *name;
    const void *value;
    size_t size;
    bool found = false;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
        found = found || strncmp(name, OVL_XATTR_PREFIX, strlen(OVL_XATTR_PREFIX)) == 0;
    if (!found)
        return;
    struct archive_entry *keep = archive_entry_new();
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
        if (strncmp(name, OVL_XATTR_PREFIX, strlen(OVL_XATTR_PREFIX)) != 0)
            archive_entry_xattr_add_entry(keep, name, value, size);
    archive_entry_xattr_clear(e);
    archive_entry_xattr_reset(keep);
    while (archive_entry_xattr_next(keep, &name, &value, &size) == ARCHIVE_OK)
        archive_entry_xattr_add_entry(e, name, value, size);
    archive_entry_free(keep);
}

/* Writes entry e (its name already made absolute) and its data. */
static int
write_entry(struct extraction *x, struct archive_entry *e, const char *name, bool data,
            struct err **err)
{
    int r = archive_write_header(x->out, e);
    if (r == ARCHIVE_WARN)
        LOG_DEBUG("layer entry %.200s: %s", name, archive_error_string(x->out));
    else if (r != ARCHIVE_OK)
        return err_make(err, r == ARCHIVE_FAILED ? ERR_INVALID : ERR_INTERNAL, 0,
                        "invalid layer: cannot extract %.200s: %s", name,
                        archive_error_string(x->out));
    if (data) {
        const void *block;
        size_t size;
        la_int64_t offset;
        while ((r = archive_read_data_block(x->in, &block, &size, &offset)) == ARCHIVE_OK) {
            if (archive_write_data_block(x->out, block, size, offset) < ARCHIVE_WARN)
                return err_make(err, ERR_INTERNAL, 0, "write %.200s: %s", name,
                                archive_error_string(x->out));
        }
        if (r != ARCHIVE_EOF)
            return err_make(err, ERR_INVALID, 0, "invalid layer: %s", archive_error_string(x->in));
    }
    if (archive_write_finish_entry(x->out) < ARCHIVE_WARN)
        return err_make(err, ERR_INTERNAL, 0, "finish %.200s: %s", name,
                        archive_error_string(x->out));
    return 0;
}

/* A ".wh.NAME" entry as overlayfs' whiteout: a 0:0 character device NAME, mode 0, owned as
 * the marker was (what dockerd's overlay2 writes). */
static int
write_whiteout(struct extraction *x, struct archive_entry *e, const char *parent,
               const char *target, struct err **err)
{
    cleanup_free char *full = xasprintf("%s%s%s/%s", x->diff, *parent ? "/" : "", parent, target);
    struct archive_entry *w = archive_entry_new();
    archive_entry_set_pathname(w, full);
    archive_entry_set_filetype(w, AE_IFCHR);
    archive_entry_set_perm(w, 0);
    archive_entry_set_rdev(w, 0);
    archive_entry_set_uid(w, archive_entry_uid(e));
    archive_entry_set_gid(w, archive_entry_gid(e));
    archive_entry_set_mtime(w, archive_entry_mtime(e), archive_entry_mtime_nsec(e));
    int rc = write_entry(x, w, target, false, err);
    archive_entry_free(w);
    return rc;
}

/* One tar entry: refused, skipped (AUFS metadata), converted (whiteouts) or extracted. */
static int
extract_entry(struct extraction *x, struct archive_entry *e, struct err **err)
{
    char name[ENTRY_NAME_MAX + 1], link[ENTRY_NAME_MAX + 1];
    const char *raw = archive_entry_pathname(e);
    if (!clean_name(raw, name))
        return err_make(err, ERR_INVALID, 0, "invalid layer: refused entry name %.200s",
                        raw ? raw : "(none)");
    if (name[0] == '\0')
        return 0; /* the layer root: the directory made for it */
    char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    char parent[ENTRY_NAME_MAX + 1] = "";
    if (slash != NULL)
        snprintf(parent, sizeof(parent), "%.*s", (int)(slash - name), name);
    if (strcmp(base, WH_OPAQUE) == 0)
        return mark_opaque(x, parent, err);
    /* AUFS' metadata (.wh..wh.plnk, .wh..wh.aufs and what is inside them): dockerd skips it. */
    if (strncmp(name, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0 ||
        strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
        return 0;
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
        const char *target = base + strlen(WH_PREFIX);
        if (*target == '\0' || strcmp(target, ".") == 0 || strcmp(target, "..") == 0)
            return err_make(err, ERR_INVALID, 0, "invalid layer: bad whiteout %.200s", name);
        return write_whiteout(x, e, parent, target, err);
    }
    const char *hard = archive_entry_hardlink(e);
    if (hard != NULL && (!clean_name(hard, link) || link[0] == '\0'))
        return err_make(err, ERR_INVALID, 0, "invalid layer: refused link target %.200s", hard);
    /* libarchive resolves relative names against the process's working directory, which a
     * threaded daemon cannot change: entries get absolute names under the tree instead. */
    cleanup_free char *full = xasprintf("%s/%s", x->diff, name);
    archive_entry_set_pathname(e, full);
    if (hard != NULL) {
        cleanup_free char *target = xasprintf("%s/%s", x->diff, link);
        archive_entry_set_hardlink(e, target);
    } else if (archive_entry_filetype(e) == AE_IFREG) {
        x->size += archive_entry_size(e);
    } else if (archive_entry_filetype(e) == AE_IFLNK) {
        const char *t = archive_entry_symlink(e);
        x->size += t ? (int64_t)strlen(t) : 0;
    }
    drop_overlay_xattrs(e);
    return write_entry(x, e, name, true, err);
}

/*
 * Extracts tar_path into diff with image-layer semantics: owners, modes (setuid included),
 * devices, hard links, xattrs and times as recorded; no entry is written through a symlink
 * or outside the tree. *size: see layerstore_add_fd.
 */
static int
extract(const char *tar_path, const char *diff, int64_t *size, struct err **err)
{
    struct extraction x = {.diff = diff, .diff_fd = -1};
    x.diff_fd = open(diff, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (x.diff_fd < 0)
        return err_errno(err, "open %s", diff);
    x.in = archive_read_new();
    archive_read_support_format_tar(x.in);
    x.out = archive_write_disk_new();
    /* No ARCHIVE_EXTRACT_FFLAGS: an immutable file would make the layer undeletable. No name
     * lookup: owners stay the numeric IDs of the image. No SECURE_NOABSOLUTEPATHS: entries are
     * given absolute names under the tree (extract_entry refused absolute names before). */
    archive_write_disk_set_options(x.out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
                                              ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                                              ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                              ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    int rc = 0;
    if (archive_read_open_filename(x.in, tar_path, CHUNK) != ARCHIVE_OK)
        rc = err_make(err, ERR_INVALID, 0, "invalid layer: %s", archive_error_string(x.in));
    struct archive_entry *e;
    int r = ARCHIVE_OK;
    while (rc == 0 && (r = archive_read_next_header(x.in, &e)) == ARCHIVE_OK)
        rc = extract_entry(&x, e, err);
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = err_make(err, ERR_INVALID, 0, "invalid layer: %s", archive_error_string(x.in));
    if (archive_write_close(x.out) < ARCHIVE_WARN && rc == 0)
        rc = err_make(err, ERR_INTERNAL, 0, "extract layer: %s", archive_error_string(x.out));
    archive_write_free(x.out);
    archive_read_free(x.in);
    close(x.diff_fd);
    if (rc == 0)
        *size = x.size;
    return rc;
}

static int64_t
read_size(const char *layer_dir)
{
    cleanup_free char *p = xasprintf("%s/size", layer_dir);
    FILE *f = fopen(p, "re");
    if (f == NULL)
        return -1;
    int64_t v = -1;
    if (fscanf(f, "%" SCNd64, &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* Extracts work/layer.tar into work/diff and renames work to its place in the store, unless
 * the layer is there already. Returns 1 when work was used, 0 when it was not (the caller
 * removes it). */
static int
install(struct layerstore *ls, const char *work, const char *hex, int64_t *size, struct err **err)
{
    cleanup_free char *final = xasprintf("%s/%s", ls->layers, hex);
    struct stat st;
    if (stat(final, &st) == 0) {
        *size = read_size(final);
        return 0;
    }
    cleanup_free char *tar = xasprintf("%s/layer.tar", work);
    cleanup_free char *diff = xasprintf("%s/diff", work);
    if (mkdir(diff, 0755) < 0 || chmod(diff, 0755) < 0) /* whatever the umask */
        return err_errno(err, "mkdir %s", diff);
    int64_t sz = 0;
    if (extract(tar, diff, &sz, err) < 0)
        return -1;
    char text[32];
    int n = snprintf(text, sizeof(text), "%" PRId64 "\n", sz);
    cleanup_free char *size_path = xasprintf("%s/size", work);
    int fd = open(size_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || fsutil_write_all(fd, text, (size_t)n) < 0) {
        err_errno(err, "write %s", size_path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    /* The layer appears whole or not at all. Another thread adding the same layer may have
     * won: its copy has the same content, ours is dropped. */
    if (rename(work, final) < 0) {
        if (errno == EEXIST || errno == ENOTEMPTY) {
            *size = read_size(final);
            return 0;
        }
        return err_errno(err, "rename %s", work);
    }
    *size = sz;
    return 1;
}

/* Adds the layer whose uncompressed bytes a (a raw reader, opened: open_rc) gives. */
static int
add_raw(struct layerstore *ls, struct archive *a, int open_rc, char diff_id[72], int64_t *size,
        struct err **err)
{
    if (open_rc != ARCHIVE_OK)
        return err_make(err, ERR_INVALID, 0, "invalid layer: %s", archive_error_string(a));
    cleanup_free char *work = xasprintf("%s/add-XXXXXX", ls->tmp);
    if (mkdtemp(work) == NULL)
        return err_errno(err, "create %s", work);
    cleanup_free char *tar = xasprintf("%s/layer.tar", work);
    char id[72];
    int64_t sz = -1;
    int rc = spool(a, tar, id, err);
    if (rc == 0)
        rc = install(ls, work, id + 7, &sz, err);
    if (rc <= 0) {
        struct err *rm = NULL;
        if (fsutil_remove_tree(work, &rm) < 0) {
            LOG_WARN("layer store: %s", rm->msg);
            err_clear(&rm);
        }
    }
    if (rc < 0)
        return -1;
    memcpy(diff_id, id, sizeof(id));
    if (size != NULL)
        *size = sz;
    return 0;
}

int
layerstore_add_fd(struct layerstore *ls, int fd, char diff_id[72], int64_t *size, struct err **err)
{
    struct archive *a = raw_reader();
    int rc = add_raw(ls, a, archive_read_open_fd(a, fd, CHUNK), diff_id, size, err);
    archive_read_free(a);
    return rc;
}

int
layerstore_add_mem(struct layerstore *ls, const void *data, size_t len, char diff_id[72],
                   int64_t *size, struct err **err)
{
    struct archive *a = raw_reader();
    /* libarchive's memory reader takes a non-const pointer but only reads through it. */
    int rc = add_raw(ls, a, archive_read_open_memory(a, (void *)(uintptr_t)data, len), diff_id,
                     size, err);
    archive_read_free(a);
    return rc;
}

struct stream_src {
    layerstore_read_fn read;
    void *ctx;
    char *buf;
};

static la_ssize_t
stream_src_read(struct archive *a, void *ud, const void **out)
{
    struct stream_src *s = ud;
    ssize_t n = s->read(s->ctx, s->buf, CHUNK);
    if (n < 0) {
        archive_set_error(a, EIO, "read error");
        return -1;
    }
    *out = s->buf;
    return n;
}

int
layerstore_add_stream(struct layerstore *ls, layerstore_read_fn read, void *ctx, char diff_id[72],
                      int64_t *size, struct err **err)
{
    struct stream_src s = {.read = read, .ctx = ctx, .buf = xmalloc(CHUNK)};
    struct archive *a = raw_reader();
    int rc =
        add_raw(ls, a, archive_read_open(a, &s, NULL, stream_src_read, NULL), diff_id, size, err);
    archive_read_free(a);
    free(s.buf);
    return rc;
}

static char *
layer_path(struct layerstore *ls, const char *diff_id, const char *leaf)
{
    char hex[65];
    if (!id_hex(diff_id, hex))
        return NULL;
    return leaf ? xasprintf("%s/%s/%s", ls->layers, hex, leaf)
                : xasprintf("%s/%s", ls->layers, hex);
}

bool
layerstore_has(struct layerstore *ls, const char *diff_id)
{
    cleanup_free char *p = layer_path(ls, diff_id, NULL);
    struct stat st;
    return p != NULL && stat(p, &st) == 0;
}

char *
layerstore_diff_dir(struct layerstore *ls, const char *diff_id)
{
    return layer_path(ls, diff_id, "diff");
}

char *
layerstore_tar_path(struct layerstore *ls, const char *diff_id)
{
    return layer_path(ls, diff_id, "layer.tar");
}

int64_t
layerstore_size(struct layerstore *ls, const char *diff_id)
{
    cleanup_free char *p = layer_path(ls, diff_id, NULL);
    return p != NULL ? read_size(p) : -1;
}

int
layerstore_unlink(struct layerstore *ls, const char *diff_id, struct err **err)
{
    cleanup_free char *p = layer_path(ls, diff_id, NULL);
    if (p == NULL)
        return 0; /* not an ID: never stored */
    uint64_t seq = __atomic_add_fetch(&ls->seq, 1, __ATOMIC_RELAXED);
    cleanup_free char *dest =
        xasprintf("%s/%.64s.%" PRId64 ".%" PRIu64, ls->trash, diff_id + 7, time_now_ns(), seq);
    if (rename(p, dest) < 0 && errno != ENOENT)
        return err_errno(err, "unlink layer %s", diff_id);
    return 0;
}

void
layerstore_purge(struct layerstore *ls)
{
    pthread_mutex_lock(&ls->purge_lock);
    empty_dir(ls->trash);
    pthread_mutex_unlock(&ls->purge_lock);
}

int
layerstore_remove(struct layerstore *ls, const char *diff_id, struct err **err)
{
    if (layerstore_unlink(ls, diff_id, err) < 0)
        return -1;
    layerstore_purge(ls);
    return 0;
}

/* ---- config blobs ---- */

int
layerstore_put_config(struct layerstore *ls, const char *blob, size_t len, char id[72],
                      struct err **err)
{
    struct digest_sha256 *md = digest_sha256_new();
    digest_sha256_update(md, blob, len);
    char digest[72];
    digest_sha256_final(md, digest);
    digest_sha256_free(md);
    cleanup_free char *path = xasprintf("%s/%s.json", ls->configs, digest + 7);
    struct stat st;
    if (stat(path, &st) == 0) {
        memcpy(id, digest, sizeof(digest));
        return 0;
    }
    /* Two loads of one image may store its config at once: each writes its own temporary. */
    if (fsutil_write_atomic(path, blob, len, 0600, err) < 0)
        return -1;
    memcpy(id, digest, sizeof(digest));
    return 0;
}

char *
layerstore_get_config(struct layerstore *ls, const char *id, size_t *len, struct err **err)
{
    char hex[65];
    if (!id_hex(id, hex)) {
        err_make(err, ERR_NOT_FOUND, 0, "no config for %.80s", id ? id : "(null)");
        return NULL;
    }
    cleanup_free char *path = xasprintf("%s/%s.json", ls->configs, hex);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            err_make(err, ERR_NOT_FOUND, ENOENT, "no config for %s", id);
        else
            err_errno(err, "open %s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size > CONFIG_MAX) {
        err_make(err, ERR_INTERNAL, errno, "config %s: unreadable or too large", id);
        close(fd);
        return NULL;
    }
    size_t want = (size_t)st.st_size, got = 0;
    char *blob = xmalloc(want + 1);
    while (got < want) {
        ssize_t n = read(fd, blob + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err_make(err, ERR_INTERNAL, n < 0 ? errno : 0, "read %s", path);
            free(blob);
            close(fd);
            return NULL;
        }
        got += (size_t)n;
    }
    close(fd);
    blob[want] = '\0';
    *len = want;
    return blob;
}

bool
layerstore_has_config(struct layerstore *ls, const char *id)
{
    char hex[65];
    if (!id_hex(id, hex))
        return false;
    cleanup_free char *path = xasprintf("%s/%s.json", ls->configs, hex);
    struct stat st;
    return stat(path, &st) == 0;
}

void
layerstore_remove_config(struct layerstore *ls, const char *id)
{
    char hex[65];
    if (!id_hex(id, hex))
        return;
    cleanup_free char *path = xasprintf("%s/%s.json", ls->configs, hex);
    if (unlink(path) < 0 && errno != ENOENT)
        LOG_WARN("layer store: remove %s: %s", path, strerror(errno));
}
