#include "engine/filters.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct filters *
filters_new(void)
{
    return xcalloc(1, sizeof(struct filters));
}

void
filters_free(struct filters *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_keys; i++) {
        for (size_t j = 0; j < f->keys[i].n_values; j++)
            free(f->keys[i].values[j]);
        free(f->keys[i].values);
        free(f->keys[i].key);
    }
    free(f->keys);
    free(f);
}

static struct filter_key *
filters_find_mut(const struct filters *f, const char *key)
{
    for (size_t i = 0; i < f->n_keys; i++)
        if (strcmp(f->keys[i].key, key) == 0)
            return &f->keys[i];
    return NULL;
}

const struct filter_key *
filters_find(const struct filters *f, const char *key)
{
    return f == NULL ? NULL : filters_find_mut(f, key);
}

bool
filters_has(const struct filters *f, const char *key)
{
    return filters_find(f, key) != NULL;
}

void
filters_add(struct filters *f, const char *key, const char *value)
{
    struct filter_key *k = filters_find_mut(f, key);
    if (k == NULL) {
        f->keys = xrealloc(f->keys, (f->n_keys + 1) * sizeof(*f->keys));
        k = &f->keys[f->n_keys++];
        k->key = xstrdup(key);
        k->values = NULL;
        k->n_values = 0;
    }
    for (size_t i = 0; i < k->n_values; i++)
        if (strcmp(k->values[i], value) == 0)
            return;
    k->values = xrealloc(k->values, (k->n_values + 1) * sizeof(*k->values));
    k->values[k->n_values++] = xstrdup(value);
}

int
filters_check_keys(const struct filters *f, const char *const *allowed, struct err **err)
{
    for (size_t i = 0; f != NULL && i < f->n_keys; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = strcmp(*a, f->keys[i].key) == 0;
        if (!ok)
            return err_make(err, ERR_INVALID, 0, "Invalid filter '%s'", f->keys[i].key);
    }
    return 0;
}

bool
filters_exact_match(const struct filters *f, const char *key, const char *value)
{
    const struct filter_key *k = filters_find(f, key);
    if (k == NULL)
        return true;
    for (size_t i = 0; value != NULL && i < k->n_values; i++)
        if (strcmp(k->values[i], value) == 0)
            return true;
    return false;
}

bool
filters_fuzzy_match(const struct filters *f, const char *key, const char *value)
{
    const struct filter_key *k = filters_find(f, key);
    if (k == NULL)
        return true;
    for (size_t i = 0; value != NULL && i < k->n_values; i++)
        if (strncmp(value, k->values[i], strlen(k->values[i])) == 0)
            return true;
    return false;
}

static bool
label_matches(const char *want, const char *const *keys, const char *const *values, size_t n)
{
    const char *eq = strchr(want, '=');
    size_t klen = eq ? (size_t)(eq - want) : strlen(want);
    for (size_t i = 0; i < n; i++) {
        if (strlen(keys[i]) != klen || strncmp(keys[i], want, klen) != 0)
            continue;
        if (eq == NULL || strcmp(values[i] ? values[i] : "", eq + 1) == 0)
            return true;
    }
    return false;
}

bool
filters_match_labels_not(const struct filters *f, const char *filter_key, const char *const *keys,
                         const char *const *values, size_t n)
{
    const struct filter_key *k = filters_find(f, filter_key);
    for (size_t i = 0; k != NULL && i < k->n_values; i++)
        if (label_matches(k->values[i], keys, values, n))
            return false;
    return true;
}

bool
filters_match_labels(const struct filters *f, const char *filter_key, const char *const *keys,
                     const char *const *values, size_t n)
{
    const struct filter_key *k = filters_find(f, filter_key);
    if (k == NULL)
        return true;
    for (size_t i = 0; i < k->n_values; i++)
        if (!label_matches(k->values[i], keys, values, n))
            return false;
    return true;
}
