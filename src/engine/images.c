/* Image operations on the store: the synthetic pull, lookup, tagging, load, import, commit
 * and removal. Layers and config blobs live in the layer store (image/layerstore.h); real
 * pulls come with the registry client. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/digest.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"
#include "image/changes.h"
#include "image/docker_archive.h"
#include "image/layerstore.h"
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

/* True when an image in the store has diff_id among its layers. Lock held. */
static bool
layer_in_use(struct engine *eng, const char *diff_id)
{
    size_t it = 0;
    void *v;
    while (map_next(&eng->store.images, &it, NULL, &v)) {
        const struct image *img = v;
        if (strv_contains(img->diff_ids, diff_id))
            return true;
    }
    return false;
}

/*
 * Takes the layers of diff_ids that no image in the store uses out of the layer store. Lock
 * held, which is what makes this safe against a load adding an image with one of them: the
 * unlink (a rename) and the adder's check that its layers are there (image_complete_locked)
 * both happen under the lock. The caller purges the layer store after dropping the lock.
 */
static void
unlink_unused_layers_locked(struct engine *eng, char *const *diff_ids)
{
    for (size_t i = 0; diff_ids != NULL && diff_ids[i] != NULL; i++) {
        struct err *err = NULL;
        if (!layer_in_use(eng, diff_ids[i]) &&
            layerstore_unlink(eng->layers, diff_ids[i], &err) < 0) {
            LOG_WARN("image store: %s", err->msg);
            err_clear(&err);
        }
    }
}

/* True when img's config blob and layers are all in the layer store: a removal may have taken
 * one away between their storing and this check (the caller stores them again). Lock held. */
static bool
image_complete_locked(struct engine *eng, const struct image *img)
{
    if (img->synthetic)
        return true;
    if (!layerstore_has_config(eng->layers, img->id))
        return false;
    for (size_t i = 0; img->diff_ids[i] != NULL; i++)
        if (!layerstore_has(eng->layers, img->diff_ids[i]))
            return false;
    return true;
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
    bool purge = false;
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
    /* Its config blob and the layers no other image has go too; while a stopped container
     * still names the image (a forced removal), they stay for it. */
    purge = user == NULL;
    if (purge) {
        layerstore_remove_config(eng->layers, img->id);
        unlink_unused_layers_locked(eng, img->diff_ids);
    }
done:
    pthread_mutex_unlock(&eng->lock);
    if (rc == 0 && purge)
        layerstore_purge(eng->layers);
    image_unref(img);
    if (rc < 0) {
        image_removals_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* Adds loaded images with their tags (a tag held by another image moves); *names gets the
 * "Loaded image" lines. Lock held. */
static void
add_loaded_locked(struct engine *eng, struct image **imgs, size_t n, char ***names)
{
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
            *names = strv_append(*names, line);
            free(line);
        }
        for (size_t t = 0; img->tags[t] != NULL; t++) {
            char *fam = familiar_of(img->tags[t]);
            char *line = xasprintf("Loaded image: %s", fam);
            *names = strv_append(*names, line);
            free(line);
            free(fam);
        }
        emit_image(eng, "load", img, img->id);
    }
}

/* Attempts at storing an image's files and adding it, when a concurrent removal keeps taking
 * a shared layer away in between (see image_complete_locked). */
enum { ADD_ATTEMPTS = 3 };

int
engine_image_load(struct engine *eng, const void *data, size_t len, char ***loaded,
                  struct err **err)
{
    *loaded = NULL;
    for (int attempt = 1;; attempt++) {
        struct image **imgs = NULL;
        size_t n = 0;
        char **stored;
        int rc = docker_archive_read(data, len, eng->layers, &imgs, &n, &stored, err);
        char **names = xcalloc(1, sizeof(char *));
        bool complete = rc == 0;
        pthread_mutex_lock(&eng->lock);
        for (size_t i = 0; i < n && complete; i++)
            complete = image_complete_locked(eng, imgs[i]);
        if (complete)
            add_loaded_locked(eng, imgs, n, &names);
        else if (rc < 0 || attempt == ADD_ATTEMPTS)
            unlink_unused_layers_locked(eng, stored); /* nothing half-added */
        pthread_mutex_unlock(&eng->lock);
        if (!complete)
            layerstore_purge(eng->layers);
        for (size_t i = 0; i < n; i++)
            image_unref(imgs[i]);
        free(imgs);
        strv_free(stored);
        if (complete) {
            *loaded = names;
            return 0;
        }
        strv_free(names);
        if (rc < 0)
            return -1;
        if (attempt == ADD_ATTEMPTS)
            return err_make(err, ERR_CONFLICT, 0,
                            "layers of the images were removed while they loaded: try again");
    }
}

/*
 * Stores img's config blob (img sealed here), then adds img to the store and tags it. Lock
 * not held. layer (import): the layer already stored once, stored again if a removal took it
 * away before img was added.
 */
static int
store_new_image(struct engine *eng, struct image *img, const void *layer, size_t layer_len,
                const char *tag, const char *action, struct err **err)
{
    cleanup_free char *full = NULL;
    if (tag != NULL && *tag != '\0') {
        struct reference r;
        if (reference_parse(tag, &r, err) < 0)
            return -1;
        full = reference_full(&r);
        reference_fini(&r);
    }
    for (int attempt = 1;; attempt++) {
        char diff[72], id[72];
        if (attempt > 1 && layer != NULL &&
            layerstore_add_mem(eng->layers, layer, layer_len, diff, NULL, err) < 0)
            return -1;
        cleanup_free char *blob = image_seal(img);
        if (layerstore_put_config(eng->layers, blob, strlen(blob), id, err) < 0)
            return err_wrap(err, "store image config");
        pthread_mutex_lock(&eng->lock);
        bool complete = image_complete_locked(eng, img);
        if (complete) {
            struct image *existing = map_get(&eng->store.images, img->id);
            struct image *target = existing ? existing : img;
            if (existing == NULL)
                store_add_image(&eng->store, img);
            if (full != NULL)
                store_tag_image(&eng->store, target, full);
            emit_image(eng, action, target, target->id);
        }
        pthread_mutex_unlock(&eng->lock);
        if (complete)
            return 0;
        if (attempt == ADD_ATTEMPTS || (layer == NULL && img->diff_ids[0] != NULL))
            return err_make(err, ERR_CONFLICT, 0,
                            "the layers of the image were removed while it was stored");
    }
}

int
engine_image_import(struct engine *eng, const void *data, size_t len, const char *tag,
                    const char *message, char *const *changes, char id_out[72], struct err **err)
{
    struct image *img = image_new();
    for (size_t i = 0; changes != NULL && changes[i] != NULL; i++) {
        if (image_apply_change(&img->config, changes[i], err) < 0) {
            image_unref(img);
            return -1;
        }
    }
    /* The tar becomes the image's one layer: its diff ID is the uncompressed tar's digest. */
    char diff[72];
    int64_t size;
    if (layerstore_add_mem(eng->layers, data, len, diff, &size, err) < 0) {
        image_unref(img);
        return -1;
    }
    img->created_ns = time_now_ns();
    img->arch = xstrdup(eng->host.arch);
    img->size = size;
    img->diff_ids = strv_append(img->diff_ids, diff);
    img->comment = message && *message ? xstrdup(message) : NULL;
    image_add_history(img, img->created_ns, NULL, message && *message ? message : "Imported from -",
                      false, size);
    int rc = store_new_image(eng, img, data, len, tag, "import", err);
    if (rc == 0) {
        memcpy(id_out, img->id, IMAGE_ID_LEN + 1);
    } else {
        pthread_mutex_lock(&eng->lock);
        unlink_unused_layers_locked(eng, img->diff_ids);
        pthread_mutex_unlock(&eng->lock);
        layerstore_purge(eng->layers);
    }
    image_unref(img);
    return rc;
}

/* A committed container's layer: its diff tar in an unlinked file, mapped for the store. */
struct commit_layer {
    int fd;
    void *map;
    size_t len;
    char diff_id[72];
    int64_t size;
};

static int
commit_layer_make(struct engine *eng, struct container *c, struct commit_layer *l, struct err **err)
{
    cleanup_free char *dir = xasprintf("%s/tmp", eng->data_root);
    l->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (l->fd < 0)
        return err_make(err, ERR_INTERNAL, errno, "temporary file in %s", dir);
    struct stat st;
    if (c->driver->diff_tar(eng, c, l->fd, err) < 0)
        return err_wrap(err, "the container's changes");
    if (fstat(l->fd, &st) < 0)
        return err_make(err, ERR_INTERNAL, errno, "the container's changes");
    l->len = (size_t)st.st_size;
    l->map = l->len > 0 ? mmap(NULL, l->len, PROT_READ, MAP_PRIVATE, l->fd, 0) : NULL;
    if (l->len > 0 && l->map == MAP_FAILED) {
        l->map = NULL;
        return err_make(err, ERR_INTERNAL, errno, "the container's changes");
    }
    return layerstore_add_mem(eng->layers, l->map ? l->map : "", l->len, l->diff_id, &l->size, err);
}

static void
commit_layer_fini(struct commit_layer *l)
{
    if (l->map != NULL)
        munmap(l->map, l->len);
    if (l->fd >= 0)
        close(l->fd);
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
    /* History's created_by: the container's command line, as dockerd writes it. */
    struct buf cmdline;
    buf_init(&cmdline, 1024 * 1024);
    buf_append(&cmdline, c->path, strlen(c->path), NULL);
    for (size_t i = 0; c->args[i] != NULL; i++) {
        buf_append(&cmdline, " ", 1, NULL);
        buf_append(&cmdline, c->args[i], strlen(c->args[i]), NULL);
    }
    buf_append(&cmdline, "", 1, NULL);
    container_ref(c);
    pthread_mutex_unlock(&eng->lock);
    img->created_ns = time_now_ns();
    img->comment = comment && *comment ? xstrdup(comment) : NULL;
    img->author = author && *author ? xstrdup(author) : NULL;
    int rc = 0;
    for (size_t i = 0; changes != NULL && changes[i] != NULL && rc == 0; i++)
        rc = image_apply_change(&img->config, changes[i], err);
    /* The container's filesystem changes become the image's new layer (always one, empty or
     * not, as dockerd commits). The synthetic driver's writes live in its staging directory,
     * not in layers: its commit adds no layer, and the history entry says so. */
    struct commit_layer layer = {.fd = -1};
    if (rc == 0 && c->driver->diff_tar != NULL)
        rc = commit_layer_make(eng, c, &layer, err);
    if (rc == 0) {
        if (layer.fd >= 0) {
            img->diff_ids = strv_append(img->diff_ids, layer.diff_id);
            img->size += layer.size;
        }
        image_add_history(img, img->created_ns, cmdline.data, comment, layer.fd < 0, layer.size);
        rc = store_new_image(eng, img, layer.map, layer.len, tag, "commit", err);
    }
    commit_layer_fini(&layer);
    container_unref(c);
    buf_fini(&cmdline);
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
