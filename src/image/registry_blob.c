/* Blobs: downloads verified as they arrive, resumed with a Range request after a broken
 * transfer; existence checks; cross-repository mounts; monolithic uploads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "image/manifest.h"
#include "image/registry_internal.h"

enum { ATTEMPTS = 5, SMALL_TIMEOUT_S = 120 };

/* The pause before attempt n (1-based, n >= 2): 1, 2, 4, 8 s. */
static void
pause_before(int attempt)
{
    struct timespec ts = {.tv_sec = 1L << (attempt - 2)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Where a 206 answer starts ("bytes 100-199/200"), -1 when unreadable. */
static int64_t
range_start(const char *content_range)
{
    if (content_range == NULL || strncmp(content_range, "bytes ", 6) != 0)
        return -1;
    char *end;
    long long v = strtoll(content_range + 6, &end, 10);
    return end != content_range + 6 && *end == '-' ? v : -1;
}

/* One attempt: 0 done, 1 worth another attempt (*err set), -1 failed for good. */
static int
get_once(struct registry *r, struct reg_request *q, const char *digest, int64_t *have,
         struct err **err)
{
    char range[48];
    q->range = NULL;
    q->out_base = *have;
    q->out_reset = false;
    if (*have > 0) {
        snprintf(range, sizeof(range), "bytes=%lld-", (long long)*have);
        q->range = range;
    }
    int rc = reg_do(r, q, err);
    if (q->out_reset)
        *have = 0;
    *have += q->out_written;
    if (q->out_overflow)
        return -1; /* more bytes than the descriptor says: verification fails below */
    if (rc < 0)
        return reg_is_retryable(q) && q->io_errno == 0 && !atomic_load(&r->cancelled) ? 1 : -1;
    if (q->status == 206 && range_start(q->content_range) != q->out_base) {
        /* not the range asked for: what was written cannot be trusted */
        *have = 0;
        digest_sha256_reset(q->hash);
        if (ftruncate(q->out_fd, 0) < 0 || lseek(q->out_fd, 0, SEEK_SET) < 0)
            return err_make(err, ERR_INTERNAL, errno, "rewind the download of %s", digest);
        err_make(err, ERR_UNAVAILABLE, 0, "the registry answered another range of %s", digest);
        return 1;
    }
    if (q->status < 200 || q->status > 299) {
        reg_status_error(q, err);
        return reg_is_retryable(q) ? 1 : -1;
    }
    return 0;
}

int
registry_get_blob(struct registry *r, const char *digest, int64_t size, const char *what, int fd,
                  registry_progress_fn progress, void *ctx, struct err **err)
{
    if (!manifest_is_digest(digest))
        return err_make(err, ERR_INVALID, 0, "invalid digest %.80s", digest);
    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return err_make(err, ERR_INTERNAL, errno, "prepare the download of %s", digest);
    struct digest_sha256 *h = digest_sha256_new();
    struct reg_request q;
    reg_request_init(&q, "GET", reg_url(r, "blobs/%s", digest));
    q.follow = true;
    q.out_fd = fd;
    q.hash = h;
    q.out_limit = size;
    q.progress = progress;
    q.progress_ctx = ctx;
    q.progress_total = size;
    int64_t have = 0;
    int rc = 1;
    for (int attempt = 1; rc == 1; attempt++) {
        if (attempt > 1) {
            if (attempt > ATTEMPTS)
                break;
            LOG_INFO("registry %s: download of %s interrupted (%s): attempt %d of %d", r->host,
                     digest, (*err)->msg, attempt, ATTEMPTS);
            err_clear(err);
            pause_before(attempt);
        }
        rc = get_once(r, &q, digest, &have, err);
    }
    if (rc == 0 || q.out_overflow) {
        char got[72];
        digest_sha256_final(h, got);
        if (!q.out_overflow && strcmp(got, digest) == 0) {
            if (progress != NULL)
                progress(ctx, have, size);
            rc = 0;
        } else {
            rc =
                err_make(err, ERR_INVALID, 0, "%s verification failed for digest %s", what, digest);
        }
    } else {
        rc = -1;
    }
    digest_sha256_free(h);
    free(q.url);
    reg_request_fini(&q);
    return rc;
}

char *
registry_get_blob_mem(struct registry *r, const char *digest, size_t max, const char *what,
                      size_t *len, struct err **err)
{
    if (!manifest_is_digest(digest)) {
        err_make(err, ERR_INVALID, 0, "invalid digest %.80s", digest);
        return NULL;
    }
    struct buf body;
    buf_init(&body, max);
    struct reg_request q;
    reg_request_init(&q, "GET", reg_url(r, "blobs/%s", digest));
    q.follow = true;
    q.out = &body;
    q.timeout_s = SMALL_TIMEOUT_S;
    int rc = -1;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
        if (attempt > 1) {
            err_clear(err);
            pause_before(attempt);
        }
        rc = reg_do(r, &q, err);
        if (rc == 0 && q.out_overflow) {
            rc = err_make(err, ERR_TOO_LARGE, 0, "%s %s is over %zu bytes", what, digest, max);
            break;
        }
        if (rc == 0 && (q.status < 200 || q.status > 299))
            rc = reg_status_error(&q, err);
        if (rc == 0 || !reg_is_retryable(&q) || atomic_load(&r->cancelled))
            break;
    }
    char *out = NULL;
    if (rc == 0) {
        char got[72];
        digest_sha256(body.data ? body.data : "", body.len, got);
        if (strcmp(got, digest) != 0)
            err_make(err, ERR_INVALID, 0, "%s verification failed for digest %s", what, digest);
        else
            out = buf_take(&body, len);
    }
    buf_fini(&body);
    free(q.url);
    reg_request_fini(&q);
    return out;
}

int
registry_blob_exists(struct registry *r, const char *digest, int64_t *size, struct err **err)
{
    struct reg_request q;
    reg_request_init(&q, "HEAD", reg_url(r, "blobs/%s", digest));
    q.follow = true;
    q.timeout_s = SMALL_TIMEOUT_S;
    int rc = reg_do(r, &q, err);
    if (rc == 0)
        rc = q.status >= 200 && q.status <= 299 ? 1
             : q.status == 404                  ? 0
                                                : reg_status_error(&q, err);
    if (rc == 1 && size != NULL)
        *size = q.content_length;
    free(q.url);
    reg_request_fini(&q);
    return rc;
}

/* POST .../blobs/uploads/ (with a mount query or none): 201 mounted, 202 a session. */
static int
start_upload(struct registry *r, const char *query, char **upload_url, struct err **err)
{
    struct reg_request q;
    reg_request_init(&q, "POST", reg_url(r, "blobs/uploads/%s", query));
    q.timeout_s = SMALL_TIMEOUT_S;
    int rc = reg_do(r, &q, err);
    if (rc == 0 && q.status == 201) {
        rc = 1;
    } else if (rc == 0 && q.status == 202 && q.location != NULL) {
        *upload_url = reg_resolve(r, q.location);
    } else if (rc == 0) {
        rc = q.status == 202
                 ? err_make(err, ERR_INVALID, 0, "the registry opened an upload without a Location")
                 : reg_status_error(&q, err);
    }
    free(q.url);
    reg_request_fini(&q);
    return rc;
}

int
registry_mount_blob(struct registry *r, const char *digest, const char *from_repo,
                    char **upload_url, struct err **err)
{
    cleanup_free char *scope = xasprintf("repository:%s:pull", from_repo);
    reg_add_scope(r, scope);
    char *from = curl_easy_escape(NULL, from_repo, 0);
    cleanup_free char *query = xasprintf("?mount=%s&from=%s", digest, from ? from : "");
    curl_free(from);
    *upload_url = NULL;
    return start_upload(r, query, upload_url, err);
}

int
registry_put_blob(struct registry *r, const char *digest, int fd, int64_t size,
                  const char *upload_url, registry_progress_fn progress, void *ctx,
                  struct err **err)
{
    char *session = upload_url ? xstrdup(upload_url) : NULL;
    if (session == NULL) {
        int started = start_upload(r, "", &session, err);
        if (started != 0) {
            free(session);
            return started < 0 ? -1 : 0; /* 1: the registry already had it */
        }
    }
    char *url = xasprintf("%s%sdigest=%s", session, strchr(session, '?') ? "&" : "?", digest);
    free(session);
    struct reg_request q;
    reg_request_init(&q, "PUT", url);
    q.content_type = "application/octet-stream";
    q.body_fd = fd;
    q.body_size = size;
    q.has_body = true;
    q.progress = progress;
    q.progress_ctx = ctx;
    q.progress_total = size;
    int rc = reg_do(r, &q, err);
    if (rc == 0 && (q.status < 200 || q.status > 299))
        rc = reg_status_error(&q, err);
    if (rc == 0 && progress != NULL)
        progress(ctx, size, size);
    free(url);
    reg_request_fini(&q);
    return rc;
}
