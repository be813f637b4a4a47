/*
 * filters: the C form of Docker's `filters` parameter: keys, each with a set
 * of values. Different keys are ANDed, the values of one key ORed
 * (compat-notes 16). Parsing the JSON lives in api/filters.c; this module
 * only holds and matches.
 */
#ifndef SOCKERLESS_ENGINE_FILTERS_H
#define SOCKERLESS_ENGINE_FILTERS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

struct filter_key {
    char *key;
    char **values;
    size_t n_values;
};

struct filters {
    struct filter_key *keys;
    size_t n_keys;
};

struct filters *filters_new(void);
void filters_free(struct filters *f);
/* Adds value under key (duplicates are kept once). Copies both strings. */
void filters_add(struct filters *f, const char *key, const char *value);
/* The entry for key, borrowed, or NULL. */
const struct filter_key *filters_find(const struct filters *f, const char *key);
bool filters_has(const struct filters *f, const char *key);
/* ERR_INVALID "invalid filter 'k'" for the first key not in allowed (a NULL-ended list). */
int filters_check_keys(const struct filters *f, const char *const *allowed, struct err **err);
/* True when key is absent, or one of its values equals value. */
bool filters_exact_match(const struct filters *f, const char *key, const char *value);
/* True when key is absent, or one of its values equals value or is a prefix of it
 * (how Docker matches IDs and names given in a filter). */
bool filters_fuzzy_match(const struct filters *f, const char *key, const char *value);
/*
 * Matches the `label` key against a label set given as parallel key/value arrays:
 * every filter value must match ("k" means present, "k=v" the value). True when no
 * label filter is given.
 */
bool filters_match_labels(const struct filters *f, const char *filter_key, const char *const *keys,
                          const char *const *values, size_t n);

/* The negation Docker spells `label!`: true when key is absent or no label matches any of its
 * values. */
bool filters_match_labels_not(const struct filters *f, const char *filter_key,
                              const char *const *keys, const char *const *values, size_t n);

#endif
