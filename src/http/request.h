/*
 * request: what a handler sees of an HTTP request: method, path (without the
 * version prefix), path parameters, query, headers, the requested API
 * version, and the body (buffered up to the server's cap).
 *
 * The request and everything it points to is owned by the server and lives
 * until the response is fully sent; handlers borrow it.
 */
#ifndef SOCKERLESS_HTTP_REQUEST_H
#define SOCKERLESS_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"
#include "http/router.h"

struct MHD_Connection;
struct http_server;
struct http_upload;

struct http_request {
    struct MHD_Connection *conn;
    struct http_server *server;
    const char *method;
    char *url;                  /* as received, without the query string */
    const char *path;           /* url without the /vX.Y prefix; points into url */
    struct api_version version; /* requested, or the maximum when no prefix was given */
    bool has_version;
    const struct route *route;
    struct route_params params;
    struct buf body;
    bool body_too_large;
    int spool_fd;               /* ROUTE_SPOOL_BODY: the unlinked file holding the body, or -1 */
    size_t spool_len;           /* bytes spooled, or streamed (ROUTE_STREAM_BODY) */
    struct http_upload *upload; /* ROUTE_STREAM_BODY: the body on its way to the handler */
    int spool_errno; /* a write to the spool file failed (ENOSPC, EIO): answered with 500 */
    void *spool_map;
};

/* The percent-decoded path parameter name (NULL when the route has none by that name). */
const char *http_param(const struct http_request *req, const char *name);
/* The query argument name, decoded, or NULL when absent. */
const char *http_query(const struct http_request *req, const char *name);
/* Every value of a repeated query argument (`changes=a&changes=b`), in order; a malloc'd
 * NULL-ended list (empty when absent). */
char **http_query_all(const struct http_request *req, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/*
 * A boolean query argument as dockerd reads them (httputils.BoolValue): absent or empty -> def;
 * "0", "no", "false", "none" (any case, spaces trimmed) -> false; any other value -> true.
 * Never fails (err is kept for the callers' uniform error paths).
 */
int http_query_bool(const struct http_request *req, const char *name, bool def, bool *out,
                    struct err **err);
/* An integer query argument in [min, max]; absent or empty -> def. ERR_INVALID otherwise. */
int http_query_int(const struct http_request *req, const char *name, int64_t def, int64_t min,
                   int64_t max, int64_t *out, struct err **err);
/* The same two on a value already looked up (v NULL when absent); name is for the message. */
int http_parse_bool(const char *name, const char *v, bool def, bool *out, struct err **err);
int http_parse_int(const char *name, const char *v, int64_t def, int64_t min, int64_t max,
                   int64_t *out, struct err **err);
/* The request body, buffered or spooled (mapped read-only): valid until the response is sent. */
void http_request_body(const struct http_request *req, const void **data, size_t *len);
/* ROUTE_STREAM_BODY: the next bytes of the body, as they arrive (blocks): the count, 0 at the
 * end of the body, -1 with errno when it will not come whole (ECONNABORTED: the client left,
 * the body is over the cap, or the server stops; EINVAL: not a streamed route). */
ssize_t http_request_read(struct http_request *req, void *buf, size_t len);
/* The connected socket of the request, for waiting on the client's hang-up. */
int http_request_client_fd(const struct http_request *req);
/* True when the client asked to upgrade the connection (Connection: Upgrade, Upgrade: tcp). */
bool http_request_wants_upgrade(const struct http_request *req);

#endif
