/*
 * volume: local volumes, each a real directory <data-root>/volumes/<name>/_data, and the
 * mounts containers make of volumes, host paths (bind) and tmpfs.
 *
 * Named volumes are created on first use (docker run -v name:/path); anonymous ones (Config
 * Volumes, -v /path) get a random 64-hex name and the label com.docker.volume.anonymous, which
 * is how prune and rm -v tell them apart, as in dockerd. Functions expect the engine lock held
 * unless noted; directory work is short (mkdir, or a remove of a volume nobody uses).
 */
#ifndef SOCKERLESS_ENGINE_VOLUME_H
#define SOCKERLESS_ENGINE_VOLUME_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/labels.h"

struct engine;
struct container;

struct volume {
    char *name;
    char *mountpoint;
    int64_t created_ns;
    struct labels labels;
    bool anonymous;
};

enum mount_type { MOUNT_VOLUME, MOUNT_BIND, MOUNT_TMPFS };

/* A mount as the client asked for it (Binds, Mounts, Config.Volumes). */
struct mount_req {
    enum mount_type type;
    char *source; /* volume name (NULL: anonymous), or host path */
    char *destination;
    char *mode; /* "ro", "rw,z", ... as given (Binds), or "" */
    bool read_only;
};

/* A container's mount, resolved. */
struct mount {
    enum mount_type type;
    char *name;   /* volume name, or NULL */
    char *source; /* host path */
    char *destination;
    char *mode;
    bool rw;
};

void mount_req_fini(struct mount_req *m);
void mounts_free(struct mount *m, size_t n);
const char *mount_type_name(enum mount_type t);

/* A local volume by name (NULL: anonymous). An existing name gives the existing volume
 * (*created = false). ERR_INVALID with Docker's messages for a bad name. */
struct volume *volume_create(struct engine *eng, const char *name, const struct labels *labels,
                             bool *created, struct err **err);
/* ERR_NOT_FOUND "get x: no such volume". */
struct volume *volume_find(struct engine *eng, const char *name, struct err **err);
/* The IDs of the containers that mount v (a malloc'd NULL-ended list). */
char **volume_users(struct engine *eng, const struct volume *v);
/* Removes v and its directory. ERR_CONFLICT "remove x: volume is in use - [ids]". */
int volume_remove(struct engine *eng, struct volume *v, struct err **err);
void volumes_fini(struct engine *eng);

/* Resolves the mount requests of a new container into c->mounts, creating volumes as needed.
 * Destinations must be absolute and unique. */
int volume_mount_all(struct engine *eng, struct container *c, struct mount_req *reqs, size_t n,
                     struct err **err);

#endif
