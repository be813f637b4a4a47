/* Pull (POST /images/create?fromImage=), push (POST /images/{name}/push) and their progress
 * streams; X-Registry-Auth.
 *
 * A pull or push runs in a thread of its own that writes Docker's JSON messages into a pipe;
 * the response streams the pipe. dockerd answers an error that comes before the first message
 * (no registry, unknown manifest, refused credentials) with an HTTP status, and later ones
 * in-band ({"errorDetail": ..., "error": ...}): the handler waits for the first message or the
 * end before it answers, to do the same. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "engine/distribution.h"
#include "engine/engine.h"
#include "image/reference.h"

enum { AUTH_HEADER_MAX = 64 * 1024, FIRST_CHUNK = 16 * 1024 };

/* ---- X-Registry-Auth ---- */

static char *
json_dup(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && *v ? xstrdup(v) : NULL;
}

/* base64 or base64url, padded or not, into a NUL-terminated buffer; NULL when invalid. */
static char *
b64_decode(const char *text, size_t *len)
{
    size_t n = strlen(text);
    if (n > AUTH_HEADER_MAX)
        return NULL;
    char *std = xmalloc(n + 4);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        std[m++] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
    while (m % 4 != 0)
        std[m++] = '=';
    std[m] = '\0';
    unsigned char *out = xmalloc(m / 4 * 3 + 1);
    int got = EVP_DecodeBlock(out, (const unsigned char *)std, (int)m);
    if (got >= 0) /* EVP_DecodeBlock counts padding as zero bytes */
        for (size_t i = m; i > 0 && std[i - 1] == '='; i--)
            got--;
    free(std);
    if (got < 0) {
        free(out);
        return NULL;
    }
    out[got] = '\0';
    *len = (size_t)got;
    return (char *)out;
}

/*
 * X-Registry-Auth: base64url JSON {"username", "password", "auth" (base64 "user:pass"),
 * "identitytoken", "registrytoken", "serveraddress"}. dockerd ignores a header it cannot
 * decode (anonymous access); so does this.
 */
static void
decode_auth_header(const struct http_request *req, struct registry_auth *out)
{
    memset(out, 0, sizeof(*out));
    const char *h = http_header(req, "X-Registry-Auth");
    size_t len;
    cleanup_free char *text = h && *h ? b64_decode(h, &len) : NULL;
    json_t *o = text ? json_loadb(text, len, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    out->username = json_dup(o, "username");
    out->password = json_dup(o, "password");
    out->identity_token = json_dup(o, "identitytoken");
    out->registry_token = json_dup(o, "registrytoken");
    const char *pair = json_string_value(json_object_get(o, "auth"));
    size_t plen;
    cleanup_free char *decoded = pair && *pair && !out->username ? b64_decode(pair, &plen) : NULL;
    char *colon = decoded ? strchr(decoded, ':') : NULL;
    if (colon != NULL) {
        *colon = '\0';
        out->username = xstrdup(decoded);
        free(out->password);
        out->password = xstrdup(colon + 1);
    }
    json_decref(o);
}

/* ---- progress as JSON ---- */

/* go-units' HumanSize: four significant digits, decimal units ("32.77kB", "3.001MB"). */
static void
human_size(int64_t n, char *out, size_t cap)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1000.0 && u < sizeof(units) / sizeof(units[0]) - 1) {
        v /= 1000.0;
        u++;
    }
    snprintf(out, cap, "%.4g%s", v, units[u]);
}

/* pkg/jsonmessage's JSONProgress.String() at the daemon's width: a 50-column bar and the
 * counts ("[==>     ]  1.2MB/3.4MB"; the current count alone past the total). */
static char *
progress_bar(int64_t current, int64_t total)
{
    char cur[32], tot[32], numbers[80];
    human_size(current, cur, sizeof(cur));
    if (total <= 0) {
        snprintf(numbers, sizeof(numbers), "%8s", cur);
        return xstrdup(numbers);
    }
    human_size(total, tot, sizeof(tot));
    int pct = (int)((double)current / (double)total * 100.0) / 2;
    if (pct > 50)
        pct = 50;
    char bar[64];
    memset(bar, '=', (size_t)pct);
    bar[pct] = '>';
    memset(bar + pct + 1, ' ', (size_t)(50 - pct));
    bar[51] = '\0';
    if (current > total)
        snprintf(numbers, sizeof(numbers), "%8s", cur);
    else
        snprintf(numbers, sizeof(numbers), "%8s/%s", cur, tot);
    return xasprintf("[%s] %s", bar, numbers);
}

/* Docker's JSONMessage: status, progressDetail, progress, id, aux, in Go's field order. */
static json_t *
progress_json(const struct progress *p)
{
    json_t *o = json_object();
    if (p->kind == PROGRESS_PUSHED) {
        json_object_set_new(o, "progressDetail", json_object());
        json_object_set_new(o, "aux",
                            json_pack("{s:s, s:s, s:I}", "Tag", p->tag, "Digest", p->digest, "Size",
                                      (json_int_t)p->size));
        return o;
    }
    json_object_set_new(o, "status", json_string(p->status));
    if (p->kind == PROGRESS_LAYER)
        json_object_set_new(o, "progressDetail", json_object());
    if (p->kind == PROGRESS_BYTES) {
        json_object_set_new(o, "progressDetail",
                            json_pack("{s:I, s:I}", "current", (json_int_t)p->current, "total",
                                      (json_int_t)p->total));
        char *bar = progress_bar(p->current, p->total);
        json_object_set_new(o, "progress", json_string(bar));
        free(bar);
    }
    if (p->id != NULL)
        json_object_set_new(o, "id", json_string(p->id));
    return o;
}

/* ---- the job and its stream ---- */

enum job_kind { JOB_PULL, JOB_PUSH };

struct job {
    atomic_int refs; /* the thread's and the handler's */
    struct engine *eng;
    enum job_kind kind;
    char *ref, *tag, *platform;
    bool all_tags;
    struct registry_auth auth;
    int wfd;
    pthread_mutex_t lock;
    struct err *err; /* a failure before anything was streamed (under lock) */
};

static void
job_unref(struct job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    free(j->ref);
    free(j->tag);
    free(j->platform);
    registry_auth_fini(&j->auth);
    err_clear(&j->err);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static int
write_json(int fd, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    size_t len = strlen(text);
    text[len] = '\n'; /* the NUL becomes the line's end */
    int rc = fsutil_write_all(fd, text, len + 1);
    free(text);
    return rc;
}

static int
job_emit(void *ctx, const struct progress *p)
{
    struct job *j = ctx;
    return write_json(j->wfd, progress_json(p)); /* EPIPE when the client left */
}

static void *
job_main(void *arg)
{
    struct job *j = arg;
    struct progress_sink sink = {.ctx = j, .emit = job_emit};
    struct err *err = NULL;
    bool streamed = false;
    int rc;
    if (j->kind == JOB_PULL) {
        struct pull_opts opts = {
            .platform = j->platform, .auth = &j->auth, .all_tags = j->all_tags};
        rc = engine_image_pull(j->eng, j->ref, &opts, &sink, &streamed, &err);
    } else {
        rc = engine_image_push(j->eng, j->ref, j->tag, &j->auth, &sink, &streamed, &err);
    }
    if (rc < 0 && streamed) {
        write_json(j->wfd, json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err->msg, "error",
                                     err->msg));
        err_clear(&err);
    } else if (rc < 0) {
        pthread_mutex_lock(&j->lock);
        j->err = err;
        pthread_mutex_unlock(&j->lock);
    }
    close(j->wfd);
    struct engine *eng = j->eng;
    job_unref(j);
    engine_job_end(eng);
    return NULL;
}

struct job_stream {
    int rfd;
    char *first; /* what the handler read before answering */
    size_t first_len, first_off;
};

static ssize_t
job_produce(struct http_stream *hs, void *ctx, char *buf, size_t max)
{
    struct job_stream *s = ctx;
    if (s->first_off < s->first_len) {
        size_t n = s->first_len - s->first_off < max ? s->first_len - s->first_off : max;
        memcpy(buf, s->first + s->first_off, n);
        s->first_off += n;
        return (ssize_t)n;
    }
    return api_pipe_produce(hs, s->rfd, buf, max);
}

static void
job_stream_free(void *ctx)
{
    struct job_stream *s = ctx;
    close(s->rfd); /* a job still running sees EPIPE and stops */
    free(s->first);
    free(s);
}

/* Starts j in its thread; answers with its error when it fails before its first message,
 * else with the stream. Takes j. */
static struct http_response *
job_run(struct job *j)
{
    struct err *err = NULL;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        job_unref(j);
        err_errno(&err, "pipe");
        return api_error_response(&err);
    }
    j->wfd = fds[1];
    atomic_store(&j->refs, 2);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    engine_job_begin(j->eng);
    int rc = pthread_create(&t, &attr, job_main, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        engine_job_end(j->eng);
        close(fds[0]);
        close(fds[1]);
        job_unref(j);
        job_unref(j);
        err_make(&err, ERR_INTERNAL, rc, "cannot start a thread");
        return api_error_response(&err);
    }
    /* Blocks this connection's thread until the job says something or ends. */
    char *first = xmalloc(FIRST_CHUNK);
    ssize_t n;
    do
        n = read(fds[0], first, FIRST_CHUNK);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        free(first);
        close(fds[0]);
        pthread_mutex_lock(&j->lock);
        err = j->err;
        j->err = NULL;
        pthread_mutex_unlock(&j->lock);
        job_unref(j);
        if (err == NULL)
            err_make(&err, ERR_INTERNAL, n < 0 ? errno : 0, "the operation ended without a word");
        return api_error_response(&err);
    }
    job_unref(j);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    struct job_stream *s = xcalloc(1, sizeof(*s));
    s->rfd = fds[0];
    s->first = first;
    s->first_len = (size_t)n;
    return http_response_stream(200, "application/json", job_produce, s, job_stream_free);
}

static struct job *
job_new(struct api *api, const struct http_request *req, enum job_kind kind)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->eng = api->eng;
    j->kind = kind;
    j->wfd = -1;
    pthread_mutex_init(&j->lock, NULL);
    atomic_init(&j->refs, 1);
    decode_auth_header(req, &j->auth);
    return j;
}

/* ---- handlers ---- */

struct http_response *
api_image_pull(struct api *api, struct http_request *req, const char *from, const char *tag)
{
    /* The CLI sends a digest as the tag ("sha256:..."): it joins with "@". */
    char *ref = tag != NULL && *tag != '\0' && strchr(from, '@') == NULL
                    ? xasprintf("%s%s%s", from, strchr(tag, ':') ? "@" : ":", tag)
                    : xstrdup(from);
    /* An invalid reference is a 400 before the stream starts, as dockerd answers it; never a
     * pull (synthetic or not) of a name no registry could hold. */
    struct err *err = NULL;
    struct reference r;
    if (reference_parse(ref, &r, &err) < 0) {
        free(ref);
        return api_error_response(&err);
    }
    reference_fini(&r);
    struct job *j = job_new(api, req, JOB_PULL);
    j->ref = ref;
    /* An empty tag asks for every tag of the repository (docker pull -a). */
    const char *last = strrchr(from, '/');
    j->all_tags = (tag == NULL || *tag == '\0') && strpbrk(last ? last : from, ":@") == NULL;
    const char *platform = http_query(req, "platform");
    j->platform = platform && *platform ? xstrdup(platform) : NULL;
    return job_run(j);
}

struct http_response *
api_image_push(struct http_request *req, void *app)
{
    struct api *api = app;
    struct job *j = job_new(api, req, JOB_PUSH);
    j->ref = xstrdup(http_param(req, "name"));
    const char *tag = http_query(req, "tag");
    j->tag = tag && *tag ? xstrdup(tag) : NULL;
    return job_run(j);
}
