#include "image/docker_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/digest.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "image/reference.h"

/* The small JSON members of the archive, by path, plus the size of every other member. */
struct member {
    char *path;
    char *data; /* NULL for members not kept */
    size_t len;
    int64_t size;
};

struct members {
    struct member *items;
    size_t n;
};

static void
members_fini(struct members *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].path);
        free(m->items[i].data);
    }
    free(m->items);
}

static const struct member *
members_find(const struct members *m, const char *path)
{
    const char *p = strncmp(path, "./", 2) == 0 ? path + 2 : path;
    for (size_t i = 0; i < m->n; i++) {
        const char *q = m->items[i].path;
        if (strncmp(q, "./", 2) == 0)
            q += 2;
        if (strcmp(p, q) == 0)
            return &m->items[i];
    }
    return NULL;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int
read_members(const void *data, size_t len, struct members *m, struct err **err)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_filter_all(a);
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        err_make(err, ERR_INVALID, 0, "invalid archive: %s", archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    struct archive_entry *e;
    int r;
    size_t kept = 0;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *path = archive_entry_pathname(e);
        m->items = xrealloc(m->items, (m->n + 1) * sizeof(*m->items));
        struct member *mem = &m->items[m->n++];
        memset(mem, 0, sizeof(*mem));
        mem->path = xstrdup(path ? path : "");
        mem->size = archive_entry_size(e);
        if (!ends_with(mem->path, ".json") && strcmp(mem->path, "repositories") != 0)
            continue;
        if (mem->size < 0 || (size_t)mem->size > ARCHIVE_MAX_JSON ||
            kept + (size_t)mem->size > ARCHIVE_MAX_JSON * 4) {
            archive_read_free(a);
            return err_make(err, ERR_TOO_LARGE, 0, "invalid archive: %s is too large", mem->path);
        }
        mem->data = xmalloc((size_t)mem->size + 1);
        la_ssize_t got = archive_read_data(a, mem->data, (size_t)mem->size);
        if (got != mem->size) {
            archive_read_free(a);
            return err_make(err, ERR_INVALID, 0, "invalid archive: short read of %s", mem->path);
        }
        mem->data[mem->size] = '\0';
        mem->len = (size_t)mem->size;
        kept += mem->len;
    }
    if (r != ARCHIVE_EOF) {
        err_make(err, ERR_INVALID, 0, "invalid archive: %s", archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    return 0;
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
}

static struct image *
image_from_manifest_entry(const struct members *m, json_t *entry, struct err **err)
{
    json_t *cfg_path = json_object_get(entry, "Config");
    if (!json_is_string(cfg_path)) {
        err_make(err, ERR_INVALID, 0, "invalid archive: manifest entry without Config");
        return NULL;
    }
    const struct member *cfg = members_find(m, json_string_value(cfg_path));
    if (cfg == NULL || cfg->data == NULL) {
        err_make(err, ERR_INVALID, 0, "invalid archive: %s not found", json_string_value(cfg_path));
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(cfg->data, cfg->len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        err_make(err, ERR_INVALID, 0, "invalid archive: bad image config: %s", jerr.text);
        return NULL;
    }
    struct image *img = image_new();
    digest_sha256(cfg->data, cfg->len, img->id);
    decode_image_config(root, img);
    json_decref(root);
    json_t *layers = json_object_get(entry, "Layers");
    size_t i;
    json_t *l;
    if (json_is_array(layers))
        json_array_foreach(layers, i, l)
        {
            const struct member *lm =
                json_is_string(l) ? members_find(m, json_string_value(l)) : NULL;
            if (lm == NULL) {
                image_unref(img);
                err_make(err, ERR_INVALID, 0, "invalid archive: layer %s not found",
                         json_is_string(l) ? json_string_value(l) : "?");
                return NULL;
            }
            img->size += lm->size;
            /* The i-th layer belongs to the i-th history entry that made a layer. */
            size_t nth = 0;
            for (size_t k = 0; k < img->n_history; k++) {
                if (img->history[k].empty_layer)
                    continue;
                if (nth++ == i) {
                    img->history[k].size = lm->size;
                    break;
                }
            }
        }
    json_t *tags = json_object_get(entry, "RepoTags");
    if (json_is_array(tags))
        json_array_foreach(tags, i, l)
        {
            struct reference r;
            if (!json_is_string(l) || reference_parse(json_string_value(l), &r, NULL) < 0)
                continue;
            char *full = reference_full(&r);
            img->tags = strv_append(img->tags, full);
            free(full);
            reference_fini(&r);
        }
    return img;
}

int
docker_archive_read(const void *data, size_t len, struct image ***out, size_t *n, struct err **err)
{
    struct members m = {0};
    *out = NULL;
    *n = 0;
    if (read_members(data, len, &m, err) < 0) {
        members_fini(&m);
        return -1;
    }
    const struct member *man = members_find(&m, "manifest.json");
    if (man == NULL || man->data == NULL) {
        members_fini(&m);
        return err_make(err, ERR_INVALID, 0,
                        "invalid archive: no manifest.json (only docker-archive is read for now)");
    }
    json_error_t jerr;
    json_t *manifest = json_loadb(man->data, man->len, 0, &jerr);
    if (!json_is_array(manifest) || json_array_size(manifest) > ARCHIVE_MAX_IMAGES) {
        json_decref(manifest);
        members_fini(&m);
        return err_make(err, ERR_INVALID, 0, "invalid archive: bad manifest.json");
    }
    struct image **imgs = xcalloc(json_array_size(manifest) + 1, sizeof(*imgs));
    size_t i, count = 0;
    json_t *entry;
    int rc = 0;
    json_array_foreach(manifest, i, entry)
    {
        struct image *img =
            json_is_object(entry) ? image_from_manifest_entry(&m, entry, err) : NULL;
        if (img == NULL) {
            if (!json_is_object(entry))
                err_make(err, ERR_INVALID, 0, "invalid archive: bad manifest entry");
            rc = -1;
            break;
        }
        imgs[count++] = img;
    }
    json_decref(manifest);
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
