#include "image/docker_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/digest.h"
#include "base/fsutil.h"
#include "base/map.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "image/layerstore.h"
#include "image/reference.h"

enum {
    MAX_MEMBERS = 1 << 16,
    MAX_KEPT = 4 * ARCHIVE_MAX_JSON, /* all small JSON members together */
    MAX_LINK_HOPS = 8,
    MAX_INDEX_DEPTH = 4,
};

/* A member of the archive: a regular file (its data kept when it may be JSON) or a symlink
 * (dockerd 20.10 writes a layer shared under two IDs once, and a symlink to it). */
struct member {
    char *path; /* normalized: no "./" */
    char *link; /* a symlink's target as an archive path, or NULL */
    char *data; /* kept JSON, or NULL */
    size_t len;
    int64_t size;
    bool is_layer;    /* a manifest names it as a layer */
    char diff_id[72]; /* once stored */
    int64_t layer_size;
};

struct members {
    struct member **items;
    size_t n, kept;
    struct map by_path; /* path -> struct member * */
};

static void
members_fini(struct members *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i]->path);
        free(m->items[i]->link);
        free(m->items[i]->data);
        free(m->items[i]);
    }
    free(m->items);
    map_fini(&m->by_path);
}

/*
 * Joins dir and a relative path and normalizes the result ("." and ".." resolved) into a new
 * string; NULL when it leaves the archive's root or is empty. Archive paths are names to
 * look up in the member table, never file-system paths.
 */
static char *
archive_path(const char *dir, const char *rel)
{
    if (rel[0] == '/')
        dir = "";
    cleanup_free char *joined = xasprintf("%s/%s", dir, rel);
    char *out = fsutil_clean_relative(joined);
    if (out != NULL && *out == '\0') {
        free(out);
        return NULL;
    }
    return out;
}

/* The regular member path names (through symlinks), or NULL. */
static struct member *
members_find(const struct members *m, const char *path)
{
    cleanup_free char *p = archive_path("", path);
    struct member *mem = p ? map_get(&m->by_path, p) : NULL;
    for (int hops = 0; mem != NULL && mem->link != NULL; hops++)
        mem = hops < MAX_LINK_HOPS ? map_get(&m->by_path, mem->link) : NULL;
    return mem;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Reads the member's data (after the head bytes already read) into a new buffer. */
static int
keep_data(struct archive *a, struct members *m, struct member *mem, const char *head,
          size_t head_len, struct err **err)
{
    if (mem->size < 0 || mem->size > ARCHIVE_MAX_JSON || m->kept + (size_t)mem->size > MAX_KEPT)
        return err_make(err, ERR_TOO_LARGE, 0, "invalid archive: %.200s is too large", mem->path);
    size_t want = (size_t)mem->size;
    mem->data = xmalloc(want + 1);
    if (head_len > 0)
        memcpy(mem->data, head, head_len);
    size_t got = head_len;
    while (got < want) {
        la_ssize_t n = archive_read_data(a, mem->data + got, want - got);
        if (n <= 0)
            return err_make(err, ERR_INVALID, 0, "invalid archive: short read of %.200s",
                            mem->path);
        got += (size_t)n;
    }
    mem->data[got] = '\0';
    mem->len = got;
    m->kept += got;
    return 0;
}

/* May the member be JSON the reader needs: a manifest, an index, a config? Blobs of an OCI
 * layout have no extension: their first byte tells. */
static int
maybe_keep(struct archive *a, struct members *m, struct member *mem, struct err **err)
{
    if (ends_with(mem->path, ".json") || strcmp(mem->path, "repositories") == 0)
        return keep_data(a, m, mem, NULL, 0, err);
    if (strncmp(mem->path, "blobs/", 6) != 0 || mem->size <= 0 || mem->size > ARCHIVE_MAX_JSON)
        return 0;
    char first;
    if (archive_read_data(a, &first, 1) != 1 || first != '{')
        return 0;
    return keep_data(a, m, mem, &first, 1, err);
}

static struct archive *
outer_reader(const void *data, size_t len, struct err **err)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_filter_all(a);
    if (archive_read_open_memory(a, (void *)(uintptr_t)data, len) != ARCHIVE_OK) {
        err_make(err, ERR_INVALID, 0, "invalid archive: %s", archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* The archive path a link member names: a hard link's target (an archive path), a symlink's
 * (relative to its directory); NULL for other members, or with *out when it leads out. */
static char *
member_link(struct archive_entry *e, const char *path, bool *out)
{
    const char *hard = archive_entry_hardlink(e);
    const char *sym = archive_entry_filetype(e) == AE_IFLNK ? archive_entry_symlink(e) : NULL;
    if (hard == NULL && sym == NULL)
        return NULL;
    const char *slash = strrchr(path, '/');
    cleanup_free char *dir =
        hard == NULL && slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
    char *link = archive_path(dir, hard ? hard : sym);
    *out = link == NULL;
    return link;
}

/* Pass one: the member table, with the small JSON members' data. */
static int
read_members(const void *data, size_t len, struct members *m, struct err **err)
{
    struct archive *a = outer_reader(data, len, err);
    if (a == NULL)
        return -1;
    struct archive_entry *e;
    int r, rc = 0;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        mode_t type = archive_entry_filetype(e);
        const char *raw = archive_entry_pathname(e);
        char *path = raw ? archive_path("", raw) : NULL;
        if (path == NULL ||
            (type != AE_IFREG && type != AE_IFLNK && archive_entry_hardlink(e) == NULL) ||
            map_get(&m->by_path, path) != NULL) {
            free(path);
            continue;
        }
        bool out_of_archive = false;
        char *link = member_link(e, path, &out_of_archive);
        if (out_of_archive) { /* names nothing */
            free(path);
            continue;
        }
        if (m->n >= MAX_MEMBERS) {
            free(path);
            free(link);
            rc = err_make(err, ERR_TOO_LARGE, 0, "invalid archive: too many members");
            break;
        }
        struct member *mem = xcalloc(1, sizeof(*mem));
        mem->path = path;
        mem->link = link;
        mem->size = archive_entry_size(e);
        m->items = xrealloc(m->items, (m->n + 1) * sizeof(*m->items));
        m->items[m->n++] = mem;
        map_put(&m->by_path, path, mem, NULL);
        if (link != NULL)
            continue;
        rc = maybe_keep(a, m, mem, err);
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = err_make(err, ERR_INVALID, 0, "invalid archive: %s", archive_error_string(a));
    archive_read_free(a);
    return rc;
}

static char **
json_strv(json_t *v)
{
    if (!json_is_array(v))
        return NULL;
    char **out = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it)
    {
        if (json_is_string(it))
            out = strv_append(out, json_string_value(it));
    }
    return out;
}

static char *
json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) && *json_string_value(v) ? xstrdup(json_string_value(v)) : NULL;
}

/* The image spec's config ("config" member of the config blob) into the engine's form. */
static void
decode_image_config(json_t *root, struct image *img)
{
    json_t *c = json_object_get(root, "config");
    img->arch = json_str(root, "architecture");
    char *os = json_str(root, "os");
    if (os != NULL) {
        free(img->os);
        img->os = os;
    }
    json_t *created = json_object_get(root, "created");
    int64_t ns;
    if (json_is_string(created) && time_parse_timestamp(json_string_value(created), &ns, NULL) == 0)
        img->created_ns = ns;
    json_t *rootfs = json_object_get(root, "rootfs");
    json_t *diffs = json_is_object(rootfs) ? json_object_get(rootfs, "diff_ids") : NULL;
    if (json_is_array(diffs)) {
        char **ids = json_strv(diffs);
        strv_free(img->diff_ids);
        img->diff_ids = ids;
    }
    img->comment = json_str(root, "comment");
    img->author = json_str(root, "author");
    json_t *hist = json_object_get(root, "history");
    size_t i;
    json_t *h;
    if (json_is_array(hist))
        json_array_foreach(hist, i, h)
        {
            if (!json_is_object(h) || img->n_history >= 1024)
                continue;
            img->history = xrealloc(img->history, (img->n_history + 1) * sizeof(*img->history));
            struct image_history *e = &img->history[img->n_history++];
            memset(e, 0, sizeof(*e));
            e->created_by = json_str(h, "created_by");
            e->comment = json_str(h, "comment");
            e->empty_layer = json_is_true(json_object_get(h, "empty_layer"));
            json_t *hc = json_object_get(h, "created");
            if (!json_is_string(hc) ||
                time_parse_timestamp(json_string_value(hc), &e->created_ns, NULL) < 0)
                e->created_ns = img->created_ns;
        }
    if (!json_is_object(c))
        return;
    img->config.env = json_strv(json_object_get(c, "Env"));
    img->config.cmd = json_strv(json_object_get(c, "Cmd"));
    img->config.entrypoint = json_strv(json_object_get(c, "Entrypoint"));
    img->config.working_dir = json_str(c, "WorkingDir");
    img->config.user = json_str(c, "User");
    img->config.stop_signal = json_str(c, "StopSignal");
    json_t *labels = json_object_get(c, "Labels");
    const char *k;
    json_t *v;
    if (json_is_object(labels))
        json_object_foreach(labels, k, v)
        {
            if (json_is_string(v))
                labels_add(&img->config.labels, k, json_string_value(v));
        }
    json_t *hc = json_object_get(c, "Healthcheck");
    if (json_is_object(hc)) {
        img->config.health_test = json_strv(json_object_get(hc, "Test"));
        img->config.health_interval_ns = json_integer_value(json_object_get(hc, "Interval"));
        img->config.health_timeout_ns = json_integer_value(json_object_get(hc, "Timeout"));
        img->config.health_start_period_ns = json_integer_value(json_object_get(hc, "StartPeriod"));
        img->config.health_retries = (int)json_integer_value(json_object_get(hc, "Retries"));
    }
    json_t *ports = json_object_get(c, "ExposedPorts");
    if (json_is_object(ports)) {
        img->config.exposed_ports = xcalloc(1, sizeof(char *));
        json_object_foreach(ports, k, v) img->config.exposed_ports =
            strv_append(img->config.exposed_ports, k);
    }
    json_t *vols = json_object_get(c, "Volumes");
    if (json_is_object(vols)) {
        img->config.volumes = xcalloc(1, sizeof(char *));
        json_object_foreach(vols, k, v) img->config.volumes = strv_append(img->config.volumes, k);
    }
    img->config.shell = json_strv(json_object_get(c, "Shell"));
    img->config.onbuild = json_strv(json_object_get(c, "OnBuild"));
}

/* ---- what to load: one plan per image, from manifest.json or an OCI index.json ---- */

enum { MAX_LAYERS = 1000 };

struct plan {
    struct member *config;
    struct member **layers; /* in order, symlinks resolved */
    size_t n_layers;
    char **tags; /* normalized */
};

struct plans {
    struct plan *items;
    size_t n;
};

static void
plans_fini(struct plans *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].layers);
        strv_free(p->items[i].tags);
    }
    free(p->items);
}

static void
plan_add_tag(struct plan *p, const char *ref)
{
    struct reference r;
    if (ref == NULL || reference_parse(ref, &r, NULL) < 0)
        return;
    char *full = reference_full(&r);
    if (!strv_contains(p->tags, full))
        p->tags = strv_append(p->tags, full);
    free(full);
    reference_fini(&r);
}

/* A new plan for config, or the one that has it already (an image listed once per tag). */
static struct plan *
plans_for(struct plans *ps, struct member *config, bool *is_new, struct err **err)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->items[i].config == config) {
            *is_new = false;
            return &ps->items[i];
        }
    if (ps->n >= ARCHIVE_MAX_IMAGES) {
        err_make(err, ERR_TOO_LARGE, 0, "invalid archive: more than %d images", ARCHIVE_MAX_IMAGES);
        return NULL;
    }
    ps->items = xrealloc(ps->items, (ps->n + 1) * sizeof(*ps->items));
    struct plan *p = &ps->items[ps->n++];
    memset(p, 0, sizeof(*p));
    p->config = config;
    p->tags = xcalloc(1, sizeof(char *));
    *is_new = true;
    return p;
}

static int
plan_add_layer(struct plan *p, struct member *layer, const char *name, struct err **err)
{
    if (layer == NULL)
        return err_make(err, ERR_INVALID, 0, "invalid archive: layer %.200s not found",
                        name ? name : "?");
    if (p->n_layers >= MAX_LAYERS)
        return err_make(err, ERR_INVALID, 0, "invalid archive: more than %d layers", MAX_LAYERS);
    layer->is_layer = true;
    p->layers = xrealloc(p->layers, (p->n_layers + 1) * sizeof(*p->layers));
    p->layers[p->n_layers++] = layer;
    return 0;
}

/* docker-archive: manifest.json lists Config, RepoTags and Layers (as member paths). */
static int
plans_from_manifest(struct members *m, const struct member *man, struct plans *ps, struct err **err)
{
    json_t *manifest = json_loadb(man->data, man->len, 0, NULL);
    if (!json_is_array(manifest) || json_array_size(manifest) > ARCHIVE_MAX_IMAGES) {
        json_decref(manifest);
        return err_make(err, ERR_INVALID, 0, "invalid archive: bad manifest.json");
    }
    size_t i;
    json_t *entry;
    int rc = 0;
    json_array_foreach(manifest, i, entry)
    {
        const char *cfg_path = json_string_value(json_object_get(entry, "Config"));
        if (cfg_path == NULL) {
            rc = err_make(err, ERR_INVALID, 0, "invalid archive: manifest entry without Config");
            break;
        }
        struct member *cfg = members_find(m, cfg_path);
        if (cfg == NULL || cfg->data == NULL) {
            rc = err_make(err, ERR_INVALID, 0, "invalid archive: %.200s not found", cfg_path);
            break;
        }
        bool is_new;
        struct plan *p = plans_for(ps, cfg, &is_new, err);
        if (p == NULL) {
            rc = -1;
            break;
        }
        size_t k;
        json_t *v;
        json_t *layers = json_object_get(entry, "Layers");
        if (is_new && json_is_array(layers))
            json_array_foreach(layers, k, v)
            {
                const char *name = json_string_value(v);
                if ((rc = plan_add_layer(p, name ? members_find(m, name) : NULL, name, err)) < 0)
                    break;
            }
        if (rc < 0)
            break;
        json_array_foreach(json_object_get(entry, "RepoTags"), k, v)
            plan_add_tag(p, json_string_value(v));
    }
    json_decref(manifest);
    return rc;
}

/* Hands the error sub over to the caller's err (which may be NULL). */
static void
pass_err(struct err **err, struct err *sub)
{
    if (err == NULL) {
        err_clear(&sub);
        return;
    }
    err_clear(err);
    *err = sub;
}

/* The member of an OCI descriptor's blob (blobs/<alg>/<hex>), or NULL. */
static struct member *
blob_of(struct members *m, json_t *desc)
{
    const char *digest = json_string_value(json_object_get(desc, "digest"));
    const char *colon = digest ? strchr(digest, ':') : NULL;
    if (colon == NULL || colon == digest || strchr(digest, '/') != NULL)
        return NULL;
    cleanup_free char *path = xasprintf("blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
    return members_find(m, path);
}

static json_t *
blob_json(struct members *m, json_t *desc)
{
    struct member *b = blob_of(m, desc);
    return b && b->data ? json_loadb(b->data, b->len, 0, NULL) : NULL;
}

/*
 * Plans the image an OCI descriptor names: a manifest, or the first image of an index (a
 * multi-platform index in an archive usually carries the blobs of one platform only).
 * Returns the plan, NULL when the archive lacks some blob of it (*err untouched), or NULL
 * with *err.
 */
static struct plan *
plan_descriptor(struct members *m, json_t *desc, int depth, struct plans *ps, struct err **err)
{
    json_t *doc = blob_json(m, desc);
    if (!json_is_object(doc) || depth > MAX_INDEX_DEPTH) {
        json_decref(doc);
        return NULL;
    }
    struct plan *p = NULL;
    json_t *children = json_object_get(doc, "manifests");
    if (json_is_array(children)) {
        size_t i;
        json_t *child;
        json_array_foreach(children, i, child)
        {
            struct err *sub = NULL;
            p = plan_descriptor(m, child, depth + 1, ps, &sub);
            if (p != NULL || sub != NULL) {
                if (sub != NULL)
                    pass_err(err, sub);
                break;
            }
        }
        json_decref(doc);
        return p;
    }
    struct member *cfg = blob_of(m, json_object_get(doc, "config"));
    json_t *layers = json_object_get(doc, "layers");
    size_t i;
    json_t *l;
    bool complete = cfg != NULL && cfg->data != NULL && json_is_array(layers);
    json_array_foreach(layers, i, l) complete = complete && blob_of(m, l) != NULL;
    bool is_new = false;
    if (complete)
        p = plans_for(ps, cfg, &is_new, err);
    if (p != NULL && is_new)
        json_array_foreach(layers, i, l)
        {
            if (plan_add_layer(p, blob_of(m, l), NULL, err) < 0) {
                p = NULL;
                break;
            }
        }
    json_decref(doc);
    return p;
}

/* OCI image layout (docker save of Docker 25 and later writes it besides manifest.json):
 * index.json's descriptors, named by their annotations. */
static int
plans_from_index(struct members *m, const struct member *idx, struct plans *ps, struct err **err)
{
    json_t *index = json_loadb(idx->data, idx->len, 0, NULL);
    json_t *descs = json_object_get(index, "manifests");
    if (!json_is_array(descs) || json_array_size(descs) > ARCHIVE_MAX_IMAGES) {
        json_decref(index);
        return err_make(err, ERR_INVALID, 0, "invalid archive: bad index.json");
    }
    size_t i;
    json_t *desc;
    int rc = 0;
    json_array_foreach(descs, i, desc)
    {
        struct err *sub = NULL;
        struct plan *p = plan_descriptor(m, desc, 0, ps, &sub);
        if (p == NULL) {
            if (sub == NULL)
                err_make(&sub, ERR_INVALID, 0, "invalid archive: image %.100s is incomplete",
                         json_string_value(json_object_get(desc, "digest")));
            pass_err(err, sub);
            rc = -1;
            break;
        }
        json_t *ann = json_object_get(desc, "annotations");
        const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
        const char *ref =
            json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
        /* ref.name may be a bare tag ("latest"), which names no repository. */
        if (name == NULL && ref != NULL && strpbrk(ref, ":/") != NULL)
            name = ref;
        plan_add_tag(p, name);
    }
    json_decref(index);
    return rc;
}

/* ---- pass two: the layers into the store; then the images ---- */

static ssize_t
member_read(void *ctx, void *buf, size_t len)
{
    la_ssize_t n = archive_read_data(ctx, buf, len);
    return n < 0 ? -1 : (ssize_t)n;
}

/* Streams every layer member into the layer store, each once; *stored gets their diff IDs. */
static int
store_layers(const void *data, size_t len, struct members *m, struct layerstore *ls, char ***stored,
             struct err **err)
{
    struct archive *a = outer_reader(data, len, err);
    if (a == NULL)
        return -1;
    struct archive_entry *e;
    int r, rc = 0;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *raw = archive_entry_pathname(e);
        cleanup_free char *path = raw ? archive_path("", raw) : NULL;
        struct member *mem = path ? map_get(&m->by_path, path) : NULL;
        if (mem == NULL || !mem->is_layer || mem->diff_id[0] != '\0' ||
            archive_entry_filetype(e) != AE_IFREG)
            continue;
        rc = layerstore_add_stream(ls, member_read, a, mem->diff_id, &mem->layer_size, err);
        if (rc < 0)
            err_wrap(err, "layer %.200s", path);
        else
            *stored = strv_append(*stored, mem->diff_id);
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = err_make(err, ERR_INVALID, 0, "invalid archive: %s", archive_error_string(a));
    archive_read_free(a);
    return rc;
}

/* The image of a plan whose layers are stored: config decoded, diff IDs checked against the
 * layers read (what dockerd's load checks, with its messages), sizes from the layers. */
static struct image *
image_from_plan(const struct plan *p, struct err **err)
{
    json_error_t jerr;
    json_t *root = json_loadb(p->config->data, p->config->len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        err_make(err, ERR_INVALID, 0, "invalid archive: bad image config: %s", jerr.text);
        return NULL;
    }
    struct image *img = image_new();
    digest_sha256(p->config->data, p->config->len, img->id);
    decode_image_config(root, img);
    json_decref(root);
    size_t n = strv_len(img->diff_ids);
    if (n != p->n_layers) {
        err_make(err, ERR_INVALID, 0,
                 "invalid manifest, layers length mismatch: expected %zu, got %zu", n, p->n_layers);
        image_unref(img);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct member *l = p->layers[i];
        if (strcmp(img->diff_ids[i], l->diff_id) != 0) {
            err_make(err, ERR_INVALID, 0,
                     "invalid diffID for layer %zu: expected \"%.80s\", got \"%s\"", i,
                     img->diff_ids[i], l->diff_id);
            image_unref(img);
            return NULL;
        }
        img->size += l->layer_size;
        /* The i-th layer belongs to the i-th history entry that made a layer. */
        size_t nth = 0;
        for (size_t k = 0; k < img->n_history; k++) {
            if (img->history[k].empty_layer)
                continue;
            if (nth++ == i) {
                img->history[k].size = l->layer_size;
                break;
            }
        }
    }
    strv_free(img->tags);
    img->tags = strv_dup(p->tags);
    return img;
}

static int
plan_archive(struct members *m, struct plans *ps, struct err **err)
{
    const struct member *man = members_find(m, "manifest.json");
    if (man != NULL && man->data != NULL)
        return plans_from_manifest(m, man, ps, err);
    const struct member *idx = members_find(m, "index.json");
    if (idx != NULL && idx->data != NULL)
        return plans_from_index(m, idx, ps, err);
    return err_make(err, ERR_INVALID, 0,
                    "invalid archive: no manifest.json or index.json (not a docker save archive)");
}

int
docker_archive_read(const void *data, size_t len, struct layerstore *ls, struct image ***out,
                    size_t *n, char ***stored, struct err **err)
{
    struct members m = {0};
    struct plans ps = {0};
    map_init(&m.by_path);
    *stored = xcalloc(1, sizeof(char *));
    int rc = read_members(data, len, &m, err);
    if (rc == 0)
        rc = plan_archive(&m, &ps, err);
    if (rc == 0)
        rc = store_layers(data, len, &m, ls, stored, err);
    struct image **imgs = xcalloc(ps.n + 1, sizeof(*imgs));
    size_t count = 0;
    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        imgs[count] = image_from_plan(&ps.items[i], err);
        rc = imgs[count] != NULL ? 0 : -1;
        count += rc == 0;
    }
    /* Configs last: stored only for images that passed every check. */
    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        char id[72];
        rc = layerstore_put_config(ls, ps.items[i].config->data, ps.items[i].config->len, id, err);
    }
    plans_fini(&ps);
    members_fini(&m);
    if (rc < 0) {
        for (size_t k = 0; k < count; k++)
            image_unref(imgs[k]);
        free(imgs);
        return -1;
    }
    *out = imgs;
    *n = count;
    return 0;
}

struct image *
docker_archive_image_of_config(const char *blob, size_t len, struct err **err)
{
    json_error_t jerr;
    json_t *root = json_loadb(blob, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        err_make(err, ERR_INVALID, 0, "invalid image config: %s", jerr.text);
        return NULL;
    }
    struct image *img = image_new();
    digest_sha256(blob, len, img->id);
    decode_image_config(root, img);
    json_decref(root);
    return img;
}
