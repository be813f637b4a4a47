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

#include "base/digest.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"
#include "engine/images_internal.h"
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
    engine_lock(eng);
    if (map_get(&eng->store.tags, full) != NULL) {
        /* Keep what exists: a loaded or built image must not be replaced by an empty one. */
        engine_unlock(eng);
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
    engine_unlock(eng);
    image_unref(img);
    *created = true;
    return 0;
}

struct image *
engine_image_get(struct engine *eng, const char *ref, struct err **err)
{
    engine_lock(eng);
    struct image *img = store_find_image(&eng->store, ref, err);
    if (img != NULL)
        image_ref(img);
    engine_unlock(eng);
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
    engine_lock(eng);
    struct image *img = store_find_image(&eng->store, source, err);
    if (img != NULL) {
        store_tag_image(&eng->store, img, full);
        emit_image(eng, "tag", img, familiar);
    }
    engine_unlock(eng);
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
 * unlink (a rename) and the adder's check that its layers are there
 * (engine_image_complete_locked) both happen under the lock. The caller purges the layer store
 * after dropping the lock.
 */
void
engine_unlink_unused_layers_locked(struct engine *eng, char *const *diff_ids)
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
bool
engine_image_complete_locked(struct engine *eng, const struct image *img)
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

/* The references an rmi of full takes away: full, and when it is a tag and no other tag of
 * its repository is left, the repository's digest references (dockerd's image_delete.go:
 * "the only remaining references to the same repository are digest references"). */
static char **
refs_removed_with(const struct image *img, const char *full)
{
    char **out = strv_append(NULL, full);
    struct reference r;
    if (reference_parse(full, &r, NULL) < 0)
        return out;
    cleanup_free char *repo = xasprintf("%s/%s", r.domain, r.path);
    bool is_tag = r.tag != NULL;
    reference_fini(&r);
    bool other_tag = false;
    for (int pass = 0; is_tag && pass < 2 && !other_tag; pass++) {
        for (size_t i = 0; img->tags[i] != NULL; i++) {
            if (strcmp(img->tags[i], full) == 0 || reference_parse(img->tags[i], &r, NULL) < 0)
                continue;
            cleanup_free char *other = xasprintf("%s/%s", r.domain, r.path);
            bool same = strcmp(other, repo) == 0;
            if (same && pass == 0 && r.tag != NULL)
                other_tag = true;
            else if (same && pass == 1 && r.tag == NULL)
                out = strv_append(out, img->tags[i]);
            reference_fini(&r);
        }
    }
    return out;
}

int
engine_image_remove(struct engine *eng, const char *ref, bool force, struct image_removal **out,
                    size_t *n, struct err **err)
{
    *out = NULL;
    *n = 0;
    engine_lock(eng);
    struct image *img = store_find_image(&eng->store, ref, err);
    if (img == NULL) {
        engine_unlock(eng);
        return -1;
    }
    image_ref(img);
    char short_id[13];
    snprintf(short_id, sizeof(short_id), "%.12s", img->id + 7);
    struct container *user = image_user(eng, img);
    char user_id[13] = "";
    if (user != NULL)
        snprintf(user_id, sizeof(user_id), "%.12s", user->id);

    /* A reference (not an ID) that is one of several: only untag (with the digest references
     * that go with it). */
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
    char **going = full ? refs_removed_with(img, full) : NULL;
    if (full != NULL && strv_len(img->tags) > strv_len(going)) {
        for (size_t i = 0; going[i] != NULL; i++) {
            store_untag(&eng->store, going[i]);
            add_removal(out, n, familiar_of(going[i]), NULL);
            emit_image(eng, "untag", img, img->id);
        }
        strv_free(going);
        goto done;
    }
    strv_free(going);
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
        engine_unlink_unused_layers_locked(eng, img->diff_ids);
    }
done:
    engine_unlock(eng);
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
 * a shared layer away in between (see engine_image_complete_locked). */
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
        engine_lock(eng);
        for (size_t i = 0; i < n && complete; i++)
            complete = engine_image_complete_locked(eng, imgs[i]);
        if (complete)
            add_loaded_locked(eng, imgs, n, &names);
        else if (rc < 0 || attempt == ADD_ATTEMPTS)
            engine_unlink_unused_layers_locked(eng, stored); /* nothing half-added */
        engine_unlock(eng);
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
        engine_lock(eng);
        bool complete = engine_image_complete_locked(eng, img);
        if (complete) {
            struct image *existing = map_get(&eng->store.images, img->id);
            struct image *target = existing ? existing : img;
            if (existing == NULL)
                store_add_image(&eng->store, img);
            if (full != NULL)
                store_tag_image(&eng->store, target, full);
            if (action != NULL)
                emit_image(eng, action, target, target->id);
        }
        engine_unlock(eng);
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
        engine_lock(eng);
        engine_unlink_unused_layers_locked(eng, img->diff_ids);
        engine_unlock(eng);
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

/* img takes parent's layers, history and size (a child image). Lock held. */
static void
inherit_parent_locked(struct engine *eng, struct image *img, const struct image *parent)
{
    strv_free(img->diff_ids);
    img->diff_ids = strv_dup(parent->diff_ids);
    for (size_t i = 0; i < parent->n_history; i++) {
        const struct image_history *h = &parent->history[i];
        image_add_history(img, h->created_ns, h->created_by, h->comment, h->empty_layer, h->size);
    }
    img->parent = xstrdup(parent->id);
    img->busybox_base = parent->synthetic || parent->busybox_base;
    img->size = parent->size;
    img->arch = xstrdup(parent->arch ? parent->arch : eng->host.arch);
}

/* Adds c's filesystem changes to img as a new layer when c is given and its driver keeps
 * layers (always one, empty or not, as dockerd commits; the synthetic driver's writes live in
 * its staging directory, so its commits add none and the history entry says so), then one
 * history entry, and stores img. Lock not held. */
static int
finish_child(struct engine *eng, struct image *img, struct container *c, const char *created_by,
             const char *comment, const char *tag, const char *action, struct err **err)
{
    int rc = 0;
    struct commit_layer layer = {.fd = -1};
    if (c != NULL && c->driver->diff_tar != NULL)
        rc = commit_layer_make(eng, c, &layer, err);
    if (rc == 0) {
        if (layer.fd >= 0) {
            img->diff_ids = strv_append(img->diff_ids, layer.diff_id);
            img->size += layer.size;
        }
        if (created_by != NULL)
            image_add_history(img, img->created_ns, created_by, comment, layer.fd < 0, layer.size);
        rc = store_new_image(eng, img, layer.map, layer.len, tag, action, err);
    }
    commit_layer_fini(&layer);
    return rc;
}

static void
replace_str(char **dst, const char *src)
{
    if (src != NULL && *src != '\0') {
        free(*dst);
        *dst = xstrdup(src);
    }
}

static char **
union_strv(char **base, char *const *add)
{
    for (size_t i = 0; add != NULL && add[i] != NULL; i++)
        if (!strv_contains(base, add[i]))
            base = strv_append(base, add[i]);
    return base;
}

/* The commit request's config over the container's, as dockerd's commit merges them. */
static void
merge_commit_config(struct image_config *c, const struct image_config *over)
{
    if (over->env != NULL && over->env[0] != NULL) {
        char **env = strv_env_merge(c->env, over->env);
        strv_free(c->env);
        c->env = env;
    }
    if (over->cmd != NULL && over->cmd[0] != NULL) {
        strv_free(c->cmd);
        c->cmd = strv_dup(over->cmd);
    }
    if (over->entrypoint != NULL && over->entrypoint[0] != NULL) {
        strv_free(c->entrypoint);
        c->entrypoint = strv_dup(over->entrypoint);
    }
    replace_str(&c->user, over->user);
    replace_str(&c->working_dir, over->working_dir);
    replace_str(&c->stop_signal, over->stop_signal);
    for (size_t i = 0; i < over->labels.n; i++) {
        struct labels l = {0};
        for (size_t j = 0; j < c->labels.n; j++)
            if (strcmp(c->labels.keys[j], over->labels.keys[i]) != 0)
                labels_add(&l, c->labels.keys[j], c->labels.values[j]);
        labels_add(&l, over->labels.keys[i], over->labels.values[i]);
        labels_fini(&c->labels);
        c->labels = l;
    }
    c->exposed_ports = union_strv(c->exposed_ports, over->exposed_ports);
    c->volumes = union_strv(c->volumes, over->volumes);
}

int
engine_container_commit(struct engine *eng, const char *ref, const char *tag, const char *comment,
                        const char *author, char *const *changes, const struct image_config *over,
                        char id_out[72], struct err **err)
{
    struct image *img = image_new();
    engine_lock(eng);
    struct container *c = store_find_container(&eng->store, ref, err);
    struct image *parent = c ? map_get(&eng->store.images, c->image_id) : NULL;
    if (c != NULL && parent == NULL)
        err_make(err, ERR_NOT_FOUND, 0, "No such image: %s", c->image_id);
    if (parent == NULL) {
        engine_unlock(eng);
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
    img->config.volumes = strv_dup(parent->config.volumes);
    img->config.shell = strv_dup(parent->config.shell);
    img->config.onbuild = strv_dup(parent->config.onbuild);
    if (c->spec.health.test != NULL) {
        img->config.health_test = strv_dup(c->spec.health.test);
        img->config.health_interval_ns = c->spec.health.interval_ns;
        img->config.health_timeout_ns = c->spec.health.timeout_ns;
        img->config.health_start_period_ns = c->spec.health.start_period_ns;
        img->config.health_retries = c->spec.health.retries;
    }
    inherit_parent_locked(eng, img, parent);
    char cid[ID_LEN + 1];
    memcpy(cid, c->id, sizeof(cid));
    /* History's created_by: the container's command line, as dockerd writes it. */
    char **argv = strv_append(NULL, c->path);
    for (size_t i = 0; c->args[i] != NULL; i++)
        argv = strv_append(argv, c->args[i]);
    cleanup_free char *cmdline = strv_join(argv, " ");
    strv_free(argv);
    container_ref(c);
    engine_unlock(eng);
    img->created_ns = time_now_ns();
    img->comment = comment && *comment ? xstrdup(comment) : NULL;
    img->author = author && *author ? xstrdup(author) : NULL;
    if (over != NULL)
        merge_commit_config(&img->config, over);
    int rc = 0;
    for (size_t i = 0; changes != NULL && changes[i] != NULL && rc == 0; i++)
        rc = image_apply_change(&img->config, changes[i], err);
    if (rc == 0)
        rc = finish_child(eng, img, c, cmdline, comment, tag, "commit", err);
    container_unref(c);
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

int
engine_image_build_step(struct engine *eng, const char *parent_id, const struct image_config *cfg,
                        const char *author, const char *cref, const char *created_by,
                        char id_out[72], struct err **err)
{
    struct image *img = image_new();
    engine_lock(eng);
    struct image *parent = parent_id ? map_get(&eng->store.images, parent_id) : NULL;
    struct container *c = cref ? store_find_container(&eng->store, cref, err) : NULL;
    int rc = 0;
    if (parent_id != NULL && parent == NULL)
        rc = err_make(err, ERR_NOT_FOUND, 0, "No such image: %s", parent_id);
    else if (cref != NULL && c == NULL)
        rc = -1;
    if (rc == 0) {
        if (parent != NULL)
            inherit_parent_locked(eng, img, parent);
        else
            img->arch = xstrdup(eng->host.arch);
        if (c != NULL)
            container_ref(c);
    }
    engine_unlock(eng);
    if (rc == 0) {
        image_config_fini(&img->config);
        image_config_copy(&img->config, cfg);
        /* The empty image standing for scratch is always the same one (the cache finds the
         * steps built on it). */
        img->created_ns = parent == NULL && cref == NULL && created_by == NULL ? 0 : time_now_ns();
        img->author = author && *author ? xstrdup(author) : NULL;
        rc = finish_child(eng, img, c, created_by, NULL, NULL, NULL, err);
        if (rc == 0)
            memcpy(id_out, img->id, IMAGE_ID_LEN + 1);
    }
    if (c != NULL)
        container_unref(c);
    image_unref(img);
    return rc;
}
