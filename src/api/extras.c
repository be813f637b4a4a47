/* top, stats, prunes, image history and /system/df. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/filters_json.h"
#include "api/jsonx.h"
#include "backend/backend.h"
#include "base/strv.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "driver/procinfo.h"
#include "driver/rootfs.h"
#include "engine/engine.h"
#include "engine/volume.h"
#include "image/reference.h"
#include "image/tarfs.h"
#include "api/container_doc.h"

/* The driver answers top and stats; these handlers only check the container and turn the
 * results into Docker's JSON. The driver is called without the engine lock, on a reference. */

struct http_response *
api_container_top(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    const char *ps_args = http_query(req, "ps_args");
    /* dockerd checks the arguments before it looks the container up (daemon/top_unix.go). */
    if (procinfo_check_ps_args(ps_args && *ps_args ? ps_args : "-ef", &err) < 0)
        return api_error_response(&err);
    struct container *c = engine_container_get(api->eng, http_param(req, "id"), &err);
    if (c == NULL)
        return api_error_response(&err);
    engine_lock(api->eng);
    bool running = container_is_running(c) && !c->removed;
    bool restarting = c->state.status == CONTAINER_RESTARTING;
    engine_unlock(api->eng);
    struct proc_top t = {0};
    int rc = -1;
    if (!running)
        err_make(&err, ERR_CONFLICT, 0, "Container %s is not running", c->id);
    else if (restarting)
        err_make(&err, ERR_CONFLICT, 0,
                 "Container %s is restarting, wait until the container is running", c->id);
    else if (c->driver->top == NULL)
        err_make(&err, ERR_UNSUPPORTED, 0, "top is not supported by the %s driver",
                 c->driver->name);
    else
        rc = c->driver->top(api->eng, c, ps_args, &t, &err);
    container_unref(c);
    if (rc < 0)
        return api_error_response(&err);
    /* Docker's ContainerTopOKBody: Processes (null when no row), then Titles. */
    json_t *procs = t.n_rows > 0 ? json_array() : json_null();
    for (size_t i = 0; i < t.n_rows; i++)
        json_array_append_new(procs, strv_json(t.rows[i]));
    json_t *out = json_pack("{s:o, s:o}", "Processes", procs, "Titles", strv_json(t.titles));
    proc_top_fini(&t);
    return http_response_json(200, out);
}

/* Counters are unsigned in Go; JSON integers here are int64 (only absurd values differ). */
static json_t *
u64(uint64_t v)
{
    return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Sets key to v unless Docker would omit it (omitempty on a zero value). */
static void
set_u64(json_t *o, const char *key, uint64_t v, bool keep_zero)
{
    if (v != 0 || keep_zero)
        json_object_set_new(o, key, u64(v));
}

/*
 * cpu_stats for s, or Docker's empty CPUStats when s is NULL. A cgroup sample follows Docker's
 * omitempty (percpu_usage, system_cpu_usage and online_cpus only when not zero); the synthetic
 * driver's zero sample (cgroup_version 0) keeps the seed's shape, with every key.
 */
static json_t *
stats_cpu_json(const struct proc_stats *s)
{
    static const struct proc_stats none;
    bool seed = s != NULL && s->cgroup_version == 0;
    if (s == NULL)
        s = &none;
    json_t *usage = json_object();
    json_object_set_new(usage, "total_usage", u64(s->cpu_total_ns));
    if (s->n_percpu > 0 || seed) {
        json_t *percpu = json_array();
        for (size_t i = 0; i < s->n_percpu; i++)
            json_array_append_new(percpu, u64(s->percpu_ns[i]));
        json_object_set_new(usage, "percpu_usage", percpu);
    }
    json_object_set_new(usage, "usage_in_kernelmode", u64(s->cpu_kernel_ns));
    json_object_set_new(usage, "usage_in_usermode", u64(s->cpu_user_ns));
    json_t *cpu = json_object();
    json_object_set_new(cpu, "cpu_usage", usage);
    set_u64(cpu, "system_cpu_usage", s->system_cpu_ns, seed);
    set_u64(cpu, "online_cpus", s->online_cpus, seed);
    json_object_set_new(cpu, "throttling_data",
                        json_pack("{s:o, s:o, s:o}", "periods", u64(s->throttle_periods),
                                  "throttled_periods", u64(s->throttled_periods), "throttled_time",
                                  u64(s->throttled_ns)));
    return cpu;
}

/* blkio_stats: v1 and the seed have a list for every key; v2 has io_service_bytes_recursive
 * only (null when empty); an empty sample has null everywhere. */
static json_t *
stats_blkio_json(const struct proc_stats *s)
{
    static const char *const keys[] = {
        "io_service_bytes_recursive", "io_serviced_recursive",  "io_queue_recursive",
        "io_service_time_recursive",  "io_wait_time_recursive", "io_merged_recursive",
        "io_time_recursive",          "sectors_recursive",      NULL};
    bool lists = s != NULL && s->cgroup_version != 2;
    json_t *o = json_object();
    for (size_t k = 0; keys[k] != NULL; k++) {
        json_t *v = lists ? json_array() : json_null();
        if (k == 0 && s != NULL && s->n_blkio > 0) {
            json_decref(v);
            v = json_array();
            for (size_t i = 0; i < s->n_blkio; i++) {
                const struct proc_blkio_entry *e = &s->blkio[i];
                json_array_append_new(v, json_pack("{s:o, s:o, s:s, s:o}", "major", u64(e->major),
                                                   "minor", u64(e->minor), "op", e->op, "value",
                                                   u64(e->value)));
            }
        }
        json_object_set_new(o, keys[k], v);
    }
    return o;
}

static int
cmp_key_index(const void *a, const void *b, void *keys)
{
    char **k = keys;
    return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

/* memory_stats in Docker's field order, its map sorted by key as Go writes maps. */
static json_t *
stats_memory_json(const struct proc_stats *s)
{
    json_t *o = json_object();
    if (s == NULL)
        return o;
    bool seed = s->cgroup_version == 0;
    set_u64(o, "usage", s->mem_usage, seed);
    if (s->cgroup_version == 1)
        set_u64(o, "max_usage", s->mem_max_usage, false);
    if (s->mem_stats.n > 0 || seed) {
        size_t *order = xcalloc(s->mem_stats.n + 1, sizeof(size_t));
        for (size_t i = 0; i < s->mem_stats.n; i++)
            order[i] = i;
        qsort_r(order, s->mem_stats.n, sizeof(size_t), cmp_key_index, s->mem_stats.keys);
        json_t *stats = json_object();
        for (size_t i = 0; i < s->mem_stats.n; i++)
            json_object_set_new(stats, s->mem_stats.keys[order[i]],
                                u64(s->mem_stats.values[order[i]]));
        free(order);
        json_object_set_new(o, "stats", stats);
    }
    set_u64(o, "failcnt", s->mem_failcnt, false);
    set_u64(o, "limit", s->mem_limit, seed);
    return o;
}

/* One stats object as dockerd writes it (api/types/stats.go, StatsJSON); cur NULL: the empty
 * sample dockerd sends for a container that does not run. prev: the sample before (precpu). */
static json_t *
stats_json(const struct container *c, const struct proc_stats *cur, int64_t read_ns,
           const struct proc_stats *prev, int64_t preread_ns)
{
    json_t *pids = json_object();
    if (cur != NULL) {
        set_u64(pids, "current", cur->pids_current, cur->cgroup_version == 0);
        set_u64(pids, "limit", cur->pids_limit, false);
    }
    /* networks is left out: the container shares the host's network. */
    return json_pack("{s:o, s:o, s:o, s:o, s:i, s:{}, s:o, s:o, s:o, s:s, s:s}", "read",
                     jsonx_time(read_ns), "preread", jsonx_time(preread_ns), "pids_stats", pids,
                     "blkio_stats", stats_blkio_json(cur), "num_procs", 0, "storage_stats",
                     "cpu_stats", stats_cpu_json(cur), "precpu_stats", stats_cpu_json(prev),
                     "memory_stats", stats_memory_json(cur), "name", c->name, "id", c->id);
}

struct stats_stream {
    struct api *api;
    struct container *c;
    bool stream, one_shot, done;
    unsigned frames;
    struct proc_stats prev; /* the last sample, for precpu_stats */
    bool has_prev;
    int64_t prev_read_ns;
    char *pending;
    size_t len, off;
};

static void
stats_free(void *p)
{
    struct stats_stream *s = p;
    container_unref(s->c);
    proc_stats_fini(&s->prev);
    free(s->pending);
    free(s);
}

/* One sample from the driver; false when the container does not run (or its counters cannot
 * be read): dockerd then sends its empty sample. *removed: the stream must end. */
static bool
stats_sample(struct stats_stream *s, struct proc_stats *cur, int64_t *read_ns, bool *removed)
{
    struct engine *eng = s->api->eng;
    engine_lock(eng);
    bool running = container_is_running(s->c) && !s->c->removed;
    *removed = s->c->removed;
    engine_unlock(eng);
    memset(cur, 0, sizeof(*cur));
    *read_ns = 0;
    if (*removed || s->c->driver->stats == NULL)
        return false;
    struct err *err = NULL;
    if (s->c->driver->stats(eng, s->c, cur, &err) < 0) {
        if (err_kind_of(&err) != ERR_CONFLICT)
            LOG_DEBUG("stats of %.12s: %s", s->c->id, err->msg);
        err_clear(&err);
        return false;
    }
    *read_ns = running ? time_now_ns() : 0;
    return true;
}

/* The next line of the stream: a sample a second (dockerd's collector interval). Without
 * stream (and without one-shot) dockerd waits for a second sample, so precpu_stats is real
 * and the CLI can show a CPU percentage. */
static ssize_t
stats_next(struct http_stream *hs, struct stats_stream *s)
{
    struct proc_stats cur;
    int64_t read_ns;
    bool removed, have;
    for (;;) {
        if (s->frames > 0 || s->has_prev) {
            ssize_t end = http_stream_await(hs, -1, 1000);
            if (end != 0)
                return end;
        }
        have = stats_sample(s, &cur, &read_ns, &removed);
        if (removed && s->frames > 0)
            return HTTP_STREAM_END;
        bool prime = !s->stream && !s->one_shot && s->frames == 0 && !s->has_prev && have &&
                     cur.cgroup_version != 0; /* the seed's zero counters need no second look */
        if (!prime)
            break;
        s->prev = cur;
        s->has_prev = true;
        s->prev_read_ns = read_ns;
    }
    /* The synthetic driver's counters never change: its previous sample is itself (the seed
     * answered cpu_stats twice). */
    const struct proc_stats *prev = s->has_prev ? &s->prev : NULL;
    if (prev == NULL && have && cur.cgroup_version == 0)
        prev = &cur;
    json_t *o = stats_json(s->c, have ? &cur : NULL, read_ns, prev, s->prev_read_ns);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    s->pending = xasprintf("%s\n", text);
    free(text);
    s->len = strlen(s->pending);
    s->off = 0;
    proc_stats_fini(&s->prev);
    s->prev = cur;
    s->has_prev = have;
    s->prev_read_ns = read_ns;
    s->frames++;
    s->done = !s->stream || removed;
    return 0;
}

static ssize_t
stats_produce(struct http_stream *hs, void *ctx, char *buf, size_t max)
{
    struct stats_stream *s = ctx;
    if (s->pending == NULL) {
        if (s->done)
            return HTTP_STREAM_END;
        ssize_t rc = stats_next(hs, s);
        if (rc != 0)
            return rc;
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
    if (http_query_bool(req, "stream", true, &stream, &err) < 0)
        return api_error_response(&err);
    /* one-shot exists from API 1.41 on; older clients' is ignored, as dockerd does. */
    if (api_version_cmp(req->version, (struct api_version){1, 41}) >= 0 &&
        http_query_bool(req, "one-shot", false, &one_shot, &err) < 0)
        return api_error_response(&err);
    struct container *c = engine_container_get(api->eng, http_param(req, "id"), &err);
    if (c == NULL)
        return api_error_response(&err);
    if (stream && one_shot) {
        container_unref(c);
        err_make(&err, ERR_INVALID, 0, "cannot have stream=true and one-shot=true");
        return api_error_response(&err);
    }
    struct stats_stream *s = xcalloc(1, sizeof(*s));
    s->api = api;
    s->c = c;
    s->stream = stream;
    s->one_shot = one_shot;
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
    engine_lock(api->eng);
    size_t n;
    struct container **list = store_list_containers(&api->eng->store, &n);
    for (size_t i = 0; i < n; i++) {
        const struct container *c = list[i];
        if (!container_is_running(c) && c->created_ns < until &&
            api_prune_labels_match(f, &c->spec.labels))
            ids = strv_append(ids, c->id);
    }
    engine_unlock(api->eng);
    free(list);
    filters_free(f);
    json_t *deleted = json_array();
    for (size_t i = 0; ids[i] != NULL; i++)
        if (engine_container_remove(api->eng, ids[i], false, false, NULL) == 0)
            json_array_append_new(deleted, json_string(ids[i]));
    strv_free(ids);
    /* glibc keeps what the removed containers freed in its arenas: give it back. */
    if (json_array_size(deleted) > 0)
        malloc_trim(0);
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
    engine_lock(api->eng);
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
    engine_unlock(api->eng);
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
    engine_lock(api->eng);
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
    engine_unlock(api->eng);
    return http_response_json(200, json_pack("{s:I, s:o, s:o, s:o, s:[]}", "LayersSize", layers,
                                             "Images", images, "Containers", containers, "Volumes",
                                             volumes, "BuildCache"));
}

struct http_response *
api_container_changes(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    struct container *c = engine_container_get(api->eng, http_param(req, "id"), &err);
    if (c == NULL)
        return api_error_response(&err);
    struct rootfs_change *ch = NULL;
    size_t n = 0;
    int rc = c->driver->changes != NULL
                 ? c->driver->changes(api->eng, c, &ch, &n, &err)
                 : err_make(&err, ERR_UNSUPPORTED, 0, "the %s driver has no filesystem",
                            c->driver->name);
    container_unref(c);
    if (rc < 0)
        return api_error_response(&err);
    /* dockerd answers null when nothing changed. */
    json_t *out = n > 0 ? json_array() : json_null();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out,
                              json_pack("{s:s, s:i}", "Path", ch[i].path, "Kind", (int)ch[i].kind));
    rootfs_changes_free(ch, n);
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
    int fd = api_tmpfile(api, &err);
    int rc = fd < 0 ? -1 : tarfs_export(root, fd, &err);
    free(root);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        return api_error_response(&err);
    }
    return api_file_response(fd, "application/x-tar");
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
        engine_lock(api->eng);
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
        engine_unlock(api->eng);
    }
    json_decref(body);
    if (rc < 0)
        return api_error_response(&err);
    return http_response_json(200, json_pack("{s:[]}", "Warnings"));
}
