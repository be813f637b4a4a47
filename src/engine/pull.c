/* Pulls: the manifest (a list or index resolved to a platform), the config, the layers (three
 * downloads at a time into unlinked files, each verified, extracted in order into the layer
 * store), then the image with its references. Progress as dockerd's pull stream words it
 * (distribution/pull_v2.go, distribution/xfer). The synthetic pull is the fallback only where
 * the engine allows it (engine/distribution.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "engine/distribution.h"
#include "engine/engine.h"
#include "engine/images_internal.h"
#include "image/distmeta.h"
#include "image/docker_archive.h"
#include "image/layerstore.h"
#include "image/manifest.h"
#include "image/reference.h"

enum { DOWNLOADERS = 3, CONFIG_MAX = 8 << 20, PROGRESS_MS = 100 };

enum layer_state { LAYER_QUEUED, LAYER_DONE, LAYER_FAILED };

struct layer {
    const struct descriptor *desc; /* borrowed from the manifest */
    const char *diff_id;           /* borrowed from the image */
    char short_id[13];             /* what the stream calls it: the blob digest's first 12 */
    bool present;                  /* in the layer store already */
    int fd;                        /* the downloaded blob, once LAYER_DONE */
    enum layer_state state;
};

struct pull {
    struct engine *eng;
    const struct progress_sink *out;
    pthread_mutex_t out_lock;
    bool streamed, gone;
    struct registry *reg;
    struct reference ref;
    char *repo_full; /* "127.0.0.1:5000/team/app": distribution metadata, digest references */
    char *familiar;  /* "127.0.0.1:5000/team/app:v1": the messages */
    /* The layers and their downloaders. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct layer *layers;
    size_t n_layers, next;
    bool stop;           /* a download failed: the others stop */
    struct err *failure; /* the first download's error (the others' are its consequences) */
};

/* ---- progress ---- */

static int
say(struct pull *p, enum progress_kind kind, const char *id, const char *status, int64_t current,
    int64_t total)
{
    struct progress m = {
        .kind = kind, .status = status, .id = id, .current = current, .total = total};
    pthread_mutex_lock(&p->out_lock);
    int rc = p->gone ? -1 : 0;
    if (rc == 0 && p->out != NULL && p->out->emit(p->out->ctx, &m) < 0) {
        p->gone = true; /* the client left: stop everything */
        if (p->reg != NULL)
            registry_cancel(p->reg);
        rc = -1;
    }
    p->streamed = true;
    pthread_mutex_unlock(&p->out_lock);
    return rc;
}

static int say_status(struct pull *p, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
say_status(struct pull *p, const char *id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text;
    if (vasprintf(&text, fmt, ap) < 0)
        abort();
    va_end(ap);
    int rc = say(p, PROGRESS_STATUS, id, text, 0, 0);
    free(text);
    return rc;
}

static int64_t
now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- downloads ---- */

struct layer_ctx {
    struct pull *p;
    struct layer *l;
};

static int
download_progress(void *ctx, int64_t current, int64_t total)
{
    struct layer_ctx *c = ctx;
    return say(c->p, PROGRESS_BYTES, c->l->short_id, "Downloading", current, total);
}

static int
tmp_file(struct engine *eng, struct err **err)
{
    cleanup_free char *dir = xasprintf("%s/tmp", eng->data_root);
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        err_make(err, ERR_INTERNAL, errno, "a temporary file in %s", dir);
    return fd;
}

static void
download(struct pull *p, struct layer *l)
{
    struct err *err = NULL;
    struct layer_ctx ctx = {p, l};
    int fd = tmp_file(p->eng, &err);
    int rc = fd < 0 ? -1
                    : registry_get_blob(p->reg, l->desc->digest, l->desc->size, "filesystem layer",
                                        fd, download_progress, &ctx, &err);
    /* dockerd says it verifies, then fails or completes: the same words here. */
    if (rc == 0 || err_kind_of(&err) == ERR_INVALID)
        say(p, PROGRESS_LAYER, l->short_id, "Verifying Checksum", 0, 0);
    if (rc == 0)
        say(p, PROGRESS_LAYER, l->short_id, "Download complete", 0, 0);
    pthread_mutex_lock(&p->lock);
    if (rc == 0) {
        l->fd = fd;
        l->state = LAYER_DONE;
    } else {
        if (fd >= 0)
            close(fd);
        l->state = LAYER_FAILED;
        if (!p->stop) {
            p->stop = true;
            p->failure = err;
            err = NULL;
            registry_cancel(p->reg); /* the other downloads end at once */
        }
        err_clear(&err);
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void *
downloader(void *arg)
{
    struct pull *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->next < p->n_layers && p->layers[p->next].present)
            p->next++;
        struct layer *l = p->stop || p->next == p->n_layers ? NULL : &p->layers[p->next++];
        if (l == NULL) {
            /* What nobody will download is marked, so the extractor does not wait for it. */
            for (size_t i = p->next; i < p->n_layers; i++)
                if (!p->layers[i].present && p->layers[i].state == LAYER_QUEUED && p->stop)
                    p->layers[i].state = LAYER_FAILED;
            pthread_cond_broadcast(&p->cond);
        }
        pthread_mutex_unlock(&p->lock);
        if (l == NULL)
            return NULL;
        download(p, l);
    }
}

/* ---- extraction ---- */

struct extract_ctx {
    struct pull *p;
    struct layer *l;
    int64_t done, last_ms;
};

static ssize_t
extract_read(void *ctx, void *buf, size_t len)
{
    struct extract_ctx *x = ctx;
    ssize_t n;
    do
        n = read(x->l->fd, buf, len);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n;
    x->done += n;
    int64_t t = now_ms();
    if (t - x->last_ms >= PROGRESS_MS || x->done == x->l->desc->size) {
        x->last_ms = t;
        if (say(x->p, PROGRESS_BYTES, x->l->short_id, "Extracting", x->done, x->l->desc->size) < 0)
            return -1;
    }
    return n;
}

/* Layer l (downloaded) into the layer store; its diff ID must be the config's. */
static int
extract(struct pull *p, struct layer *l, char ***stored, struct err **err)
{
    struct extract_ctx x = {.p = p, .l = l}; /* last_ms 0: the first read is reported */
    char diff[72];
    if (lseek(l->fd, 0, SEEK_SET) < 0)
        return err_make(err, ERR_INTERNAL, errno, "rewind layer %s", l->desc->digest);
    if (layerstore_add_stream(p->eng->layers, extract_read, &x, diff, NULL, err) < 0)
        return err_wrap(err, "failed to register layer");
    *stored = strv_append(*stored, diff);
    if (strcmp(diff, l->diff_id) != 0)
        return err_make(err, ERR_INVALID, 0,
                        "failed to register layer: layer %s has diff ID %s, the image config "
                        "says %s",
                        l->desc->digest, diff, l->diff_id);
    struct err *meta = NULL;
    if (distmeta_add(p->eng->data_root, diff, l->desc->digest, p->repo_full, &meta) < 0) {
        LOG_WARN("pull %s: %s", p->familiar, meta->msg); /* only a push hint is lost */
        err_clear(&meta);
    }
    return say(p, PROGRESS_LAYER, l->short_id, "Pull complete", 0, 0) < 0
               ? err_make(err, ERR_UNAVAILABLE, 0, "the client went away")
               : 0;
}

/* Downloads (in threads) and extracts (here, in order) every layer not present. */
static int
fetch_layers(struct pull *p, char ***stored, struct err **err)
{
    size_t wanted = 0;
    for (size_t i = 0; i < p->n_layers; i++) {
        struct layer *l = &p->layers[i];
        if (say(p, PROGRESS_LAYER, l->short_id, l->present ? "Already exists" : "Pulling fs layer",
                0, 0) < 0)
            return err_make(err, ERR_UNAVAILABLE, 0, "the client went away");
        wanted += !l->present;
    }
    for (size_t i = 0, k = 0; i < p->n_layers; i++)
        if (!p->layers[i].present && k++ >= DOWNLOADERS)
            say(p, PROGRESS_LAYER, p->layers[i].short_id, "Waiting", 0, 0);
    pthread_t threads[DOWNLOADERS];
    size_t started = 0;
    while (started < DOWNLOADERS && started < wanted &&
           pthread_create(&threads[started], NULL, downloader, p) == 0)
        started++;
    int rc = started > 0 || wanted == 0 ? 0 : err_make(err, ERR_INTERNAL, 0, "no thread");
    for (size_t i = 0; rc == 0 && i < p->n_layers; i++) {
        struct layer *l = &p->layers[i];
        if (l->present)
            continue;
        pthread_mutex_lock(&p->lock);
        while (l->state == LAYER_QUEUED)
            pthread_cond_wait(&p->cond, &p->lock);
        rc = l->state == LAYER_FAILED ? -1 : 0;
        pthread_mutex_unlock(&p->lock);
        if (rc == 0)
            rc = extract(p, l, stored, err);
        if (rc < 0) {
            pthread_mutex_lock(&p->lock);
            p->stop = true;
            pthread_mutex_unlock(&p->lock);
            registry_cancel(p->reg);
        }
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (rc < 0 && *err == NULL) { /* a download failed first */
        *err = p->failure;
        p->failure = NULL;
        if (*err == NULL)
            err_make(err, ERR_UNAVAILABLE, 0, "the pull was stopped");
    }
    err_clear(&p->failure);
    return rc;
}

/* ---- the image ---- */

/* Adds img with its references; *newer: the tag did not name it before. Lock not held. */
static int
add_image(struct pull *p, struct image *img, const char *tag_ref, const char *digest_ref,
          bool *newer, struct err **err)
{
    engine_lock(p->eng);
    bool complete = engine_image_complete_locked(p->eng, img);
    if (complete) {
        struct image *before = tag_ref ? map_get(&p->eng->store.tags, tag_ref) : NULL;
        struct image *existing = map_get(&p->eng->store.images, img->id);
        struct image *target = existing ? existing : img;
        *newer = tag_ref ? before != target : existing == NULL;
        if (existing == NULL)
            store_add_image(&p->eng->store, img);
        if (tag_ref != NULL)
            store_tag_image(&p->eng->store, target, tag_ref);
        store_tag_image(&p->eng->store, target, digest_ref);
        cleanup_free char *repo = reference_repo_familiar(&p->ref);
        struct event *ev = event_new("image", "pull", p->familiar);
        event_add_attr(ev, "name", repo);
        events_publish(p->eng->events, ev);
    }
    engine_unlock(p->eng);
    if (!complete)
        return err_make(err, ERR_CONFLICT, 0,
                        "the layers of %s were removed while it was pulled: pull it again",
                        p->familiar);
    return 0;
}

/* Sizes from the layer store, as docker load sets them: the image's and its history's. */
static void
set_sizes(struct engine *eng, struct image *img)
{
    size_t nth = 0;
    for (size_t i = 0; img->diff_ids[i] != NULL; i++) {
        int64_t size = layerstore_size(eng->layers, img->diff_ids[i]);
        img->size += size > 0 ? size : 0;
        for (; nth < img->n_history && img->history[nth].empty_layer; nth++)
            ;
        if (nth < img->n_history)
            img->history[nth++].size = size > 0 ? size : 0;
    }
}

/* The manifest of p->ref, a list or index resolved to want: *m the image manifest, top the
 * digest of what the reference names (the list's, for RepoDigests). */
static int
resolve_manifest(struct pull *p, const struct platform *want, struct manifest *m, char top[72],
                 struct err **err)
{
    const char *ref = p->ref.digest ? p->ref.digest : p->ref.tag;
    struct registry_manifest raw;
    if (registry_get_manifest(p->reg, ref, &raw, err) < 0) {
        if (err_kind_of(err) == ERR_NOT_FOUND)
            err_wrap(err, "manifest for %s not found", p->familiar);
        return -1;
    }
    memcpy(top, raw.digest, 72);
    int rc = manifest_parse(raw.body, raw.len, raw.content_type, m, err);
    registry_manifest_fini(&raw);
    if (rc < 0 || m->kind == MANIFEST_IMAGE)
        return rc;
    const struct descriptor *d = manifest_select(m, want);
    if (d == NULL) {
        cleanup_free char *text = platform_format(want);
        manifest_fini(m);
        return err_make(err, ERR_NOT_FOUND, 0,
                        "no matching manifest for %s in the manifest list entries", text);
    }
    char child[72];
    memcpy(child, d->digest, sizeof(child));
    manifest_fini(m);
    rc = registry_get_manifest(p->reg, child, &raw, err);
    if (rc == 0) {
        rc = manifest_parse(raw.body, raw.len, raw.content_type, m, err);
        registry_manifest_fini(&raw);
    }
    if (rc == 0 && m->kind != MANIFEST_IMAGE) {
        manifest_fini(m);
        rc = err_make(err, ERR_INVALID, 0, "manifest %s of the list is not an image manifest",
                      child);
    }
    return rc;
}

/* The config: fetched, verified, decoded, checked against the manifest and platform. */
static struct image *
fetch_config(struct pull *p, const struct manifest *m, const struct platform *want,
             bool explicit_platform, char **blob, size_t *len, struct err **err)
{
    *blob = registry_get_blob_mem(p->reg, m->config.digest, CONFIG_MAX, "image config", len, err);
    if (*blob == NULL)
        return NULL;
    struct image *img = docker_archive_image_of_config(*blob, *len, err);
    if (img == NULL)
        return NULL;
    struct platform have = {.os = img->os, .arch = img->arch, .variant = NULL};
    if (strv_len(img->diff_ids) != m->n_layers) {
        err_make(err, ERR_INVALID, 0, "layers from manifest don't match image configuration");
    } else if (explicit_platform && !platform_matches(want, &have)) {
        cleanup_free char *w = platform_format(want);
        cleanup_free char *h = platform_format(&have);
        err_make(err, ERR_NOT_FOUND, 0,
                 "image with reference %s was found but does not match the specified "
                 "platform: wanted %s, actual: %s",
                 p->familiar, w, h);
    } else {
        return img;
    }
    image_unref(img);
    return NULL;
}

static bool
image_present(struct engine *eng, const char *id)
{
    engine_lock(eng);
    struct image *img = map_get(&eng->store.images, id);
    bool present = img != NULL && engine_image_complete_locked(eng, img);
    engine_unlock(eng);
    return present;
}

/* Pulls p->ref from p->reg (open). */
static int
pull_image(struct pull *p, const struct platform *want, bool explicit_platform, struct err **err)
{
    struct manifest m;
    char top[72];
    if (resolve_manifest(p, want, &m, top, err) < 0)
        return -1;
    if (say_status(p, p->ref.digest ? p->ref.digest : p->ref.tag, "Pulling from %s", p->ref.path) <
        0) {
        manifest_fini(&m);
        return err_make(err, ERR_UNAVAILABLE, 0, "the client went away");
    }
    cleanup_free char *blob = NULL;
    size_t blob_len = 0;
    struct image *img = fetch_config(p, &m, want, explicit_platform, &blob, &blob_len, err);
    int rc = img != NULL ? 0 : -1;
    char **stored = xcalloc(1, sizeof(char *));
    if (rc == 0 && image_present(p->eng, img->id)) {
        /* dockerd looks at the config first: an image it has needs no layer. */
    } else if (rc == 0) {
        p->n_layers = m.n_layers;
        p->layers = xcalloc(m.n_layers + 1, sizeof(*p->layers));
        for (size_t i = 0; i < m.n_layers; i++) {
            struct layer *l = &p->layers[i];
            l->desc = &m.layers[i];
            l->diff_id = img->diff_ids[i];
            l->fd = -1;
            snprintf(l->short_id, sizeof(l->short_id), "%.12s", m.layers[i].digest + 7);
            l->present = layerstore_has(p->eng->layers, l->diff_id);
        }
        rc = fetch_layers(p, &stored, err);
    }
    char id[72];
    if (rc == 0)
        rc = layerstore_put_config(p->eng->layers, blob, blob_len, id, err);
    bool newer = true;
    if (rc == 0) {
        set_sizes(p->eng, img);
        cleanup_free char *tag_ref = p->ref.digest ? NULL : reference_full(&p->ref);
        cleanup_free char *digest_ref = xasprintf("%s@%s", p->repo_full, top);
        rc = add_image(p, img, tag_ref, digest_ref, &newer, err);
    }
    if (rc < 0) { /* the layers this pull stored and no image uses go again */
        engine_lock(p->eng);
        engine_unlink_unused_layers_locked(p->eng, stored);
        engine_unlock(p->eng);
        layerstore_purge(p->eng->layers);
    }
    strv_free(stored);
    for (size_t i = 0; i < p->n_layers; i++)
        if (p->layers[i].fd >= 0)
            close(p->layers[i].fd);
    free(p->layers);
    p->layers = NULL;
    p->n_layers = 0;
    if (img != NULL)
        image_unref(img);
    manifest_fini(&m);
    if (rc == 0) {
        say_status(p, NULL, "Digest: %s", top);
        say_status(p, NULL, "Status: %s for %s",
                   newer ? "Downloaded newer image" : "Image is up to date", p->familiar);
    }
    return rc;
}

/* A digest reference present already: nothing to fetch (true), as the issue asks of
 * `docker pull x@sha256:...`. */
static bool
present_by_digest(struct pull *p)
{
    if (p->ref.digest == NULL)
        return false;
    cleanup_free char *full = reference_full(&p->ref);
    engine_lock(p->eng);
    struct image *img = map_get(&p->eng->store.tags, full);
    bool present = img != NULL && !img->synthetic && engine_image_complete_locked(p->eng, img);
    engine_unlock(p->eng);
    if (present) {
        say_status(p, p->ref.digest, "Pulling from %s", p->ref.path);
        say_status(p, NULL, "Digest: %s", p->ref.digest);
        say_status(p, NULL, "Status: Image is up to date for %s", p->familiar);
    }
    return present;
}

/* The credentials given, else a login's for the registry. */
static void
pick_auth(struct engine *eng, const char *domain, const struct registry_auth *given,
          struct registry_auth *out)
{
    memset(out, 0, sizeof(*out));
    if (!registry_auth_is_empty(given)) {
        out->username = given->username ? xstrdup(given->username) : NULL;
        out->password = given->password ? xstrdup(given->password) : NULL;
        out->identity_token = given->identity_token ? xstrdup(given->identity_token) : NULL;
        out->registry_token = given->registry_token ? xstrdup(given->registry_token) : NULL;
        return;
    }
    struct cred c;
    if (creds_get(eng->creds, domain, &c)) {
        out->username = xstrdup(c.username);
        out->password = xstrdup(c.password);
        out->identity_token = xstrdup(c.identity_token);
        cred_fini(&c);
    }
}

/* One reference: open the repository and pull. */
static int
pull_one(struct pull *p, const char *ref, const struct pull_opts *opts, struct err **err)
{
    if (reference_parse(ref, &p->ref, err) < 0)
        return -1;
    p->repo_full = xasprintf("%s/%s", p->ref.domain, p->ref.path);
    p->familiar = reference_familiar(&p->ref);
    struct platform want;
    bool explicit_platform = opts && opts->platform && *opts->platform;
    if (explicit_platform) {
        if (platform_parse(opts->platform, p->eng->host.arch, &want, err) < 0)
            return -1;
    } else {
        platform_host(p->eng->host.arch, &want);
    }
    int rc = 0;
    if (!present_by_digest(p)) {
        struct registry_auth auth;
        pick_auth(p->eng, p->ref.domain, opts ? opts->auth : NULL, &auth);
        p->reg = registry_open(p->eng->registries, p->ref.domain, p->ref.path, &auth, false, err);
        registry_auth_fini(&auth);
        rc = p->reg ? pull_image(p, &want, explicit_platform, err) : -1;
        registry_close(p->reg);
        p->reg = NULL;
    }
    platform_fini(&want);
    return rc;
}

static void
pull_reset(struct pull *p)
{
    reference_fini(&p->ref);
    free(p->repo_full);
    free(p->familiar);
    p->repo_full = p->familiar = NULL;
}

/* docker pull -a: every tag of the repository, one after the other. */
static int
pull_all_tags(struct pull *p, const char *name, const struct pull_opts *opts, struct err **err)
{
    struct reference r;
    if (reference_parse(name, &r, err) < 0)
        return -1;
    struct registry_auth auth;
    pick_auth(p->eng, r.domain, opts->auth, &auth);
    struct registry *reg = registry_open(p->eng->registries, r.domain, r.path, &auth, false, err);
    registry_auth_fini(&auth);
    char **tags = reg ? registry_list_tags(reg, err) : NULL;
    registry_close(reg);
    cleanup_free char *repo = reference_repo_familiar(&r);
    reference_fini(&r);
    if (tags == NULL)
        return -1;
    int rc = tags[0] == NULL ? err_make(err, ERR_NOT_FOUND, 0, "no tags in %s", repo) : 0;
    for (size_t i = 0; rc == 0 && tags[i] != NULL; i++) {
        cleanup_free char *ref = xasprintf("%s:%s", repo, tags[i]);
        rc = pull_one(p, ref, opts, err);
        pull_reset(p);
    }
    strv_free(tags);
    return rc;
}

/* The seed's synthetic pull, with its stream. */
static int
pull_synthetic(struct pull *p, const char *ref, const char *why, struct err **err)
{
    struct reference r;
    if (reference_parse(ref, &r, err) < 0)
        return -1;
    cleanup_free char *familiar = reference_familiar(&r);
    cleanup_free char *id = xstrdup(r.tag ? r.tag : r.digest);
    reference_fini(&r);
    bool created;
    if (engine_image_pull_synthetic(p->eng, ref, &created, err) < 0)
        return -1;
    LOG_INFO("pull %s: the registry cannot be reached (%s): synthetic pull", familiar, why);
    say_status(p, id, "Pulling from synthetic registry");
    say_status(p, NULL, "%s",
               created ? "Synthetic image created (no layers)" : "Image exists locally");
    say_status(p, NULL, "Status: %s for %s",
               created ? "Downloaded newer image" : "Image is up to date", familiar);
    return 0;
}

int
engine_image_pull(struct engine *eng, const char *ref, const struct pull_opts *opts,
                  const struct progress_sink *out, bool *streamed, struct err **err)
{
    struct pull p = {.eng = eng, .out = out};
    pthread_mutex_init(&p.out_lock, NULL);
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    struct err *e = NULL;
    int rc =
        opts && opts->all_tags ? pull_all_tags(&p, ref, opts, &e) : pull_one(&p, ref, opts, &e);
    pull_reset(&p);
    if (rc < 0 && e == NULL)
        err_make(&e, ERR_INTERNAL, 0, "pull %s failed", ref);
    if (rc < 0 && eng->synthetic_pulls && !p.streamed && e->kind == ERR_UNAVAILABLE) {
        cleanup_free char *why = xstrdup(e->msg);
        err_clear(&e);
        rc = pull_synthetic(&p, ref, why, &e);
    }
    if (streamed != NULL)
        *streamed = p.streamed;
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.lock);
    pthread_mutex_destroy(&p.out_lock);
    if (rc < 0) {
        if (err != NULL)
            *err = e;
        else
            err_clear(&e);
    }
    return rc;
}

struct image *
engine_image_ensure(struct engine *eng, const char *ref, struct err **err)
{
    struct image *img = engine_image_get(eng, ref, NULL);
    if (img != NULL)
        return img;
    if (engine_image_pull(eng, ref, NULL, NULL, NULL, err) < 0)
        return NULL;
    return engine_image_get(eng, ref, err);
}
