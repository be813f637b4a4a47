#include "agentproto/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/xalloc.h"

int64_t
wire_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
wire_init(struct wire *w, int fd, SSL *ssl)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->ssl = ssl;
    w->in = xmalloc(WIRE_IN_CAP);
    w->max_payload = AP_MAX_PREAUTH_PAYLOAD;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void
wire_fini(struct wire *w)
{
    if (w->ssl != NULL) {
        /* close_notify, best effort (non-blocking): the peer then reads an orderly end. */
        if (!w->eof)
            SSL_shutdown(w->ssl);
        SSL_free(w->ssl);
    }
    if (w->fd >= 0)
        close(w->fd);
    free(w->in);
    free(w->out);
    memset(w, 0, sizeof(*w));
    w->fd = -1;
}

int
wire_send(struct wire *w, uint8_t type, uint8_t flags, uint32_t session, const void *payload,
          size_t len, struct err **err)
{
    if (len > AP_MAX_PAYLOAD)
        return err_make(err, ERR_TOO_LARGE, 0, "frame of %zu bytes", len);
    size_t queued = w->out_len - w->out_off;
    if (queued + AP_HDR_LEN + len > WIRE_OUT_CAP)
        return err_make(err, ERR_TOO_LARGE, 0, "the peer does not read: %zu bytes queued", queued);
    if (w->out_off > 0 && w->out_off == w->out_len)
        w->out_off = w->out_len = 0;
    if (w->out_len + AP_HDR_LEN + len > w->out_alloc) {
        if (w->out_off > 0) {
            memmove(w->out, w->out + w->out_off, queued);
            w->out_len = queued;
            w->out_off = 0;
        }
        if (w->out_len + AP_HDR_LEN + len > w->out_alloc) {
            size_t n = w->out_alloc ? w->out_alloc : 16384;
            while (n < w->out_len + AP_HDR_LEN + len)
                n *= 2;
            w->out = xrealloc(w->out, n);
            w->out_alloc = n;
        }
    }
    frame_encode_header(w->out + w->out_len, type, flags, session, (uint32_t)len);
    if (len > 0)
        memcpy(w->out + w->out_len + AP_HDR_LEN, payload, len);
    w->out_len += AP_HDR_LEN + len;
    return 0;
}

int
wire_send_json(struct wire *w, uint8_t type, uint32_t session, json_t *obj, struct err **err)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    if (s == NULL)
        return err_make(err, ERR_INTERNAL, 0, "cannot encode a message");
    int rc = wire_send(w, type, 0, session, s, strlen(s), err);
    free(s);
    return rc;
}

int
wire_send_err(struct wire *w, uint32_t session, const struct err *e, struct err **err)
{
    json_t *o = frame_err_json(e);
    int rc = wire_send_json(w, AP_ERROR, session, o, err);
    json_decref(o);
    return rc;
}

bool
wire_has_output(const struct wire *w)
{
    return w->out_off < w->out_len;
}

static int
ssl_fail(SSL *ssl, int rc, const char *what, bool *wants_other, bool reading, struct err **err)
{
    int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *wants_other = reading ? e == SSL_ERROR_WANT_WRITE : e == SSL_ERROR_WANT_READ;
        return 1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 2;
    unsigned long code = ERR_get_error();
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    ERR_clear_error();
    if (e == SSL_ERROR_SYSCALL && code == 0)
        return err_make(err, ERR_UNAVAILABLE, errno, "%s: %s", what,
                        errno ? strerror(errno) : "connection closed");
    return err_make(err, ERR_UNAVAILABLE, 0, "%s: TLS: %s", what, code ? buf : "error");
}

int
wire_flush(struct wire *w, struct err **err)
{
    w->ssl_write_wants_read = false;
    while (w->out_off < w->out_len) {
        size_t n = w->out_len - w->out_off;
        ssize_t r;
        if (w->ssl != NULL) {
            size_t done = 0;
            int rc = SSL_write_ex(w->ssl, w->out + w->out_off, n, &done);
            if (rc <= 0) {
                int f = ssl_fail(w->ssl, rc, "write", &w->ssl_write_wants_read, false, err);
                if (f == 1)
                    return 0;
                return f == 2 ? err_make(err, ERR_UNAVAILABLE, 0, "write: closed by the peer") : -1;
            }
            r = (ssize_t)done;
        } else {
            r = send(w->fd, w->out + w->out_off, n, MSG_NOSIGNAL);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return 0;
                return err_make(err, ERR_UNAVAILABLE, errno, "write: %s", strerror(errno));
            }
        }
        w->out_off += (size_t)r;
    }
    w->out_off = w->out_len = 0;
    return 0;
}

int
wire_fill(struct wire *w, struct err **err)
{
    w->ssl_read_wants_write = false;
    while (w->in_len < WIRE_IN_CAP && !w->eof) {
        size_t room = WIRE_IN_CAP - w->in_len;
        ssize_t r;
        if (w->ssl != NULL) {
            size_t got = 0;
            int rc = SSL_read_ex(w->ssl, w->in + w->in_len, room, &got);
            if (rc <= 0) {
                int f = ssl_fail(w->ssl, rc, "read", &w->ssl_read_wants_write, true, err);
                if (f == 1)
                    return 0;
                if (f == 2) {
                    w->eof = true;
                    return 0;
                }
                return -1;
            }
            r = (ssize_t)got;
        } else {
            r = recv(w->fd, w->in + w->in_len, room, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return 0;
                return err_make(err, ERR_UNAVAILABLE, errno, "read: %s", strerror(errno));
            }
            if (r == 0) {
                w->eof = true;
                return 0;
            }
        }
        w->in_len += (size_t)r;
    }
    return 0;
}

bool
wire_has_pending(const struct wire *w)
{
    return w->ssl != NULL && SSL_pending(w->ssl) > 0;
}

int
wire_next(struct wire *w, struct ap_frame *f, struct err **err)
{
    return frame_parse(w->in, w->in_len, w->max_payload, f, err);
}

void
wire_consume(struct wire *w, const struct ap_frame *f)
{
    size_t n = AP_HDR_LEN + f->len;
    memmove(w->in, w->in + n, w->in_len - n);
    w->in_len -= n;
}

short
wire_poll_events(const struct wire *w)
{
    short ev = 0;
    if (w->in_len < WIRE_IN_CAP || w->ssl_write_wants_read)
        ev |= POLLIN;
    if (wire_has_output(w) || w->ssl_read_wants_write)
        ev |= POLLOUT;
    return ev;
}

static int
wait_fd(int fd, short events, int64_t deadline_ms, struct err **err)
{
    for (;;) {
        int64_t left = deadline_ms - wire_now_ms();
        if (left <= 0)
            return err_make(err, ERR_UNAVAILABLE, ETIMEDOUT, "timed out");
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return err_make(err, ERR_UNAVAILABLE, errno, "poll: %s", strerror(errno));
    }
}

int
wire_flush_until(struct wire *w, int64_t deadline_ms, struct err **err)
{
    for (;;) {
        if (wire_flush(w, err) < 0)
            return -1;
        if (!wire_has_output(w))
            return 0;
        if (wait_fd(w->fd, w->ssl_write_wants_read ? POLLIN : POLLOUT, deadline_ms, err) < 0)
            return -1;
    }
}

int
wire_recv_until(struct wire *w, struct ap_frame *f, int64_t deadline_ms, struct err **err)
{
    for (;;) {
        int r = wire_next(w, f, err);
        if (r != 0)
            return r < 0 ? -1 : 0;
        if (w->eof)
            return err_make(err, ERR_UNAVAILABLE, 0, "closed by the peer");
        if (wire_fill(w, err) < 0)
            return -1;
        if (wire_next(w, f, NULL) == 1 || w->eof || wire_has_pending(w))
            continue;
        if (wait_fd(w->fd, w->ssl_read_wants_write ? POLLOUT : POLLIN, deadline_ms, err) < 0)
            return -1;
    }
}

int
wire_addr_parse(const char *s, struct wire_addr *out, struct err **err)
{
    memset(out, 0, sizeof(*out));
    const char *rest;
    if (strncmp(s, "unix://", 7) == 0 || strncmp(s, "unix:", 5) == 0) {
        rest = s + (s[5] == '/' && s[6] == '/' ? 7 : 5);
        if (*rest == '\0' || strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return err_make(err, ERR_INVALID, 0, "bad unix socket address %s", s);
        out->is_unix = true;
        out->host = xstrdup(rest);
        return 0;
    }
    if (strncmp(s, "tcp://", 6) == 0)
        rest = s + 6;
    else if (strncmp(s, "tcp:", 4) == 0)
        rest = s + 4;
    else
        return err_make(err, ERR_INVALID, 0, "bad address %s (tcp:HOST:PORT or unix:PATH)", s);
    const char *colon;
    if (*rest == '[') {
        const char *end = strchr(rest, ']');
        if (end == NULL || end[1] != ':')
            return err_make(err, ERR_INVALID, 0, "bad address %s", s);
        out->host = xstrndup(rest + 1, (size_t)(end - rest - 1));
        colon = end + 1;
    } else {
        colon = strrchr(rest, ':');
        if (colon == NULL || colon == rest)
            return err_make(err, ERR_INVALID, 0, "bad address %s (no port)", s);
        out->host = xstrndup(rest, (size_t)(colon - rest));
    }
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        wire_addr_fini(out);
        return err_make(err, ERR_INVALID, 0, "bad port in address %s", s);
    }
    out->port = xstrdup(colon + 1);
    return 0;
}

void
wire_addr_fini(struct wire_addr *a)
{
    free(a->host);
    free(a->port);
    memset(a, 0, sizeof(*a));
}

static int
unix_sockaddr(const char *path, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, strlen(path) + 1);
    return 0;
}

static int
connect_until(int fd, const struct sockaddr *sa, socklen_t len, int64_t deadline, struct err **err)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (connect(fd, sa, len) < 0) {
        if (errno != EINPROGRESS && errno != EAGAIN)
            return err_make(err, ERR_UNAVAILABLE, errno, "%s", strerror(errno));
        if (wait_fd(fd, POLLOUT, deadline, err) < 0)
            return -1;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0)
            return err_make(err, ERR_UNAVAILABLE, soerr, "%s", strerror(soerr));
    }
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return 0;
}

int
wire_dial(const struct wire_addr *a, int timeout_ms, struct err **err)
{
    int64_t deadline = wire_now_ms() + timeout_ms;
    if (a->is_unix) {
        struct sockaddr_un sun;
        unix_sockaddr(a->host, &sun);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return err_errno(err, "socket");
        if (connect_until(fd, (struct sockaddr *)&sun, sizeof(sun), deadline, err) < 0) {
            close(fd);
            return err_wrap(err, "connect to unix:%s", a->host);
        }
        return fd;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(a->host, a->port, &hints, &res);
    if (gai != 0)
        return err_make(err, ERR_UNAVAILABLE, 0, "resolve %s: %s", a->host, gai_strerror(gai));
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        err_clear(err);
        if (connect_until(fd, ai->ai_addr, ai->ai_addrlen, deadline, err) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (err != NULL && *err == NULL)
            err_make(err, ERR_UNAVAILABLE, 0, "no address");
        return err_wrap(err, "connect to %s:%s", a->host, a->port);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
    return fd;
}

int
wire_listen(const struct wire_addr *a, struct err **err)
{
    if (a->is_unix) {
        struct sockaddr_un sun;
        unix_sockaddr(a->host, &sun);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return err_errno(err, "socket");
        struct stat st;
        if (lstat(a->host, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(a->host);
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0) {
            err_errno(err, "listen on unix:%s", a->host);
            close(fd);
            return -1;
        }
        return fd;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(*a->host ? a->host : NULL, a->port, &hints, &res);
    if (gai != 0)
        return err_make(err, ERR_INVALID, 0, "resolve %s: %s", a->host, gai_strerror(gai));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        err_errno(err, "listen on %s:%s", a->host, a->port);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int
tls_err(struct err **err, const char *what, const char *file)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    ERR_clear_error();
    return err_make(err, ERR_INVALID, 0, "%s %s: %s", what, file, buf);
}

SSL_CTX *
wire_tls_client_ctx(const char *ca_file, struct err **err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        tls_err(err, "TLS", "context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        tls_err(err, "load CA", ca_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *
wire_tls_server_ctx(const char *cert_file, const char *key_file, struct err **err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tls_err(err, "TLS", "context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        tls_err(err, "load certificate", cert_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        tls_err(err, "load key", key_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL *
wire_tls_handshake(SSL_CTX *ctx, int fd, bool server, const char *name, int64_t deadline_ms,
                   struct err **err)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        tls_err(err, "TLS", "session");
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!server && name != NULL) {
        SSL_set_tlsext_host_name(ssl, name);
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1)
            X509_VERIFY_PARAM_set1_host(vp, name, 0);
    }
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
        int rc = server ? SSL_accept(ssl) : SSL_connect(ssl);
        if (rc == 1)
            break;
        int e = SSL_get_error(ssl, rc);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (ev == 0 || wait_fd(fd, ev, deadline_ms, err) < 0) {
            if (ev == 0) {
                char buf[256];
                unsigned long code = ERR_get_error();
                ERR_error_string_n(code, buf, sizeof(buf));
                ERR_clear_error();
                long vr = SSL_get_verify_result(ssl);
                err_make(err, ERR_UNAVAILABLE, 0, "TLS handshake: %s",
                         vr != X509_V_OK ? X509_verify_cert_error_string(vr)
                         : code          ? buf
                                         : "connection closed");
            } else {
                err_wrap(err, "TLS handshake");
            }
            SSL_free(ssl);
            fcntl(fd, F_SETFL, fl);
            return NULL;
        }
    }
    fcntl(fd, F_SETFL, fl);
    return ssl;
}
