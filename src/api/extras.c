/* top, stats, prunes, image history and /system/df. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/filters_json.h"
#include "api/jsonx.h"
#include "backend/backend.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "engine/volume.h"
#include "image/reference.h"
#include "image/tarfs.h"
#include "api/container_doc.h"

struct http_response *
api_container_top(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    pthread_mutex_lock(&api->eng->lock);
    struct container *c = store_find_container(&api->eng->store, http_param(req, "id"), &err);
    json_t *out = NULL;
    if (c != NULL && !container_is_running(c)) {
        err_make(&err, ERR_CONFLICT, 0, "Container %s is not running", c->id);
    } else if (c != NULL) {
        /* The synthetic driver has no process table: its one "process" is the command
         * (docs/drivers.md). A real driver runs ps in the container's pid namespace. */
        size_t len = strlen(c->path) + 1;
        for (size_t i = 0; c->args[i] != NULL; i++)
            len += strlen(c->args[i]) + 1;
        char *cmd = xcalloc(1, len);
        strcat(cmd, c->path);
        for (size_t i = 0; c->args[i] != NULL; i++) {
            strcat(cmd, " ");
            strcat(cmd, c->args[i]);
        }
        char pid[16], stime[8];
        snprintf(pid, sizeof(pid), "%d", c->state.pid);
        time_t t = (time_t)(c->state.started_ns / 1000000000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(stime, sizeof(stime), "%H:%M", &tm);
        out = json_pack("{s:[s,s,s,s,s,s,s,s], s:[[s,s,s,s,s,s,s,s]]}", "Titles", "UID", "PID",
                        "PPID", "C", "STIME", "TTY", "TIME", "CMD", "Processes",
                        c->spec.user && *c->spec.user ? c->spec.user : "root", pid, "0", "0", stime,
                        "?", "00:00:00", cmd);
        free(cmd);
    }
    pthread_mutex_unlock(&api->eng->lock);
    return out ? http_response_json(200, out) : api_error_response(&err);
}

static json_t *
cpu_stats(int ncpu)
{
    return json_pack("{s:{s:i, s:[], s:i, s:i}, s:i, s:i, s:{s:i, s:i, s:i}}", "cpu_usage",
                     "total_usage", 0, "percpu_usage", "usage_in_kernelmode", 0,
                     "usage_in_usermode", 0, "system_cpu_usage", 0, "online_cpus", ncpu,
                     "throttling_data", "periods", 0, "throttled_periods", 0, "throttled_time", 0);
}

/* The synthetic driver's stats: Docker's shape, every counter zero (the seed's answer). */
static char *
stats_line(struct api *api, const char *id, const char *name, bool running, int64_t prev_ns)
{
    int64_t now = time_now_ns();
    json_t *o = json_pack(
        "{s:o, s:o, s:{s:i}, s:{s:[], s:[], s:[], s:[], s:[], s:[], s:[], s:[]}, s:i, s:{},"
        " s:o, s:o, s:{s:i, s:I, s:{}}, s:s, s:s}",
        "read", jsonx_time(running ? now : 0), "preread", jsonx_time(running ? prev_ns : 0),
        "pids_stats", "current", 0, "blkio_stats", "io_service_bytes_recursive",
        "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
        "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive",
        "num_procs", 0, "storage_stats", "cpu_stats", cpu_stats(api->eng->host.ncpu),
        "precpu_stats", cpu_stats(api->eng->host.ncpu), "memory_stats", "usage", 0, "limit",
        (json_int_t)api->eng->host.mem_total, "stats", "name", name, "id", id);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *line = xasprintf("%s\n", text);
    free(text);
    return line;
}

struct stats_stream {
    struct api *api;
    struct container *c;
    bool stream, done;
    int64_t prev_ns;
    char *pending;
    size_t len, off;
};

static void
stats_free(void *p)
{
    struct stats_stream *s = p;
    container_unref(s->c);
    free(s->pending);
    free(s);
}

static ssize_t
stats_produce(struct http_stream *hs, void *ctx, char *buf, size_t max)
{
    struct stats_stream *s = ctx;
    if (s->pending == NULL) {
        if (s->done)
            return HTTP_STREAM_END;
        if (s->prev_ns != 0) {
            ssize_t end = http_stream_await(hs, -1, 1000); /* one sample a second, as dockerd */
            if (end != 0)
                return end;
        }
        pthread_mutex_lock(&s->api->eng->lock);
        bool running = container_is_running(s->c) && !s->c->removed;
        pthread_mutex_unlock(&s->api->eng->lock);
        s->pending = stats_line(s->api, s->c->id, s->c->name, running, s->prev_ns);
        s->len = strlen(s->pending);
        s->off = 0;
        s->prev_ns = time_now_ns();
        s->done = !s->stream || !running;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->pending + s->off, n);
    s->off += n;
    if (s->off == s->len) {
        free(s->pending);
        s->pending = NULL;
    }
    return (ssize_t)n;
}

struct http_response *
api_container_stats(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    bool stream = true, one_shot = false;
    if (http_query_bool(req, "stream", true, &stream, &err) < 0 ||
        http_query_bool(req, "one-shot", false, &one_shot, &err) < 0)
        return api_error_response(&err);
    struct container *c = engine_container_get(api->eng, http_param(req, "id"), &err);
    if (c == NULL)
        return api_error_response(&err);
    struct stats_stream *s = xcalloc(1, sizeof(*s));
    s->api = api;
    s->c = c;
    s->stream = stream && !one_shot;
    return http_response_stream(200, "application/json", stats_produce, s, stats_free);
}

struct http_response *
api_container_prune(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    static const char *const keys[] = {"label", "label!", "until", NULL};
    struct filters *f = api_query_filters(req, keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    int64_t until;
    if (api_filter_until(f, &until, &err) < 0) {
        filters_free(f);
        return api_error_response(&err);
    }
    char **ids = xcalloc(1, sizeof(char *));
    pthread_mutex_lock(&api->eng->lock);
    size_t n;
    struct container **list = store_list_containers(&api->eng->store, &n);
    for (size_t i = 0; i < n; i++) {
        const struct container *c = list[i];
        if (!container_is_running(c) && c->created_ns < until &&
            api_prune_labels_match(f, &c->spec.labels))
            ids = strv_append(ids, c->id);
    }
    pthread_mutex_unlock(&api->eng->lock);
    free(list);
    filters_free(f);
    json_t *deleted = json_array();
    for (size_t i = 0; ids[i] != NULL; i++)
        if (engine_container_remove(api->eng, ids[i], false, false, NULL) == 0)
            json_array_append_new(deleted, json_string(ids[i]));
    strv_free(ids);
    return http_response_json(
        200, json_pack("{s:o, s:i}", "ContainersDeleted", deleted, "SpaceReclaimed", 0));
}

struct http_response *
api_image_prune(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    static const char *const keys[] = {"dangling", "label", "label!", "until", NULL};
    struct filters *f = api_query_filters(req, keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    int64_t until;
    if (api_filter_until(f, &until, &err) < 0) {
        filters_free(f);
        return api_error_response(&err);
    }
    /* dangling images only, unless dangling=false: then every image no container uses. */
    const struct filter_key *d = filters_find(f, "dangling");
    bool all = d != NULL && d->n_values > 0 &&
               (strcmp(d->values[0], "false") == 0 || strcmp(d->values[0], "0") == 0);
    char **ids = xcalloc(1, sizeof(char *));
    json_int_t reclaimed = 0;
    pthread_mutex_lock(&api->eng->lock);
    size_t n;
    struct image **list = store_list_images(&api->eng->store, &n);
    for (size_t i = 0; i < n; i++) {
        const struct image *img = list[i];
        if ((all || img->tags[0] == NULL) && store_image_users(&api->eng->store, img) == 0 &&
            img->created_ns < until && api_prune_labels_match(f, &img->config.labels)) {
            ids = strv_append(ids, img->id);
            reclaimed += img->size;
        }
    }
    pthread_mutex_unlock(&api->eng->lock);
    free(list);
    filters_free(f);
    json_t *deleted = json_array();
    for (size_t i = 0; ids[i] != NULL; i++) {
        struct image_removal *rm;
        size_t k;
        if (engine_image_remove(api->eng, ids[i], true, &rm, &k, NULL) < 0)
            continue;
        for (size_t j = 0; j < k; j++) {
            if (rm[j].untagged)
                json_array_append_new(deleted, json_pack("{s:s}", "Untagged", rm[j].untagged));
            if (rm[j].deleted)
                json_array_append_new(deleted, json_pack("{s:s}", "Deleted", rm[j].deleted));
        }
        image_removals_free(rm, k);
    }
    strv_free(ids);
    return http_response_json(
        200, json_pack("{s:o, s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", reclaimed));
}

struct http_response *
api_image_history(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    struct image *img = engine_image_get(api->eng, http_param(req, "name"), &err);
    if (img == NULL)
        return api_error_response(&err);
    json_t *out = json_array();
    /* Newest first; the newest entry carries the image's ID and tags, the others "<missing>". */
    for (size_t k = img->n_history; k-- > 0;) {
        const struct image_history *h = &img->history[k];
        bool top = k + 1 == img->n_history;
        json_array_append_new(
            out, json_pack("{s:s, s:I, s:s, s:o, s:I, s:s}", "Id", top ? img->id : "<missing>",
                           "Created", (json_int_t)(h->created_ns / 1000000000), "CreatedBy",
                           h->created_by ? h->created_by : "", "Tags",
                           top ? api_image_repo_tags(img) : json_null(), "Size",
                           (json_int_t)h->size, "Comment", h->comment ? h->comment : ""));
    }
    if (img->n_history == 0) /* a synthetic pull has no history: the image itself */
        json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:o, s:I, s:s}", "Id", img->id,
                                             "Created", (json_int_t)(img->created_ns / 1000000000),
                                             "CreatedBy", "", "Tags", api_image_repo_tags(img),
                                             "Size", (json_int_t)img->size, "Comment", ""));
    image_unref(img);
    return http_response_json(200, out);
}

struct http_response *
api_system_df(struct http_request *req, void *app)
{
    (void)req;
    struct api *api = app;
    json_t *images = json_array(), *containers = json_array(), *volumes = json_array();
    json_int_t layers = 0;
    pthread_mutex_lock(&api->eng->lock);
    size_t n;
    struct image **il = store_list_images(&api->eng->store, &n);
    for (size_t i = 0; i < n; i++) {
        const struct image *img = il[i];
        layers += img->size;
        json_array_append_new(
            images, json_pack("{s:i, s:I, s:s, s:o, s:s, s:[], s:o, s:I, s:I, s:I}", "Containers",
                              (int)store_image_users(&api->eng->store, img), "Created",
                              (json_int_t)(img->created_ns / 1000000000), "Id", img->id, "Labels",
                              jsonx_from_labels(&img->config.labels), "ParentId", "", "RepoDigests",
                              "RepoTags", api_image_repo_tags(img), "SharedSize", (json_int_t)0,
                              "Size", (json_int_t)img->size, "VirtualSize", (json_int_t)img->size));
    }
    free(il);
    struct container **cl = store_list_containers(&api->eng->store, &n);
    for (size_t i = 0; i < n; i++) {
        const struct container *c = cl[i];
        json_array_append_new(
            containers,
            json_pack("{s:s, s:[s], s:s, s:s, s:I, s:s, s:I, s:I, s:o}", "Id", c->id, "Names",
                      c->name, "Image", c->spec.image, "ImageID", c->image_id, "Created",
                      (json_int_t)(c->created_ns / 1000000000), "State",
                      container_status_name(c->state.status), "SizeRw", (json_int_t)0, "SizeRootFs",
                      (json_int_t)0, "Labels", jsonx_from_labels(&c->spec.labels)));
    }
    free(cl);
    size_t it = 0;
    void *v;
    while (map_next(&api->eng->volumes, &it, NULL, &v)) {
        const struct volume *vol = v;
        char **users = volume_users(api->eng, vol);
        json_array_append_new(volumes,
                              json_pack("{s:s, s:s, s:s, s:o, s:{s:i, s:i}}", "Name", vol->name,
                                        "Driver", "local", "Mountpoint", vol->mountpoint, "Labels",
                                        jsonx_from_labels(&vol->labels), "UsageData", "RefCount",
                                        (int)strv_len(users), "Size", -1));
        strv_free(users);
    }
    pthread_mutex_unlock(&api->eng->lock);
    return http_response_json(200, json_pack("{s:I, s:o, s:o, s:o, s:[]}", "LayersSize", layers,
                                             "Images", images, "Containers", containers, "Volumes",
                                             volumes, "BuildCache"));
}

struct http_response *
api_container_changes(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    char id[ID_LEN + 1];
    char *root = engine_container_root(api->eng, http_param(req, "id"), id, &err);
    if (root == NULL)
        return api_error_response(&err);
    /* The synthetic driver's filesystem starts empty: everything in it was added (Kind 1).
     * dockerd answers null when nothing changed. */
    char **paths = tarfs_list(root, &err);
    free(root);
    if (paths == NULL)
        return api_error_response(&err);
    json_t *out = paths[0] ? json_array() : json_null();
    for (size_t i = 0; paths[i] != NULL; i++)
        json_array_append_new(out, json_pack("{s:s, s:i}", "Path", paths[i], "Kind", 1));
    strv_free(paths);
    return http_response_json(200, out);
}

struct http_response *
api_container_export(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    char id[ID_LEN + 1];
    char *root = engine_container_root(api->eng, http_param(req, "id"), id, &err);
    if (root == NULL)
        return api_error_response(&err);
    struct buf out;
    buf_init(&out, 256 * 1024 * 1024);
    int rc = tarfs_create(root, "/.", &out, &err);
    free(root);
    if (rc < 0) {
        buf_fini(&out);
        return api_error_response(&err);
    }
    struct http_response *r =
        http_response_data(200, "application/x-tar", out.data ? out.data : "", out.len);
    buf_fini(&out);
    return r;
}

struct http_response *
api_container_update(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    json_t *body = api_body_object(req, &err);
    if (body == NULL)
        return api_error_response(&err);
    const char *id = http_param(req, "id");
    json_t *rp = json_object_get(body, "RestartPolicy");
    int rc = 0;
    if (rp != NULL && !json_is_null(rp)) {
        char *name = NULL;
        int64_t retries = 0;
        if (!json_is_object(rp) || jsonx_string(rp, "Name", &name, &err) < 0 ||
            jsonx_int(rp, "MaximumRetryCount", &retries, NULL, &err) < 0)
            rc = err ? -1 : err_make(&err, ERR_INVALID, 0, "json: cannot unmarshal RestartPolicy");
        else if (api_check_restart_policy(name ? name : "no", retries, &err) < 0)
            rc = -1;
        else
            rc = engine_container_set_restart(api->eng, id, name && *name ? name : "no",
                                              (int)retries, &err);
        free(name);
    } else {
        struct container *c = engine_container_get(api->eng, id, &err);
        rc = c ? 0 : -1;
        container_unref(c);
    }
    if (rc == 0) {
        /* Resource limits are recorded and shown by inspect; the synthetic driver has no
         * process to limit (a real driver applies them to the container's cgroup). */
        pthread_mutex_lock(&api->eng->lock);
        struct container *c = store_find_container(&api->eng->store, id, NULL);
        struct container_doc *doc = c ? c->api_doc : NULL;
        const char *k;
        json_t *v;
        if (doc != NULL)
            json_object_foreach(body, k, v)
            {
                if (!json_is_null(v))
                    json_object_set(doc->host_config, k, v);
            }
        pthread_mutex_unlock(&api->eng->lock);
    }
    json_decref(body);
    if (rc < 0)
        return api_error_response(&err);
    return http_response_json(200, json_pack("{s:[]}", "Warnings"));
}
