/*
 * router: matches a request path against a route table and handles the API
 * version prefix.
 *
 * Patterns are literal segments and parameters: `/containers/{id}/json`.
 * A parameter ending in `*` (`/images/{name*}/json`) takes one or more
 * segments, because image names contain slashes (compat-notes 18). The router
 * only matches; it knows nothing of MHD or JSON.
 */
#ifndef SOCKERLESS_HTTP_ROUTER_H
#define SOCKERLESS_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

struct http_request;
struct http_response;

typedef struct http_response *(*http_handler_fn)(struct http_request *req, void *app);

enum { ROUTE_MAX_PARAMS = 4, ROUTE_PARAM_MAX = 4096 };

/* Route flags. */
enum {
    /* The body (an archive) is written to an unlinked temporary file instead of memory, up to
     * the server's spool cap; the handler reads it with http_request_body. */
    ROUTE_SPOOL_BODY = 1,
    /* The handler runs as soon as the headers are in, in a thread of its own, and reads the
     * body as it arrives with http_request_read (up to the spool cap); its response is sent
     * once the whole body has been received. It reads the query and headers before the body. */
    ROUTE_STREAM_BODY = 2,
};

struct route {
    const char *method;  /* "GET", "HEAD", "POST", "PUT", "DELETE" */
    const char *pattern; /* "/containers/{id}/json" */
    http_handler_fn handler;
    unsigned flags;
};

struct route_params {
    size_t n;
    const char *names[ROUTE_MAX_PARAMS]; /* borrowed from the pattern, without braces */
    char *values[ROUTE_MAX_PARAMS];      /* owned, as the server decoded them */
};

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

/*
 * Finds the route for method and path (no query string, not yet decoded). On ROUTER_FOUND,
 * *out is the route and params holds the captures (free with route_params_fini). A path that
 * matches some route under another method gives ROUTER_BAD_METHOD.
 */
enum router_result router_match(const struct route *routes, size_t n, const char *method,
                                const char *path, const struct route **out,
                                struct route_params *params);
void route_params_fini(struct route_params *params);
/* The value of parameter name, borrowed, or NULL. */
const char *route_params_get(const struct route_params *params, const char *name);

/* An API version as major.minor. */
struct api_version {
    int major, minor;
};

/*
 * Splits a leading "/vX.Y" from path. Returns true and sets *version and *rest (the path after
 * the prefix, starting with '/') when the first segment is 'v' followed by digits and dots;
 * otherwise false with *rest = path. A prefix that looks like a version but does not parse
 * (e.g. "/v1.2.3/") sets *malformed.
 */
bool router_split_version(const char *path, struct api_version *version, const char **rest,
                          bool *malformed);
int api_version_cmp(struct api_version a, struct api_version b);
/* Parses "1.41" (major and minor each up to 4 digits). */
bool api_version_parse(const char *text, size_t len, struct api_version *out);

/* Decodes the %XX escapes of s in place, as the server has libmicrohttpd decode the path and
 * the query arguments before routing (once: the router does not decode again), except that
 * "%00" stays as it is: decoded, it would cut the C string short, and DELETE
 * /containers/web%00x would remove "web". A path parameter holding "%00" matches no route
 * (404). A '%' not followed by two hex digits stays too. Returns the new length. */
size_t router_unescape(char *s);

#endif
