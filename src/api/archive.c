/* /containers/{id}/archive: docker cp in both directions, and the path stat (HEAD). */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/jsonx.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "image/tarfs.h"

enum { ARCHIVE_OUT_MAX = 256 * 1024 * 1024 };

/* X-Docker-Container-Path-Stat: base64 of {"name","size","mode","mtime","linkTarget"}. */
static char *
stat_header(const struct tarfs_stat *st)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:o, s:s}", "name", st->name, "size",
                          (json_int_t)st->size, "mode", (json_int_t)st->mode, "mtime",
                          jsonx_time(st->mtime_ns), "linkTarget", st->link_target);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    size_t n = strlen(text);
    char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)n);
    free(text);
    return b64;
}

static struct http_response *
with_stat_header(struct http_response *r, const struct tarfs_stat *st)
{
    char *h = stat_header(st);
    http_response_add_header(r, "X-Docker-Container-Path-Stat", h);
    free(h);
    return r;
}

/* Resolves the container and the path query parameter; NULL with *err on failure. */
static char *
archive_target(struct api *api, struct http_request *req, const char **path, struct err **err)
{
    *path = http_query(req, "path");
    if (*path == NULL || **path == '\0') {
        err_make(err, ERR_INVALID, 0, "bad parameter: path cannot be empty");
        return NULL;
    }
    char id[ID_LEN + 1];
    return engine_container_root(api->eng, http_param(req, "id"), id, err);
}

static struct http_response *
not_found_in(struct err **err, const char *path, const char *id)
{
    if (err_kind_of(err) == ERR_NOT_FOUND) {
        err_clear(err);
        err_make(err, ERR_NOT_FOUND, 0, "Could not find the file %s in container %s", path, id);
    }
    return api_error_response(err);
}

struct http_response *
api_archive_head(struct http_request *req, void *app)
{
    struct err *err = NULL;
    const char *path;
    char *root = archive_target(app, req, &path, &err);
    if (root == NULL)
        return api_error_response(&err);
    struct tarfs_stat st;
    int rc = tarfs_stat(root, path, &st, &err);
    free(root);
    if (rc < 0)
        return not_found_in(&err, path, http_param(req, "id"));
    return with_stat_header(http_response_data(200, NULL, NULL, 0), &st);
}

struct http_response *
api_archive_get(struct http_request *req, void *app)
{
    struct err *err = NULL;
    const char *path;
    char *root = archive_target(app, req, &path, &err);
    if (root == NULL)
        return api_error_response(&err);
    struct tarfs_stat st;
    struct buf out;
    buf_init(&out, ARCHIVE_OUT_MAX);
    int rc = tarfs_stat(root, path, &st, &err);
    if (rc == 0)
        rc = tarfs_create(root, path, &out, &err);
    free(root);
    if (rc < 0) {
        buf_fini(&out);
        return not_found_in(&err, path, http_param(req, "id"));
    }
    struct http_response *r =
        http_response_data(200, "application/x-tar", out.data ? out.data : "", out.len);
    buf_fini(&out);
    return with_stat_header(r, &st);
}

struct http_response *
api_archive_put(struct http_request *req, void *app)
{
    struct err *err = NULL;
    const char *path;
    bool no_overwrite = false, copy_uid = false;
    if (http_query_bool(req, "noOverwriteDirNonDir", false, &no_overwrite, &err) < 0 ||
        http_query_bool(req, "copyUIDGID", false, &copy_uid, &err) < 0)
        return api_error_response(&err);
    if (copy_uid) {
        /* Ownership is not kept in the daemon's staging tree (tarfs drops it). */
        err_make(&err, ERR_UNSUPPORTED, 0, "copyUIDGID is not supported by this driver yet");
        return api_error_response(&err);
    }
    char *root = archive_target(app, req, &path, &err);
    if (root == NULL)
        return api_error_response(&err);
    const void *data;
    size_t len;
    http_request_body(req, &data, &len);
    int rc = tarfs_extract(root, path, data, len, no_overwrite, &err);
    free(root);
    if (rc < 0)
        return not_found_in(&err, path, http_param(req, "id"));
    return http_response_data(200, NULL, NULL, 0);
}
