#include "engine/store.h"

#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "image/reference.h"

void
store_init(struct store *s)
{
    map_init(&s->containers);
    map_init(&s->names);
    map_init(&s->images);
    map_init(&s->tags);
}

void
store_fini(struct store *s)
{
    size_t it = 0;
    void *v;
    while (map_next(&s->containers, &it, NULL, &v))
        container_unref(v);
    it = 0;
    while (map_next(&s->images, &it, NULL, &v))
        image_unref(v);
    map_fini(&s->containers);
    map_fini(&s->names);
    map_fini(&s->images);
    map_fini(&s->tags);
}

static int
name_conflict(struct store *s, const char *name, struct err **err)
{
    struct container *other = map_get(&s->names, name);
    if (other == NULL)
        return 0;
    return err_make(err, ERR_CONFLICT, 0,
                    "Conflict. The container name \"%s\" is already in use by container \"%s\". "
                    "You have to remove (or rename) that container to be able to reuse that name.",
                    name, other->id);
}

int
store_add_container(struct store *s, struct container *c, struct err **err)
{
    if (name_conflict(s, c->name, err) < 0)
        return -1;
    container_ref(c);
    map_put(&s->containers, c->id, c, NULL);
    map_put(&s->names, c->name, c, NULL);
    return 0;
}

void
store_remove_container(struct store *s, struct container *c)
{
    if (map_get(&s->containers, c->id) != c)
        return;
    map_del(&s->containers, c->id);
    map_del(&s->names, c->name);
    c->removed = true;
    container_unref(c);
}

struct container *
store_find_container(struct store *s, const char *ref, struct err **err)
{
    struct container *c = map_get(&s->containers, ref);
    if (c != NULL)
        return c;
    if (ref[0] == '/')
        c = map_get(&s->names, ref);
    else {
        cleanup_free char *n = xasprintf("/%s", ref);
        c = map_get(&s->names, n);
    }
    if (c != NULL)
        return c;
    if (id_is_prefix(ref)) {
        size_t len = strlen(ref), it = 0, found = 0;
        const char *k;
        void *v;
        while (map_next(&s->containers, &it, &k, &v)) {
            if (strncmp(k, ref, len) == 0) {
                c = v;
                found++;
            }
        }
        if (found == 1)
            return c;
        if (found > 1) {
            err_make(err, ERR_INVALID, 0, "multiple IDs found with provided prefix: %s", ref);
            return NULL;
        }
    }
    err_make(err, ERR_NOT_FOUND, 0, "No such container: %s", ref);
    return NULL;
}

int
store_rename_container(struct store *s, struct container *c, const char *new_name, struct err **err)
{
    if (name_conflict(s, new_name, err) < 0)
        return -1;
    map_del(&s->names, c->name);
    free(c->name);
    c->name = xstrdup(new_name);
    map_put(&s->names, c->name, c, NULL);
    return 0;
}

static int
by_created_desc(const void *a, const void *b)
{
    const struct container *x = *(struct container *const *)a, *y = *(struct container *const *)b;
    if (x->created_ns != y->created_ns)
        return x->created_ns > y->created_ns ? -1 : 1;
    return strcmp(x->id, y->id);
}

struct container **
store_list_containers(struct store *s, size_t *n)
{
    struct container **out = xcalloc(s->containers.len + 1, sizeof(*out));
    size_t i = 0, it = 0;
    void *v;
    while (map_next(&s->containers, &it, NULL, &v))
        out[i++] = v;
    qsort(out, i, sizeof(*out), by_created_desc);
    *n = i;
    return out;
}

void
store_tag_image(struct store *s, struct image *img, const char *tag)
{
    struct image *prev = map_get(&s->tags, tag);
    if (prev == img)
        return;
    if (prev != NULL) {
        char **kept = xcalloc(1, sizeof(char *));
        for (size_t i = 0; prev->tags[i] != NULL; i++)
            if (strcmp(prev->tags[i], tag) != 0)
                kept = strv_append(kept, prev->tags[i]);
        strv_free(prev->tags);
        prev->tags = kept;
    }
    map_put(&s->tags, tag, img, NULL);
    if (!strv_contains(img->tags, tag))
        img->tags = strv_append(img->tags, tag);
}

bool
store_untag(struct store *s, const char *tag)
{
    struct image *img = map_del(&s->tags, tag);
    if (img == NULL)
        return false;
    char **kept = xcalloc(1, sizeof(char *));
    for (size_t i = 0; img->tags[i] != NULL; i++)
        if (strcmp(img->tags[i], tag) != 0)
            kept = strv_append(kept, img->tags[i]);
    strv_free(img->tags);
    img->tags = kept;
    return true;
}

void
store_add_image(struct store *s, struct image *img)
{
    image_ref(img);
    void *old = NULL;
    map_put(&s->images, img->id, img, &old);
    if (old != NULL && old != img)
        image_unref(old);
    char **tags = strv_dup(img->tags);
    for (size_t i = 0; tags[i] != NULL; i++)
        store_tag_image(s, img, tags[i]);
    strv_free(tags);
}

void
store_remove_image(struct store *s, struct image *img)
{
    char **tags = strv_dup(img->tags);
    for (size_t i = 0; tags[i] != NULL; i++)
        store_untag(s, tags[i]);
    strv_free(tags);
    if (map_get(&s->images, img->id) == img) {
        map_del(&s->images, img->id);
        image_unref(img);
    }
}

struct image *
store_find_image(struct store *s, const char *ref, struct err **err)
{
    /* dockerd's order: a full ID, then a reference (tag or digest), then a unique ID prefix. */
    struct image *img = map_get(&s->images, ref);
    if (img != NULL)
        return img;
    struct reference r;
    if (reference_parse(ref, &r, NULL) == 0) {
        cleanup_free char *full = reference_full(&r);
        reference_fini(&r);
        img = map_get(&s->tags, full);
        if (img != NULL)
            return img;
    }
    const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
    if (id_is_prefix(hex)) {
        size_t len = strlen(hex), it = 0, found = 0;
        const char *k;
        void *v;
        while (map_next(&s->images, &it, &k, &v)) {
            if (strncmp(k + 7, hex, len) == 0) {
                img = v;
                found++;
            }
        }
        if (found == 1)
            return img;
    }
    /* Docker names the image in its familiar form with the tag ("busybox:latest"), and a
     * reference that is not even valid is a 400. */
    struct reference bad;
    if (strncmp(ref, "sha256:", 7) != 0 && !id_is_prefix(ref) &&
        reference_parse(ref, &bad, err) < 0)
        return NULL;
    if (strncmp(ref, "sha256:", 7) != 0 && !id_is_prefix(ref)) {
        cleanup_free char *fam = reference_familiar(&bad);
        reference_fini(&bad);
        err_make(err, ERR_NOT_FOUND, 0, "No such image: %s", fam);
        return NULL;
    }
    err_make(err, ERR_NOT_FOUND, 0, "No such image: %s", ref);
    return NULL;
}

struct image **
store_list_images(struct store *s, size_t *n)
{
    struct image **out = xcalloc(s->images.len + 1, sizeof(*out));
    size_t i = 0, it = 0;
    void *v;
    while (map_next(&s->images, &it, NULL, &v))
        out[i++] = v;
    *n = i;
    return out;
}

size_t
store_image_users(struct store *s, const struct image *img)
{
    size_t n = 0, it = 0;
    void *v;
    while (map_next(&s->containers, &it, NULL, &v))
        if (strcmp(((struct container *)v)->image_id, img->id) == 0)
            n++;
    return n;
}
