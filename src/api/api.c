#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "api/filters_json.h"
#include "base/version.h"
#include "base/xalloc.h"

const struct api_version api_min_version = {1, 24};
const struct api_version api_max_version = {1, 47};

static const struct route routes[] = {
    {"GET", "/_ping", api_ping},
    {"HEAD", "/_ping", api_ping},
    {"POST", "/_ping", api_ping},
    {"GET", "/version", api_version},
    {"GET", "/info", api_info},
    {"POST", "/auth", api_auth},
    {"GET", "/events", api_events},

    {"POST", "/containers/create", api_container_create},
    {"GET", "/containers/json", api_container_list},
    {"GET", "/containers/{id}/json", api_container_inspect},
    {"POST", "/containers/{id}/start", api_container_start},
    {"POST", "/containers/{id}/stop", api_container_stop},
    {"POST", "/containers/{id}/restart", api_container_restart},
    {"POST", "/containers/{id}/kill", api_container_kill},
    {"DELETE", "/containers/{id}", api_container_remove},
    {"POST", "/containers/{id}/pause", api_container_pause},
    {"POST", "/containers/{id}/unpause", api_container_unpause},
    {"POST", "/containers/{id}/rename", api_container_rename},
    {"POST", "/containers/{id}/wait", api_container_wait},
    {"GET", "/containers/{id}/logs", api_container_logs},
    {"POST", "/containers/{id}/attach", api_container_attach},
    {"POST", "/containers/{id}/resize", api_container_resize},
    {"GET", "/containers/{id}/top", api_container_top},
    {"GET", "/containers/{id}/changes", api_container_changes},
    {"GET", "/containers/{id}/export", api_container_export},
    {"POST", "/containers/{id}/update", api_container_update},
    {"POST", "/commit", api_commit},
    {"HEAD", "/containers/{id}/archive", api_archive_head},
    {"GET", "/containers/{id}/archive", api_archive_get},
    {"PUT", "/containers/{id}/archive", api_archive_put},
    {"GET", "/containers/{id}/stats", api_container_stats},
    {"POST", "/containers/prune", api_container_prune},
    {"GET", "/system/df", api_system_df},

    {"POST", "/containers/{id}/exec", api_exec_create},
    {"POST", "/exec/{id}/start", api_exec_start},
    {"GET", "/exec/{id}/json", api_exec_inspect},
    {"POST", "/exec/{id}/resize", api_exec_resize},

    {"POST", "/networks/create", api_network_create},
    {"GET", "/networks", api_network_list},
    {"POST", "/networks/prune", api_network_prune},
    {"GET", "/networks/{id}", api_network_inspect},
    {"DELETE", "/networks/{id}", api_network_remove},
    {"POST", "/networks/{id}/connect", api_network_connect},
    {"POST", "/networks/{id}/disconnect", api_network_disconnect},

    {"POST", "/volumes/create", api_volume_create},
    {"GET", "/volumes", api_volume_list},
    {"POST", "/volumes/prune", api_volume_prune},
    {"GET", "/volumes/{name}", api_volume_inspect},
    {"DELETE", "/volumes/{name}", api_volume_remove},

    {"POST", "/images/create", api_image_create},
    {"POST", "/images/load", api_image_load},
    {"POST", "/images/prune", api_image_prune},
    {"GET", "/images/search", api_image_search},
    {"GET", "/images/{name*}/history", api_image_history},
    {"GET", "/images/json", api_image_list},
    {"GET", "/images/{name*}/json", api_image_inspect},
    {"POST", "/images/{name*}/tag", api_image_tag},
    {"DELETE", "/images/{name*}", api_image_remove},
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

json_t *
api_body_object(const struct http_request *req, struct err **err)
{
    if (req->body.len == 0) {
        err_make(err, ERR_INVALID, 0, "request body is empty, expected a JSON object");
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
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
api_check_resize(const struct http_request *req, struct err **err)
{
    int64_t h, w;
    if (http_query_int(req, "h", 0, 0, 65535, &h, err) < 0 ||
        http_query_int(req, "w", 0, 0, 65535, &w, err) < 0)
        return -1;
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

char *
api_query_repo_tag(const struct http_request *req)
{
    const char *repo = http_query(req, "repo");
    const char *tag = http_query(req, "tag");
    if (repo == NULL || *repo == '\0')
        return NULL;
    return tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
}
