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
    memset(c, 0, sizeof(*c));
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
strv_json(char *const *v)
{
    if (v == NULL)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; v[i] != NULL; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *
time_json(int64_t ns)
{
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339nano(ns, buf, sizeof(buf));
    return json_string(buf);
}

char *
image_seal(struct image *img)
{
    const struct image_config *c = &img->config;
    json_t *cfg = json_object();
    json_object_set_new(cfg, "Env", strv_json(c->env));
    json_object_set_new(cfg, "Cmd", strv_json(c->cmd));
    json_object_set_new(cfg, "Entrypoint", strv_json(c->entrypoint));
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
                             "diff_ids", strv_json(img->diff_ids), "history", hist);
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
