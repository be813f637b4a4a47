/* /containers/{id}/archive: docker cp in both directions, and the path stat (HEAD). */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/jsonx.h"
#include "base/xalloc.h"
#include "driver/driver.h"
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

/* The path query parameter and the container (a new reference); NULL with *err on failure. */
static struct container *
archive_target(struct api *api, struct http_request *req, const char **path, struct err **err)
{
    *path = http_query(req, "path");
    if (*path == NULL || **path == '\0') {
        err_make(err, ERR_INVALID, 0, "bad parameter: path cannot be empty");
        return NULL;
    }
    return engine_container_get(api->eng, http_param(req, "id"), err);
}

/* True when a driver's archive callback answered that root_path must serve instead. */
static bool
use_root(int rc, struct err **err)
{
    if (rc == 0 || err_kind_of(err) != ERR_UNSUPPORTED)
        return false;
    err_clear(err);
    return true;
}

/* The host directory standing for c's root (a new string), or NULL with *err. */
static char *
root_of(struct api *api, struct container *c, struct err **err)
{
    char id[ID_LEN + 1];
    return engine_container_root(api->eng, c->id, id, err);
}

static int
stat_in(struct api *api, struct container *c, const char *path, struct tarfs_stat *st,
        struct err **err)
{
    if (c->driver->archive_stat != NULL) {
        int rc = c->driver->archive_stat(api->eng, c, path, st, err);
        if (!use_root(rc, err))
            return rc;
    }
    char *root = root_of(api, c, err);
    int rc = root != NULL ? tarfs_stat(root, path, st, err) : -1;
    free(root);
    return rc;
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
    struct container *c = archive_target(app, req, &path, &err);
    if (c == NULL)
        return api_error_response(&err);
    struct tarfs_stat st;
    int rc = stat_in(app, c, path, &st, &err);
    container_unref(c);
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
    struct container *c = archive_target(api, req, &path, &err);
    if (c == NULL)
        return api_error_response(&err);
    struct tarfs_stat st;
    int fd = api_tmpfile(api, &err);
    int rc = fd < 0 ? -1 : 0;
    bool done = false;
    if (rc == 0 && c->driver->archive_get != NULL) {
        rc = c->driver->archive_get(api->eng, c, path, fd, &st, &err);
        done = !use_root(rc, &err);
        if (!done)
            rc = ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0
                     ? 0
                     : err_make(&err, ERR_INTERNAL, errno, "archive spool");
    }
    if (rc == 0 && !done) {
        char *root = root_of(api, c, &err);
        rc = root != NULL ? tarfs_stat(root, path, &st, &err) : -1;
        if (rc == 0)
            rc = tarfs_create(root, path, fd, &err);
        free(root);
    }
    container_unref(c);
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
copy_owner(struct api *api, struct container *c, struct tarfs_owner *out, bool *has,
           struct err **err)
{
    engine_lock(api->eng);
    cleanup_free char *user = xstrdup(c->spec.user ? c->spec.user : "");
    engine_unlock(api->eng);
    *has = *user != '\0';
    if (!*has)
        return 0;
    cleanup_free char *root = root_of(api, c, err);
    struct oci_user u;
    if (root == NULL || oci_user_resolve(root, user, NULL, &u, err) < 0)
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
    struct container *c = archive_target(api, req, &path, &err);
    if (c == NULL)
        return api_error_response(&err);
    struct tarfs_owner owner;
    bool forced = false;
    const void *data;
    size_t len;
    http_request_body(req, &data, &len);
    if (copy_uid && copy_owner(api, c, &owner, &forced, &err) < 0) {
        container_unref(c);
        return api_error_response(&err);
    }
    int rc = 0;
    bool done = false;
    if (rc == 0 && c->driver->archive_put != NULL) {
        rc = c->driver->archive_put(api->eng, c, path, data, len, no_overwrite,
                                    forced ? &owner : NULL, &err);
        done = !use_root(rc, &err);
        if (!done)
            rc = 0;
    }
    if (rc == 0 && !done) {
        char *root = root_of(api, c, &err);
        rc = root != NULL
                 ? tarfs_extract(root, path, data, len, no_overwrite, forced ? &owner : NULL, &err)
                 : -1;
        free(root);
    }
    container_unref(c);
    if (rc < 0)
        return not_found_in(&err, path, http_param(req, "id"));
    return http_response_data(200, NULL, NULL, 0);
}
