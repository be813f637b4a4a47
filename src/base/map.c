#include "base/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static uint64_t
hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void
map_init(struct map *m)
{
    memset(m, 0, sizeof(*m));
}

void
map_fini(struct map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    map_init(m);
}

/* The slot holding key, or NULL. */
static struct map_slot *
find(const struct map *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash(key) & mask;; i = (i + 1) & mask) {
        struct map_slot *s = &m->slots[i];
        if (s->key == NULL && !s->tombstone)
            return NULL;
        if (s->key != NULL && strcmp(s->key, key) == 0)
            return s;
    }
}

static void
grow(struct map *m)
{
    struct map_slot *old = m->slots;
    size_t old_cap = m->cap;
    size_t cap = old_cap ? old_cap * 2 : 16;
    /* Rehash in place of tombstones when they, not live keys, filled the table. */
    if (old_cap && m->len * 4 < old_cap)
        cap = old_cap;
    m->slots = xcalloc(cap, sizeof(*m->slots));
    m->cap = cap;
    m->used = m->len;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key == NULL)
            continue;
        size_t mask = cap - 1;
        size_t j = hash(old[i].key) & mask;
        while (m->slots[j].key != NULL)
            j = (j + 1) & mask;
        m->slots[j].key = old[i].key;
        m->slots[j].value = old[i].value;
    }
    free(old);
}

void
map_put(struct map *m, const char *key, void *value, void **old)
{
    struct map_slot *s = find(m, key);
    if (s != NULL) {
        if (old != NULL)
            *old = s->value;
        s->value = value;
        return;
    }
    if (old != NULL)
        *old = NULL;
    if ((m->used + 1) * 4 > m->cap * 3)
        grow(m);
    size_t mask = m->cap - 1;
    size_t i = hash(key) & mask;
    while (m->slots[i].key != NULL)
        i = (i + 1) & mask;
    if (!m->slots[i].tombstone)
        m->used++;
    m->slots[i].key = xstrdup(key);
    m->slots[i].value = value;
    m->slots[i].tombstone = false;
    m->len++;
}

void *
map_get(const struct map *m, const char *key)
{
    struct map_slot *s = find(m, key);
    return s ? s->value : NULL;
}

void *
map_del(struct map *m, const char *key)
{
    struct map_slot *s = find(m, key);
    if (s == NULL)
        return NULL;
    void *v = s->value;
    free(s->key);
    s->key = NULL;
    s->value = NULL;
    s->tombstone = true;
    m->len--;
    return v;
}

bool
map_next(const struct map *m, size_t *iter, const char **key, void **value)
{
    for (; *iter < m->cap; (*iter)++) {
        struct map_slot *s = &m->slots[*iter];
        if (s->key == NULL)
            continue;
        if (key)
            *key = s->key;
        if (value)
            *value = s->value;
        (*iter)++;
        return true;
    }
    return false;
}
