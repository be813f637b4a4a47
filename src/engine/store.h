/*
 * store: the engine's objects and their indexes. Every function expects the engine lock held;
 * the store never locks itself. Lookups return borrowed pointers valid while the lock is held.
 */
#ifndef SOCKERLESS_ENGINE_STORE_H
#define SOCKERLESS_ENGINE_STORE_H

#include <stddef.h>

#include "base/err.h"
#include "base/map.h"
#include "engine/container.h"
#include "image/image.h"

struct store {
    struct map containers; /* id -> struct container * (owned reference) */
    struct map names;      /* "/name" -> struct container * (borrowed) */
    struct map images;     /* "sha256:<hex>" -> struct image * (owned reference) */
    struct map tags;       /* "docker.io/library/busybox:latest" -> struct image * (borrowed) */
};

void store_init(struct store *s);
void store_fini(struct store *s);

/* Adds c (the store takes a reference). ERR_CONFLICT with Docker's message on a name clash. */
int store_add_container(struct store *s, struct container *c, struct err **err);
/* Unlinks c and drops the store's reference. */
void store_remove_container(struct store *s, struct container *c);
/* By full ID, name ("x" or "/x"), or unique ID prefix. ERR_NOT_FOUND "No such container: ref";
 * ERR_INVALID for a prefix that matches several. */
struct container *store_find_container(struct store *s, const char *ref, struct err **err);
int store_rename_container(struct store *s, struct container *c, const char *new_name,
                           struct err **err);
/* All containers, newest first, in a malloc'd array (the pointers are borrowed). */
struct container **store_list_containers(struct store *s, size_t *n);

/* Adds img (the store takes a reference) and its tags; a tag held by another image moves. */
void store_add_image(struct store *s, struct image *img);
void store_remove_image(struct store *s, struct image *img);
/* Points the normalized reference `tag` at img (moving it from any other image). */
void store_tag_image(struct store *s, struct image *img, const char *tag);
/* Removes a tag; false when it did not exist. */
bool store_untag(struct store *s, const char *tag);
/* By reference (normalized), full or short "sha256:" ID, or unique ID prefix.
 * ERR_NOT_FOUND "No such image: ref". */
struct image *store_find_image(struct store *s, const char *ref, struct err **err);
struct image **store_list_images(struct store *s, size_t *n);
/* How many containers use img. */
size_t store_image_users(struct store *s, const struct image *img);

#endif
