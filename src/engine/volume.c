#include "engine/volume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/engine.h"

static const char ANON_LABEL[] = "com.docker.volume.anonymous";

const char *
mount_type_name(enum mount_type t)
{
    return t == MOUNT_BIND ? "bind" : t == MOUNT_TMPFS ? "tmpfs" : "volume";
}

void
mount_req_fini(struct mount_req *m)
{
    free(m->source);
    free(m->destination);
    free(m->mode);
    memset(m, 0, sizeof(*m));
}

void
mounts_free(struct mount *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].source);
        free(m[i].destination);
        free(m[i].mode);
    }
    free(m);
}

static void
volume_free(struct volume *v)
{
    free(v->name);
    free(v->mountpoint);
    labels_fini(&v->labels);
    free(v);
}

static int
validate_name(const char *name, struct err **err)
{
    size_t n = strlen(name);
    if (n < 2)
        return err_make(err, ERR_INVALID, 0,
                        "create %s: volume name is too short, names should be at least two "
                        "alphanumeric characters",
                        name);
    bool ok = n <= 255;
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        ok = alnum || (i > 0 && (c == '_' || c == '.' || c == '-'));
    }
    if (!ok)
        return err_make(err, ERR_INVALID, 0,
                        "create %s: \"%s\" includes invalid characters for a local volume name, "
                        "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass "
                        "a host directory, use absolute path",
                        name, name);
    return 0;
}

struct volume *
volume_find(struct engine *eng, const char *name, struct err **err)
{
    struct volume *v = map_get(&eng->volumes, name);
    if (v == NULL)
        err_make(err, ERR_NOT_FOUND, 0, "get %s: no such volume", name);
    return v;
}

struct volume *
volume_create(struct engine *eng, const char *name, const struct labels *labels, bool *created,
              struct err **err)
{
    char anon[ID_LEN + 1];
    *created = false;
    if (name == NULL) {
        id_generate(anon);
        name = anon;
    } else {
        struct volume *existing = map_get(&eng->volumes, name);
        if (existing != NULL)
            return existing;
        if (validate_name(name, err) < 0)
            return NULL;
    }
    cleanup_free char *dir = xasprintf("%s/volumes/%s/_data", eng->data_root, name);
    if (fsutil_mkdir_p(dir, 0755, err) < 0) {
        err_wrap(err, "create %s", name);
        return NULL;
    }
    struct volume *v = xcalloc(1, sizeof(*v));
    v->name = xstrdup(name);
    v->mountpoint = xstrdup(dir);
    v->created_ns = time_now_ns();
    v->anonymous = name == anon;
    for (size_t i = 0; labels != NULL && i < labels->n; i++)
        labels_add(&v->labels, labels->keys[i], labels->values[i]);
    if (v->anonymous)
        labels_add(&v->labels, ANON_LABEL, "");
    map_put(&eng->volumes, v->name, v, NULL);
    struct event *ev = event_new("volume", "create", v->name);
    event_add_attr(ev, "driver", "local");
    events_publish(eng->events, ev);
    *created = true;
    return v;
}

char **
volume_users(struct engine *eng, const struct volume *v)
{
    char **ids = xcalloc(1, sizeof(char *));
    size_t it = 0;
    void *p;
    while (map_next(&eng->store.containers, &it, NULL, &p)) {
        const struct container *c = p;
        for (size_t i = 0; i < c->n_mounts; i++) {
            if (c->mounts[i].name != NULL && strcmp(c->mounts[i].name, v->name) == 0) {
                ids = strv_append(ids, c->id);
                break;
            }
        }
    }
    return ids;
}

int
volume_remove(struct engine *eng, struct volume *v, struct err **err)
{
    char **users = volume_users(eng, v);
    if (users[0] != NULL) {
        size_t len = 3;
        for (size_t i = 0; users[i] != NULL; i++)
            len += strlen(users[i]) + 1;
        char *list = xcalloc(1, len);
        for (size_t i = 0; users[i] != NULL; i++) {
            if (i > 0)
                strcat(list, " ");
            strcat(list, users[i]);
        }
        err_make(err, ERR_CONFLICT, 0, "remove %s: volume is in use - [%s]", v->name, list);
        free(list);
        strv_free(users);
        return -1;
    }
    strv_free(users);
    cleanup_free char *dir = xasprintf("%s/volumes/%s", eng->data_root, v->name);
    struct err *rm_err = NULL;
    if (fsutil_remove_tree(dir, &rm_err) < 0) {
        LOG_WARN("volume %s: %s", v->name, rm_err->msg);
        err_clear(&rm_err);
    }
    map_del(&eng->volumes, v->name);
    struct event *ev = event_new("volume", "destroy", v->name);
    event_add_attr(ev, "driver", "local");
    events_publish(eng->events, ev);
    volume_free(v);
    return 0;
}

void
volumes_fini(struct engine *eng)
{
    size_t it = 0;
    void *v;
    while (map_next(&eng->volumes, &it, NULL, &v))
        volume_free(v);
    map_fini(&eng->volumes);
}

int
volume_mount_all(struct engine *eng, struct container *c, struct mount_req *reqs, size_t n,
                 struct err **err)
{
    c->mounts = xcalloc(n + 1, sizeof(*c->mounts));
    for (size_t i = 0; i < n; i++) {
        const struct mount_req *r = &reqs[i];
        if (r->destination == NULL || r->destination[0] != '/')
            return err_make(err, ERR_INVALID, 0,
                            "invalid mount config: mount path must be absolute: %s",
                            r->destination ? r->destination : "");
        for (size_t j = 0; j < c->n_mounts; j++)
            if (strcmp(c->mounts[j].destination, r->destination) == 0)
                return err_make(err, ERR_INVALID, 0, "Duplicate mount point: %s", r->destination);
        /* Counted at once, so that container_unref frees a half-filled entry on error. */
        struct mount *m = &c->mounts[c->n_mounts++];
        m->type = r->type;
        m->destination = xstrdup(r->destination);
        m->mode = xstrdup(r->mode ? r->mode : "");
        m->rw = !r->read_only;
        if (r->type == MOUNT_BIND) {
            if (r->source == NULL || r->source[0] != '/')
                return err_make(err, ERR_INVALID, 0,
                                "invalid mount config for type \"bind\": invalid mount path: '%s' "
                                "mount path must be absolute",
                                r->source ? r->source : "");
            m->source = xstrdup(r->source);
        } else if (r->type == MOUNT_VOLUME) {
            bool created;
            struct volume *v = volume_create(eng, r->source, NULL, &created, err);
            if (v == NULL)
                return -1;
            m->name = xstrdup(v->name);
            m->source = xstrdup(v->mountpoint);
        } else {
            m->source = xstrdup("");
        }
    }
    return 0;
}
