#include "api/api.h"
#include "api/decode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/filters_json.h"
#include "base/labels.h"
#include "base/timeutil.h"
#include "base/version.h"
#include "base/xalloc.h"
#include "engine/engine.h"

const struct api_version api_min_version = {1, 24};
const struct api_version api_max_version = {1, 47};

static const struct route routes[] = {
    {"GET", "/_ping", api_ping, 0},
    {"HEAD", "/_ping", api_ping, 0},
    {"POST", "/_ping", api_ping, 0},
    {"GET", "/version", api_version, 0},
    {"GET", "/info", api_info, 0},
    {"POST", "/auth", api_auth, 0},
    {"GET", "/events", api_events, 0},

    {"POST", "/containers/create", api_container_create, 0},
    {"GET", "/containers/json", api_container_list, 0},
    {"GET", "/containers/{id}/json", api_container_inspect, 0},
    {"POST", "/containers/{id}/start", api_container_start, 0},
    {"POST", "/containers/{id}/stop", api_container_stop, 0},
    {"POST", "/containers/{id}/restart", api_container_restart, 0},
    {"POST", "/containers/{id}/kill", api_container_kill, 0},
    {"DELETE", "/containers/{id}", api_container_remove, 0},
    {"POST", "/containers/{id}/pause", api_container_pause, 0},
    {"POST", "/containers/{id}/unpause", api_container_unpause, 0},
    {"POST", "/containers/{id}/rename", api_container_rename, 0},
    {"POST", "/containers/{id}/wait", api_container_wait, 0},
    {"GET", "/containers/{id}/logs", api_container_logs, 0},
    {"POST", "/containers/{id}/attach", api_container_attach, 0},
    {"POST", "/containers/{id}/resize", api_container_resize, 0},
    {"GET", "/containers/{id}/top", api_container_top, 0},
    {"GET", "/containers/{id}/changes", api_container_changes, 0},
    {"GET", "/containers/{id}/export", api_container_export, 0},
    {"POST", "/containers/{id}/update", api_container_update, 0},
    {"POST", "/commit", api_commit, 0},
    {"HEAD", "/containers/{id}/archive", api_archive_head, 0},
    {"GET", "/containers/{id}/archive", api_archive_get, 0},
    {"PUT", "/containers/{id}/archive", api_archive_put, ROUTE_STREAM_BODY},
    {"GET", "/containers/{id}/stats", api_container_stats, 0},
    {"POST", "/containers/prune", api_container_prune, 0},
    {"GET", "/system/df", api_system_df, 0},

    {"POST", "/containers/{id}/exec", api_exec_create, 0},
    {"POST", "/exec/{id}/start", api_exec_start, 0},
    {"GET", "/exec/{id}/json", api_exec_inspect, 0},
    {"POST", "/exec/{id}/resize", api_exec_resize, 0},

    {"POST", "/networks/create", api_network_create, 0},
    {"GET", "/networks", api_network_list, 0},
    {"POST", "/networks/prune", api_network_prune, 0},
    {"GET", "/networks/{id}", api_network_inspect, 0},
    {"DELETE", "/networks/{id}", api_network_remove, 0},
    {"POST", "/networks/{id}/connect", api_network_connect, 0},
    {"POST", "/networks/{id}/disconnect", api_network_disconnect, 0},

    {"POST", "/volumes/create", api_volume_create, 0},
    {"GET", "/volumes", api_volume_list, 0},
    {"POST", "/volumes/prune", api_volume_prune, 0},
    {"GET", "/volumes/{name}", api_volume_inspect, 0},
    {"DELETE", "/volumes/{name}", api_volume_remove, 0},

    {"POST", "/images/create", api_image_create, ROUTE_SPOOL_BODY},
    {"POST", "/images/load", api_image_load, ROUTE_SPOOL_BODY},
    {"POST", "/build", api_build, ROUTE_SPOOL_BODY},
    {"POST", "/images/prune", api_image_prune, 0},
    {"GET", "/images/search", api_image_search, 0},
    {"GET", "/images/get", api_image_save, 0},
    {"GET", "/images/{name*}/get", api_image_save, 0},
    {"GET", "/images/{name*}/history", api_image_history, 0},
    {"GET", "/images/json", api_image_list, 0},
    {"GET", "/images/{name*}/json", api_image_inspect, 0},
    {"POST", "/images/{name*}/tag", api_image_tag, 0},
    {"POST", "/images/{name*}/push", api_image_push, 0},
    {"DELETE", "/images/{name*}", api_image_remove, 0},
};

const struct route *
api_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}

unsigned
api_status_for(enum err_kind kind)
{
    switch (kind) {
    case ERR_INVALID:
        return 400;
    case ERR_NOT_FOUND:
        return 404;
    case ERR_CONFLICT:
        return 409;
    case ERR_NOT_MODIFIED:
        return 304;
    case ERR_FORBIDDEN:
        return 403;
    case ERR_UNSUPPORTED:
        return 501;
    case ERR_UNAVAILABLE:
        return 503;
    case ERR_TOO_LARGE:
        return 413;
    case ERR_INTERNAL:
        return 500;
    }
    return 500;
}

struct http_response *
api_error_response(struct err **err)
{
    if (err == NULL || *err == NULL)
        return http_response_error(500, "internal error");
    struct http_response *r = http_response_error(api_status_for((*err)->kind), (*err)->msg);
    err_clear(err);
    return r;
}

const char *
api_server_header(void)
{
    return "sockerless/" SOCKERLESS_VERSION " (linux)";
}

int
api_tmpfile(struct api *api, struct err **err)
{
    cleanup_free char *dir = xasprintf("%s/tmp", api->eng->data_root);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_errno(err, "mkdir %s", dir);
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_errno(err, "create a file in %s", dir);
    return fd;
}

static ssize_t
file_produce(struct http_stream *s, void *ctx, char *buf, size_t max)
{
    (void)s;
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t n = read(fd, buf, max);
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0 ? n : n == 0 ? HTTP_STREAM_END : HTTP_STREAM_ERROR;
    }
}

static void
file_free(void *ctx)
{
    close(*(int *)ctx);
    free(ctx);
}

ssize_t
api_pipe_produce(struct http_stream *hs, int rfd, char *buf, size_t max)
{
    for (;;) {
        ssize_t n = read(rfd, buf, max);
        if (n > 0)
            return n;
        if (n == 0)
            return HTTP_STREAM_END;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return HTTP_STREAM_ERROR;
        ssize_t end = http_stream_await(hs, rfd, -1);
        if (end != 0)
            return end;
    }
}

struct http_response *
api_file_response(int fd, const char *content_type)
{
    if (lseek(fd, 0, SEEK_SET) < 0) {
        struct err *err = NULL;
        err_errno(&err, "rewind the response file");
        close(fd);
        return api_error_response(&err);
    }
    int *ctx = xmalloc(sizeof(*ctx));
    *ctx = fd;
    return http_response_stream(200, content_type, file_produce, ctx, file_free);
}

json_t *
api_body_object(const struct http_request *req, struct err **err)
{
    return api_parse_object(req->body.data, req->body.len, err);
}

json_t *
api_parse_object(const void *data, size_t len, struct err **err)
{
    if (len == 0) {
        err_make(err, ERR_INVALID, 0, "request body is empty, expected a JSON object");
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        err_make(err, ERR_INVALID, 0, "invalid JSON body: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        err_make(err, ERR_INVALID, 0, "invalid JSON body: expected an object");
        return NULL;
    }
    return v;
}

int
api_check_resize(const struct http_request *req, int *height, int *width, struct err **err)
{
    int64_t h, w;
    if (http_query_int(req, "h", 0, 0, 65535, &h, err) < 0 ||
        http_query_int(req, "w", 0, 0, 65535, &w, err) < 0)
        return -1;
    *height = (int)h;
    *width = (int)w;
    return 0;
}

struct filters *
api_query_filters(const struct http_request *req, const char *const *allowed, struct err **err)
{
    struct filters *f = filters_json_parse(http_query(req, "filters"), err);
    if (f != NULL && filters_check_keys(f, allowed, err) < 0) {
        filters_free(f);
        return NULL;
    }
    return f;
}

int
api_filter_until(const struct filters *f, int64_t *until_ns, struct err **err)
{
    *until_ns = INT64_MAX;
    const struct filter_key *u = filters_find(f, "until");
    if (u == NULL || u->n_values == 0)
        return 0;
    if (time_parse_timestamp(u->values[0], until_ns, err) < 0)
        return err_wrap(err, "invalid filter 'until'");
    return 0;
}

bool
api_prune_labels_match(const struct filters *f, const struct labels *l)
{
    const char *const *k = (const char *const *)l->keys;
    const char *const *v = (const char *const *)l->values;
    return filters_match_labels(f, "label", k, v, l->n) &&
           filters_match_labels_not(f, "label!", k, v, l->n);
}

char *
api_query_repo_tag(const struct http_request *req)
{
    const char *repo = http_query(req, "repo");
    const char *tag = http_query(req, "tag");
    if (repo == NULL || *repo == '\0')
        return NULL;
    return tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
}
