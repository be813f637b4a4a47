#include "http/router.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t
router_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r != '\0';) {
        int hi = r[0] == '%' ? hexval(r[1]) : -1, lo = hi >= 0 ? hexval(r[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi << 4 | lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* A path parameter's value: the segments as the server decoded them (router_unescape), or NULL
 * when they hold the "%00" it kept (a NUL would cut the value short in C). */
static char *
param_value(const char *s, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++)
        if (s[i] == '%' && s[i + 1] == '0' && s[i + 2] == '0')
            return NULL;
    return xstrndup(s, len);
}

/* A segment of a path: [start, start+len). */
struct seg {
    const char *start;
    size_t len;
};

enum { MAX_SEGS = 64 };

/* Splits "/a/b/c" into segments. Returns the count, or -1 when there are too many or the path
 * does not start with '/'. Empty segments (a doubled or trailing slash) are kept. */
static int
split_segments(const char *path, struct seg *segs)
{
    if (path[0] != '/')
        return -1;
    int n = 0;
    const char *p = path + 1;
    for (;;) {
        if (n == MAX_SEGS)
            return -1;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        segs[n].start = p;
        segs[n].len = len;
        n++;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return n;
}

/* Matches path segments [pi, np) against pattern segments [qi, nq). Captures go to params. */
static bool
match_from(const struct seg *ps, int pi, int np, const struct seg *qs, int qi, int nq,
           struct route_params *params)
{
    for (; qi < nq; qi++, pi++) {
        const struct seg *q = &qs[qi];
        bool is_param = q->len >= 2 && q->start[0] == '{' && q->start[q->len - 1] == '}';
        if (!is_param) {
            if (pi >= np || ps[pi].len != q->len || memcmp(ps[pi].start, q->start, q->len) != 0)
                return false;
            continue;
        }
        bool greedy = q->len >= 3 && q->start[q->len - 2] == '*';
        if (params->n == ROUTE_MAX_PARAMS || pi >= np)
            return false;
        size_t slot = params->n;
        params->names[slot] = q->start + 1; /* not NUL-terminated; see route_params_get */
        int last = greedy ? np - (nq - qi - 1) - 1 : pi;
        /* A greedy parameter takes as many segments as leave enough for the rest of the
         * pattern; try the longest first, as Docker's `{name:.*}` routes do. */
        for (int end = last; end >= pi; end--) {
            const char *start = ps[pi].start;
            size_t len = (size_t)(ps[end].start + ps[end].len - start);
            if (len == 0 || len > ROUTE_PARAM_MAX)
                continue;
            char *value = param_value(start, len);
            if (value == NULL)
                return false;
            params->values[slot] = value;
            params->n = slot + 1;
            if (match_from(ps, end + 1, np, qs, qi + 1, nq, params))
                return true;
            for (size_t k = slot; k < params->n; k++) {
                free(params->values[k]);
                params->values[k] = NULL;
            }
            params->n = slot;
        }
        return false;
    }
    return pi == np;
}

static bool
match_pattern(const char *pattern, const struct seg *ps, int np, struct route_params *params)
{
    struct seg qs[MAX_SEGS];
    int nq = split_segments(pattern, qs);
    if (nq < 0)
        return false;
    params->n = 0;
    return match_from(ps, 0, np, qs, 0, nq, params);
}

enum router_result
router_match(const struct route *routes, size_t n, const char *method, const char *path,
             const struct route **out, struct route_params *params)
{
    memset(params, 0, sizeof(*params));
    /* A NUL byte names no object (dockerd: 404 "No such ..."); without this check the routes
     * it makes fail would leave a route of another method matching: a misleading 405. */
    if (strstr(path, "%00") != NULL)
        return ROUTER_NOT_FOUND;
    struct seg ps[MAX_SEGS];
    int np = split_segments(path, ps);
    if (np < 0)
        return ROUTER_NOT_FOUND;
    bool path_known = false;
    for (size_t i = 0; i < n; i++) {
        struct route_params tmp = {0};
        if (!match_pattern(routes[i].pattern, ps, np, &tmp))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            *params = tmp;
            *out = &routes[i];
            return ROUTER_FOUND;
        }
        route_params_fini(&tmp);
        path_known = true;
    }
    return path_known ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

void
route_params_fini(struct route_params *params)
{
    for (size_t i = 0; i < params->n; i++)
        free(params->values[i]);
    memset(params, 0, sizeof(*params));
}

const char *
route_params_get(const struct route_params *params, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < params->n; i++) {
        const char *pn = params->names[i];
        /* names point into the pattern: "id}" or "name*}" */
        if (strncmp(pn, name, len) == 0 &&
            (pn[len] == '}' || (pn[len] == '*' && pn[len + 1] == '}')))
            return params->values[i];
    }
    return NULL;
}

bool
api_version_parse(const char *text, size_t len, struct api_version *out)
{
    size_t i = 0;
    int parts[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        size_t start = i;
        while (i < len && isdigit((unsigned char)text[i]) && i - start < 4)
            parts[k] = parts[k] * 10 + (text[i++] - '0');
        if (i == start)
            return false;
        if (k == 0) {
            if (i >= len || text[i] != '.')
                return false;
            i++;
        }
    }
    if (i != len)
        return false;
    out->major = parts[0];
    out->minor = parts[1];
    return true;
}

int
api_version_cmp(struct api_version a, struct api_version b)
{
    if (a.major != b.major)
        return a.major < b.major ? -1 : 1;
    if (a.minor != b.minor)
        return a.minor < b.minor ? -1 : 1;
    return 0;
}

bool
router_split_version(const char *path, struct api_version *version, const char **rest,
                     bool *malformed)
{
    *rest = path;
    *malformed = false;
    if (path[0] != '/' || path[1] != 'v')
        return false;
    const char *p = path + 2;
    size_t len = strspn(p, "0123456789.");
    if (len == 0 || (p[len] != '/' && p[len] != '\0'))
        return false;
    if (!api_version_parse(p, len, version)) {
        *malformed = true;
        return false;
    }
    *rest = p[len] == '\0' ? "/" : p + len;
    return true;
}
