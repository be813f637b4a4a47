#include "base/labels.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void
labels_add(struct labels *l, const char *key, const char *value)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->keys[i], key) == 0) {
            free(l->values[i]);
            l->values[i] = xstrdup(value ? value : "");
            return;
        }
    }
    l->keys = xrealloc(l->keys, (l->n + 1) * sizeof(char *));
    l->values = xrealloc(l->values, (l->n + 1) * sizeof(char *));
    l->keys[l->n] = xstrdup(key);
    l->values[l->n] = xstrdup(value ? value : "");
    l->n++;
}

const char *
labels_get(const struct labels *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->keys[i], key) == 0)
            return l->values[i];
    return NULL;
}

void
labels_fini(struct labels *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->values[i]);
    }
    free(l->keys);
    free(l->values);
    memset(l, 0, sizeof(*l));
}
