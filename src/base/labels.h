/*
 * labels: an ordered string map for labels (keys unique; setting a key again replaces it).
 */
#ifndef SOCKERLESS_BASE_LABELS_H
#define SOCKERLESS_BASE_LABELS_H

#include <stddef.h>

struct labels {
    char **keys, **values;
    size_t n;
};

void labels_add(struct labels *l, const char *key, const char *value);
/* The value of key, borrowed, or NULL. */
const char *labels_get(const struct labels *l, const char *key);
void labels_fini(struct labels *l);

#endif
