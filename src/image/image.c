#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/digest.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#include <jansson.h>

struct image *
image_new(void)
{
    struct image *img = xcalloc(1, sizeof(*img));
    img->refs = 1;
    img->tags = xcalloc(1, sizeof(char *));
    img->diff_ids = xcalloc(1, sizeof(char *));
    img->os = xstrdup("linux");
    return img;
}

void
image_ref(struct image *img)
{
    __atomic_add_fetch(&img->refs, 1, __ATOMIC_RELAXED);
}

void
image_config_fini(struct image_config *c)
{
    strv_free(c->env);
    strv_free(c->cmd);
    strv_free(c->entrypoint);
    free(c->working_dir);
    free(c->user);
    free(c->stop_signal);
    labels_fini(&c->labels);
    strv_free(c->exposed_ports);
    strv_free(c->health_test);
    strv_free(c->volumes);
    strv_free(c->shell);
    strv_free(c->onbuild);
    memset(c, 0, sizeof(*c));
}

static char *
dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static bool
strv_equal(char *const *a, char *const *b)
{
    size_t n = strv_len(a);
    if (n != strv_len(b) || (a == NULL) != (b == NULL))
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

static bool
str_equal(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

bool
image_config_equal(const struct image_config *a, const struct image_config *b)
{
    if (!strv_equal(a->env, b->env) || !strv_equal(a->cmd, b->cmd) ||
        !strv_equal(a->entrypoint, b->entrypoint) || !str_equal(a->working_dir, b->working_dir) ||
        !str_equal(a->user, b->user) || !str_equal(a->stop_signal, b->stop_signal) ||
        !strv_equal(a->exposed_ports, b->exposed_ports) || !strv_equal(a->volumes, b->volumes) ||
        !strv_equal(a->shell, b->shell) || !strv_equal(a->onbuild, b->onbuild) ||
        !strv_equal(a->health_test, b->health_test) ||
        a->health_interval_ns != b->health_interval_ns ||
        a->health_timeout_ns != b->health_timeout_ns ||
        a->health_start_period_ns != b->health_start_period_ns ||
        a->health_retries != b->health_retries || a->labels.n != b->labels.n)
        return false;
    for (size_t i = 0; i < a->labels.n; i++)
        if (!str_equal(labels_get(&b->labels, a->labels.keys[i]), a->labels.values[i]))
            return false;
    return true;
}

void
image_config_copy(struct image_config *dst, const struct image_config *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->env = strv_dup(src->env);
    dst->cmd = strv_dup(src->cmd);
    dst->entrypoint = strv_dup(src->entrypoint);
    dst->working_dir = dup_or_null(src->working_dir);
    dst->user = dup_or_null(src->user);
    dst->stop_signal = dup_or_null(src->stop_signal);
    for (size_t i = 0; i < src->labels.n; i++)
        labels_add(&dst->labels, src->labels.keys[i], src->labels.values[i]);
    dst->exposed_ports = strv_dup(src->exposed_ports);
    dst->health_test = strv_dup(src->health_test);
    dst->health_interval_ns = src->health_interval_ns;
    dst->health_timeout_ns = src->health_timeout_ns;
    dst->health_start_period_ns = src->health_start_period_ns;
    dst->health_retries = src->health_retries;
    dst->volumes = strv_dup(src->volumes);
    dst->shell = strv_dup(src->shell);
    dst->onbuild = strv_dup(src->onbuild);
}

void
image_unref(struct image *img)
{
    if (img == NULL || __atomic_sub_fetch(&img->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    strv_free(img->tags);
    for (size_t i = 0; i < img->n_history; i++) {
        free(img->history[i].created_by);
        free(img->history[i].comment);
    }
    free(img->history);
    strv_free(img->diff_ids);
    free(img->parent);
    free(img->comment);
    free(img->author);
    free(img->os);
    free(img->arch);
    image_config_fini(&img->config);
    free(img);
}

void
image_add_history(struct image *img, int64_t created_ns, const char *created_by,
                  const char *comment, bool empty_layer, int64_t size)
{
    img->history = xrealloc(img->history, (img->n_history + 1) * sizeof(*img->history));
    struct image_history *h = &img->history[img->n_history++];
    h->created_ns = created_ns;
    h->created_by = created_by ? xstrdup(created_by) : NULL;
    h->comment = comment ? xstrdup(comment) : NULL;
    h->empty_layer = empty_layer;
    h->size = size;
}

static json_t *
time_json(int64_t ns)
{
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339nano(ns, buf, sizeof(buf));
    return json_string(buf);
}

json_t *
image_health_json(const struct image_config *c)
{
    json_t *hc = json_pack("{s:o}", "Test", strv_json_or_null(c->health_test));
    const struct {
        const char *key;
        int64_t v;
    } fields[] = {{"Interval", c->health_interval_ns},
                  {"Timeout", c->health_timeout_ns},
                  {"StartPeriod", c->health_start_period_ns},
                  {"Retries", c->health_retries}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i].v != 0) /* Go's omitempty */
            json_object_set_new(hc, fields[i].key, json_integer(fields[i].v));
    return hc;
}

char *
image_seal(struct image *img)
{
    const struct image_config *c = &img->config;
    json_t *cfg = json_object();
    json_object_set_new(cfg, "Env", strv_json_or_null(c->env));
    json_object_set_new(cfg, "Cmd", strv_json_or_null(c->cmd));
    json_object_set_new(cfg, "Entrypoint", strv_json_or_null(c->entrypoint));
    json_object_set_new(cfg, "WorkingDir", json_string(c->working_dir ? c->working_dir : ""));
    json_object_set_new(cfg, "User", json_string(c->user ? c->user : ""));
    if (c->stop_signal)
        json_object_set_new(cfg, "StopSignal", json_string(c->stop_signal));
    json_t *labels = json_object();
    for (size_t i = 0; i < c->labels.n; i++)
        json_object_set_new(labels, c->labels.keys[i], json_string(c->labels.values[i]));
    json_object_set_new(cfg, "Labels", labels);
    if (c->exposed_ports != NULL) {
        json_t *ports = json_object();
        for (size_t i = 0; c->exposed_ports[i] != NULL; i++)
            json_object_set_new(ports, c->exposed_ports[i], json_object());
        json_object_set_new(cfg, "ExposedPorts", ports);
    }
    if (c->volumes != NULL) {
        json_t *vols = json_object();
        for (size_t i = 0; c->volumes[i] != NULL; i++)
            json_object_set_new(vols, c->volumes[i], json_object());
        json_object_set_new(cfg, "Volumes", vols);
    }
    if (c->shell != NULL)
        json_object_set_new(cfg, "Shell", strv_json_or_null(c->shell));
    if (c->onbuild != NULL)
        json_object_set_new(cfg, "OnBuild", strv_json_or_null(c->onbuild));
    if (c->health_test != NULL)
        json_object_set_new(cfg, "Healthcheck", image_health_json(c));
    json_t *hist = json_array();
    for (size_t i = 0; i < img->n_history; i++) {
        const struct image_history *h = &img->history[i];
        json_t *e = json_pack("{s:o}", "created", time_json(h->created_ns));
        if (h->created_by)
            json_object_set_new(e, "created_by", json_string(h->created_by));
        if (h->comment)
            json_object_set_new(e, "comment", json_string(h->comment));
        if (h->empty_layer)
            json_object_set_new(e, "empty_layer", json_true());
        json_array_append_new(hist, e);
    }
    json_t *root = json_pack("{s:s, s:s, s:o, s:o, s:{s:s, s:o}, s:o}", "architecture",
                             img->arch ? img->arch : "", "os", img->os, "created",
                             time_json(img->created_ns), "config", cfg, "rootfs", "type", "layers",
                             "diff_ids", strv_json_or_null(img->diff_ids), "history", hist);
    if (img->author)
        json_object_set_new(root, "author", json_string(img->author));
    if (img->comment)
        json_object_set_new(root, "comment", json_string(img->comment));
    if (img->parent)
        json_object_set_new(root, "parent", json_string(img->parent));
    char *blob = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    digest_sha256(blob, strlen(blob), img->id);
    return blob;
}
