/* /containers/{id}/archive: docker cp in both directions, and the path stat (HEAD). */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/jsonx.h"
#include "base/xalloc.h"
#include "driver/ocispec.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "image/tarfs.h"

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
    struct api *api = app;
    struct err *err = NULL;
    const char *path;
    char *root = archive_target(api, req, &path, &err);
    if (root == NULL)
        return api_error_response(&err);
    struct tarfs_stat st;
    int fd = -1;
    int rc = tarfs_stat(root, path, &st, &err);
    if (rc == 0 && (fd = api_tmpfile(api, &err)) < 0)
        rc = -1;
    if (rc == 0)
        rc = tarfs_create(root, path, fd, &err);
    free(root);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        return not_found_in(&err, path, http_param(req, "id"));
    }
    return with_stat_header(api_file_response(fd, "application/x-tar"), &st);
}

/* The owner docker cp -a (copyUIDGID) gives every entry: the container's Config.User resolved
 * in its own root. dockerd 20.10 resolves it with getent on the host instead, so that numeric
 * "uid:gid" users fail ("getent unable to find entry"); a container without a user keeps the
 * entries' owners, as dockerd does. *has is false then. */
static int
copy_owner(struct api *api, const char *ref, const char *root, struct tarfs_owner *out, bool *has,
           struct err **err)
{
    struct container *c = engine_container_get(api->eng, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&api->eng->lock);
    cleanup_free char *user = xstrdup(c->spec.user ? c->spec.user : "");
    pthread_mutex_unlock(&api->eng->lock);
    container_unref(c);
    *has = *user != '\0';
    if (!*has)
        return 0;
    struct oci_user u;
    if (oci_user_resolve(root, user, NULL, &u, err) < 0)
        return -1;
    out->uid = u.uid;
    out->gid = u.gid;
    oci_user_fini(&u);
    return 0;
}

struct http_response *
api_archive_put(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    const char *path;
    bool no_overwrite = false, copy_uid = false;
    if (http_query_bool(req, "noOverwriteDirNonDir", false, &no_overwrite, &err) < 0 ||
        http_query_bool(req, "copyUIDGID", false, &copy_uid, &err) < 0)
        return api_error_response(&err);
    char *root = archive_target(api, req, &path, &err);
    if (root == NULL)
        return api_error_response(&err);
    struct tarfs_owner owner;
    bool forced = false;
    if (copy_uid && copy_owner(api, http_param(req, "id"), root, &owner, &forced, &err) < 0) {
        free(root);
        return api_error_response(&err);
    }
    const void *data;
    size_t len;
    http_request_body(req, &data, &len);
    int rc = tarfs_extract(root, path, data, len, no_overwrite, forced ? &owner : NULL, &err);
    free(root);
    if (rc < 0)
        return not_found_in(&err, path, http_param(req, "id"));
    return http_response_data(200, NULL, NULL, 0);
}
