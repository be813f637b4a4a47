#include "base/strv.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

size_t
strv_len(char *const *v)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

char **
strv_dup(char *const *v)
{
    if (v == NULL)
        return NULL;
    size_t n = strv_len(v);
    char **out = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(v[i]);
    return out;
}

void
strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

char **
strv_append(char **v, const char *s)
{
    size_t n = strv_len(v);
    v = xrealloc(v, (n + 2) * sizeof(char *));
    v[n] = xstrdup(s);
    v[n + 1] = NULL;
    return v;
}

bool
strv_contains(char *const *v, const char *s)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static size_t
key_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* Index of the entry of env whose key equals the key of entry, or -1. */
static long
env_find(char *const *env, const char *entry)
{
    size_t k = key_len(entry);
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        if (key_len(env[i]) == k && strncmp(env[i], entry, k) == 0)
            return (long)i;
    return -1;
}

char **
strv_env_merge(char *const *base, char *const *over)
{
    char **out = xcalloc(1, sizeof(char *));
    for (size_t i = 0; over != NULL && over[i] != NULL; i++)
        if (env_find(out, over[i]) < 0)
            out = strv_append(out, over[i]);
    for (size_t i = 0; base != NULL && base[i] != NULL; i++)
        if (env_find(out, base[i]) < 0)
            out = strv_append(out, base[i]);
    return out;
}

const char *
strv_env_get(char *const *env, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        if (strncmp(env[i], key, k) == 0 && env[i][k] == '=')
            return env[i] + k + 1;
    return NULL;
}

char *
strv_join(char *const *v, const char *sep)
{
    size_t len = 1, n = strv_len(v), seplen = strlen(sep);
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + (i > 0 ? seplen : 0);
    char *out = xmalloc(len), *p = out;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(p, sep, seplen);
            p += seplen;
        }
        size_t l = strlen(v[i]);
        memcpy(p, v[i], l);
        p += l;
    }
    *p = '\0';
    return out;
}

json_t *
strv_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *
strv_json_or_null(char *const *v)
{
    return v == NULL ? json_null() : strv_json(v);
}
