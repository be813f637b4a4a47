/*
 * api: the Docker Engine API endpoints. Each handler decodes the request,
 * calls the engine, and encodes Docker's JSON; this layer is the only place
 * Docker's field names live. Error kinds become HTTP statuses here and only
 * here (api_status_for).
 */
#ifndef SOCKERLESS_API_API_H
#define SOCKERLESS_API_API_H

#include <stddef.h>

#include "base/err.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"

struct engine;
struct backend;

/* What every handler gets as its `app` argument. Borrowed for the daemon's life. */
struct api {
    struct engine *eng;
    const struct backend *backend;
};

/* The oldest and newest API versions served (compat-notes 1). */
extern const struct api_version api_min_version, api_max_version;

/* The route table; *n receives its length. */
const struct route *api_routes(size_t *n);
/* The HTTP status for an error kind. */
unsigned api_status_for(enum err_kind kind);
/* The JSON error response for *err, which it clears. */
struct http_response *api_error_response(struct err **err);
/* "sockerless/<version> (linux)" */
const char *api_server_header(void);

/* Handlers, by module. */
struct http_response *api_ping(struct http_request *req, void *app);
struct http_response *api_version(struct http_request *req, void *app);
struct http_response *api_info(struct http_request *req, void *app);
struct http_response *api_auth(struct http_request *req, void *app);
struct http_response *api_events(struct http_request *req, void *app);

struct http_response *api_container_create(struct http_request *req, void *app);
struct http_response *api_container_inspect(struct http_request *req, void *app);
struct http_response *api_container_list(struct http_request *req, void *app);
struct http_response *api_container_start(struct http_request *req, void *app);
struct http_response *api_container_stop(struct http_request *req, void *app);
struct http_response *api_container_restart(struct http_request *req, void *app);
struct http_response *api_container_kill(struct http_request *req, void *app);
struct http_response *api_container_remove(struct http_request *req, void *app);
struct http_response *api_container_pause(struct http_request *req, void *app);
struct http_response *api_container_unpause(struct http_request *req, void *app);
struct http_response *api_container_rename(struct http_request *req, void *app);
struct http_response *api_container_wait(struct http_request *req, void *app);
struct http_response *api_container_logs(struct http_request *req, void *app);
struct http_response *api_container_attach(struct http_request *req, void *app);
struct http_response *api_container_resize(struct http_request *req, void *app);

struct http_response *api_exec_create(struct http_request *req, void *app);
struct http_response *api_exec_start(struct http_request *req, void *app);
struct http_response *api_exec_inspect(struct http_request *req, void *app);
struct http_response *api_exec_resize(struct http_request *req, void *app);

struct http_response *api_network_create(struct http_request *req, void *app);
struct http_response *api_network_list(struct http_request *req, void *app);
struct http_response *api_network_inspect(struct http_request *req, void *app);
struct http_response *api_network_remove(struct http_request *req, void *app);
struct http_response *api_network_prune(struct http_request *req, void *app);
struct http_response *api_network_connect(struct http_request *req, void *app);
struct http_response *api_network_disconnect(struct http_request *req, void *app);
struct container;
/* NetworkSettings of container inspect, and the list's {"Networks": ...}. Lock held. */
json_t *api_network_settings(const struct container *c);
json_t *api_network_list_entry(const struct container *c);

struct http_response *api_volume_create(struct http_request *req, void *app);
struct http_response *api_volume_list(struct http_request *req, void *app);
struct http_response *api_volume_inspect(struct http_request *req, void *app);
struct http_response *api_volume_remove(struct http_request *req, void *app);
struct http_response *api_volume_prune(struct http_request *req, void *app);
struct container_create;
/* Binds, Mounts and Config.Volumes of a create body into req's mount requests. */
int api_decode_mounts(json_t *body, json_t *host_config, struct container_create *req,
                      struct err **err);
/* The Mounts of container inspect and list. Lock held. */
json_t *api_mounts_json(const struct container *c);

struct http_response *api_container_top(struct http_request *req, void *app);
struct http_response *api_container_stats(struct http_request *req, void *app);
struct http_response *api_container_prune(struct http_request *req, void *app);
struct http_response *api_image_prune(struct http_request *req, void *app);
struct http_response *api_image_history(struct http_request *req, void *app);
struct http_response *api_system_df(struct http_request *req, void *app);

struct http_response *api_archive_head(struct http_request *req, void *app);
struct http_response *api_archive_get(struct http_request *req, void *app);
struct http_response *api_archive_put(struct http_request *req, void *app);

struct http_response *api_container_changes(struct http_request *req, void *app);
struct http_response *api_container_export(struct http_request *req, void *app);
struct http_response *api_container_update(struct http_request *req, void *app);
struct http_response *api_commit(struct http_request *req, void *app);
struct http_response *api_image_search(struct http_request *req, void *app);

struct http_response *api_image_create(struct http_request *req, void *app);
struct http_response *api_image_inspect(struct http_request *req, void *app);
struct http_response *api_image_list(struct http_request *req, void *app);
struct http_response *api_image_tag(struct http_request *req, void *app);
struct http_response *api_image_remove(struct http_request *req, void *app);
struct http_response *api_image_load(struct http_request *req, void *app);
struct http_response *api_build(struct http_request *req, void *app);
struct http_response *api_image_save(struct http_request *req, void *app);
struct http_response *api_image_push(struct http_request *req, void *app);
/* The pull of POST /images/create (fromImage, tag; platform and X-Registry-Auth read from req):
 * api/distribution.c. */
struct http_response *api_image_pull(struct api *api, struct http_request *req, const char *from,
                                     const char *tag);

/* Docker's restart policy names and retry rule; ERR_INVALID with its messages. */
int api_check_restart_policy(const char *name, int64_t retries, struct err **err);

struct filters;
/* The `filters` query parameter, parsed and checked against allowed (NULL-ended); NULL with
 * *err (ERR_INVALID) on bad JSON or an unknown key. */
struct filters *api_query_filters(const struct http_request *req, const char *const *allowed,
                                  struct err **err);
/* The `until` filter (RFC 3339 or Unix seconds) into *until_ns; INT64_MAX when absent. */
int api_filter_until(const struct filters *f, int64_t *until_ns, struct err **err);
struct labels;
/* Both label filters of a prune: `label` (all must match) and `label!` (none may match). */
bool api_prune_labels_match(const struct filters *f, const struct labels *l);
/* "repo:tag" from the `repo` and `tag` query parameters, "repo" without a tag, NULL without a
 * repo (new string). */
char *api_query_repo_tag(const struct http_request *req);
/* The familiar forms of an image's tags, as RepoTags ("busybox:latest"). */
struct image;
json_t *api_image_repo_tags(const struct image *img);

/* Validates the `h` and `w` query parameters of a resize (0..65535). */
int api_check_resize(const struct http_request *req, int *height, int *width, struct err **err);

/* A new unlinked file under <data-root>/tmp (O_TMPFILE, read-write, close-on-exec), for a
 * response body written whole before the status line is sent (so that every error is known
 * first) without holding it in memory. The fd, or -1 with *err (ERR_INTERNAL with errno). */
int api_tmpfile(struct api *api, struct err **err);
/* A stream producer's body for a pipe a worker thread writes (non-blocking read end): what is
 * there, HTTP_STREAM_END at the writer's close, or the server's or client's end. */
ssize_t api_pipe_produce(struct http_stream *hs, int rfd, char *buf, size_t max);
/* A 200 response streaming the file fd from its start; takes fd (closed when the response is
 * done, also when this fails: then the response is the error's). */
struct http_response *api_file_response(int fd, const char *content_type);

/* Parses the request body as a JSON object (ERR_INVALID when it is not one). */
json_t *api_body_object(const struct http_request *req, struct err **err);

#endif
