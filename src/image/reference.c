#include "image/reference.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

enum { REF_MAX = 255 + 1 + 128 + 72 };

static bool
is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A path component: [a-z0-9]+ separated by ".", "_", "__" or runs of "-". */
static bool
valid_component(const char *s, size_t n)
{
    if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (is_alnum_lower(s[i]))
            continue;
        if (s[i] == '.' || s[i] == '_') {
            size_t run = 1;
            while (i + run < n && s[i + run] == s[i])
                run++;
            if (!(run == 1 || (s[i] == '_' && run == 2)))
                return false;
            i += run - 1;
        } else if (s[i] != '-') {
            return false;
        }
    }
    return true;
}

static bool
valid_path(const char *p)
{
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!valid_component(p, n))
            return false;
        if (slash == NULL)
            return true;
        p = slash + 1;
    }
}

static bool
valid_tag(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return false;
    return true;
}

static bool
valid_domain(const char *d)
{
    size_t n = strlen(d);
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)d[i]) || d[i] == '.' || d[i] == '-' || d[i] == ':' ||
              d[i] == '[' || d[i] == ']'))
            return false;
    return true;
}

void
reference_fini(struct reference *r)
{
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof(*r));
}

int
reference_parse(const char *ref, struct reference *out, struct err **err)
{
    struct reference r = {0};
    size_t len = strlen(ref);
    if (len == 0 || len > REF_MAX)
        return err_make(err, ERR_INVALID, 0, "invalid reference format");
    cleanup_free char *s = xstrdup(ref);
    char *at = strchr(s, '@');
    if (at != NULL) {
        *at = '\0';
        const char *dg = at + 1;
        if (strncmp(dg, "sha256:", 7) != 0 || strlen(dg + 7) != 64 ||
            strspn(dg + 7, "0123456789abcdef") != 64)
            return err_make(err, ERR_INVALID, 0, "invalid reference format");
        r.digest = xstrdup(dg);
    }
    char *last_slash = strrchr(s, '/');
    char *colon = strrchr(last_slash ? last_slash : s, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (!valid_tag(colon + 1)) {
            reference_fini(&r);
            return err_make(err, ERR_INVALID, 0, "invalid reference format");
        }
        r.tag = xstrdup(colon + 1);
    }
    char *first_slash = strchr(s, '/');
    const char *path = s;
    if (first_slash != NULL) {
        size_t dn = (size_t)(first_slash - s);
        bool is_domain = memchr(s, '.', dn) || memchr(s, ':', dn) ||
                         (dn == 9 && strncmp(s, "localhost", 9) == 0) ||
                         (dn > 0 && isupper((unsigned char)s[0]));
        if (is_domain) {
            r.domain = xstrndup(s, dn);
            path = first_slash + 1;
        }
    }
    if (r.domain == NULL || strcmp(r.domain, "index.docker.io") == 0) {
        free(r.domain);
        r.domain = xstrdup("docker.io");
    }
    for (const char *p = path; *p; p++) {
        if (isupper((unsigned char)*p)) {
            reference_fini(&r);
            return err_make(err, ERR_INVALID, 0,
                            "invalid reference format: repository name must be lowercase");
        }
    }
    if (!valid_domain(r.domain) || !valid_path(path)) {
        reference_fini(&r);
        return err_make(err, ERR_INVALID, 0, "invalid reference format");
    }
    if (strcmp(r.domain, "docker.io") == 0 && strchr(path, '/') == NULL)
        r.path = xasprintf("library/%s", path);
    else
        r.path = xstrdup(path);
    /* Docker limits the normalized name, domain included (found by fuzz_reference: a longer
     * one was taken, and its full form then did not parse). */
    if (strlen(r.domain) + 1 + strlen(r.path) > 255) {
        reference_fini(&r);
        return err_make(err, ERR_INVALID, 0,
                        "invalid reference format: repository name must not be more than 255 "
                        "characters");
    }
    if (r.tag == NULL && r.digest == NULL)
        r.tag = xstrdup("latest");
    *out = r;
    return 0;
}

char *
reference_full(const struct reference *r)
{
    if (r->digest != NULL && r->tag == NULL)
        return xasprintf("%s/%s@%s", r->domain, r->path, r->digest);
    return xasprintf("%s/%s:%s", r->domain, r->path, r->tag);
}

char *
reference_repo_familiar(const struct reference *r)
{
    if (strcmp(r->domain, "docker.io") != 0)
        return xasprintf("%s/%s", r->domain, r->path);
    if (strncmp(r->path, "library/", 8) == 0 && strchr(r->path + 8, '/') == NULL)
        return xstrdup(r->path + 8);
    return xstrdup(r->path);
}

char *
reference_familiar(const struct reference *r)
{
    cleanup_free char *repo = reference_repo_familiar(r);
    if (r->digest != NULL && r->tag == NULL)
        return xasprintf("%s@%s", repo, r->digest);
    return xasprintf("%s:%s", repo, r->tag);
}
