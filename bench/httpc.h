/*
 * httpc: a minimal HTTP/1.1 client over a unix socket, for the benchmark load generator only.
 *
 * One request at a time per connection, kept alive across requests (reconnecting when the
 * server closed it); response bodies framed by Content-Length, chunked encoding or the end of
 * the connection. Not part of the daemon and not a general client: no TLS, no TCP, no
 * redirects, no request bodies in chunks, no pipelining. Every read and write has a timeout
 * (HTTPC_IO_TIMEOUT_S) so a stuck server fails a run instead of hanging it.
 */
#ifndef SOCKERLESS_BENCH_HTTPC_H
#define SOCKERLESS_BENCH_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum {
    HTTPC_BUF_SIZE = 64 * 1024, /* the read buffer of a connection */
    HTTPC_LINE_MAX = 16 * 1024, /* longest status, header, chunk-size or trailer line */
    HTTPC_KEEP_MAX = 1 << 20,   /* longest body kept in memory (longer ones fail) */
    HTTPC_IO_TIMEOUT_S = 120,   /* per read or write on the socket */
};

struct httpc_conn {
    const char *path; /* the socket path, borrowed */
    int fd;           /* -1 while not connected */
    size_t off, len;  /* unread bytes are buf[off, len) */
    char buf[HTTPC_BUF_SIZE];
};

struct httpc_response {
    int status;
    uint64_t body_bytes; /* the body's length, whether kept or not */
    char *body;          /* with keep_body: the body, NUL-terminated; owned, else NULL */
};

/* Prepares a connection to the unix socket at `path` (borrowed; must outlive c). Does not
 * connect: the first request does. */
void httpc_init(struct httpc_conn *c, const char *path);

/* Closes the connection's socket, if open. The next request reconnects. */
void httpc_close(struct httpc_conn *c);

/*
 * Sends METHOD TARGET with `body` (body_len bytes, may be NULL with 0; sent as JSON with a
 * Content-Length, and a Content-Length: 0 on POST and PUT without one), then reads the whole
 * response into *r (status, body length, and with keep_body the body itself). A connection the
 * server had closed since the previous request is reopened and the request sent once more.
 * Leaves the connection closed when the response said so or was delimited by the close.
 * Errors (ERR_INTERNAL or ERR_TOO_LARGE): socket errors, timeouts, a malformed or oversized
 * response; the connection is then closed and *r left empty. Free r with httpc_response_fini
 * either way.
 */
int httpc_request(struct httpc_conn *c, const char *method, const char *target, const char *body,
                  size_t body_len, bool keep_body, struct httpc_response *r, struct err **err);

/* Frees the kept body; r may be reused afterwards. */
void httpc_response_fini(struct httpc_response *r);

#endif
