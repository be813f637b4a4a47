/* Image operations on the store: the synthetic pull, lookup and tagging. Loading, importing
 * and real pulls come with the image store on disk and the registry client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/digest.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "image/changes.h"
#include "image/docker_archive.h"
#include "image/reference.h"

static void
emit_image(struct engine *eng, const char *action, const struct image *img, const char *name)
{
    struct event *ev = event_new("image", action, name ? name : img->id);
    if (name != NULL)
        event_add_attr(ev, "name", name);
    events_publish(eng->events, ev);
}

int
engine_image_pull_synthetic(struct engine *eng, const char *ref, bool *created, struct err **err)
{
    struct reference r;
    if (reference_parse(ref, &r, err) < 0)
        return -1;
    cleanup_free char *full = reference_full(&r);
    cleanup_free char *familiar = reference_familiar(&r);
    reference_fini(&r);
    pthread_mutex_lock(&eng->lock);
    if (map_get(&eng->store.tags, full) != NULL) {
        /* Keep what exists: a loaded or built image must not be replaced by an empty one. */
        pthread_mutex_unlock(&eng->lock);
        *created = false;
        return 0;
    }
    struct image *img = image_new();
    digest_sha256(full, strlen(full), img->id);
    img->created_ns = time_now_ns();
    img->arch = xstrdup(eng->host.arch);
    img->synthetic = true;
    img->tags = strv_append(img->tags, full);
    struct image *existing = map_get(&eng->store.images, img->id);
    if (existing != NULL)
        store_tag_image(&eng->store, existing, full);
    else
        store_add_image(&eng->store, img);
    emit_image(eng, "pull", img, familiar);
    pthread_mutex_unlock(&eng->lock);
    image_unref(img);
    *created = true;
    return 0;
}

struct image *
engine_image_get(struct engine *eng, const char *ref, struct err **err)
{
    pthread_mutex_lock(&eng->lock);
    struct image *img = store_find_image(&eng->store, ref, err);
    if (img != NULL)
        image_ref(img);
    pthread_mutex_unlock(&eng->lock);
    return img;
}

int
engine_image_tag(struct engine *eng, const char *source, const char *target, struct err **err)
{
    struct reference r;
    if (reference_parse(target, &r, err) < 0)
        return -1;
    if (r.digest != NULL) {
        reference_fini(&r);
        return err_make(err, ERR_INVALID, 0, "refusing to create a tag with a digest reference");
    }
    cleanup_free char *full = reference_full(&r);
    cleanup_free char *familiar = reference_familiar(&r);
    reference_fini(&r);
    pthread_mutex_lock(&eng->lock);
    struct image *img = store_find_image(&eng->store, source, err);
    if (img != NULL) {
        store_tag_image(&eng->store, img, full);
        emit_image(eng, "tag", img, familiar);
    }
    pthread_mutex_unlock(&eng->lock);
    return img != NULL ? 0 : -1;
}

void
image_removals_free(struct image_removal *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].untagged);
        free(r[i].deleted);
    }
    free(r);
}

static void
add_removal(struct image_removal **out, size_t *n, char *untagged, char *deleted)
{
    *out = xrealloc(*out, (*n + 1) * sizeof(**out));
    (*out)[*n].untagged = untagged;
    (*out)[*n].deleted = deleted;
    (*n)++;
}

/* The first container using img, preferring a running one. Lock held. */
static struct container *
image_user(struct engine *eng, const struct image *img)
{
    struct container *found = NULL;
    size_t it = 0;
    void *v;
    while (map_next(&eng->store.containers, &it, NULL, &v)) {
        struct container *c = v;
        if (strcmp(c->image_id, img->id) != 0)
            continue;
        if (container_is_running(c))
            return c;
        found = c;
    }
    return found;
}

static char *
familiar_of(const char *full)
{
    struct reference r;
    if (reference_parse(full, &r, NULL) < 0)
        return xstrdup(full);
    char *f = reference_familiar(&r);
    reference_fini(&r);
    return f;
}

int
engine_image_remove(struct engine *eng, const char *ref, bool force, struct image_removal **out,
                    size_t *n, struct err **err)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&eng->lock);
    struct image *img = store_find_image(&eng->store, ref, err);
    if (img == NULL) {
        pthread_mutex_unlock(&eng->lock);
        return -1;
    }
    image_ref(img);
    char short_id[13];
    snprintf(short_id, sizeof(short_id), "%.12s", img->id + 7);
    struct container *user = image_user(eng, img);
    char user_id[13] = "";
    if (user != NULL)
        snprintf(user_id, sizeof(user_id), "%.12s", user->id);

    /* A reference (not an ID) that is one of several tags: only untag. */
    struct reference r;
    cleanup_free char *full = NULL;
    if (strncmp(ref, "sha256:", 7) != 0 && reference_parse(ref, &r, NULL) == 0) {
        full = reference_full(&r);
        reference_fini(&r);
        if (!strv_contains(img->tags, full)) {
            free(full);
            full = NULL; /* it matched as an ID prefix */
        }
    }
    int rc = 0;
    if (full != NULL && strv_len(img->tags) > 1) {
        store_untag(&eng->store, full);
        add_removal(out, n, familiar_of(full), NULL);
        emit_image(eng, "untag", img, img->id);
        goto done;
    }
    if (user != NULL && (container_is_running(user) || !force)) {
        if (full != NULL && !container_is_running(user))
            rc = err_make(err, ERR_CONFLICT, 0,
                          "conflict: unable to remove repository reference \"%s\" (must force) - "
                          "container %s is using its referenced image %s",
                          ref, user_id, short_id);
        else
            rc = err_make(err, ERR_CONFLICT, 0,
                          "conflict: unable to delete %s (%s) - image is being used by %s "
                          "container %s",
                          short_id,
                          container_is_running(user) ? "cannot be forced" : "must be forced",
                          container_is_running(user) ? "running" : "stopped", user_id);
        goto done;
    }
    if (full == NULL && strv_len(img->tags) > 1 && !force) {
        rc = err_make(err, ERR_CONFLICT, 0,
                      "conflict: unable to delete %s (must be forced) - image is referenced in "
                      "multiple repositories",
                      short_id);
        goto done;
    }
    for (size_t i = 0; img->tags[i] != NULL; i++)
        add_removal(out, n, familiar_of(img->tags[i]), NULL);
    for (size_t i = 0; i < *n; i++)
        emit_image(eng, "untag", img, img->id);
    /* Here nothing uses it, or only stopped containers and force is given: dockerd deletes it
     * (those containers keep its ID). */
    add_removal(out, n, NULL, xstrdup(img->id));
    emit_image(eng, "delete", img, img->id);
    store_remove_image(&eng->store, img);
done:
    pthread_mutex_unlock(&eng->lock);
    image_unref(img);
    if (rc < 0) {
        image_removals_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int
engine_image_load(struct engine *eng, const void *data, size_t len, char ***loaded,
                  struct err **err)
{
    struct image **imgs;
    size_t n;
    *loaded = NULL;
    if (docker_archive_read(data, len, &imgs, &n, err) < 0)
        return -1;
    char **names = xcalloc(1, sizeof(char *));
    pthread_mutex_lock(&eng->lock);
    for (size_t i = 0; i < n; i++) {
        struct image *img = imgs[i];
        struct image *existing = map_get(&eng->store.images, img->id);
        if (existing != NULL) {
            for (size_t t = 0; img->tags[t] != NULL; t++)
                store_tag_image(&eng->store, existing, img->tags[t]);
        } else {
            store_add_image(&eng->store, img);
        }
        if (img->tags[0] == NULL) {
            char *line = xasprintf("Loaded image ID: %s", img->id);
            names = strv_append(names, line);
            free(line);
        }
        for (size_t t = 0; img->tags[t] != NULL; t++) {
            char *fam = familiar_of(img->tags[t]);
            char *line = xasprintf("Loaded image: %s", fam);
            names = strv_append(names, line);
            free(line);
            free(fam);
        }
        emit_image(eng, "load", img, img->id);
        image_unref(img);
    }
    pthread_mutex_unlock(&eng->lock);
    free(imgs);
    *loaded = names;
    return 0;
}

/* Stores img (sealed) and tags it. Lock not held. */
static int
store_new_image(struct engine *eng, struct image *img, const char *tag, const char *action,
                struct err **err)
{
    cleanup_free char *full = NULL;
    if (tag != NULL && *tag != '\0') {
        struct reference r;
        if (reference_parse(tag, &r, err) < 0)
            return -1;
        full = reference_full(&r);
        reference_fini(&r);
    }
    free(image_seal(img));
    pthread_mutex_lock(&eng->lock);
    struct image *existing = map_get(&eng->store.images, img->id);
    struct image *target = existing ? existing : img;
    if (existing == NULL)
        store_add_image(&eng->store, img);
    if (full != NULL)
        store_tag_image(&eng->store, target, full);
    emit_image(eng, action, target, target->id);
    pthread_mutex_unlock(&eng->lock);
    return 0;
}

int
engine_image_import(struct engine *eng, const void *data, size_t len, const char *tag,
                    const char *message, char *const *changes, char id_out[72], struct err **err)
{
    char diff[72];
    int64_t size;
    if (image_layer_digest(data, len, diff, &size, err) < 0)
        return -1;
    struct image *img = image_new();
    img->created_ns = time_now_ns();
    img->arch = xstrdup(eng->host.arch);
    img->size = size;
    img->diff_ids = strv_append(img->diff_ids, diff);
    img->comment = message && *message ? xstrdup(message) : NULL;
    for (size_t i = 0; changes != NULL && changes[i] != NULL; i++) {
        if (image_apply_change(&img->config, changes[i], err) < 0) {
            image_unref(img);
            return -1;
        }
    }
    image_add_history(img, img->created_ns, NULL, message && *message ? message : "Imported from -",
                      false, size);
    int rc = store_new_image(eng, img, tag, "import", err);
    if (rc == 0)
        memcpy(id_out, img->id, IMAGE_ID_LEN + 1);
    image_unref(img);
    return rc;
}

int
engine_container_commit(struct engine *eng, const char *ref, const char *tag, const char *comment,
                        const char *author, char *const *changes, char id_out[72], struct err **err)
{
    struct image *img = image_new();
    pthread_mutex_lock(&eng->lock);
    struct container *c = store_find_container(&eng->store, ref, err);
    struct image *parent = c ? map_get(&eng->store.images, c->image_id) : NULL;
    if (c != NULL && parent == NULL)
        err_make(err, ERR_NOT_FOUND, 0, "No such image: %s", c->image_id);
    if (parent == NULL) {
        pthread_mutex_unlock(&eng->lock);
        image_unref(img);
        return -1;
    }
    /* The container's effective config becomes the image's. */
    img->config.env = strv_dup(c->spec.env);
    img->config.cmd = strv_dup(c->spec.cmd);
    img->config.entrypoint = strv_dup(c->spec.entrypoint);
    img->config.working_dir = c->spec.working_dir ? xstrdup(c->spec.working_dir) : NULL;
    img->config.user = c->spec.user ? xstrdup(c->spec.user) : NULL;
    img->config.stop_signal = c->spec.stop_signal ? xstrdup(c->spec.stop_signal) : NULL;
    for (size_t i = 0; i < c->spec.labels.n; i++)
        labels_add(&img->config.labels, c->spec.labels.keys[i], c->spec.labels.values[i]);
    img->config.exposed_ports = strv_dup(c->spec.exposed_ports);
    strv_free(img->diff_ids);
    img->diff_ids = strv_dup(parent->diff_ids);
    for (size_t i = 0; i < parent->n_history; i++) {
        const struct image_history *h = &parent->history[i];
        image_add_history(img, h->created_ns, h->created_by, h->comment, h->empty_layer, h->size);
    }
    img->parent = xstrdup(parent->id);
    img->size = parent->size;
    img->arch = parent->arch ? xstrdup(parent->arch) : xstrdup(eng->host.arch);
    char cid[ID_LEN + 1];
    memcpy(cid, c->id, sizeof(cid));
    cleanup_free char *cmdline = xstrdup(c->path);
    pthread_mutex_unlock(&eng->lock);
    img->created_ns = time_now_ns();
    img->comment = comment && *comment ? xstrdup(comment) : NULL;
    img->author = author && *author ? xstrdup(author) : NULL;
    for (size_t i = 0; changes != NULL && changes[i] != NULL; i++) {
        if (image_apply_change(&img->config, changes[i], err) < 0) {
            image_unref(img);
            return -1;
        }
    }
    /* The synthetic driver's writes live in its staging directory, not in layers: the commit
     * adds no layer, and its history entry says so. */
    image_add_history(img, img->created_ns, cmdline, comment, true, 0);
    int rc = store_new_image(eng, img, tag, "commit", err);
    if (rc == 0) {
        memcpy(id_out, img->id, IMAGE_ID_LEN + 1);
        struct event *ev = event_new("container", "commit", cid);
        event_add_attr(ev, "comment", comment ? comment : "");
        event_add_attr(ev, "imageID", img->id);
        events_publish(eng->events, ev);
    }
    image_unref(img);
    return rc;
}
