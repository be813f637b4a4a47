/* /containers/{id}/archive: docker cp in both directions, and the path stat (HEAD). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/jsonx.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "driver/ocispec.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "image/tarfs.h"

enum { TAR_PIPE_SIZE = 1024 * 1024 };

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

/* Stats path in c through the driver, or in root_path when it has no archive callbacks or
 * declines; *in_root (may be NULL) tells which. */
static int
stat_in(struct api *api, struct container *c, const char *path, struct tarfs_stat *st,
        bool *in_root, struct err **err)
{
    if (in_root != NULL)
        *in_root = false;
    if (c->driver->archive_stat != NULL) {
        int rc = c->driver->archive_stat(api->eng, c, path, st, err);
        if (!use_root(rc, err))
            return rc;
    }
    if (in_root != NULL)
        *in_root = true;
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
    int rc = stat_in(app, c, path, &st, NULL, &err);
    container_unref(c);
    if (rc < 0)
        return not_found_in(&err, path, http_param(req, "id"));
    return with_stat_header(http_response_data(200, NULL, NULL, 0), &st);
}

/* ---- GET: the tar made by a thread while it is sent ---- */

/* Shared by the thread writing the tar into a pipe and the response reading it. */
struct tar_stream {
    atomic_int refs;
    atomic_bool failed; /* set before the writer closes the pipe */
    int rfd;            /* the response's end (non-blocking) */
};

struct tar_job {
    struct api *api;
    struct container *c; /* a reference */
    char *path;
    bool use_root; /* tarfs on root_path rather than the driver's archive_get */
    int wfd;
    struct tar_stream *ts;
};

static void
tar_stream_unref(struct tar_stream *ts)
{
    if (atomic_fetch_sub(&ts->refs, 1) > 1)
        return;
    if (ts->rfd >= 0)
        close(ts->rfd);
    free(ts);
}

static void
tar_stream_close(void *ctx)
{
    struct tar_stream *ts = ctx;
    close(ts->rfd); /* the writer's next write fails (EPIPE): it ends */
    ts->rfd = -1;
    tar_stream_unref(ts);
}

/* An error in the middle of the tar ends the response without its last chunk: the client
 * sees a failed transfer rather than a short archive. */
static ssize_t
tar_stream_produce(struct http_stream *hs, void *ctx, char *buf, size_t max)
{
    struct tar_stream *ts = ctx;
    ssize_t n = api_pipe_produce(hs, ts->rfd, buf, max);
    return n == HTTP_STREAM_END && atomic_load(&ts->failed) ? HTTP_STREAM_ERROR : n;
}

static void *
tar_job_run(void *arg)
{
    struct tar_job *j = arg;
    struct api *api = j->api;
    struct err *err = NULL;
    struct tarfs_stat st;
    int rc;
    if (j->use_root) {
        char *root = root_of(api, j->c, &err);
        rc = root != NULL ? tarfs_create(root, j->path, j->wfd, &err) : -1;
        free(root);
    } else {
        rc = j->c->driver->archive_get(api->eng, j->c, j->path, j->wfd, &st, &err);
    }
    if (rc < 0) {
        LOG_DEBUG("archive %s of %.12s: %s", j->path, j->c->id, err ? err->msg : "failed");
        err_clear(&err);
        atomic_store(&j->ts->failed, true);
    }
    close(j->wfd);
    tar_stream_unref(j->ts);
    container_unref(j->c);
    free(j->path);
    free(j);
    engine_job_end(api->eng);
    return NULL;
}

/* A 200 streaming the tar of path in c (the reference is taken) from a thread of its own. */
static struct http_response *
tar_response(struct api *api, struct container *c, const char *path, bool use_root,
             const struct tarfs_stat *st)
{
    struct err *err = NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        container_unref(c);
        err_errno(&err, "pipe");
        return api_error_response(&err);
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    fcntl(p[1], F_SETPIPE_SZ, TAR_PIPE_SIZE); /* fewer wake-ups; the default works too */
    struct tar_stream *ts = xcalloc(1, sizeof(*ts));
    atomic_init(&ts->refs, 2);
    ts->rfd = p[0];
    struct tar_job *j = xcalloc(1, sizeof(*j));
    *j = (struct tar_job){
        .api = api, .c = c, .path = xstrdup(path), .use_root = use_root, .wfd = p[1], .ts = ts};
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    engine_job_begin(api->eng);
    int rc = pthread_create(&t, &attr, tar_job_run, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        engine_job_end(api->eng);
        ts->refs = 1;
        tar_stream_close(ts);
        close(p[1]);
        container_unref(c);
        free(j->path);
        free(j);
        err_make(&err, ERR_INTERNAL, rc, "cannot start the archive");
        return api_error_response(&err);
    }
    struct http_response *r =
        http_response_stream(200, "application/x-tar", tar_stream_produce, ts, tar_stream_close);
    return with_stat_header(r, st);
}

/* docker cp from a container: the stat (for the header, and 404 before anything is sent), then
 * the tar, made while it is sent, as dockerd does. */
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
    bool root;
    if (stat_in(api, c, path, &st, &root, &err) < 0) {
        container_unref(c);
        return not_found_in(&err, path, http_param(req, "id"));
    }
    return tar_response(api, c, path, root || c->driver->archive_get == NULL, &st);
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

/* The request body as the extraction's reader; n counts what was read. */
struct body_reader {
    struct http_request *req;
    size_t n;
};

static ssize_t
body_read(void *ctx, void *buf, size_t len)
{
    struct body_reader *b = ctx;
    ssize_t n = http_request_read(b->req, buf, len);
    if (n > 0)
        b->n += (size_t)n;
    return n;
}

/* docker cp into a container: the body is extracted as it arrives (ROUTE_STREAM_BODY); an
 * error found on the way is answered once the client has sent the rest. */
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
    if (copy_uid && copy_owner(api, c, &owner, &forced, &err) < 0) {
        container_unref(c);
        return api_error_response(&err);
    }
    struct body_reader body = {.req = req};
    int rc = 0;
    bool done = false;
    if (c->driver->archive_put != NULL) {
        rc = c->driver->archive_put(api->eng, c, path, body_read, &body, no_overwrite,
                                    forced ? &owner : NULL, &err);
        /* root_path serves when the driver declines before reading anything */
        done = body.n > 0 || !use_root(rc, &err);
        if (!done)
            rc = 0;
    }
    if (rc == 0 && !done) {
        char *root = root_of(api, c, &err);
        rc = root != NULL ? tarfs_extract_from(root, path, body_read, &body, no_overwrite,
                                               forced ? &owner : NULL, &err)
                          : -1;
        free(root);
    }
    container_unref(c);
    if (rc < 0)
        return not_found_in(&err, path, http_param(req, "id"));
    return http_response_data(200, NULL, NULL, 0);
}
