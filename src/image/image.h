/*
 * image: the engine's image object: ID, tags, and the config containers inherit.
 * Reference counted like containers; owned by the store.
 */
#ifndef SOCKERLESS_IMAGE_IMAGE_H
#define SOCKERLESS_IMAGE_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/labels.h"

enum { IMAGE_ID_LEN = 7 + 64 }; /* "sha256:" + hex */

struct image_config {
    char **env, **cmd, **entrypoint;
    char *working_dir, *user, *stop_signal;
    struct labels labels;
    char **exposed_ports;
    char **health_test; /* HEALTHCHECK: Test */
    int64_t health_interval_ns, health_timeout_ns, health_start_period_ns;
    int health_retries;
    char **volumes; /* VOLUME: container paths */
    char **shell;   /* SHELL, or NULL: /bin/sh -c */
    char **onbuild; /* ONBUILD triggers ("RUN echo hi") */
};

struct image_history {
    int64_t created_ns;
    char *created_by, *comment;
    bool empty_layer;
    int64_t size; /* of its layer */
};

struct image {
    int refs;
    char id[IMAGE_ID_LEN + 1];
    char **tags; /* normalized references ("docker.io/library/busybox:latest") */
    int64_t created_ns;
    int64_t size;
    char *os, *arch;
    struct image_config config;
    struct image_history *history;
    size_t n_history;
    char **diff_ids; /* rootfs layers, "sha256:..." (never NULL) */
    char *parent;    /* image ID of the parent (commit), or NULL */
    char *comment, *author;
    bool synthetic; /* made by a synthetic pull: no layers */
    /* Its root starts from the host busybox base under its layers: a synthetic pull's
     * descendants (commit, build). Not part of the config: a save carries its layers only. */
    bool busybox_base;
};

struct image *image_new(void);
void image_ref(struct image *img);
void image_unref(struct image *img);
void image_config_fini(struct image_config *c);
/* Whether two configs are the same (every field, lists in order). */
bool image_config_equal(const struct image_config *a, const struct image_config *b);
/* A deep copy of src into dst (dst uninitialised). */
void image_config_copy(struct image_config *dst, const struct image_config *src);
/* Appends a history entry (strings copied, NULL allowed). */
void image_add_history(struct image *img, int64_t created_ns, const char *created_by,
                       const char *comment, bool empty_layer, int64_t size);
/* The config's Healthcheck as the image spec writes it (zero durations left out). */
json_t *image_health_json(const struct image_config *c);
/*
 * Serializes img's config as an image-spec config blob (architecture, os, created, author,
 * comment, config, rootfs with diff_ids, history) and sets img->id to its sha256, as an image
 * built or imported here is identified. Returns the blob (malloc'd).
 */
char *image_seal(struct image *img);

#endif
