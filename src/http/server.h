/*
 * server: the HTTP/1.1 server on libmicrohttpd, one thread per connection.
 *
 * For each request it strips and checks the /vX.Y prefix, routes, buffers the
 * body up to a cap (413 past it, before reading it when Content-Length says
 * so), calls the handler and sends its response with the common Docker
 * headers. Streams and hijacked connections are tracked so that stopping the
 * server ends them instead of waiting for clients.
 *
 * Errors the server makes itself (unknown route, bad method, bad version,
 * too large) are JSON `{"message": ...}` like every other error.
 */
#ifndef SOCKERLESS_HTTP_SERVER_H
#define SOCKERLESS_HTTP_SERVER_H

#include <stddef.h>

#include "base/err.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "http/tls.h"

/* The per-connection memory sockerlessd gives max_header. libmicrohttpd 0.9.x zeroes a
 * connection's whole memory pool after every request: the pool (request line and headers,
 * MHD_OPTION_CONNECTION_MEMORY_LIMIT) costs per request. 48 KiB keeps Testcontainers' request
 * lines of several kB and one header (a large X-Registry-Auth or X-Registry-Config) of about
 * 30 KiB; 256 KiB cost 10 us of memset per /_ping, 64 KiB 1.2 us more than 48 KiB
 * (bench/README.md). bench/floor_mhd.c measures the library with the same pool. */
enum { HTTP_MAX_HEADER = 48 * 1024 };

/* libmicrohttpd's mode for every listener (MHD_USE_TLS is added for TLS ones): a thread per
 * connection that polls, the inter-thread channel (for MHD_quiesce_daemon), upgrades for
 * hijacking. For a file that includes <microhttpd.h>: bench/floor_mhd.c sets the library up the
 * same way. */
#define HTTP_MHD_FLAGS                                                                             \
    (MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_UPGRADE |            \
     MHD_USE_ITC | MHD_USE_ERROR_LOG)

struct http_server_options {
    size_t max_body;           /* bytes of a buffered request body */
    size_t max_spool;          /* bytes of a spooled body (ROUTE_SPOOL_BODY) */
    const char *spool_dir;     /* where spooled bodies are written (unlinked files) */
    size_t max_header;         /* bytes of request line plus headers (per-connection memory) */
    unsigned idle_timeout_s;   /* an idle keep-alive or stalled client is dropped after this */
    unsigned header_timeout_s; /* a new connection's request line and headers must arrive within
                                * this (0: no limit); later requests within idle_timeout_s */
    const char *server_header; /* "sockerless/0.1.0 (linux)" */
    struct api_version min_version, max_version;
};

struct http_server;

/* routes and app are borrowed for the server's life; app is passed to every handler. */
struct http_server *http_server_new(const struct route *routes, size_t n_routes, void *app,
                                    const struct http_server_options *opts);
/* Serves connections accepted on a listening socket (borrowed: the caller closes it after
 * http_server_stop). */
int http_server_serve(struct http_server *srv, int listen_fd, struct err **err);
/* Like http_server_serve, over TLS with tls's material (borrowed for the server's life). When
 * tls verifies clients (--tlsverify), a client without a certificate signed by the CA fails the
 * handshake; should one get past it, its requests are not answered (the connection is closed).
 * ERR_INVALID when TLS listeners would differ in verifying clients. */
int http_server_serve_tls(struct http_server *srv, int listen_fd, const struct http_tls *tls,
                          struct err **err);
/* Stops accepting, ends streams and hijacked connections, closes every connection and joins
 * the server's threads. Idempotent. */
void http_server_stop(struct http_server *srv);
void http_server_free(struct http_server *srv);

#endif
