#include "image/archive_write.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/map.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "image/image.h"
#include "image/layerstore.h"

enum { COPY_CHUNK = 128 * 1024 };

/*
 * The layout is dockerd 20.10's (image/tarexport/save.go): a directory per layer named by a
 * v1-style ID that depends on the layer chain, holding VERSION ("1.0"), json (the legacy v1
 * metadata) and layer.tar; a layer whose diff ID was written under another directory gets a
 * layer.tar symlink to it; <image hex>.json configs byte for byte; manifest.json and
 * repositories last, dated at the epoch. Members are sorted by name as dockerd's walk does.
 */

struct layer_dir {
    char name[65]; /* the v1-style ID */
    char parent[65];
    const char *diff_id;
    char *link; /* "../<dir>/layer.tar" when the layer was written under another name */
    int64_t mtime_s;
};

struct saved_image {
    const struct image *img;
    char *config;
    size_t config_len;
    char **layer_dirs; /* names, in layer order */
    char **repo_tags;
};

struct saver {
    struct archive *a;
    struct layerstore *ls;
    struct saved_image *imgs;
    size_t n_imgs;
    struct layer_dir **dirs;
    size_t n_dirs;
    struct map dirs_by_name; /* name -> struct layer_dir * */
    struct map dir_of_diff;  /* diff ID -> name of the directory that holds its layer.tar */
};

static void
saver_fini(struct saver *s)
{
    for (size_t i = 0; i < s->n_imgs; i++) {
        free(s->imgs[i].config);
        strv_free(s->imgs[i].layer_dirs);
        strv_free(s->imgs[i].repo_tags);
    }
    free(s->imgs);
    for (size_t i = 0; i < s->n_dirs; i++) {
        free(s->dirs[i]->link);
        free(s->dirs[i]);
    }
    free(s->dirs);
    map_fini(&s->dirs_by_name);
    map_fini(&s->dir_of_diff);
}

/* The v1-style directory name of a layer: a digest of its parent's name and its diff ID. */
static void
dir_name(const char *parent, const char *diff_id, char out[65])
{
    cleanup_free char *text = xasprintf("%s\n%s", parent, diff_id);
    char d[DIGEST_LEN + 1];
    digest_sha256(text, strlen(text), d);
    memcpy(out, d + 7, 65);
}

static struct saved_image *
saved_image_of(struct saver *s, const struct image *img)
{
    for (size_t i = 0; i < s->n_imgs; i++)
        if (strcmp(s->imgs[i].img->id, img->id) == 0)
            return &s->imgs[i];
    return NULL;
}

/* Adds an image (once per ID; the references of every item naming it are merged). */
static int
plan_image(struct saver *s, const struct archive_item *item, struct err **err)
{
    const struct image *img = item->img;
    struct saved_image *si = saved_image_of(s, img);
    if (si == NULL) {
        size_t len;
        char *blob = layerstore_get_config(s->ls, img->id, &len, err);
        if (blob == NULL)
            return err_wrap(err, "image %.19s", img->id);
        if (img->diff_ids[0] == NULL) {
            free(blob);
            /* dockerd's words for an image without layers. */
            return err_make(err, ERR_UNSUPPORTED, 0, "empty export - not implemented");
        }
        s->imgs = xrealloc(s->imgs, (s->n_imgs + 1) * sizeof(*s->imgs));
        si = &s->imgs[s->n_imgs++];
        memset(si, 0, sizeof(*si));
        si->img = img;
        si->config = blob;
        si->config_len = len;
        si->layer_dirs = xcalloc(1, sizeof(char *));
        si->repo_tags = xcalloc(1, sizeof(char *));
        char parent[65] = "";
        for (size_t i = 0; img->diff_ids[i] != NULL; i++) {
            const char *diff = img->diff_ids[i];
            if (!layerstore_has(s->ls, diff))
                return err_make(err, ERR_NOT_FOUND, 0, "layer %s of image %.19s is missing", diff,
                                img->id);
            char name[65];
            dir_name(parent, diff, name);
            si->layer_dirs = strv_append(si->layer_dirs, name);
            if (map_get(&s->dirs_by_name, name) == NULL) {
                struct layer_dir *d = xcalloc(1, sizeof(*d));
                memcpy(d->name, name, sizeof(name));
                memcpy(d->parent, parent, sizeof(parent));
                d->diff_id = diff;
                d->mtime_s = img->created_ns / 1000000000;
                const char *holder = map_get(&s->dir_of_diff, diff);
                if (holder != NULL)
                    d->link = xasprintf("../%s/layer.tar", holder);
                else
                    map_put(&s->dir_of_diff, diff, d->name, NULL);
                map_put(&s->dirs_by_name, d->name, d, NULL);
                s->dirs = xrealloc(s->dirs, (s->n_dirs + 1) * sizeof(*s->dirs));
                s->dirs[s->n_dirs++] = d;
            }
            memcpy(parent, name, sizeof(name));
        }
    }
    for (size_t i = 0; item->repo_tags != NULL && item->repo_tags[i] != NULL; i++)
        if (!strv_contains(si->repo_tags, item->repo_tags[i]))
            si->repo_tags = strv_append(si->repo_tags, item->repo_tags[i]);
    return 0;
}

/* ---- writing ---- */

static struct archive_entry *
new_entry(const char *name, mode_t type, mode_t perm, int64_t mtime_s)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, mtime_s, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    return e;
}

static int
write_header(struct saver *s, struct archive_entry *e, struct err **err)
{
    int r = archive_write_header(s->a, e);
    if (r < ARCHIVE_WARN)
        err_make(err, ERR_INTERNAL, archive_errno(s->a), "write %s: %s", archive_entry_pathname(e),
                 archive_error_string(s->a));
    archive_entry_free(e);
    return r < ARCHIVE_WARN ? -1 : 0;
}

static int
write_file(struct saver *s, const char *name, const void *data, size_t len, int64_t mtime_s,
           struct err **err)
{
    struct archive_entry *e = new_entry(name, AE_IFREG, 0644, mtime_s);
    archive_entry_set_size(e, (la_int64_t)len);
    if (write_header(s, e, err) < 0)
        return -1;
    if (len > 0 && archive_write_data(s->a, data, len) != (la_ssize_t)len)
        return err_make(err, ERR_INTERNAL, archive_errno(s->a), "write %s: %s", name,
                        archive_error_string(s->a));
    return 0;
}

/* Streams the stored layer tar as member name. */
static int
write_layer_tar(struct saver *s, const char *name, const char *diff_id, int64_t mtime_s,
                struct err **err)
{
    cleanup_free char *path = layerstore_tar_path(s->ls, diff_id);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return err_make(err, e == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL, e,
                        "layer %s: cannot open its tar", diff_id);
    }
    struct archive_entry *e = new_entry(name, AE_IFREG, 0644, mtime_s);
    archive_entry_set_size(e, st.st_size);
    int rc = write_header(s, e, err);
    char *buf = xmalloc(COPY_CHUNK);
    int64_t left = st.st_size;
    while (rc == 0 && left > 0) {
        ssize_t n = read(fd, buf, left < COPY_CHUNK ? (size_t)left : COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = err_make(err, ERR_INTERNAL, n < 0 ? errno : 0, "read %s", path);
            break;
        }
        if (archive_write_data(s->a, buf, (size_t)n) != n)
            rc = err_make(err, ERR_INTERNAL, archive_errno(s->a), "write %s: %s", name,
                          archive_error_string(s->a));
        left -= n;
    }
    free(buf);
    close(fd);
    return rc;
}

/* The legacy v1 metadata dockerd writes next to each layer.tar (read by engines before 1.10
 * only: manifest.json is what loads). */
static char *
legacy_json(const struct layer_dir *d)
{
    json_t *cc =
        json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:n, s:n, s:s, s:n, s:s,"
                  " s:n, s:n, s:n}",
                  "Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0, "AttachStdout", 0,
                  "AttachStderr", 0, "Tty", 0, "OpenStdin", 0, "StdinOnce", 0, "Env", "Cmd",
                  "Image", "", "Volumes", "WorkingDir", "", "Entrypoint", "OnBuild", "Labels");
    json_t *o = json_pack("{s:s}", "id", d->name);
    if (d->parent[0] != '\0')
        json_object_set_new(o, "parent", json_string(d->parent));
    json_object_set_new(o, "created", json_string("1970-01-01T00:00:00Z"));
    json_object_set_new(o, "container_config", cc);
    json_object_set_new(o, "os", json_string("linux"));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

static int
write_layer_dir(struct saver *s, const struct layer_dir *d, struct err **err)
{
    cleanup_free char *version = xasprintf("%s/VERSION", d->name);
    cleanup_free char *json_name = xasprintf("%s/json", d->name);
    cleanup_free char *tar_name = xasprintf("%s/layer.tar", d->name);
    cleanup_free char *meta = legacy_json(d);
    if (write_header(s, new_entry(d->name, AE_IFDIR, 0755, d->mtime_s), err) < 0 ||
        write_file(s, version, "1.0", 3, d->mtime_s, err) < 0 ||
        write_file(s, json_name, meta, strlen(meta), d->mtime_s, err) < 0)
        return -1;
    if (d->link == NULL)
        return write_layer_tar(s, tar_name, d->diff_id, d->mtime_s, err);
    struct archive_entry *e = new_entry(tar_name, AE_IFLNK, 0777, d->mtime_s);
    archive_entry_set_symlink(e, d->link);
    return write_header(s, e, err);
}

/* A top-level member: a config file or a layer directory, sorted by name. */
struct top {
    const char *name; /* hex; the config's member adds ".json" */
    const struct saved_image *config;
    const struct layer_dir *dir;
};

static int
top_cmp(const void *a, const void *b)
{
    const struct top *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->dir != NULL) - (y->dir != NULL);
}

static int
write_members(struct saver *s, struct err **err)
{
    size_t n = s->n_imgs + s->n_dirs;
    struct top *tops = xcalloc(n, sizeof(*tops));
    for (size_t i = 0; i < s->n_imgs; i++)
        tops[i] = (struct top){.name = s->imgs[i].img->id + 7, .config = &s->imgs[i]};
    for (size_t i = 0; i < s->n_dirs; i++)
        tops[s->n_imgs + i] = (struct top){.name = s->dirs[i]->name, .dir = s->dirs[i]};
    qsort(tops, n, sizeof(*tops), top_cmp);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (tops[i].dir != NULL) {
            rc = write_layer_dir(s, tops[i].dir, err);
            continue;
        }
        const struct saved_image *si = tops[i].config;
        cleanup_free char *name = xasprintf("%s.json", tops[i].name);
        rc = write_file(s, name, si->config, si->config_len, si->img->created_ns / 1000000000, err);
    }
    free(tops);
    return rc;
}

/* manifest.json and repositories, as Go's json.Encoder writes them (a trailing newline). */
static int
write_indexes(struct saver *s, struct err **err)
{
    json_t *manifest = json_array();
    json_t *repos = json_object();
    for (size_t i = 0; i < s->n_imgs; i++) {
        const struct saved_image *si = &s->imgs[i];
        json_t *layers = json_array();
        const char *last = NULL;
        for (size_t k = 0; si->layer_dirs[k] != NULL; k++) {
            json_array_append_new(layers, json_sprintf("%s/layer.tar", si->layer_dirs[k]));
            last = si->layer_dirs[k];
        }
        json_t *tags = si->repo_tags[0] != NULL ? json_array() : json_null();
        for (size_t k = 0; si->repo_tags[k] != NULL; k++) {
            const char *ref = si->repo_tags[k];
            json_array_append_new(tags, json_string(ref));
            const char *colon = strrchr(ref, ':');
            if (colon == NULL || strchr(colon, '/') != NULL || last == NULL)
                continue;
            cleanup_free char *repo = xstrndup(ref, (size_t)(colon - ref));
            json_t *r = json_object_get(repos, repo);
            if (r == NULL)
                json_object_set_new(repos, repo, r = json_object());
            json_object_set_new(r, colon + 1, json_string(last));
        }
        cleanup_free char *cfg = xasprintf("%s.json", si->img->id + 7);
        json_array_append_new(manifest, json_pack("{s:s, s:o, s:o}", "Config", cfg, "RepoTags",
                                                  tags, "Layers", layers));
    }
    /* Go encodes the nil slice of an empty save as null. */
    char *m =
        s->n_imgs > 0 ? json_dumps(manifest, JSON_COMPACT | JSON_PRESERVE_ORDER) : xstrdup("null");
    char *r = json_object_size(repos) > 0 ? json_dumps(repos, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(manifest);
    json_decref(repos);
    cleanup_free char *mtext = xasprintf("%s\n", m);
    cleanup_free char *rtext = r ? xasprintf("%s\n", r) : NULL;
    free(m);
    free(r);
    int rc = write_file(s, "manifest.json", mtext, strlen(mtext), 0, err);
    if (rc == 0 && rtext != NULL)
        rc = write_file(s, "repositories", rtext, strlen(rtext), 0, err);
    return rc;
}

int
docker_archive_write(struct layerstore *ls, const struct archive_item *items, size_t n, int out_fd,
                     struct err **err)
{
    struct saver s = {.ls = ls};
    map_init(&s.dirs_by_name);
    map_init(&s.dir_of_diff);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = plan_image(&s, &items[i], err);
    if (rc == 0) {
        s.a = archive_write_new();
        archive_write_set_format_pax_restricted(s.a);
        archive_write_set_bytes_in_last_block(s.a, 1);
        if (archive_write_open_fd(s.a, out_fd) != ARCHIVE_OK)
            rc = err_make(err, ERR_INTERNAL, archive_errno(s.a), "write archive: %s",
                          archive_error_string(s.a));
        if (rc == 0)
            rc = write_members(&s, err);
        if (rc == 0)
            rc = write_indexes(&s, err);
        if (archive_write_close(s.a) != ARCHIVE_OK && rc == 0)
            rc = err_make(err, ERR_INTERNAL, archive_errno(s.a), "write archive: %s",
                          archive_error_string(s.a));
        archive_write_free(s.a);
    }
    saver_fini(&s);
    return rc;
}
