/*
 * strv: NULL-terminated arrays of owned strings (argv, env, lists).
 */
#ifndef SOCKERLESS_BASE_STRV_H
#define SOCKERLESS_BASE_STRV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

size_t strv_len(char *const *v);
/* A deep copy; NULL stays NULL. */
char **strv_dup(char *const *v);
void strv_free(char **v);
/* Appends a copy of s (v may be NULL). Returns the new array. */
char **strv_append(char **v, const char *s);
/* The elements joined with sep (a new string; "" for an empty or NULL list). */
char *strv_join(char *const *v, const char *sep);
bool strv_contains(char *const *v, const char *s);
/*
 * Merges KEY=VALUE lists the way dockerd merges image and container Env: the entries of over
 * first, in order, then those of base whose key over does not set.
 * Returns a new array.
 */
char **strv_env_merge(char *const *base, char *const *over);
/* The value of key in a KEY=VALUE list, borrowed, or NULL. */
const char *strv_env_get(char *const *env, const char *key);

/* A JSON array of v's strings (a new reference): [] for NULL, or null (strv_json_or_null). */
json_t *strv_json(char *const *v);
json_t *strv_json_or_null(char *const *v);

#endif
