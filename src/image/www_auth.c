#include "image/www_auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"

/* Challenge values are short; a longer one is refused rather than parsed. */
enum { WWW_AUTH_MAX = 8192 };

void
www_auth_fini(struct www_auth *w)
{
    free(w->realm);
    free(w->service);
    free(w->scope);
    memset(w, 0, sizeof(*w));
}

static bool
is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *
skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A token at p: its length (0 when none). */
static size_t
token_len(const char *p)
{
    size_t n = 0;
    while (p[n] != '\0' && is_tchar(p[n]))
        n++;
    return n;
}

/* A quoted string at p (p[0] == '"'): the unescaped value, *end past the closing quote; NULL
 * when it is not closed. */
static char *
quoted(const char *p, const char **end)
{
    char *out = xmalloc(strlen(p));
    size_t n = 0;
    for (p++; *p != '"'; p++) {
        if (*p == '\0' || (*p == '\\' && p[1] == '\0')) {
            free(out);
            return NULL;
        }
        if (*p == '\\')
            p++;
        out[n++] = *p;
    }
    out[n] = '\0';
    *end = p + 1;
    return out;
}

/* Reads "name=value" pairs of one challenge from *pp into w (when keep), up to the next
 * challenge's scheme or the end. False when malformed. */
static bool
read_params(const char **pp, struct www_auth *w, bool keep)
{
    const char *p = *pp;
    for (;;) {
        p = skip_ws(p);
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        size_t nlen = token_len(p);
        if (nlen == 0)
            return false;
        const char *after = skip_ws(p + nlen);
        if (*after != '=' || after[1] == '=') /* no '=': the next challenge's scheme */
            break;
        const char *name = p;
        p = skip_ws(after + 1);
        char *value;
        if (*p == '"') {
            value = quoted(p, &p);
            if (value == NULL)
                return false;
        } else {
            size_t vlen = token_len(p);
            value = xstrndup(p, vlen);
            p += vlen;
        }
        char **slot = NULL;
        if (keep && nlen == 5 && strncasecmp(name, "realm", 5) == 0)
            slot = &w->realm;
        else if (keep && nlen == 7 && strncasecmp(name, "service", 7) == 0)
            slot = &w->service;
        else if (keep && nlen == 5 && strncasecmp(name, "scope", 5) == 0)
            slot = &w->scope;
        if (slot != NULL && *slot == NULL)
            *slot = value;
        else
            free(value);
        p = skip_ws(p);
        if (*p != ',' && *p != '\0')
            return false;
    }
    *pp = p;
    return true;
}

bool
www_auth_parse(const char *header, struct www_auth *out)
{
    memset(out, 0, sizeof(*out));
    if (header == NULL || strlen(header) > WWW_AUTH_MAX)
        return false;
    struct www_auth best = {0};
    const char *p = header;
    for (;;) {
        p = skip_ws(p);
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        size_t slen = token_len(p);
        if (slen == 0) {
            www_auth_fini(&best);
            return false;
        }
        enum www_auth_scheme scheme = WWW_AUTH_NONE;
        if (slen == 6 && strncasecmp(p, "bearer", 6) == 0)
            scheme = WWW_AUTH_BEARER;
        else if (slen == 5 && strncasecmp(p, "basic", 5) == 0)
            scheme = WWW_AUTH_BASIC;
        p += slen;
        /* The first challenge of the strongest scheme wins. */
        bool keep = scheme > best.scheme;
        struct www_auth cur = {.scheme = scheme};
        if (!read_params(&p, &cur, keep)) {
            www_auth_fini(&cur);
            www_auth_fini(&best);
            return false;
        }
        if (keep) {
            www_auth_fini(&best);
            best = cur;
        } else {
            www_auth_fini(&cur);
        }
    }
    if (best.scheme == WWW_AUTH_NONE) {
        www_auth_fini(&best);
        return false;
    }
    *out = best;
    return true;
}
