/*
 * response: what a handler returns. Four shapes:
 *   - a complete body (JSON, text, or none), possibly a fixed one (below);
 *   - a stream: a producer the server calls for each piece of a chunked body, which blocks
 *     until it has data (http_stream_wait) and ends the stream when done;
 *   - a hijack: after `101 UPGRADED` the raw socket is handed to a function that owns the
 *     connection until it returns (attach, exec start).
 * The server adds the common headers (Api-Version, Ostype, Server, Docker-Experimental).
 * A response is consumed by the server; a handler never frees one it returned.
 */
#ifndef SOCKERLESS_HTTP_RESPONSE_H
#define SOCKERLESS_HTTP_RESPONSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct http_request;
struct http_stream;
struct http_hijack;

/* Producer return values besides a byte count > 0. */
enum { HTTP_STREAM_END = -1, HTTP_STREAM_ERROR = -2 };

/* Fills buf with up to max bytes and returns the count (> 0), or HTTP_STREAM_END /
 * HTTP_STREAM_ERROR. May block, waiting through http_stream_wait. Never returns 0. */
typedef ssize_t (*http_stream_fn)(struct http_stream *s, void *ctx, char *buf, size_t max);
/* Owns the upgraded connection until it returns. */
typedef void (*http_hijack_fn)(struct http_hijack *h, void *ctx);
typedef void (*http_free_fn)(void *ctx);

struct http_header_kv {
    char *name, *value;
};

enum http_response_kind {
    HTTP_RESP_BODY,
    HTTP_RESP_FIXED,
    HTTP_RESP_SHARED,
    HTTP_RESP_STREAM,
    HTTP_RESP_HIJACK
};

enum { HTTP_FIXED_MAX_HEADERS = 4 };

/* A body answer that is the same for every request (status, content type, body and headers are
 * literals), such as /_ping's. The server makes it into a libmicrohttpd response once, on its
 * first use, and queues that same response for every request after: no allocation and no
 * header copying per request. Define it `static const`: the server keys its cache on its
 * address, which must stay valid as long as the server. */
struct http_fixed_response {
    unsigned status;
    const char *content_type; /* NULL: none */
    const char *body;         /* NULL: no body */
    size_t body_len;
    size_t n_headers;
    struct {
        const char *name, *value;
    } headers[HTTP_FIXED_MAX_HEADERS];
};

struct http_response {
    enum http_response_kind kind;
    unsigned status;
    char *content_type; /* NULL: none */
    char *body;
    size_t body_len;
    struct http_header_kv *headers;
    size_t n_headers;
    const struct http_fixed_response *fixed; /* HTTP_RESP_FIXED */
    struct http_shared *shared;              /* HTTP_RESP_SHARED (a reference) */
    http_stream_fn stream_fn;
    http_hijack_fn hijack_fn;
    void *ctx;
    http_free_fn ctx_free;
};

/* JSON body from value (consumed; compact encoding, newline-terminated as Go's encoder). */
struct http_response *http_response_json(unsigned status, json_t *value);
/* A JSON body already encoded: text (malloc'd, len bytes, taken). */
struct http_response *http_response_json_text(unsigned status, char *text, size_t len);
/* {"message": message} with Content-Type application/json; 304 gets no body. */
struct http_response *http_response_error(unsigned status, const char *message);
/* A body copied from data, or no body when data is NULL. */
struct http_response *http_response_data(unsigned status, const char *content_type,
                                         const void *data, size_t len);
/* The fixed answer (borrowed: see struct http_fixed_response). */
struct http_response *http_response_fixed(const struct http_fixed_response *fixed);

/* A body answer that its owner keeps and many requests send as it is, such as a container's
 * inspect answer while the container does not change. The server makes it into a
 * libmicrohttpd response on its first use and queues that same response after, as for a fixed
 * one (so it must not depend on the request). Reference counted; any thread may drop a
 * reference; the body lives until the last reference and the last connection sending it are
 * gone. */
struct http_shared;
/* status and content_type (copied) as for http_response_data; body taken (malloc'd, len
 * bytes). The caller holds the one reference. */
struct http_shared *http_shared_new(unsigned status, const char *content_type, char *body,
                                    size_t len);
struct http_shared *http_shared_ref(struct http_shared *s);
void http_shared_unref(struct http_shared *s); /* NULL: no-op */
/* The answer sending s; takes the caller's reference to s. */
struct http_response *http_response_take_shared(struct http_shared *s);
struct http_response *http_response_stream(unsigned status, const char *content_type,
                                           http_stream_fn fn, void *ctx, http_free_fn ctx_free);
/* 101 with Connection/Upgrade headers and content_type; fn runs on the raw socket. Without
 * upgrade headers in the request: 200, and fn's writes become the body (its reads see EOF). */
struct http_response *http_response_hijack(const char *content_type, http_hijack_fn fn, void *ctx,
                                           http_free_fn ctx_free);
/* Adds a header (copied); not to a fixed response, whose headers are its own. */
void http_response_add_header(struct http_response *r, const char *name, const char *value);
void http_response_free(struct http_response *r);

/* What http_stream_wait saw. */
enum http_wait {
    HTTP_WAIT_READY, /* fd is readable */
    HTTP_WAIT_TIMEOUT,
    HTTP_WAIT_CLIENT_GONE, /* the client closed or reset the connection */
    HTTP_WAIT_SHUTDOWN,    /* the server is stopping: end the stream */
};
/* Waits until fd (may be -1) is readable, the timeout (ms, -1 forever) passes, the client hangs
 * up, or the server stops. */
enum http_wait http_stream_wait(struct http_stream *s, int fd, int timeout_ms);
/* http_stream_wait for producers: 0 to go on (fd ready or timeout), else the value the producer
 * returns: HTTP_STREAM_END when the server stops, HTTP_STREAM_ERROR when the client left. */
ssize_t http_stream_await(struct http_stream *s, int fd, int timeout_ms);

/* Hijacked connection I/O. Reads first return bytes the server had already buffered. */
ssize_t http_hijack_read(struct http_hijack *h, void *buf, size_t len);
/* Writes all of buf; -1 with errno on failure (EPIPE when the client went away). */
int http_hijack_write(struct http_hijack *h, const void *buf, size_t len);
/* Closes the write side (the client sees EOF); reads keep working. */
void http_hijack_close_write(struct http_hijack *h);
/* The socket, for poll() together with other fds. */
int http_hijack_fd(const struct http_hijack *h);
/* An fd that becomes readable when the server is stopping. */
int http_hijack_shutdown_fd(const struct http_hijack *h);

#endif
