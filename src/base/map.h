/*
 * map: a hash map from C strings to pointers (open addressing, linear probing, FNV-1a).
 *
 * Keys are copied and owned by the map; values are borrowed: the map never frees them.
 * Not thread-safe: the owner holds its lock around every call.
 */
#ifndef SOCKERLESS_BASE_MAP_H
#define SOCKERLESS_BASE_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct map_slot {
    char *key; /* NULL: empty */
    void *value;
    bool tombstone;
};

struct map {
    struct map_slot *slots;
    size_t cap;  /* a power of two, or 0 */
    size_t len;  /* live keys */
    size_t used; /* live keys and tombstones */
};

void map_init(struct map *m);
void map_fini(struct map *m);
/* Sets key to value, replacing an existing value (returned through *old when old != NULL). */
void map_put(struct map *m, const char *key, void *value, void **old);
/* The value of key, or NULL. */
void *map_get(const struct map *m, const char *key);
/* Removes key; returns its value or NULL. */
void *map_del(struct map *m, const char *key);
/* Iteration: for (size_t i = 0; map_next(m, &i, &k, &v);) ... Removal during iteration is
 * allowed for the current key. */
bool map_next(const struct map *m, size_t *iter, const char **key, void **value);

#endif
