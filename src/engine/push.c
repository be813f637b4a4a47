/* Pushes: per layer, the registry's blob reused when the distribution metadata knows one
 * (it exists in the repository, or is mounted from another repository of the registry),
 * else the layer compressed and uploaded; then the config and a Docker v2 schema 2
 * manifest. Progress as dockerd's push stream words it (distribution/push_v2.go). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "engine/distribution.h"
#include "engine/engine.h"
#include "image/compress.h"
#include "image/distmeta.h"
#include "image/layerstore.h"
#include "image/manifest.h"
#include "image/reference.h"

struct push {
    struct engine *eng;
    const struct progress_sink *out;
    bool streamed;
    struct registry *reg;
    struct reference ref; /* the repository (its tag unused) */
    char *repo_full;      /* "127.0.0.1:5000/team/app" */
};

struct target {
    char *tag;
    struct image *img; /* a reference */
};

static int
say(struct push *p, enum progress_kind kind, const char *id, const char *status, int64_t current,
    int64_t total)
{
    p->streamed = true;
    struct progress m = {
        .kind = kind, .status = status, .id = id, .current = current, .total = total};
    if (p->out != NULL && p->out->emit(p->out->ctx, &m) < 0) {
        registry_cancel(p->reg);
        return -1;
    }
    return 0;
}

static int
gone(struct err **err)
{
    return err_make(err, ERR_UNAVAILABLE, 0, "the client went away");
}

/* ---- layers ---- */

struct upload_ctx {
    struct push *p;
    const char *id;
};

static int
upload_progress(void *ctx, int64_t current, int64_t total)
{
    struct upload_ctx *u = ctx;
    return say(u->p, PROGRESS_BYTES, u->id, "Pushing", current, total);
}

/* The repository part of a distribution metadata entry of this registry ("team/app" of
 * "127.0.0.1:5000/team/app"), or NULL for another registry's. */
static const char *
same_registry(const struct push *p, const char *repo)
{
    size_t n = strlen(p->ref.domain);
    return strncmp(repo, p->ref.domain, n) == 0 && repo[n] == '/' ? repo + n + 1 : NULL;
}

/*
 * A blob the registry has or can mount, from what the distribution metadata knows of diff_id:
 * 1 with *d set (*status what to say), 0 when none; *upload_url may get a session a refused
 * mount opened.
 */
static int
reuse_blob(struct push *p, const char *diff_id, struct descriptor *d, const char **status,
           char **mounted_from, char **upload_url, struct err **err)
{
    size_t n;
    struct distmeta_entry *known = distmeta_list(p->eng->data_root, diff_id, &n);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) { /* this repository's first */
        if (strcmp(known[i].repo, p->repo_full) != 0)
            continue;
        rc = registry_blob_exists(p->reg, known[i].digest, &d->size, err);
        if (rc == 1) {
            memcpy(d->digest, known[i].digest, 72);
            *status = "Layer already exists";
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *from = same_registry(p, known[i].repo);
        if (from == NULL || strcmp(known[i].repo, p->repo_full) == 0)
            continue;
        char *session = NULL;
        rc = registry_mount_blob(p->reg, known[i].digest, from, &session, err);
        if (rc == 1)
            rc = registry_blob_exists(p->reg, known[i].digest, &d->size, err);
        if (rc == 1) {
            memcpy(d->digest, known[i].digest, 72);
            *status = "Mounted from";
            *mounted_from = xstrdup(from);
        }
        if (session != NULL && *upload_url == NULL)
            *upload_url = session;
        else
            free(session);
    }
    distmeta_entries_free(known, n);
    return rc;
}

/* Compresses the layer and uploads it unless the registry has that blob already. */
static int
upload_layer(struct push *p, const char *diff_id, const char *id, const char *upload_url,
             struct descriptor *d, const char **status, struct err **err)
{
    cleanup_free char *tar = layerstore_tar_path(p->eng->layers, diff_id);
    cleanup_free char *dir = xasprintf("%s/tmp", p->eng->data_root);
    int fd = tar ? open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1;
    if (fd < 0)
        return err_make(err, ERR_INTERNAL, tar ? errno : 0, "layer %s: no file to push", diff_id);
    int rc = compress_gzip_file(tar, fd, d->digest, &d->size, err);
    if (rc == 0)
        rc = registry_blob_exists(p->reg, d->digest, NULL, err);
    if (rc == 1) {
        *status = "Layer already exists";
        rc = 0;
    } else if (rc == 0) {
        struct upload_ctx u = {p, id};
        rc =
            registry_put_blob(p->reg, d->digest, fd, d->size, upload_url, upload_progress, &u, err);
        *status = "Pushed";
    }
    close(fd);
    return rc;
}

static int
push_layer(struct push *p, const char *diff_id, struct descriptor *d, struct err **err)
{
    char id[13];
    snprintf(id, sizeof(id), "%.12s", diff_id + 7);
    const char *status = NULL;
    char *upload_url = NULL, *from = NULL;
    int rc = reuse_blob(p, diff_id, d, &status, &from, &upload_url, err);
    if (rc == 0)
        rc = upload_layer(p, diff_id, id, upload_url, d, &status, err);
    else if (rc == 1)
        rc = 0;
    free(upload_url);
    struct err *meta = NULL;
    if (rc == 0 && distmeta_add(p->eng->data_root, diff_id, d->digest, p->repo_full, &meta) < 0) {
        LOG_WARN("push %s: %s", p->repo_full, meta->msg);
        err_clear(&meta);
    }
    if (rc == 0) {
        cleanup_free char *text = from ? xasprintf("%s %s", status, from) : xstrdup(status);
        if (say(p, PROGRESS_LAYER, id, text, 0, 0) < 0)
            rc = gone(err);
    }
    free(from);
    return rc;
}

/* ---- the image ---- */

static int
push_config(struct push *p, const struct image *img, struct descriptor *d, struct err **err)
{
    size_t len;
    char *blob = layerstore_get_config(p->eng->layers, img->id, &len, err);
    if (blob == NULL)
        return -1;
    memcpy(d->digest, img->id, 72);
    d->size = (int64_t)len;
    int rc = registry_blob_exists(p->reg, d->digest, NULL, err);
    if (rc == 0) {
        cleanup_free char *dir = xasprintf("%s/tmp", p->eng->data_root);
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        rc = fd < 0 || fsutil_write_all(fd, blob, len) < 0
                 ? err_make(err, ERR_INTERNAL, errno, "the config of %s", img->id)
                 : registry_put_blob(p->reg, d->digest, fd, d->size, NULL, NULL, NULL, err);
        if (fd >= 0)
            close(fd);
    }
    free(blob);
    return rc < 0 ? -1 : 0;
}

static int
push_image(struct push *p, const struct target *t, struct err **err)
{
    const struct image *img = t->img;
    size_t n = strv_len(img->diff_ids);
    for (size_t i = 0; i < n; i++) {
        char id[13];
        snprintf(id, sizeof(id), "%.12s", img->diff_ids[i] + 7);
        if (say(p, PROGRESS_LAYER, id, "Preparing", 0, 0) < 0)
            return gone(err);
    }
    struct descriptor *layers = xcalloc(n + 1, sizeof(*layers));
    struct descriptor config = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = push_layer(p, img->diff_ids[i], &layers[i], err);
    if (rc == 0)
        rc = push_config(p, img, &config, err);
    char *manifest = rc == 0 ? manifest_schema2(&config, layers, n) : NULL;
    free(layers);
    if (rc == 0)
        rc = registry_put_manifest(p->reg, t->tag, MEDIA_DOCKER_MANIFEST, manifest,
                                   strlen(manifest), err);
    if (rc == 0) {
        char digest[72];
        digest_sha256(manifest, strlen(manifest), digest);
        cleanup_free char *line =
            xasprintf("%s: digest: %s size: %zu", t->tag, digest, strlen(manifest));
        cleanup_free char *digest_ref = xasprintf("%s@%s", p->repo_full, digest);
        cleanup_free char *repo = reference_repo_familiar(&p->ref);
        cleanup_free char *pushed = xasprintf("%s:%s", repo, t->tag);
        engine_lock(p->eng);
        if (map_get(&p->eng->store.images, img->id) == img) /* dockerd records it too */
            store_tag_image(&p->eng->store, t->img, digest_ref);
        struct event *ev = event_new("image", "push", pushed);
        event_add_attr(ev, "name", repo);
        events_publish(p->eng->events, ev);
        engine_unlock(p->eng);
        struct progress aux = {.kind = PROGRESS_PUSHED,
                               .tag = t->tag,
                               .digest = digest,
                               .size = (int64_t)strlen(manifest)};
        if (say(p, PROGRESS_STATUS, NULL, line, 0, 0) < 0 ||
            (p->out != NULL && p->out->emit(p->out->ctx, &aux) < 0))
            rc = gone(err);
    }
    free(manifest);
    return rc;
}

/* What to push: repo:tag, or every tag of the repository. Lock taken here. */
static struct target *
find_targets(struct push *p, const char *tag, size_t *n, struct err **err)
{
    struct target *out = NULL;
    *n = 0;
    engine_lock(p->eng);
    size_t it = 0;
    const char *key;
    void *v;
    size_t plen = strlen(p->repo_full);
    while (map_next(&p->eng->store.tags, &it, &key, &v)) {
        if (strncmp(key, p->repo_full, plen) != 0 || key[plen] != ':' ||
            (tag != NULL && strcmp(key + plen + 1, tag) != 0))
            continue;
        out = xrealloc(out, (*n + 1) * sizeof(*out));
        out[*n].tag = xstrdup(key + plen + 1);
        out[*n].img = v;
        image_ref(v);
        (*n)++;
    }
    engine_unlock(p->eng);
    cleanup_free char *repo = reference_repo_familiar(&p->ref);
    for (size_t i = 0; i < *n; i++) {
        if (out[i].img->synthetic) {
            err_make(err, ERR_UNSUPPORTED, 0,
                     "cannot push %s:%s: a synthetic pull made it and it has no layers", repo,
                     out[i].tag);
            return out;
        }
    }
    if (*n == 0)
        err_make(err, ERR_NOT_FOUND, 0, "An image does not exist locally with the tag: %s", repo);
    return out;
}

static void
targets_free(struct target *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].tag);
        image_unref(t[i].img);
    }
    free(t);
}

static int
push_targets(struct push *p, const char *tag, const struct registry_auth *auth, struct err **err)
{
    size_t n;
    struct err *e = NULL;
    struct target *targets = find_targets(p, tag, &n, &e);
    int rc = e == NULL ? 0 : -1;
    if (rc == 0) {
        struct registry_auth a = {0};
        struct cred c;
        bool stored = registry_auth_is_empty(auth) && creds_get(p->eng->creds, p->ref.domain, &c);
        if (stored) {
            a.username = c.username;
            a.password = c.password;
            a.identity_token = c.identity_token;
        }
        p->reg = registry_open(p->eng->registries, p->ref.domain, p->ref.path, stored ? &a : auth,
                               true, &e);
        if (stored)
            cred_fini(&c);
        rc = p->reg ? 0 : -1;
    }
    if (rc == 0) {
        cleanup_free char *line = xasprintf("The push refers to repository [%s]", p->repo_full);
        if (say(p, PROGRESS_STATUS, NULL, line, 0, 0) < 0)
            rc = gone(&e);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = push_image(p, &targets[i], &e);
    targets_free(targets, n);
    registry_close(p->reg);
    p->reg = NULL;
    if (rc < 0)
        *err = e;
    return rc;
}

int
engine_image_push(struct engine *eng, const char *name, const char *tag,
                  const struct registry_auth *auth, const struct progress_sink *out, bool *streamed,
                  struct err **err)
{
    struct push p = {.eng = eng, .out = out};
    struct err *e = NULL;
    int rc = reference_parse(name, &p.ref, &e);
    if (rc == 0) {
        p.repo_full = xasprintf("%s/%s", p.ref.domain, p.ref.path);
        /* A tag in the name counts when the tag parameter is empty. */
        const char *last = strrchr(name, '/');
        bool named_tag = strchr(last ? last : name, ':') != NULL;
        const char *want = tag && *tag ? tag : named_tag ? p.ref.tag : NULL;
        rc = push_targets(&p, want, auth, &e);
    }
    reference_fini(&p.ref);
    free(p.repo_full);
    if (streamed != NULL)
        *streamed = p.streamed;
    if (rc < 0) {
        if (err != NULL)
            *err = e;
        else
            err_clear(&e);
    }
    return rc;
}
