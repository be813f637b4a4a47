#include "http/server.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "http/deadline.h"
#include "http/tls.h"
#include "http/upload.h"

enum {
    MAX_DAEMONS = 16,
    MAX_FIXED = 16, /* fixed responses kept ready (http_response_fixed); more are built each time */
    STREAM_BLOCK = 64 * 1024,
    HIJACK_DRAIN_MS = 5000,
    UPLOAD_BUFFER = 1024 * 1024, /* a streamed body in flight between the two threads */
};

struct http_stream {
    struct http_server *srv;
    int client_fd;
    http_stream_fn fn;
    void *ctx;
    http_free_fn ctx_free;
    bool headers_flushed;
};

struct http_hijack {
    struct http_server *srv;
    struct http_hijack *next; /* in srv->hijacks while running */
    int fd;
    const char *extra;
    size_t extra_len, extra_off;
    struct MHD_UpgradeResponseHandle *urh;
    http_hijack_fn fn;
    void *ctx;
    http_free_fn ctx_free;
};

/* Per-request state kept in MHD's con_cls. */
struct request_state {
    struct http_request req;
    struct http_response *early; /* an error decided from the headers, sent after the body */
    /* A queued 101 whose upgrade has not happened: freed here if it never does. The upgrade
     * callback takes it (sets this to NULL) before the hijack thread, which then owns it, starts:
     * that thread may finish and free it before the request is completed. */
    struct http_hijack *pending_hijack;
    bool upgraded; /* the connection now belongs to a hijack: no header deadline any more */
    /* ROUTE_STREAM_BODY: the handler runs in this thread from the end of the headers, reading
     * req.upload, which the connection's thread fills; joined before the response is queued,
     * or when the request ends otherwise (on_completed). */
    pthread_t worker;
    bool worker_running;
    struct http_response *worker_response;
};

struct http_server {
    const struct route *routes;
    size_t n_routes;
    void *app;
    struct http_server_options opts;
    char api_version[16];
    struct MHD_Daemon *daemons[MAX_DAEMONS];
    size_t n_daemons;
    int stop_efd; /* readable once stopping */
    pthread_mutex_t lock;
    pthread_cond_t hijacks_done;
    struct http_hijack *hijacks;
    size_t n_hijacks;
    bool stopping;
    /* TLS listeners take only CA-signed client certificates. One setting for all of them: set
     * with the first TLS listener, before its daemon starts. */
    bool tls_set, tls_verify;
    struct http_deadlines *deadlines; /* NULL without a header timeout */
    /* Fixed responses made into MHD responses, each queued as it is by every request that
     * answers it (MHD counts the connections using one); under fixed_lock. */
    pthread_mutex_t fixed_lock;
    struct {
        const struct http_fixed_response *key;
        struct MHD_Response *mr;
    } fixed[MAX_FIXED];
    size_t n_fixed;
};

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (LOG_LEVEL_DEBUG < log_threshold)
        return;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_write(LOG_LEVEL_DEBUG, "http: %s", line);
}

struct http_server *
http_server_new(const struct route *routes, size_t n_routes, void *app,
                const struct http_server_options *opts)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    srv->routes = routes;
    srv->n_routes = n_routes;
    srv->app = app;
    srv->opts = *opts;
    snprintf(srv->api_version, sizeof(srv->api_version), "%d.%d", opts->max_version.major,
             opts->max_version.minor);
    srv->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->stop_efd < 0)
        abort(); /* only fails when the process is out of fds at start-up */
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->hijacks_done, NULL);
    pthread_mutex_init(&srv->fixed_lock, NULL);
    if (opts->header_timeout_s > 0)
        srv->deadlines = http_deadlines_new(opts->header_timeout_s, opts->idle_timeout_s);
    return srv;
}

/* ---- responses ---- */

static void
add_common_headers(struct http_server *srv, struct MHD_Response *mr, const char *content_type)
{
    MHD_add_response_header(mr, "Api-Version", srv->api_version);
    MHD_add_response_header(mr, "Docker-Experimental", "false");
    MHD_add_response_header(mr, "Ostype", "linux");
    MHD_add_response_header(mr, "Server", srv->opts.server_header);
    if (content_type != NULL)
        MHD_add_response_header(mr, "Content-Type", content_type);
}

static ssize_t
stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct http_stream *s = cls;
    if (!s->headers_flushed) {
        /* MHD holds the headers of a chunked response until the first chunk is ready, but
         * clients block on them (docker run opens wait before start: compat-notes 12). An empty
         * first answer makes MHD send the headers alone and ask again. */
        s->headers_flushed = true;
        return 0;
    }
    ssize_t n = s->fn(s, s->ctx, buf, max);
    if (n > 0)
        return n;
    return n == HTTP_STREAM_END ? MHD_CONTENT_READER_END_OF_STREAM
                                : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
stream_free(void *cls)
{
    struct http_stream *s = cls;
    if (s->ctx_free != NULL)
        s->ctx_free(s->ctx);
    free(s);
}

static void hijack_launch(struct http_hijack *h);
static struct MHD_Response *relay_response(struct http_server *srv, struct request_state *rs,
                                           struct http_response *r);
static void hijack_on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls,
                              const char *extra_in, size_t extra_in_size, MHD_socket sock,
                              struct MHD_UpgradeResponseHandle *urh);

static struct MHD_Response *
fixed_to_mhd(struct http_server *srv, const struct http_fixed_response *f)
{
    struct MHD_Response *mr =
        MHD_create_response_from_buffer(f->body_len, (void *)f->body, MHD_RESPMEM_PERSISTENT);
    if (mr == NULL)
        return NULL;
    add_common_headers(srv, mr, f->content_type);
    for (size_t i = 0; i < f->n_headers; i++)
        MHD_add_response_header(mr, f->headers[i].name, f->headers[i].value);
    return mr;
}

/* The MHD response of a fixed answer, made on first use. *shared: it is the server's (queue it,
 * do not destroy it); otherwise (the cache is full) it is the caller's. */
static struct MHD_Response *
fixed_response(struct http_server *srv, const struct http_fixed_response *f, bool *shared)
{
    pthread_mutex_lock(&srv->fixed_lock);
    struct MHD_Response *mr = NULL;
    size_t i = 0;
    while (i < srv->n_fixed && srv->fixed[i].key != f)
        i++;
    if (i < srv->n_fixed) {
        mr = srv->fixed[i].mr;
    } else if (i < MAX_FIXED && (mr = fixed_to_mhd(srv, f)) != NULL) {
        srv->fixed[i].key = f;
        srv->fixed[i].mr = mr;
        srv->n_fixed++;
    }
    pthread_mutex_unlock(&srv->fixed_lock);
    *shared = mr != NULL;
    return mr != NULL ? mr : fixed_to_mhd(srv, f);
}

/* ---- shared responses ---- */

struct http_shared {
    atomic_int refs;  /* its owners' references */
    atomic_int holds; /* 1 while refs > 0, plus 1 for each MHD response sending body */
    unsigned status;
    char *content_type; /* NULL: none */
    char *body;
    size_t len;
    pthread_mutex_t lock;    /* for mr and mr_srv */
    struct MHD_Response *mr; /* made by mr_srv on first use, one MHD reference; or NULL */
    const struct http_server *mr_srv;
};

struct http_shared *
http_shared_new(unsigned status, const char *content_type, char *body, size_t len)
{
    struct http_shared *s = xcalloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    atomic_init(&s->holds, 1);
    s->status = status;
    s->content_type = content_type != NULL ? xstrdup(content_type) : NULL;
    s->body = body;
    s->len = len;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

struct http_shared *
http_shared_ref(struct http_shared *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

/* MHD's free callback of a response sending s->body, and the owners' last release. */
static void
shared_release(void *cls)
{
    struct http_shared *s = cls;
    if (atomic_fetch_sub(&s->holds, 1) != 1)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->content_type);
    free(s->body);
    free(s);
}

void
http_shared_unref(struct http_shared *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    /* Connections still sending it keep their own MHD references, and so the body. */
    if (s->mr != NULL)
        MHD_destroy_response(s->mr);
    shared_release(s);
}

struct http_response *
http_response_take_shared(struct http_shared *s)
{
    struct http_response *r = http_response_data(s->status, NULL, NULL, 0);
    r->kind = HTTP_RESP_SHARED;
    r->shared = s;
    return r;
}

static struct MHD_Response *
shared_to_mhd(struct http_server *srv, struct http_shared *s)
{
    struct MHD_Response *mr =
        MHD_create_response_from_buffer_with_free_callback_cls(s->len, s->body, shared_release, s);
    if (mr == NULL)
        return NULL;
    atomic_fetch_add(&s->holds, 1);
    add_common_headers(srv, mr, s->content_type);
    return mr;
}

/* The MHD response sending s, made on first use. *shared: it is s's (queue it, do not
 * destroy it); otherwise (s was first sent by another server) it is the caller's. */
static struct MHD_Response *
shared_response(struct http_server *srv, struct http_shared *s, bool *shared)
{
    pthread_mutex_lock(&s->lock);
    if (s->mr == NULL && (s->mr = shared_to_mhd(srv, s)) != NULL)
        s->mr_srv = srv;
    struct MHD_Response *mr = s->mr_srv == srv ? s->mr : NULL;
    pthread_mutex_unlock(&s->lock);
    *shared = mr != NULL;
    return mr != NULL ? mr : shared_to_mhd(srv, s);
}

/* Turns r (consumed) into an MHD response. NULL when MHD refuses (out of memory). */
static struct MHD_Response *
to_mhd(struct http_server *srv, struct request_state *rs, struct http_response *r)
{
    struct MHD_Response *mr = NULL;
    switch (r->kind) {
    case HTTP_RESP_FIXED: /* queue() takes those from fixed_response and shared_response */
    case HTTP_RESP_SHARED:
        abort();
    case HTTP_RESP_BODY:
        mr = MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_MUST_FREE);
        if (mr != NULL)
            r->body = NULL;
        break;
    case HTTP_RESP_STREAM: {
        struct http_stream *s = xcalloc(1, sizeof(*s));
        s->srv = srv;
        s->client_fd = http_request_client_fd(&rs->req);
        s->fn = r->stream_fn;
        s->ctx = r->ctx;
        s->ctx_free = r->ctx_free;
        r->ctx_free = NULL;
        mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, s,
                                               stream_free);
        if (mr == NULL)
            stream_free(s);
        break;
    }
    case HTTP_RESP_HIJACK: {
        if (!http_request_wants_upgrade(&rs->req)) {
            mr = relay_response(srv, rs, r);
            break;
        }
        struct http_hijack *h = xcalloc(1, sizeof(*h));
        h->srv = srv;
        h->fd = -1;
        h->fn = r->hijack_fn;
        h->ctx = r->ctx;
        h->ctx_free = r->ctx_free;
        r->ctx_free = NULL;
        mr = MHD_create_response_for_upgrade(hijack_on_upgrade, h);
        if (mr != NULL)
            MHD_add_response_header(mr, "Upgrade", "tcp");
        if (mr == NULL) {
            if (h->ctx_free)
                h->ctx_free(h->ctx);
            free(h);
        } else {
            rs->pending_hijack = h;
            rs->upgraded = true;
        }
        break;
    }
    }
    if (mr != NULL) {
        /* Without an upgrade, dockerd labels the stream raw whatever its framing before API
         * 1.42, and by its framing from 1.42 on. */
        bool relay = r->kind == HTTP_RESP_HIJACK && !http_request_wants_upgrade(&rs->req) &&
                     api_version_cmp(rs->req.version, (struct api_version){1, 42}) < 0;
        add_common_headers(srv, mr, relay ? "application/vnd.docker.raw-stream" : r->content_type);
        for (size_t i = 0; i < r->n_headers; i++)
            MHD_add_response_header(mr, r->headers[i].name, r->headers[i].value);
    }
    return mr;
}

static enum MHD_Result
queue(struct http_server *srv, struct request_state *rs, struct http_response *r)
{
    if (r == NULL)
        r = http_response_error(500, "handler returned no response");
    /* Without an upgrade, a hijacked endpoint answers 200 and streams over the connection. */
    unsigned status =
        r->kind == HTTP_RESP_HIJACK && !http_request_wants_upgrade(&rs->req) ? 200 : r->status;
    bool shared = false;
    struct MHD_Response *mr = r->kind == HTTP_RESP_FIXED ? fixed_response(srv, r->fixed, &shared)
                              : r->kind == HTTP_RESP_SHARED
                                  ? shared_response(srv, r->shared, &shared)
                                  : to_mhd(srv, rs, r);
    if (mr == NULL) {
        http_response_free(r);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_queue_response(rs->req.conn, status, mr);
    /* Only now: r may hold the last reference to a shared response, whose MHD response then
     * lives on only as long as this connection sends it. */
    http_response_free(r);
    if (!shared)
        MHD_destroy_response(mr);
    if (ok != MHD_YES)
        LOG_DEBUG("http: could not queue %u for %s %s", status, rs->req.method, rs->req.url);
    return ok;
}

static struct http_response *error_response(unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct http_response *
error_response(unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return http_response_error(status, msg);
}

/* ---- request routing ---- */

/* Version check and routing, done when the headers have arrived. NULL to go on reading the body,
 * or the response to send right away. */
static size_t body_cap(const struct http_server *srv, const struct http_request *req);

static struct http_response *
route_request(struct http_server *srv, struct request_state *rs)
{
    struct http_request *req = &rs->req;
    bool malformed;
    req->has_version = router_split_version(req->url, &req->version, &req->path, &malformed);
    if (!req->has_version)
        req->version = srv->opts.max_version;
    if (malformed)
        return error_response(400, "invalid API version in path: %.64s", req->url);
    if (req->has_version) {
        const struct api_version lo = srv->opts.min_version, hi = srv->opts.max_version;
        char asked[32];
        snprintf(asked, sizeof(asked), "%d.%d", req->version.major, req->version.minor);
        if (api_version_cmp(req->version, hi) > 0)
            return error_response(400,
                                  "client version %s is too new. Maximum supported API version "
                                  "is %d.%d",
                                  asked, hi.major, hi.minor);
        if (api_version_cmp(req->version, lo) < 0)
            return error_response(400,
                                  "client version %s is too old. Minimum supported API version "
                                  "is %d.%d, please upgrade your client to a newer version",
                                  asked, lo.major, lo.minor);
    }
    enum router_result rr =
        router_match(srv->routes, srv->n_routes, req->method, req->path, &req->route, &req->params);
    if (rr == ROUTER_NOT_FOUND)
        return http_response_error(404, "page not found");
    if (rr == ROUTER_BAD_METHOD)
        return http_response_error(405, "method not allowed");
    size_t cap = body_cap(srv, req);
    const char *cl = http_header(req, "Content-Length");
    if (cl != NULL) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno != 0 || *end != '\0' || n > cap)
            return error_response(413, "request body exceeds the limit of %zu bytes", cap);
    }
    if (req->route->flags & ROUTE_SPOOL_BODY) {
        req->spool_fd = open(srv->opts.spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (req->spool_fd < 0)
            return error_response(500, "cannot spool the request body: %s", strerror(errno));
    }
    return NULL;
}

static size_t
body_cap(const struct http_server *srv, const struct http_request *req)
{
    return req->route && (req->route->flags & (ROUTE_SPOOL_BODY | ROUTE_STREAM_BODY))
               ? srv->opts.max_spool
               : srv->opts.max_body;
}

/* ---- streamed bodies (ROUTE_STREAM_BODY) ---- */

static void *
body_worker(void *arg)
{
    struct request_state *rs = arg;
    rs->worker_response = rs->req.route->handler(&rs->req, rs->req.server->app);
    http_upload_reader_done(rs->req.upload); /* the rest of the body is drained, unread */
    return NULL;
}

/* Starts the handler of a streamed body in its own thread; NULL, or the error to answer. */
static struct http_response *
body_worker_start(struct request_state *rs)
{
    rs->req.upload = http_upload_new(UPLOAD_BUFFER);
    if (pthread_create(&rs->worker, NULL, body_worker, rs) != 0) {
        http_upload_free(rs->req.upload);
        rs->req.upload = NULL;
        return http_response_error(500, "cannot start a thread for the request body");
    }
    rs->worker_running = true;
    return NULL;
}

/* Passes a piece of a streamed body on, within the cap (past it: the handler's reads fail and
 * the answer will be 413). */
static void
body_worker_feed(struct http_server *srv, struct request_state *rs, const char *data, size_t len)
{
    struct http_request *req = &rs->req;
    if (req->body_too_large)
        return;
    if (len > srv->opts.max_spool - req->spool_len) {
        req->body_too_large = true;
        http_upload_abort(req->upload);
        return;
    }
    req->spool_len += len;
    http_upload_write(req->upload, data, len);
}

/* Waits for the handler (aborting its body first unless it is complete) and takes its
 * response. */
static struct http_response *
body_worker_join(struct request_state *rs, bool complete)
{
    if (!rs->worker_running)
        return NULL;
    if (complete)
        http_upload_end(rs->req.upload);
    else
        http_upload_abort(rs->req.upload);
    pthread_join(rs->worker, NULL);
    rs->worker_running = false;
    struct http_response *r = rs->worker_response;
    rs->worker_response = NULL;
    return r;
}

/* Appends upload data to the spool file; false when it is over the cap or cannot be written. */
static bool
spool_append(struct http_server *srv, struct http_request *req, const char *data, size_t len)
{
    if (len > srv->opts.max_spool - req->spool_len)
        return false;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(req->spool_fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            req->spool_errno = n < 0 ? errno : ENOSPC;
            return false;
        }
        off += (size_t)n;
    }
    req->spool_len += len;
    return true;
}

/* libmicrohttpd's percent-decoding of the path and the query: router_unescape. */
static size_t
unescape_keeping_nul(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return router_unescape(s);
}

/* ---- TLS client verification (--tlsverify) ---- */

static void *
tls_session_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return ci != NULL ? ci->tls_session : NULL;
}

static struct http_deadline *
deadline_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* A connection opens or closes: its header deadline (deadline.h) is watched in between.
 *
 * libmicrohttpd only *asks* for a client certificate when it has a trust list (a client may
 * send none and go on). dockerd's --tlsverify requires one and fails the handshake otherwise:
 * so, before the handshake (it runs in the connection's thread, after this notification),
 * require a certificate and have GnuTLS verify it against the CA as part of the handshake. */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (srv->deadlines != NULL)
            http_deadlines_unwatch(srv->deadlines, *socket_context);
        *socket_context = NULL;
        return;
    }
    if (srv->deadlines != NULL) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci != NULL)
            *socket_context = http_deadlines_watch(srv->deadlines, ci->connect_fd);
    }
    void *session = tls_session_of(conn);
    if (session != NULL && srv->tls_verify)
        http_tls_session_require_cert(session);
}

/* The check again, per request: a connection whose handshake was not verified gets no answer. */
static bool
client_is_verified(struct http_server *srv, struct MHD_Connection *conn)
{
    void *session = tls_session_of(conn);
    if (session == NULL || !srv->tls_verify || http_tls_session_verified(session))
        return true;
    LOG_WARN("http: TLS client without a valid certificate refused");
    return false;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct request_state *rs = *con_cls;
    if (rs == NULL) {
        if (!client_is_verified(srv, conn))
            return MHD_NO; /* never reached when the handshake did its job: see on_connection */
        struct http_deadline *dl = deadline_of(conn);
        if (dl != NULL)
            http_deadline_disarm(srv->deadlines, dl);
        rs = xcalloc(1, sizeof(*rs));
        rs->req.conn = conn;
        rs->req.server = srv;
        rs->req.method = method;
        rs->req.url = xstrdup(url);
        rs->req.spool_fd = -1;
        buf_init(&rs->req.body, srv->opts.max_body);
        *con_cls = rs;
        rs->early = route_request(srv, rs);
        /* A declared body over the cap is refused before it is read (MHD then closes the
         * connection); other early errors wait for the end of the request so that the
         * connection stays usable for the next one. */
        if (rs->early != NULL && rs->early->status == 413) {
            struct http_response *r = rs->early;
            rs->early = NULL;
            return queue(srv, rs, r);
        }
        if (rs->early == NULL && (rs->req.route->flags & ROUTE_STREAM_BODY))
            rs->early = body_worker_start(rs);
        return MHD_YES;
    }
    if (*upload_data_size > 0 && rs->req.upload != NULL) {
        body_worker_feed(srv, rs, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        bool kept = rs->req.spool_fd >= 0
                        ? spool_append(srv, &rs->req, upload_data, *upload_data_size)
                        : buf_append(&rs->req.body, upload_data, *upload_data_size, NULL) == 0;
        if (rs->early == NULL && !rs->req.body_too_large && !kept) {
            /* Chunked bodies have no Content-Length to refuse up front: stop keeping the data
             * and answer 413 once the client is done sending. */
            rs->req.body_too_large = true;
            buf_fini(&rs->req.body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rs->early != NULL) {
        struct http_response *r = rs->early;
        rs->early = NULL;
        return queue(srv, rs, r);
    }
    if (rs->req.upload != NULL) {
        struct http_response *r = body_worker_join(rs, !rs->req.body_too_large);
        if (!rs->req.body_too_large)
            return queue(srv, rs, r);
        http_response_free(r); /* what it did with part of the body does not count */
    }
    if (rs->req.spool_errno != 0) /* a full disk is not a body over the cap */
        return queue(srv, rs,
                     error_response(500, "cannot spool the request body: %s",
                                    strerror(rs->req.spool_errno)));
    if (rs->req.body_too_large)
        return queue(srv, rs,
                     error_response(413, "request body exceeds the limit of %zu bytes",
                                    body_cap(srv, &rs->req)));
    if (rs->req.spool_fd >= 0 && rs->req.spool_len > 0) {
        rs->req.spool_map =
            mmap(NULL, rs->req.spool_len, PROT_READ, MAP_PRIVATE, rs->req.spool_fd, 0);
        if (rs->req.spool_map == MAP_FAILED) {
            rs->req.spool_map = NULL;
            return queue(srv, rs, error_response(500, "cannot map the request body"));
        }
    }
    struct http_response *r = rs->req.route->handler(&rs->req, srv->app);
    return queue(srv, rs, r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct request_state *rs = *con_cls;
    struct http_deadline *dl = deadline_of(conn);
    if (dl != NULL && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && (rs == NULL || !rs->upgraded))
        http_deadline_rearm(srv->deadlines, dl);
    if (rs == NULL)
        return;
    struct http_hijack *h = rs->pending_hijack;
    if (h != NULL) {
        /* The 101 was never sent (the client left first). */
        if (h->ctx_free)
            h->ctx_free(h->ctx);
        free(h);
    }
    http_response_free(body_worker_join(rs, false)); /* the client left mid-body */
    http_upload_free(rs->req.upload);
    http_response_free(rs->early);
    route_params_fini(&rs->req.params);
    buf_fini(&rs->req.body);
    if (rs->req.spool_map != NULL)
        munmap(rs->req.spool_map, rs->req.spool_len);
    if (rs->req.spool_fd >= 0)
        close(rs->req.spool_fd);
    free(rs->req.url);
    free(rs);
    *con_cls = NULL;
}

/* ---- streams ---- */

enum http_wait
http_stream_wait(struct http_stream *s, int fd, int timeout_ms)
{
    struct pollfd pfd[3] = {
        {.fd = s->srv->stop_efd, .events = POLLIN},
        {.fd = s->client_fd, .events = POLLRDHUP},
        {.fd = fd, .events = POLLIN},
    };
    int64_t deadline = timeout_ms < 0 ? -1 : time_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int wait_ms = -1;
        if (deadline >= 0) {
            int64_t left = deadline - time_mono_ns();
            wait_ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
        }
        int n = poll(pfd, fd >= 0 ? 3 : 2, wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return HTTP_WAIT_CLIENT_GONE;
        if (pfd[0].revents != 0)
            return HTTP_WAIT_SHUTDOWN;
        if (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
            return HTTP_WAIT_CLIENT_GONE;
        if (fd >= 0 && pfd[2].revents != 0)
            return HTTP_WAIT_READY;
        if (n == 0)
            return HTTP_WAIT_TIMEOUT;
    }
}

ssize_t
http_stream_await(struct http_stream *s, int fd, int timeout_ms)
{
    switch (http_stream_wait(s, fd, timeout_ms)) {
    case HTTP_WAIT_CLIENT_GONE:
        return HTTP_STREAM_ERROR;
    case HTTP_WAIT_SHUTDOWN:
        return HTTP_STREAM_END;
    default:
        return 0;
    }
}

/* ---- hijack ---- */

/* Over TLS, libmicrohttpd relays a hijacked session through a socketpair (our end is fd) and
 * drops what it has not read from it yet when the session is closed: the client would miss
 * the end of the output and see a reset. Wait (boundedly) until it has read everything. */
static void
await_relay_drained(int fd)
{
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < HIJACK_DRAIN_MS / 5; i++) {
        int queued = 0;
        if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued == 0)
            return;
        poll(NULL, 0, 5);
    }
}

static void *
hijack_thread(void *arg)
{
    struct http_hijack *h = arg;
    struct http_server *srv = h->srv;
    pthread_mutex_lock(&srv->lock);
    bool stopping = srv->stopping;
    pthread_mutex_unlock(&srv->lock);
    if (!stopping && h->fn != NULL)
        h->fn(h, h->ctx);
    if (h->urh != NULL && srv->tls_set)
        await_relay_drained(h->fd);
    pthread_mutex_lock(&srv->lock);
    for (struct http_hijack **p = &srv->hijacks; *p != NULL; p = &(*p)->next) {
        if (*p == h) {
            *p = h->next;
            break;
        }
    }
    srv->n_hijacks--;
    /* Close while holding the lock so a concurrent stop never shuts down a reused fd. */
    if (h->urh != NULL)
        MHD_upgrade_action(h->urh, MHD_UPGRADE_ACTION_CLOSE);
    else
        close(h->fd); /* our end of the relay socketpair (no-upgrade mode) */
    pthread_cond_broadcast(&srv->hijacks_done);
    pthread_mutex_unlock(&srv->lock);
    if (h->ctx_free)
        h->ctx_free(h->ctx);
    free(h);
    return NULL;
}

static void
hijack_on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                  size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct http_hijack *h = cls;
    struct request_state *rs = con_cls;
    if (rs != NULL)
        rs->pending_hijack = NULL; /* the hijack thread owns h from here on */
    struct http_deadline *dl = deadline_of(conn);
    if (dl != NULL)
        http_deadline_disarm(h->srv->deadlines, dl);
    h->fd = sock;
    h->urh = urh;
    /* MHD hands over the bytes it read past the headers; they stay valid until the close. */
    h->extra = extra_in;
    h->extra_len = extra_in_size;
    int flags = fcntl(sock, F_GETFL);
    if (flags >= 0)
        fcntl(sock, F_SETFL, flags & ~O_NONBLOCK);
    /* The handler may block for the life of the session, so it gets its own thread rather than
     * MHD's connection thread, which is still inside MHD's upgrade bookkeeping here. */
    hijack_launch(h);
}

static void
hijack_launch(struct http_hijack *h)
{
    struct http_server *srv = h->srv;
    pthread_mutex_lock(&srv->lock);
    h->next = srv->hijacks;
    srv->hijacks = h;
    srv->n_hijacks++;
    pthread_mutex_unlock(&srv->lock);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, hijack_thread, h) != 0) {
        /* No thread: close the session at once (the client sees EOF) and clean up here. */
        LOG_ERROR("http: cannot start a thread for a hijacked connection");
        h->fn = NULL;
        hijack_thread(h);
    }
    pthread_attr_destroy(&attr);
}

ssize_t
http_hijack_read(struct http_hijack *h, void *buf, size_t len)
{
    if (h->extra_off < h->extra_len) {
        size_t n = h->extra_len - h->extra_off;
        if (n > len)
            n = len;
        memcpy(buf, h->extra + h->extra_off, n);
        h->extra_off += n;
        return (ssize_t)n;
    }
    for (;;) {
        ssize_t n = recv(h->fd, buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

int
http_hijack_write(struct http_hijack *h, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(h->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void
http_hijack_close_write(struct http_hijack *h)
{
    shutdown(h->fd, SHUT_WR);
}

int
http_hijack_fd(const struct http_hijack *h)
{
    return h->fd;
}

int
http_hijack_shutdown_fd(const struct http_hijack *h)
{
    return h->srv->stop_efd;
}

/* ---- hijack without upgrade: relay through a socketpair ---- */

struct relay {
    int fd; /* the server's end; the handler owns the other */
};

static ssize_t
relay_produce(struct http_stream *s, void *ctx, char *buf, size_t max)
{
    struct relay *rl = ctx;
    for (;;) {
        ssize_t n = recv(rl->fd, buf, max, MSG_DONTWAIT);
        if (n > 0)
            return n;
        if (n == 0)
            return HTTP_STREAM_END;
        if (errno != EAGAIN && errno != EINTR)
            return HTTP_STREAM_ERROR;
        ssize_t end = http_stream_await(s, rl->fd, -1);
        if (end != 0)
            return end;
    }
}

static void
relay_free(void *ctx)
{
    struct relay *rl = ctx;
    close(rl->fd); /* the handler's writes now fail with EPIPE: it ends */
    free(rl);
}

/* Docker answers 200 and streams when the client did not ask to upgrade (compat-notes 7):
 * the handler runs as for a hijack, on one end of a socketpair whose other end feeds the
 * response body. The client cannot send on such a connection: the handler reads EOF. */
static struct MHD_Response *
relay_response(struct http_server *srv, struct request_state *rs, struct http_response *r)
{
    (void)rs;
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return NULL;
    shutdown(sp[1], SHUT_WR); /* no stdin */
    struct relay *rl = xcalloc(1, sizeof(*rl));
    rl->fd = sp[1];
    struct http_stream *st = xcalloc(1, sizeof(*st));
    st->srv = srv;
    st->client_fd = http_request_client_fd(&rs->req);
    st->fn = relay_produce;
    st->ctx = rl;
    st->ctx_free = relay_free;
    struct MHD_Response *mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                                stream_reader, st, stream_free);
    if (mr == NULL) {
        stream_free(st);
        close(sp[0]);
        return NULL;
    }
    struct http_hijack *h = xcalloc(1, sizeof(*h));
    h->srv = srv;
    h->fd = sp[0];
    h->fn = r->hijack_fn;
    h->ctx = r->ctx;
    h->ctx_free = r->ctx_free;
    r->ctx_free = NULL;
    hijack_launch(h);
    return mr;
}

/* ---- daemons ---- */

/* PFS suites and TLS 1.2 at least, as dockerd's server configuration (Go's defaults). */
static const char TLS_PRIORITIES[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

int
http_server_serve(struct http_server *srv, int listen_fd, struct err **err)
{
    return http_server_serve_tls(srv, listen_fd, NULL, err);
}

int
http_server_serve_tls(struct http_server *srv, int listen_fd, const struct http_tls *tls,
                      struct err **err)
{
    if (srv->n_daemons == MAX_DAEMONS)
        return err_make(err, ERR_INVALID, 0, "too many listeners (at most %d)", MAX_DAEMONS);
    if (tls != NULL && srv->tls_set && srv->tls_verify != http_tls_verifies_clients(tls))
        return err_make(err, ERR_INVALID, 0, "TLS listeners must all verify clients or none");
    unsigned flags = HTTP_MHD_FLAGS;
    struct MHD_OptionItem tls_opts[6] = {{MHD_OPTION_END, 0, NULL}};
    if (tls != NULL) {
        flags |= MHD_USE_TLS;
        size_t n = 0;
        tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls->cert_pem};
        tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key_pem};
        tls_opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
        if (http_tls_verifies_clients(tls)) {
            tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, tls->ca_pem};
            tls_opts[n++] =
                (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv};
        }
        tls_opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        /* Before the daemon starts: its first connection may come at once. */
        srv->tls_set = true;
        srv->tls_verify = http_tls_verifies_clients(tls);
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->opts.max_header, MHD_OPTION_CONNECTION_TIMEOUT,
        srv->opts.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_keeping_nul, NULL, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (d == NULL)
        return err_make(err, ERR_INTERNAL, 0, "cannot start the HTTP server%s",
                        tls != NULL ? " with TLS" : "");
    srv->daemons[srv->n_daemons++] = d;
    return 0;
}

void
http_server_stop(struct http_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    bool already = srv->stopping;
    srv->stopping = true;
    pthread_mutex_unlock(&srv->lock);
    if (already)
        return;
    /* 1. Stop accepting: the listening sockets go back to their owner. */
    for (size_t i = 0; i < srv->n_daemons; i++)
        MHD_quiesce_daemon(srv->daemons[i]);
    /* 2. Wake every stream (they end on HTTP_WAIT_SHUTDOWN). */
    uint64_t one = 1;
    ssize_t w = write(srv->stop_efd, &one, sizeof(one));
    (void)w;
    /* 3. End hijacked sessions: their reads see EOF, their writes fail. */
    pthread_mutex_lock(&srv->lock);
    for (struct http_hijack *h = srv->hijacks; h != NULL; h = h->next)
        shutdown(h->fd, SHUT_RDWR);
    int64_t deadline = time_mono_ns() + (int64_t)HIJACK_DRAIN_MS * 1000000;
    while (srv->n_hijacks > 0 && time_mono_ns() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&srv->hijacks_done, &srv->lock, &ts);
    }
    if (srv->n_hijacks > 0)
        LOG_WARN("http: %zu hijacked sessions did not end in time", srv->n_hijacks);
    pthread_mutex_unlock(&srv->lock);
    /* 4. Close the remaining connections and join their threads. */
    for (size_t i = 0; i < srv->n_daemons; i++) {
        MHD_stop_daemon(srv->daemons[i]);
        srv->daemons[i] = NULL;
    }
    srv->n_daemons = 0;
}

void
http_server_free(struct http_server *srv)
{
    if (srv == NULL)
        return;
    http_server_stop(srv);
    http_deadlines_free(srv->deadlines);
    for (size_t i = 0; i < srv->n_fixed; i++)
        MHD_destroy_response(srv->fixed[i].mr);
    pthread_mutex_destroy(&srv->fixed_lock);
    close(srv->stop_efd);
    pthread_cond_destroy(&srv->hijacks_done);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
