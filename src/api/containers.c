/* Container endpoints: inspect, list, and the lifecycle actions. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/container_doc.h"
#include "api/filters_json.h"
#include "api/jsonx.h"
#include "backend/backend.h"
#include "base/buf.h"
#include "base/signals.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"
#include "image/reference.h"

/* Go's units.HumanDuration thresholds, which the CLI shows in `docker ps`. */
static void
human_duration(int64_t ns, char *out, size_t size)
{
    int64_t s = ns / 1000000000;
    int64_t minutes = s / 60;
    int64_t hours = (s + 1800) / 3600;
    if (s < 1)
        snprintf(out, size, "Less than a second");
    else if (s == 1)
        snprintf(out, size, "1 second");
    else if (s < 60)
        snprintf(out, size, "%lld seconds", (long long)s);
    else if (minutes == 1)
        snprintf(out, size, "About a minute");
    else if (minutes < 60)
        snprintf(out, size, "%lld minutes", (long long)minutes);
    else if (hours == 1)
        snprintf(out, size, "About an hour");
    else if (hours < 48)
        snprintf(out, size, "%lld hours", (long long)hours);
    else if (hours < 24 * 7 * 2)
        snprintf(out, size, "%lld days", (long long)(hours / 24));
    else if (hours < 24 * 30 * 2)
        snprintf(out, size, "%lld weeks", (long long)(hours / 24 / 7));
    else if (hours < 24 * 365 * 2)
        snprintf(out, size, "%lld months", (long long)(hours / 24 / 30));
    else
        snprintf(out, size, "%lld years", (long long)(s / 3600 / 24 / 365));
}

static void
status_text(const struct container *c, int64_t now, char *out, size_t size)
{
    char d[64];
    switch (c->state.status) {
    case CONTAINER_CREATED:
        snprintf(out, size, "Created");
        break;
    case CONTAINER_RUNNING:
    case CONTAINER_PAUSED:
        human_duration(now - c->state.started_ns, d, sizeof(d));
        snprintf(out, size, "Up %s%s", d,
                 c->state.status == CONTAINER_PAUSED          ? " (Paused)"
                 : c->state.health.status == HEALTH_STARTING  ? " (health: starting)"
                 : c->state.health.status == HEALTH_HEALTHY   ? " (healthy)"
                 : c->state.health.status == HEALTH_UNHEALTHY ? " (unhealthy)"
                                                              : "");
        break;
    case CONTAINER_RESTARTING:
        human_duration(now - c->state.finished_ns, d, sizeof(d));
        snprintf(out, size, "Restarting (%d) %s ago", c->state.exit_code, d);
        break;
    case CONTAINER_REMOVING:
        snprintf(out, size, "Removal In Progress");
        break;
    case CONTAINER_EXITED:
        human_duration(now - c->state.finished_ns, d, sizeof(d));
        snprintf(out, size, "Exited (%d) %s ago", c->state.exit_code, d);
        break;
    case CONTAINER_DEAD:
        snprintf(out, size, "Dead");
        break;
    }
}

static json_t *
encode_health(const struct health_state *h)
{
    json_t *log = json_array();
    for (int i = 0; i < h->n_log; i++)
        json_array_append_new(log, json_pack("{s:o, s:o, s:i, s:s}", "Start",
                                             jsonx_time(h->log[i].start_ns), "End",
                                             jsonx_time(h->log[i].end_ns), "ExitCode",
                                             h->log[i].exit_code, "Output", h->log[i].output));
    return json_pack("{s:s, s:i, s:o}", "Status", health_status_name(h->status), "FailingStreak",
                     h->failing_streak, "Log", log);
}

static json_t *
encode_state(const struct container *c)
{
    const struct container_state *s = &c->state;
    json_t *o =
        json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:o, s:o}", "Status",
                  container_status_name(s->status), "Running", container_is_running(c), "Paused",
                  s->status == CONTAINER_PAUSED, "Restarting", s->status == CONTAINER_RESTARTING,
                  "OOMKilled", 0, "Dead", s->status == CONTAINER_DEAD, "Pid", s->pid, "ExitCode",
                  s->exit_code, "Error", s->error ? s->error : "", "StartedAt",
                  jsonx_time(s->started_ns), "FinishedAt", jsonx_time(s->finished_ns));
    if (s->health.status != HEALTH_NONE)
        json_object_set_new(o, "Health", encode_health(&s->health));
    return o;
}

static json_t *
encode_config(const struct container *c)
{
    const struct container_spec *s = &c->spec;
    const struct container_doc *doc = c->api_doc;
    /* Members the engine does not model come back as the client sent them. */
    /* A shallow copy: the members set below replace the copy's, never the stored tree's. */
    json_t *cfg = doc && doc->config ? json_copy(doc->config) : json_object();
    json_object_set_new(cfg, "Hostname", json_string(s->hostname ? s->hostname : ""));
    json_object_set_new(cfg, "Domainname", json_string(s->domainname ? s->domainname : ""));
    json_object_set_new(cfg, "User", json_string(s->user ? s->user : ""));
    json_object_set_new(cfg, "AttachStdin", json_boolean(s->attach_stdin));
    json_object_set_new(cfg, "AttachStdout", json_boolean(s->attach_stdout));
    json_object_set_new(cfg, "AttachStderr", json_boolean(s->attach_stderr));
    json_object_set_new(cfg, "Tty", json_boolean(s->tty));
    json_object_set_new(cfg, "OpenStdin", json_boolean(s->open_stdin));
    json_object_set_new(cfg, "StdinOnce", json_boolean(s->stdin_once));
    json_object_set_new(cfg, "Env", strv_json(s->env));
    json_object_set_new(cfg, "Cmd", strv_json_or_null(s->cmd));
    json_object_set_new(cfg, "Image", json_string(s->image));
    json_object_set_new(cfg, "WorkingDir", json_string(s->working_dir ? s->working_dir : ""));
    json_object_set_new(cfg, "Entrypoint", strv_json_or_null(s->entrypoint));
    json_object_set_new(cfg, "Labels", jsonx_from_labels(&s->labels));
    if (json_object_get(cfg, "Volumes") == NULL)
        json_object_set_new(cfg, "Volumes", json_null());
    if (json_object_get(cfg, "OnBuild") == NULL)
        json_object_set_new(cfg, "OnBuild", json_null());
    if (s->exposed_ports != NULL && s->exposed_ports[0] != NULL) {
        json_t *ports = json_object();
        for (size_t i = 0; s->exposed_ports[i] != NULL; i++)
            json_object_set_new(ports, s->exposed_ports[i], json_object());
        json_object_set_new(cfg, "ExposedPorts", ports);
    }
    if (s->stop_signal != NULL)
        json_object_set_new(cfg, "StopSignal", json_string(s->stop_signal));
    return cfg;
}

/* Inspect shape of the spec's ContainerInspectResponse. Lock held; the result shares the
 * container's stored trees, so it is encoded and freed before the lock is released. */
static json_t *
encode_inspect(struct api *api, const struct container *c)
{
    const struct container_doc *doc = c->api_doc;
    json_t *o = json_object();
    json_object_set_new(o, "Id", json_string(c->id));
    json_object_set_new(o, "Created", jsonx_time(c->created_ns));
    json_object_set_new(o, "Path", json_string(c->path));
    json_object_set_new(o, "Args", strv_json(c->args));
    json_object_set_new(o, "State", encode_state(c));
    json_object_set_new(o, "Image", json_string(c->image_id));
    struct driver_files files = {0};
    if (c->driver->files != NULL)
        c->driver->files(api->eng, c, &files);
    json_object_set_new(o, "ResolvConfPath",
                        json_string(files.resolv_conf ? files.resolv_conf : ""));
    json_object_set_new(o, "HostnamePath", json_string(files.hostname ? files.hostname : ""));
    json_object_set_new(o, "HostsPath", json_string(files.hosts ? files.hosts : ""));
    json_object_set_new(o, "LogPath", json_string(files.log ? files.log : ""));
    json_object_set_new(o, "Name", json_string(c->name));
    json_object_set_new(o, "RestartCount", json_integer(c->state.restart_count));
    json_object_set_new(o, "Driver", json_string(api->backend->storage_driver));
    json_object_set_new(o, "Platform", json_string("linux"));
    json_object_set_new(o, "MountLabel", json_string(""));
    json_object_set_new(o, "ProcessLabel", json_string(""));
    json_object_set_new(o, "AppArmorProfile", json_string(""));
    json_object_set_new(o, "ExecIDs", json_null());
    json_object_set_new(o, "HostConfig",
                        doc != NULL ? container_doc_host_config(doc) : json_object());
    json_t *graph = json_object();
    const char *const dirs[][2] = {{"LowerDir", files.lower},
                                   {"MergedDir", files.merged},
                                   {"UpperDir", files.upper},
                                   {"WorkDir", files.work}};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (dirs[i][1] != NULL)
            json_object_set_new(graph, dirs[i][0], json_string(dirs[i][1]));
    json_object_set_new(
        o, "GraphDriver",
        json_pack("{s:o, s:s}", "Data", graph, "Name", api->backend->storage_driver));
    driver_files_fini(&files);
    json_object_set_new(o, "Mounts", api_mounts_json(c));
    json_object_set_new(o, "Config", encode_config(c));
    json_object_set_new(o, "NetworkSettings", api_network_settings(c));
    return o;
}

/* Drops what doc kept for another generation of the engine's state. Lock held. */
static void
doc_revalidate(struct container_doc *doc, uint64_t gen)
{
    if (doc->gen == gen)
        return;
    http_shared_unref(doc->inspect);
    free(doc->list_head);
    free(doc->list_tail);
    doc->inspect = NULL;
    doc->list_head = doc->list_tail = NULL;
    doc->gen = gen;
}

/* c's inspect answer, its newline included (a new reference): the one kept with the container
 * while nothing changed, or encoded now and kept. NULL: it cannot be encoded. Lock held. */
static struct http_shared *
inspect_answer(struct api *api, const struct container *c)
{
    struct container_doc *doc = c->api_doc;
    if (doc != NULL) {
        doc_revalidate(doc, api->eng->gen);
        if (doc->inspect != NULL)
            return http_shared_ref(doc->inspect);
    }
    json_t *o = encode_inspect(api, c);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text == NULL)
        return NULL;
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    memcpy(text + len, "\n", 2);
    struct http_shared *s = http_shared_new(200, "application/json", text, len + 1);
    if (doc != NULL)
        doc->inspect = http_shared_ref(s);
    return s;
}

struct http_response *
api_container_inspect(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    engine_lock_read(api->eng);
    struct container *c = store_find_container(&api->eng->store, http_param(req, "id"), &err);
    struct http_shared *answer = c != NULL ? inspect_answer(api, c) : NULL;
    engine_unlock(api->eng);
    if (c == NULL)
        return api_error_response(&err);
    if (answer == NULL)
        return http_response_error(500, "failed to encode response");
    return http_response_take_shared(answer);
}

static const char *const list_filter_keys[] = {"ancestor", "before", "exited", "id",     "label",
                                               "name",     "since",  "status", "health", NULL};

static bool
image_matches(struct api *api, const struct container *c, const struct filters *f)
{
    const struct filter_key *k = filters_find(f, "ancestor");
    if (k == NULL)
        return true;
    for (size_t i = 0; i < k->n_values; i++) {
        struct image *img = store_find_image(&api->eng->store, k->values[i], NULL);
        if (img != NULL && strcmp(img->id, c->image_id) == 0)
            return true;
        if (c->spec.image && strcmp(c->spec.image, k->values[i]) == 0)
            return true;
    }
    return false;
}

static bool
name_matches(const struct container *c, const struct filters *f)
{
    const struct filter_key *k = filters_find(f, "name");
    if (k == NULL)
        return true;
    for (size_t i = 0; i < k->n_values; i++)
        if (strstr(c->name, k->values[i]) != NULL)
            return true;
    return false;
}

static bool
exited_matches(const struct container *c, const struct filters *f)
{
    const struct filter_key *k = filters_find(f, "exited");
    if (k == NULL)
        return true;
    if (c->state.status != CONTAINER_EXITED)
        return false;
    for (size_t i = 0; i < k->n_values; i++)
        if (atoi(k->values[i]) == c->state.exit_code)
            return true;
    return false;
}

static char *
list_command(const struct container *c)
{
    size_t len = strlen(c->path) + 1;
    for (size_t i = 0; c->args[i] != NULL; i++)
        len += strlen(c->args[i]) + 1;
    char *command = xmalloc(len);
    char *p = stpcpy(command, c->path);
    for (size_t i = 0; c->args[i] != NULL; i++) {
        *p++ = ' ';
        p = stpcpy(p, c->args[i]);
    }
    return command;
}

/* Appends the members of object o (encoded, without its braces) to b. */
static void
append_members(struct buf *b, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;
    if (len >= 2)
        buf_append(b, text + 1, len - 2, NULL);
    free(text);
}

/* The members of a list entry that never change after create. */
static json_t *
list_fixed_members(const struct container *c)
{
    char *command = list_command(c);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:{s:s}, s:o}", "Id", c->id, "Image",
                          c->spec.image, "ImageID", c->image_id, "Command", command, "Created",
                          (json_int_t)(c->created_ns / 1000000000), "Labels",
                          jsonx_from_labels(&c->spec.labels), "HostConfig", "NetworkMode",
                          c->spec.network_mode ? c->spec.network_mode : "default", "Mounts",
                          api_mounts_json(c));
    free(command);
    return o;
}

/* Appends c's list entry to b. The entry without its Status (a time that moves on) is kept
 * with the container while nothing changed; otherwise made of the fixed members (kept with
 * the container from the first list on) and the changing ones (name, state, networks).
 * Lock held. */
static void
append_list_item(struct api *api, struct buf *b, const struct container *c, int64_t now)
{
    struct container_doc *doc = c->api_doc;
    char status[96];
    status_text(c, now, status, sizeof(status)); /* plain text: no character JSON escapes */
    if (doc != NULL) {
        doc_revalidate(doc, api->eng->gen);
        if (doc->list_head != NULL) {
            buf_append(b, doc->list_head, doc->list_head_len, NULL);
            buf_append(b, status, strlen(status), NULL);
            buf_append(b, doc->list_tail, doc->list_tail_len, NULL);
            return;
        }
    }
    struct buf head;
    buf_init(&head, SIZE_MAX);
    buf_append(&head, "{", 1, NULL);
    if (doc != NULL && doc->list_fixed == NULL) {
        json_t *fixed = list_fixed_members(c);
        struct buf fb;
        buf_init(&fb, SIZE_MAX);
        append_members(&fb, fixed);
        json_decref(fixed);
        doc->list_fixed = buf_take(&fb, NULL);
    }
    if (doc != NULL) {
        buf_append(&head, doc->list_fixed, strlen(doc->list_fixed), NULL);
    } else {
        json_t *fixed = list_fixed_members(c);
        append_members(&head, fixed);
        json_decref(fixed);
    }
    if (head.len > 1)
        buf_append(&head, ",", 1, NULL);
    json_t *o = json_pack("{s:[s], s:[], s:s}", "Names", c->name, "Ports", "State",
                          container_status_name(c->state.status));
    append_members(&head, o);
    json_decref(o);
    static const char status_key[] = ",\"Status\":\"";
    buf_append(&head, status_key, sizeof(status_key) - 1, NULL);
    struct buf tail;
    buf_init(&tail, SIZE_MAX);
    buf_append(&tail, "\",", 2, NULL);
    o = json_pack("{s:o}", "NetworkSettings", api_network_list_entry(c));
    append_members(&tail, o);
    json_decref(o);
    buf_append(&tail, "}", 1, NULL);
    size_t head_len = head.len, tail_len = tail.len;
    char *h = buf_take(&head, NULL), *t = buf_take(&tail, NULL);
    buf_append(b, h, head_len, NULL);
    buf_append(b, status, strlen(status), NULL);
    buf_append(b, t, tail_len, NULL);
    if (doc != NULL) {
        doc->list_head = h;
        doc->list_tail = t;
        doc->list_head_len = head_len;
        doc->list_tail_len = tail_len;
    } else {
        free(h);
        free(t);
    }
}

struct http_response *
api_container_list(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    bool all = false;
    int64_t limit = -1;
    if (http_query_bool(req, "all", false, &all, &err) < 0 ||
        http_query_int(req, "limit", -1, -1, INT32_MAX, &limit, &err) < 0)
        return api_error_response(&err);
    struct filters *f = api_query_filters(req, list_filter_keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    static const char *const statuses[] = {"created", "restarting", "running", "removing",
                                           "paused",  "exited",     "dead"};
    const struct filter_key *sk = filters_find(f, "status");
    for (size_t i = 0; sk != NULL && i < sk->n_values; i++) {
        bool ok = false;
        for (size_t j = 0; j < 7 && !ok; j++)
            ok = strcmp(statuses[j], sk->values[i]) == 0;
        if (!ok) {
            err_make(&err, ERR_INVALID, 0, "Invalid filter 'status=%s'", sk->values[i]);
            filters_free(f);
            return api_error_response(&err);
        }
    }
    if (sk != NULL || filters_has(f, "exited"))
        all = true;
    struct buf out;
    buf_init(&out, SIZE_MAX);
    buf_append(&out, "[", 1, NULL);
    size_t n_out = 0;
    engine_lock_read(api->eng);
    int64_t before_ns = INT64_MAX, since_ns = -1;
    const char *refs[2] = {"before", "since"};
    for (int i = 0; i < 2; i++) {
        const struct filter_key *k = filters_find(f, refs[i]);
        if (k == NULL)
            continue;
        struct container *r = store_find_container(&api->eng->store, k->values[0], &err);
        if (r == NULL)
            break;
        if (i == 0)
            before_ns = r->created_ns;
        else
            since_ns = r->created_ns;
    }
    size_t n = 0;
    struct container **list = err ? NULL : store_list_containers(&api->eng->store, &n);
    int64_t now = time_now_ns(); /* one clock for every Status text of the answer */
    /* About an entry's size each, so that the answer is not copied while it grows; at most
     * 256 KiB ahead of need, as filters may keep few of many. */
    buf_reserve(&out, (n < 256 ? n : 256) * 1024);
    for (size_t i = 0; i < n && (limit <= 0 || n_out < (size_t)limit); i++) {
        const struct container *c = list[i];
        if (!all && limit <= 0 && !container_is_running(c))
            continue;
        if (c->created_ns >= before_ns || c->created_ns <= since_ns ||
            !filters_fuzzy_match(f, "id", c->id) || !name_matches(c, f) ||
            !filters_exact_match(f, "health", health_status_name(c->state.health.status)) ||
            !filters_exact_match(f, "status", container_status_name(c->state.status)) ||
            !exited_matches(c, f) || !image_matches(api, c, f) ||
            !filters_match_labels(f, "label", (const char *const *)c->spec.labels.keys,
                                  (const char *const *)c->spec.labels.values, c->spec.labels.n))
            continue;
        if (n_out++ > 0)
            buf_append(&out, ",", 1, NULL);
        append_list_item(api, &out, c, now);
    }
    engine_unlock(api->eng);
    free(list);
    filters_free(f);
    if (err != NULL) {
        buf_fini(&out);
        return api_error_response(&err);
    }
    buf_append(&out, "]\n", 2, NULL);
    size_t len;
    char *text = buf_take(&out, &len);
    return http_response_json_text(200, text, len);
}

static struct http_response *
no_content_or_error(int rc, struct err **err)
{
    return rc == 0 ? http_response_data(204, NULL, NULL, 0) : api_error_response(err);
}

struct http_response *
api_container_start(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    return no_content_or_error(engine_container_start(api->eng, http_param(req, "id"), &err), &err);
}

/* `t` (or `timeout`, older clients): seconds; absent means the container's default. */
static int
query_timeout(struct http_request *req, int *out, struct err **err)
{
    int64_t t;
    const char *name = http_query(req, "t") ? "t" : "timeout";
    /* dockerd takes any int64 (strconv.Atoi); past INT32_MAX s (68 years) it is the same wait. */
    if (http_query_int(req, name, -1, -1, INT64_MAX, &t, err) < 0)
        return -1;
    *out = t > INT32_MAX ? INT32_MAX : (int)t;
    return 0;
}

struct http_response *
api_container_stop(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    int t;
    if (query_timeout(req, &t, &err) < 0)
        return api_error_response(&err);
    return no_content_or_error(engine_container_stop(api->eng, http_param(req, "id"), t, &err),
                               &err);
}

struct http_response *
api_container_restart(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    int t;
    if (query_timeout(req, &t, &err) < 0)
        return api_error_response(&err);
    return no_content_or_error(engine_container_restart(api->eng, http_param(req, "id"), t, &err),
                               &err);
}

struct http_response *
api_container_kill(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    int sig;
    if (signal_parse(http_query(req, "signal"), &sig) < 0) {
        err_make(&err, ERR_INVALID, 0, "Invalid signal: %.32s", http_query(req, "signal"));
        return api_error_response(&err);
    }
    return no_content_or_error(engine_container_kill(api->eng, http_param(req, "id"), sig, &err),
                               &err);
}

struct http_response *
api_container_remove(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    bool force = false, volumes = false, link = false;
    if (http_query_bool(req, "force", false, &force, &err) < 0 ||
        http_query_bool(req, "v", false, &volumes, &err) < 0 ||
        http_query_bool(req, "link", false, &link, &err) < 0)
        return api_error_response(&err);
    if (link) {
        err_make(&err, ERR_INVALID, 0,
                 "Conflict, cannot remove the default link name of the container");
        return api_error_response(&err);
    }
    return no_content_or_error(
        engine_container_remove(api->eng, http_param(req, "id"), force, volumes, &err), &err);
}

struct http_response *
api_container_pause(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    return no_content_or_error(engine_container_pause(api->eng, http_param(req, "id"), &err), &err);
}

struct http_response *
api_container_unpause(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    return no_content_or_error(engine_container_unpause(api->eng, http_param(req, "id"), &err),
                               &err);
}

struct http_response *
api_container_rename(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    const char *name = http_query(req, "name");
    if (name == NULL || *name == '\0') {
        err_make(&err, ERR_INVALID, 0, "Neither old nor new names may be empty");
        return api_error_response(&err);
    }
    return no_content_or_error(engine_container_rename(api->eng, http_param(req, "id"), name, &err),
                               &err);
}
