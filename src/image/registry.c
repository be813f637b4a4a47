/* The registry session: one HTTP exchange with libcurl, the registry's errors, opening.
 * Endpoints are in registry_endpoint.c, manifests in registry_manifest.c, tokens and logins
 * in registry_auth.c, blobs in registry_blob.c. */
#include "image/registry.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strv.h"
#include "base/version.h"
#include "base/xalloc.h"
#include "image/registry_internal.h"

enum {
    ERR_BODY_MAX = 64 * 1024,
    CONNECT_TIMEOUT_S = 30,
    STALL_S = 60,          /* a transfer moving no byte for this long fails (and is retried) */
    SMALL_TIMEOUT_S = 120, /* pings */
    MAX_REDIRS = 10,
};

void
registry_auth_fini(struct registry_auth *a)
{
    free(a->username);
    free(a->password);
    free(a->identity_token);
    free(a->registry_token);
    memset(a, 0, sizeof(*a));
}

static bool
empty(const char *s)
{
    return s == NULL || *s == '\0';
}

bool
registry_auth_is_empty(const struct registry_auth *a)
{
    return a == NULL || (empty(a->username) && empty(a->password) && empty(a->identity_token) &&
                         empty(a->registry_token));
}

/* ---- the session ---- */

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
    (void)h;
    (void)access;
    struct registry *r = ctx;
    pthread_mutex_lock(&r->share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
    (void)h;
    struct registry *r = ctx;
    pthread_mutex_unlock(&r->share_locks[data]);
}

struct registry *
reg_session_new(const struct registry_config *cfg, const char *domain, const char *repo,
                const struct registry_auth *auth)
{
    curl_dl_load(NULL); /* without libcurl, every exchange fails with the reason */
    struct registry *r = xcalloc(1, sizeof(*r));
    r->cfg = cfg;
    r->domain = xstrdup(domain);
    r->host = xstrdup(registry_host_of(domain));
    r->repo = xstrdup(repo ? repo : "");
    r->scopes = xcalloc(1, sizeof(char *));
    if (auth != NULL) {
        r->auth.username = auth->username ? xstrdup(auth->username) : NULL;
        r->auth.password = auth->password ? xstrdup(auth->password) : NULL;
        r->auth.identity_token = auth->identity_token ? xstrdup(auth->identity_token) : NULL;
        r->auth.registry_token = auth->registry_token ? xstrdup(auth->registry_token) : NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&r->share_locks[i], NULL);
    r->share = curl_share_init();
    curl_share_setopt(r->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(r->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(r->share, CURLSHOPT_USERDATA, r);
    curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    reg_load_certs_dir(r);
    return r;
}

void
registry_close(struct registry *r)
{
    if (r == NULL)
        return;
    curl_share_cleanup(r->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&r->share_locks[i]);
    pthread_mutex_destroy(&r->lock);
    free(r->domain);
    free(r->host);
    free(r->repo);
    free(r->base);
    strv_free(r->ca_files);
    free(r->client_cert);
    free(r->client_key);
    strv_free(r->scopes);
    registry_auth_fini(&r->auth);
    www_auth_fini(&r->challenge);
    free(r->authz);
    free(r);
}

const char *
registry_base_url(const struct registry *r)
{
    return r->base;
}

void
registry_cancel(struct registry *r)
{
    atomic_store(&r->cancelled, true);
}

void
reg_add_scope(struct registry *r, const char *scope)
{
    pthread_mutex_lock(&r->lock);
    if (!strv_contains(r->scopes, scope)) {
        r->scopes = strv_append(r->scopes, scope);
        if (r->challenge.scheme == WWW_AUTH_BEARER) { /* the next 401 gets a wider token */
            free(r->authz);
            r->authz = NULL;
            r->authz_gen++;
        }
    }
    pthread_mutex_unlock(&r->lock);
}

char *
reg_url(const struct registry *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *suffix;
    if (vasprintf(&suffix, fmt, ap) < 0)
        abort();
    va_end(ap);
    char *url = xasprintf("%s/v2/%s/%s", r->base, r->repo, suffix);
    free(suffix);
    return url;
}

char *
reg_resolve(const struct registry *r, const char *url)
{
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
        return xstrdup(url);
    return xasprintf("%s%s%s", r->base, url[0] == '/' ? "" : "/", url);
}

/* ---- one exchange ---- */

void
reg_request_init(struct reg_request *q, const char *method, char *url)
{
    memset(q, 0, sizeof(*q));
    q->method = method;
    q->url = url;
    q->body_fd = -1;
    q->out_fd = -1;
    q->out_limit = -1;
    buf_init(&q->err_body, ERR_BODY_MAX);
}

static void
answer_reset(struct reg_request *q)
{
    free(q->location);
    free(q->content_type_out);
    free(q->digest_header);
    free(q->www_authenticate);
    free(q->link);
    free(q->content_range);
    q->location = q->content_type_out = q->digest_header = q->www_authenticate = NULL;
    q->link = q->content_range = NULL;
    buf_fini(&q->err_body);
}

void
reg_request_fini(struct reg_request *q)
{
    answer_reset(q);
}

/* Per-exchange state the callbacks see. */
struct xfer {
    struct registry *r;
    struct reg_request *q;
    CURL *c;
    int64_t read_off;
    long status;
    struct timespec last_progress;
};

static long
status_of(struct xfer *x)
{
    if (x->status == 0)
        curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->status);
    return x->status;
}

static size_t
on_header(char *line, size_t size, size_t n, void *ctx)
{
    struct xfer *x = ctx;
    struct reg_request *q = x->q;
    size_t len = size * n;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new answer (redirect, 100) */
        answer_reset(q);
        buf_init(&q->err_body, ERR_BODY_MAX);
        x->status = 0;
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return len;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char *value = xstrndup(v, (size_t)(end - v));
    char **slot = NULL;
    if (nlen == 8 && strncasecmp(line, "location", 8) == 0)
        slot = &q->location;
    else if (nlen == 12 && strncasecmp(line, "content-type", 12) == 0)
        slot = &q->content_type_out;
    else if (nlen == 21 && strncasecmp(line, "docker-content-digest", 21) == 0)
        slot = &q->digest_header;
    else if (nlen == 4 && strncasecmp(line, "link", 4) == 0)
        slot = &q->link;
    else if (nlen == 13 && strncasecmp(line, "content-range", 13) == 0)
        slot = &q->content_range;
    if (nlen == 16 && strncasecmp(line, "www-authenticate", 16) == 0) {
        /* Several challenges may come in several headers: one comma-separated list. */
        char *joined =
            q->www_authenticate ? xasprintf("%s, %s", q->www_authenticate, value) : xstrdup(value);
        free(q->www_authenticate);
        q->www_authenticate = joined;
        free(value);
    } else if (slot != NULL) {
        free(*slot);
        *slot = value;
    } else {
        free(value);
    }
    return len;
}

static size_t
write_fd(struct xfer *x, const char *data, size_t len)
{
    struct reg_request *q = x->q;
    if (q->range != NULL && q->out_base > 0 && !q->out_reset && status_of(x) == 200) {
        /* The server sent the whole blob instead of the range: start over. */
        if (ftruncate(q->out_fd, 0) < 0 || lseek(q->out_fd, 0, SEEK_SET) < 0) {
            q->io_errno = errno;
            return 0;
        }
        digest_sha256_reset(q->hash);
        q->out_base = 0;
        q->out_reset = true;
    }
    if (q->out_limit >= 0 && q->out_base + q->out_written + (int64_t)len > q->out_limit) {
        q->out_overflow = true;
        return 0;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(q->out_fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            q->io_errno = w < 0 ? errno : ENOSPC;
            return 0;
        }
        done += (size_t)w;
    }
    if (q->hash != NULL)
        digest_sha256_update(q->hash, data, len);
    q->out_written += (int64_t)len;
    return len;
}

static size_t
on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct xfer *x = ctx;
    struct reg_request *q = x->q;
    size_t len = size * n;
    long status = status_of(x);
    if (status < 200 || status > 299) {
        if (buf_append(&q->err_body, data, len, NULL) < 0) {
            /* the rest of a long error page is not needed */
        }
        return len;
    }
    if (q->out != NULL) {
        if (buf_append(q->out, data, len, NULL) < 0) {
            q->out_overflow = true;
            return 0;
        }
        return len;
    }
    if (q->out_fd >= 0)
        return write_fd(x, data, len);
    return len;
}

static size_t
on_read(char *dst, size_t size, size_t n, void *ctx)
{
    struct xfer *x = ctx;
    struct reg_request *q = x->q;
    size_t want = size * n;
    int64_t total = q->body_fd >= 0 ? q->body_size : (int64_t)q->body_len;
    if (x->read_off >= total)
        return 0;
    if ((int64_t)want > total - x->read_off)
        want = (size_t)(total - x->read_off);
    if (q->body_fd < 0) {
        memcpy(dst, (const char *)q->body + x->read_off, want);
        x->read_off += (int64_t)want;
        return want;
    }
    for (;;) {
        ssize_t r = pread(q->body_fd, dst, want, x->read_off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            q->io_errno = r < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        x->read_off += r;
        return (size_t)r;
    }
}

static int64_t
ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static int
on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    struct xfer *x = ctx;
    struct reg_request *q = x->q;
    if (atomic_load(&x->r->cancelled))
        return 1;
    if (q->progress == NULL || ms_since(&x->last_progress) < 100)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &x->last_progress);
    int64_t now = q->has_body ? (int64_t)ulnow : q->out_base + (int64_t)dlnow;
    if (now <= 0)
        return 0;
    return q->progress(q->progress_ctx, now, q->progress_total) < 0 ? 1 : 0;
}

/* OpenSSL's context of a new TLS connection: the certs.d CAs join the system ones. */
static CURLcode
on_ssl_ctx(CURL *c, void *ssl_ctx, void *ctx)
{
    (void)c;
    struct registry *r = ctx;
    X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);
    for (size_t i = 0; r->ca_files != NULL && r->ca_files[i] != NULL; i++)
        if (X509_STORE_load_file(store, r->ca_files[i]) != 1)
            LOG_WARN("registry %s: cannot load CA file %s", r->host, r->ca_files[i]);
    return CURLE_OK;
}

void
reg_go_method(const char *method, char out[8])
{
    snprintf(out, 8, "%s", method);
    for (char *p = out + 1; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static struct curl_slist *
request_headers(struct registry *r, struct reg_request *q, unsigned *gen)
{
    struct curl_slist *h = NULL;
    char *line;
    if (q->accept != NULL) {
        line = xasprintf("Accept: %s", q->accept);
        h = curl_slist_append(h, line);
        free(line);
    }
    if (q->content_type != NULL) {
        line = xasprintf("Content-Type: %s", q->content_type);
        h = curl_slist_append(h, line);
        free(line);
    }
    if (q->range != NULL) {
        line = xasprintf("Range: %s", q->range);
        h = curl_slist_append(h, line);
        free(line);
    }
    pthread_mutex_lock(&r->lock);
    *gen = r->authz_gen;
    if (!q->no_auth && q->basic_user == NULL && r->authz != NULL)
        h = curl_slist_append(h, r->authz);
    pthread_mutex_unlock(&r->lock);
    return h;
}

static void
set_method(CURL *c, struct reg_request *q)
{
    if (strcmp(q->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (q->has_body) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(q->body_fd >= 0 ? q->body_size : (int64_t)q->body_len));
    } else if (strcmp(q->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    } else if (strcmp(q->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    }
}

static void
set_tls(CURL *c, struct registry *r)
{
    if (!r->tls_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (r->ca_files != NULL && r->ca_files[0] != NULL) {
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, r);
#if LIBCURL_VERSION_NUM >= 0x075700
        curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L); /* the store gets our CAs */
#endif
    }
    if (r->client_cert != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, r->client_cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, r->client_key);
    }
}

int
reg_exchange(struct registry *r, struct reg_request *q, struct err **err)
{
    answer_reset(q);
    buf_init(&q->err_body, ERR_BODY_MAX);
    q->status = 0;
    q->out_written = 0;
    q->out_overflow = false;
    q->io_errno = 0;
    q->errbuf[0] = '\0';
    if (q->out != NULL)
        buf_fini(q->out);
    if (curl_dl_load(err) < 0)
        return -1;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return err_make(err, ERR_INTERNAL, 0, "curl_easy_init failed");
    struct xfer x = {.r = r, .q = q, .c = c}; /* last_progress 0: the first report at once */
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_SHARE, r->share);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "sockerless/" SOCKERLESS_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, q->errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
    if (q->timeout_s > 0) {
        curl_easy_setopt(c, CURLOPT_TIMEOUT, q->timeout_s);
    } else {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)STALL_S);
    }
    if (q->follow) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)MAX_REDIRS);
    }
    set_method(c, q);
    set_tls(c, r);
    if (q->basic_user != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, q->basic_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, q->basic_pass ? q->basic_pass : "");
    }
    unsigned gen;
    struct curl_slist *headers = request_headers(r, q, &gen);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    q->code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
    curl_off_t clen = -1;
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    q->content_length = clen;
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    q->authz_gen = gen;
    if (q->code == CURLE_OK || (q->out_overflow && q->io_errno == 0))
        return 0;
    char m[8];
    reg_go_method(q->method, m);
    if (q->io_errno != 0)
        return err_make(err, ERR_INTERNAL, q->io_errno, "%s \"%s\": %s", m, q->url,
                        strerror(q->io_errno));
    if (atomic_load(&r->cancelled) && q->code == CURLE_ABORTED_BY_CALLBACK)
        return err_make(err, ERR_UNAVAILABLE, 0, "%s \"%s\": operation cancelled", m, q->url);
    return err_make(err, ERR_UNAVAILABLE, 0, "%s \"%s\": %s", m, q->url,
                    q->errbuf[0] ? q->errbuf : curl_easy_strerror(q->code));
}

bool
reg_is_retryable(const struct reg_request *q)
{
    switch (q->code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    case CURLE_OK:
        return q->status == 429 || (q->status >= 500 && q->status <= 599);
    default:
        return false;
    }
}

/* ---- the registry's errors ---- */

static enum err_kind
kind_of_status(long status)
{
    if (status == 401 || status == 403)
        return ERR_FORBIDDEN;
    if (status == 404)
        return ERR_NOT_FOUND;
    if (status == 413)
        return ERR_TOO_LARGE;
    if (status == 429 || status >= 500)
        return ERR_UNAVAILABLE;
    return ERR_INVALID;
}

/* "MANIFEST_UNKNOWN" -> "manifest unknown", as distribution's errcode.Code.Error(). */
static char *
code_text(const char *code)
{
    char *s = xstrdup(code && *code ? code : "unknown");
    for (char *p = s; *p; p++)
        *p = *p == '_' ? ' ' : (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    return s;
}

int
reg_status_error(const struct reg_request *q, struct err **err)
{
    enum err_kind kind = kind_of_status(q->status);
    json_t *root = q->err_body.len ? json_loadb(q->err_body.data, q->err_body.len, 0, NULL) : NULL;
    json_t *errors = json_object_get(root, "errors");
    const char *details = json_string_value(json_object_get(root, "details"));
    int rc;
    if (json_is_array(errors) && json_array_size(errors) > 0) {
        /* One error alone, or "errors:\n" and one a line (errcode.Errors.Error()). */
        char *msg = json_array_size(errors) > 1 ? xstrdup("errors:\n") : xstrdup("");
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            char *code = code_text(json_string_value(json_object_get(e, "code")));
            const char *text = json_string_value(json_object_get(e, "message"));
            char *next = xasprintf("%s%s: %s%s", msg, code, text ? text : "",
                                   json_array_size(errors) > 1 ? "\n" : "");
            free(code);
            free(msg);
            msg = next;
        }
        rc = err_make(err, kind, 0, "%s", msg);
        free(msg);
    } else if (details != NULL) {
        rc = err_make(err, kind, 0, "%s%s", q->status == 401 ? "unauthorized: " : "", details);
    } else if (q->status == 401) {
        rc = err_make(err, kind, 0, "unauthorized: authentication required");
    } else {
        char m[8];
        reg_go_method(q->method, m);
        rc = err_make(err, kind, 0, "%s \"%s\": unexpected HTTP status %ld%s%.200s", m, q->url,
                      q->status, q->err_body.len ? ": " : "",
                      q->err_body.len ? q->err_body.data : "");
    }
    json_decref(root);
    return rc;
}

/* ---- opening ---- */

struct registry *
registry_open(const struct registry_config *cfg, const char *domain, const char *repo,
              const struct registry_auth *auth, bool push, struct err **err)
{
    struct registry *r = reg_session_new(cfg, domain, repo, auth);
    char *scope = xasprintf("repository:%s:%s", repo, push ? "pull,push" : "pull");
    r->scopes = strv_append(r->scopes, scope);
    free(scope);
    struct reg_request q;
    int rc = reg_pick_endpoint(r, &q, err);
    /* A 401 names the scheme: get the token (or set Basic credentials) now. */
    if (rc == 0 && q.status == 401)
        rc = reg_authenticate(r, q.www_authenticate, 0, err);
    free(q.url);
    reg_request_fini(&q);
    if (rc < 0) {
        registry_close(r);
        return NULL;
    }
    return r;
}

int
reg_do(struct registry *r, struct reg_request *q, struct err **err)
{
    for (int attempt = 0;; attempt++) {
        if (reg_exchange(r, q, err) < 0)
            return -1;
        if (q->status != 401 || attempt > 0 || q->no_auth)
            return 0;
        if (reg_authenticate(r, q->www_authenticate, q->authz_gen, err) < 0)
            return -1;
    }
}
