/*
 * fuzz_router: a request line's method, path and query from arbitrary bytes, through what the
 * server does with them: the /vX.Y prefix (router_split_version), the real route table
 * (api_routes, router_match, route_params_get), and the query arguments through the value
 * readers handlers use (booleans, integers, filters JSON). The first byte picks the method;
 * the rest, up to a NUL, is the URL. Splitting the query at '&' and '=' is libmicrohttpd's
 * work, here a plain split; the path and the arguments are unescaped by router_unescape, as the
 * server has libmicrohttpd do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/filters_json.h"
#include "base/xalloc.h"
#include "http/request.h"
#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
query_value(const char *name, const char *value)
{
    struct err *err = NULL;
    bool b;
    (void)http_parse_bool(name, value, true, &b, &err);
    err_clear(&err);
    int64_t n;
    (void)http_parse_int(name, value, -1, -1, 65535, &n, &err);
    err_clear(&err);
    if (strcmp(name, "filters") == 0) {
        filters_free(filters_json_parse(value, &err));
        err_clear(&err);
    }
}

static void
query(char *q)
{
    for (char *save = NULL, *arg = strtok_r(q, "&", &save); arg != NULL;
         arg = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(arg, '=');
        if (eq != NULL)
            *eq++ = '\0';
        router_unescape(arg);
        if (eq != NULL)
            router_unescape(eq);
        query_value(arg, eq);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
    if (size < 1 || size > 16 * 1024)
        return 0;
    const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    char *url = xstrndup((const char *)data + 1, size - 1);
    char *q = strchr(url, '?');
    if (q != NULL)
        *q++ = '\0';
    router_unescape(url);

    struct api_version v;
    const char *path;
    bool malformed;
    (void)router_split_version(url, &v, &path, &malformed);
    size_t n;
    const struct route *routes = api_routes(&n);
    const struct route *found = NULL;
    struct route_params params;
    if (router_match(routes, n, method, path, &found, &params) == ROUTER_FOUND) {
        if (found == NULL || strcmp(found->method, method) != 0)
            abort();
        static const char *const names[] = {"id", "name", "exec", "x"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            const char *p = route_params_get(&params, names[i]);
            if (p != NULL && (*p == '\0' || strlen(p) > ROUTE_PARAM_MAX))
                abort(); /* a capture is never empty and never longer than the cap */
        }
        route_params_fini(&params);
    }
    if (q != NULL)
        query(q);
    free(url);
    return 0;
}
