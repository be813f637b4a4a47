#include "httpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/xalloc.h"

void
httpc_init(struct httpc_conn *c, const char *path)
{
    c->path = path;
    c->fd = -1;
    c->off = c->len = 0;
}

void
httpc_close(struct httpc_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->off = c->len = 0;
}

void
httpc_response_fini(struct httpc_response *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static int
conn_open(struct httpc_conn *c, struct err **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(c->path);
    if (n >= sizeof(sa.sun_path))
        return err_make(err, ERR_INVALID, 0, "socket path too long: %s", c->path);
    memcpy(sa.sun_path, c->path, n + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(err, "socket");
    /* A server that stops answering fails the run after the timeout instead of hanging it. */
    struct timeval tv = {.tv_sec = HTTPC_IO_TIMEOUT_S};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return err_make(err, ERR_INTERNAL, e, "connect %s: %s", c->path, strerror(e));
    }
    c->fd = fd;
    c->off = c->len = 0;
    return 0;
}

/* Writes every byte of iov[0, n); -1 with errno on failure. Modifies iov. */
static int
send_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Reads more bytes into the buffer, compacting it first: 1 on data, 0 at the end of the
 * stream, -1 with errno on error. The caller guarantees room after compaction. */
static int
conn_fill(struct httpc_conn *c)
{
    if (c->off == c->len) {
        c->off = c->len = 0;
    } else if (c->len == sizeof(c->buf)) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        c->len += (size_t)n;
        return n > 0;
    }
}

static int
fill_or_fail(struct httpc_conn *c, const char *what, struct err **err)
{
    int got = conn_fill(c);
    if (got > 0)
        return 0;
    if (got == 0)
        return err_make(err, ERR_INTERNAL, 0, "connection closed in the middle of %s", what);
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return err_make(err, ERR_INTERNAL, errno, "no answer within %d s while reading %s",
                        HTTPC_IO_TIMEOUT_S, what);
    return err_make(err, ERR_INTERNAL, errno, "read %s: %s", what, strerror(errno));
}

/* The next line (LF or CRLF terminated), NUL-terminated in place without its terminator;
 * valid until the next read from c. NULL with *err set on failure. */
static char *
conn_line(struct httpc_conn *c, struct err **err)
{
    size_t scanned = 0;
    for (;;) {
        char *start = c->buf + c->off;
        size_t avail = c->len - c->off;
        char *nl = memchr(start + scanned, '\n', avail - scanned);
        if (nl != NULL) {
            size_t n = (size_t)(nl - start);
            c->off += n + 1;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            start[n] = '\0';
            return start;
        }
        if (avail >= HTTPC_LINE_MAX) {
            err_make(err, ERR_TOO_LARGE, 0, "response line longer than %d bytes", HTTPC_LINE_MAX);
            return NULL;
        }
        scanned = avail;
        if (fill_or_fail(c, "the response head", err) < 0)
            return NULL;
    }
}

static int
keep_bytes(struct httpc_response *r, const char *data, size_t n, struct err **err)
{
    if (r->body_bytes + n > HTTPC_KEEP_MAX)
        return err_make(err, ERR_TOO_LARGE, 0, "response body longer than %d bytes",
                        HTTPC_KEEP_MAX);
    r->body = xrealloc(r->body, r->body_bytes + n + 1);
    memcpy(r->body + r->body_bytes, data, n);
    r->body[r->body_bytes + n] = '\0';
    return 0;
}

/* Consumes n body bytes (UINT64_MAX: up to the end of the stream), kept or dropped. */
static int
take_bytes(struct httpc_conn *c, uint64_t n, bool keep, struct httpc_response *r, struct err **err)
{
    bool to_eof = n == UINT64_MAX;
    while (n > 0) {
        if (c->off == c->len) {
            if (to_eof) {
                int got = conn_fill(c);
                if (got == 0)
                    return 0;
                if (got < 0)
                    return err_make(err, ERR_INTERNAL, errno, "read body: %s", strerror(errno));
            } else if (fill_or_fail(c, "a body", err) < 0) {
                return -1;
            }
        }
        size_t avail = c->len - c->off;
        size_t k = (uint64_t)avail < n ? avail : (size_t)n;
        if (keep && keep_bytes(r, c->buf + c->off, k, err) < 0)
            return -1;
        r->body_bytes += k;
        c->off += k;
        if (!to_eof)
            n -= k;
    }
    return 0;
}

static int
take_chunked(struct httpc_conn *c, bool keep, struct httpc_response *r, struct err **err)
{
    for (;;) {
        char *line = conn_line(c, err);
        if (line == NULL)
            return -1;
        char *end;
        errno = 0;
        unsigned long long size = strtoull(line, &end, 16);
        if (end == line || errno != 0 || (*end != '\0' && *end != ';' && *end != ' '))
            return err_make(err, ERR_INTERNAL, 0, "bad chunk size line: %.64s", line);
        if (size == 0)
            break;
        if (take_bytes(c, size, keep, r, err) < 0)
            return -1;
        if ((line = conn_line(c, err)) == NULL)
            return -1;
        if (*line != '\0')
            return err_make(err, ERR_INTERNAL, 0, "chunk not followed by CRLF");
    }
    for (;;) { /* trailers, up to the empty line */
        char *line = conn_line(c, err);
        if (line == NULL)
            return -1;
        if (*line == '\0')
            return 0;
    }
}

struct framing {
    int64_t length; /* -1: none given */
    bool chunked;
    bool close;
};

static int
read_head(struct httpc_conn *c, int *status, struct framing *f, struct err **err)
{
    char *line = conn_line(c, err);
    if (line == NULL)
        return -1;
    int minor;
    if (sscanf(line, "HTTP/1.%d %d", &minor, status) != 2)
        return err_make(err, ERR_INTERNAL, 0, "bad status line: %.64s", line);
    *f = (struct framing){.length = -1, .close = minor == 0};
    for (;;) {
        if ((line = conn_line(c, err)) == NULL)
            return -1;
        if (*line == '\0')
            return 0;
        char *colon = strchr(line, ':');
        if (colon == NULL)
            return err_make(err, ERR_INTERNAL, 0, "bad header line: %.64s", line);
        *colon = '\0';
        const char *value = colon + 1 + strspn(colon + 1, " \t");
        if (strcasecmp(line, "Content-Length") == 0) {
            char *end;
            errno = 0;
            long long n = strtoll(value, &end, 10);
            if (end == value || errno != 0 || n < 0)
                return err_make(err, ERR_INTERNAL, 0, "bad Content-Length: %.32s", value);
            f->length = n;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            f->chunked = strcasestr(value, "chunked") != NULL;
        } else if (strcasecmp(line, "Connection") == 0) {
            if (strcasestr(value, "close") != NULL)
                f->close = true;
            else if (strcasestr(value, "keep-alive") != NULL)
                f->close = false;
        }
    }
}

static int
read_response(struct httpc_conn *c, bool head_request, bool keep, struct httpc_response *r,
              bool *must_close, struct err **err)
{
    struct framing f = {.length = -1};
    do { /* 1xx interim answers carry no body: skip them */
        if (read_head(c, &r->status, &f, err) < 0)
            return -1;
        if (r->status == 101)
            return err_make(err, ERR_UNSUPPORTED, 0, "the server switched protocols");
    } while (r->status >= 100 && r->status < 200);
    if (keep)
        r->body = xstrdup("");
    int rc = 0;
    if (head_request || r->status == 204 || r->status == 304)
        rc = 0;
    else if (f.chunked)
        rc = take_chunked(c, keep, r, err);
    else if (f.length >= 0)
        rc = take_bytes(c, (uint64_t)f.length, keep, r, err);
    else if ((rc = take_bytes(c, UINT64_MAX, keep, r, err)) == 0)
        f.close = true;
    *must_close = f.close;
    return rc;
}

int
httpc_request(struct httpc_conn *c, const char *method, const char *target, const char *body,
              size_t body_len, bool keep_body, struct httpc_response *r, struct err **err)
{
    memset(r, 0, sizeof(*r));
    char head[HTTPC_LINE_MAX];
    bool with_length = body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    int n;
    if (with_length)
        n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: sockerless-loadgen\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, target, body_len);
    else
        n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: sockerless-loadgen\r\n\r\n",
                     method, target);
    if (n < 0 || (size_t)n >= sizeof(head))
        return err_make(err, ERR_TOO_LARGE, 0, "request target too long");
    for (int attempt = 0;; attempt++) {
        /* A kept-alive connection the server closed meanwhile fails on the first write or
         * read; the request was not served, so it is sent once more on a new connection. */
        bool retry_ok = c->fd >= 0 && attempt == 0;
        if (c->fd < 0 && conn_open(c, err) < 0)
            return -1;
        struct iovec iov[2] = {{head, (size_t)n}, {(char *)body, body_len}};
        if (send_all(c->fd, iov, body_len > 0 ? 2 : 1) < 0) {
            int e = errno;
            httpc_close(c);
            if (retry_ok && (e == EPIPE || e == ECONNRESET))
                continue;
            return err_make(err, ERR_INTERNAL, e, "send to %s: %s", c->path, strerror(e));
        }
        if (retry_ok && c->off == c->len) {
            int got = conn_fill(c);
            if (got == 0 || (got < 0 && errno == ECONNRESET)) {
                httpc_close(c);
                continue;
            }
            if (got < 0) {
                int e = errno;
                httpc_close(c);
                return err_make(err, ERR_INTERNAL, e, "read from %s: %s", c->path, strerror(e));
            }
        }
        bool must_close = false;
        if (read_response(c, strcmp(method, "HEAD") == 0, keep_body, r, &must_close, err) < 0) {
            httpc_close(c);
            httpc_response_fini(r);
            return -1;
        }
        if (must_close)
            httpc_close(c);
        return 0;
    }
}
