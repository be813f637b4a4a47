/* Volume endpoints, the create request's mounts, and the Mounts of container inspect. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/decode.h"
#include "api/filters_json.h"
#include "api/jsonx.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "engine/volume.h"

json_t *
api_mounts_json(const struct container *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->n_mounts; i++) {
        const struct mount *m = &c->mounts[i];
        json_t *o = json_pack("{s:s}", "Type", mount_type_name(m->type));
        if (m->name != NULL)
            json_object_set_new(o, "Name", json_string(m->name));
        json_object_set_new(o, "Source", json_string(m->source));
        json_object_set_new(o, "Destination", json_string(m->destination));
        if (m->type == MOUNT_VOLUME)
            json_object_set_new(o, "Driver", json_string("local"));
        json_object_set_new(o, "Mode", json_string(m->mode));
        json_object_set_new(o, "RW", json_boolean(m->rw));
        json_object_set_new(o, "Propagation", json_string(m->type == MOUNT_BIND ? "rslave" : ""));
        json_array_append_new(a, o);
    }
    return a;
}

static void
add_req(struct container_create *req, enum mount_type type, const char *source,
        const char *destination, const char *mode, bool read_only)
{
    req->mounts = xrealloc(req->mounts, (req->n_mounts + 1) * sizeof(*req->mounts));
    struct mount_req *m = &req->mounts[req->n_mounts++];
    m->type = type;
    m->source = source ? xstrdup(source) : NULL;
    m->destination = destination ? xstrdup(destination) : NULL;
    m->mode = xstrdup(mode ? mode : "");
    m->read_only = read_only;
}

/* "src:dst[:mode]" or "dst" (anonymous). */
static int
decode_bind(struct container_create *req, const char *bind, struct err **err)
{
    cleanup_free char *s = xstrdup(bind);
    char *parts[3] = {0};
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(s, ":", &save); p && n < 3;
         p = strtok_r(NULL, ":", &save))
        parts[n++] = p;
    if (n == 0 || (n == 1 && parts[0][0] != '/') || strchr(bind, ':') == bind)
        return err_make(err, ERR_INVALID, 0, "invalid volume specification: '%s'", bind);
    if (n == 1) {
        add_req(req, MOUNT_VOLUME, NULL, parts[0], "", false);
        return 0;
    }
    const char *mode = n == 3 ? parts[2] : "";
    bool ro = false;
    for (char *save = NULL, *m = strtok_r(n == 3 ? parts[2] : (char[]){""}, ",", &save); m;
         m = strtok_r(NULL, ",", &save))
        ro = ro || strcmp(m, "ro") == 0;
    bool is_bind = parts[0][0] == '/';
    /* dockerd reports a named volume given without a mode as "z" (its default label mode). */
    add_req(req, is_bind ? MOUNT_BIND : MOUNT_VOLUME, parts[0], parts[1],
            n == 3 ? bind + (parts[2] - s) : (is_bind ? mode : "z"), ro);
    return 0;
}

int
api_decode_mounts(json_t *body, json_t *host_config, struct container_create *req, struct err **err)
{
    char **binds = NULL;
    if (jsonx_strv(host_config, "Binds", false, &binds, err) < 0)
        return -1;
    for (size_t i = 0; binds != NULL && binds[i] != NULL; i++) {
        if (decode_bind(req, binds[i], err) < 0) {
            strv_free(binds);
            return -1;
        }
    }
    strv_free(binds);
    json_t *mounts = json_object_get(host_config, "Mounts");
    if (mounts != NULL && !json_is_null(mounts)) {
        if (!json_is_array(mounts))
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal Mounts");
        size_t i;
        json_t *m;
        json_array_foreach(mounts, i, m)
        {
            char *type = NULL, *src = NULL, *dst = NULL;
            bool ro = false;
            if (!json_is_object(m) || jsonx_string(m, "Type", &type, err) < 0 ||
                jsonx_string(m, "Source", &src, err) < 0 ||
                jsonx_string(m, "Target", &dst, err) < 0 ||
                jsonx_bool(m, "ReadOnly", &ro, err) < 0) {
                free(type);
                free(src);
                free(dst);
                return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal Mounts");
            }
            enum mount_type t = MOUNT_VOLUME;
            int rc = 0;
            if (type == NULL || strcmp(type, "volume") == 0)
                t = MOUNT_VOLUME;
            else if (strcmp(type, "bind") == 0)
                t = MOUNT_BIND;
            else if (strcmp(type, "tmpfs") == 0)
                t = MOUNT_TMPFS;
            else
                rc = err_make(err, ERR_INVALID, 0, "mount type unknown: %s", type);
            if (rc == 0)
                add_req(req, t, src && *src ? src : NULL, dst, "", ro);
            free(type);
            free(src);
            free(dst);
            if (rc < 0)
                return -1;
        }
    }
    json_t *vols = json_object_get(body, "Volumes");
    if (vols != NULL && !json_is_null(vols)) {
        if (!json_is_object(vols))
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal Volumes");
        const char *dst;
        json_t *unused;
        json_object_foreach(vols, dst, unused)
        {
            bool taken = false;
            for (size_t i = 0; i < req->n_mounts && !taken; i++)
                taken = req->mounts[i].destination && strcmp(req->mounts[i].destination, dst) == 0;
            if (!taken) /* a bind or named volume at the same path wins */
                add_req(req, MOUNT_VOLUME, NULL, dst, "", false);
        }
    }
    return 0;
}

static json_t *
volume_json(const struct volume *v)
{
    char created[TIME_RFC3339_MAX];
    time_format_rfc3339nano(v->created_ns, created, sizeof(created));
    /* Docker shows volume times with second precision. */
    char *dot = strchr(created, '.');
    if (dot != NULL)
        strcpy(dot, "Z");
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:n, s:s}", "CreatedAt", created, "Driver", "local",
                     "Labels", jsonx_from_labels(&v->labels), "Mountpoint", v->mountpoint, "Name",
                     v->name, "Options", "Scope", "local");
}

int
api_volume_create_decode(json_t *body, struct volume_create_req *out, struct err **err)
{
    memset(out, 0, sizeof(*out));
    if (jsonx_string(body, "Name", &out->name, err) < 0 ||
        jsonx_string(body, "Driver", &out->driver, err) < 0 ||
        jsonx_labels(body, "Labels", &out->labels, err) < 0 ||
        jsonx_labels(body, "DriverOpts", &out->opts, err) < 0)
        return -1;
    const char *name = out->name ? out->name : "";
    if (out->driver != NULL && *out->driver != '\0' && strcmp(out->driver, "local") != 0)
        return err_make(err, ERR_NOT_FOUND, 0,
                        "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
                        name, out->driver, out->driver);
    if (out->opts.n > 0)
        return err_make(err, ERR_UNSUPPORTED, 0,
                        "create %s: local volume options (%s=...) are not supported yet: volumes "
                        "are plain directories",
                        name, out->opts.keys[0]);
    return 0;
}

void
volume_create_req_fini(struct volume_create_req *r)
{
    free(r->name);
    free(r->driver);
    labels_fini(&r->labels);
    labels_fini(&r->opts);
    memset(r, 0, sizeof(*r));
}

struct http_response *
api_volume_create(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    json_t *body = api_body_object(req, &err);
    if (body == NULL)
        return api_error_response(&err);
    struct volume_create_req vr;
    int rc = api_volume_create_decode(body, &vr, &err);
    json_decref(body);
    json_t *out = NULL;
    if (rc == 0) {
        bool created;
        engine_lock(api->eng);
        struct volume *v = volume_create(api->eng, vr.name && *vr.name ? vr.name : NULL, &vr.labels,
                                         &created, &err);
        out = v ? volume_json(v) : NULL;
        engine_unlock(api->eng);
    }
    volume_create_req_fini(&vr);
    return out ? http_response_json(201, out) : api_error_response(&err);
}

struct http_response *
api_volume_inspect(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    engine_lock(api->eng);
    struct volume *v = volume_find(api->eng, http_param(req, "name"), &err);
    json_t *out = v ? volume_json(v) : NULL;
    engine_unlock(api->eng);
    return out ? http_response_json(200, out) : api_error_response(&err);
}

struct http_response *
api_volume_remove(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    bool force = false;
    if (http_query_bool(req, "force", false, &force, &err) < 0)
        return api_error_response(&err);
    engine_lock(api->eng);
    struct volume *v = volume_find(api->eng, http_param(req, "name"), &err);
    int rc = v ? volume_remove(api->eng, v, &err) : -1;
    engine_unlock(api->eng);
    if (rc < 0 && force && err_kind_of(&err) == ERR_NOT_FOUND) {
        err_clear(&err); /* force: a missing volume is not an error */
        rc = 0;
    }
    return rc == 0 ? http_response_data(204, NULL, NULL, 0) : api_error_response(&err);
}

static bool
volume_matches(struct engine *eng, const struct volume *v, const struct filters *f)
{
    const struct filter_key *d = filters_find(f, "dangling");
    if (d != NULL && d->n_values > 0) {
        bool want = strcmp(d->values[0], "true") == 0 || strcmp(d->values[0], "1") == 0;
        char **users = volume_users(eng, v);
        bool dangling = users[0] == NULL;
        strv_free(users);
        if (dangling != want)
            return false;
    }
    const struct filter_key *nk = filters_find(f, "name");
    bool name_ok = nk == NULL;
    for (size_t i = 0; nk != NULL && i < nk->n_values && !name_ok; i++)
        name_ok = strstr(v->name, nk->values[i]) != NULL;
    return name_ok && filters_exact_match(f, "driver", "local") &&
           filters_match_labels(f, "label", (const char *const *)v->labels.keys,
                                (const char *const *)v->labels.values, v->labels.n);
}

struct http_response *
api_volume_list(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    static const char *const keys[] = {"dangling", "driver", "label", "name", NULL};
    struct filters *f = api_query_filters(req, keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    json_t *vols = json_array();
    engine_lock(api->eng);
    size_t it = 0;
    void *v;
    while (map_next(&api->eng->volumes, &it, NULL, &v))
        if (volume_matches(api->eng, v, f))
            json_array_append_new(vols, volume_json(v));
    engine_unlock(api->eng);
    filters_free(f);
    return http_response_json(200, json_pack("{s:o, s:[]}", "Volumes", vols, "Warnings"));
}

struct http_response *
api_volume_prune(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    static const char *const keys[] = {"all", "label", NULL};
    struct filters *f = api_query_filters(req, keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    /* API >= 1.42 prunes anonymous volumes only unless all=true (compat-notes 21). */
    const struct filter_key *all = filters_find(f, "all");
    bool only_anonymous =
        api_version_cmp(req->version, (struct api_version){1, 42}) >= 0 &&
        !(all && all->n_values > 0 &&
          (strcmp(all->values[0], "true") == 0 || strcmp(all->values[0], "1") == 0));
    json_t *deleted = json_array();
    engine_lock(api->eng);
    size_t it = 0;
    void *p;
    char **names = xcalloc(1, sizeof(char *));
    while (map_next(&api->eng->volumes, &it, NULL, &p)) {
        struct volume *v = p;
        char **users = volume_users(api->eng, v);
        bool unused = users[0] == NULL;
        strv_free(users);
        if (unused && (!only_anonymous || v->anonymous) &&
            filters_match_labels(f, "label", (const char *const *)v->labels.keys,
                                 (const char *const *)v->labels.values, v->labels.n))
            names = strv_append(names, v->name);
    }
    for (size_t i = 0; names[i] != NULL; i++) {
        struct volume *v = map_get(&api->eng->volumes, names[i]);
        if (v != NULL && volume_remove(api->eng, v, NULL) == 0)
            json_array_append_new(deleted, json_string(names[i]));
    }
    engine_unlock(api->eng);
    strv_free(names);
    filters_free(f);
    return http_response_json(
        200, json_pack("{s:o, s:i}", "VolumesDeleted", deleted, "SpaceReclaimed", 0));
}
