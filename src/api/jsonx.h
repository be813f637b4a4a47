/*
 * jsonx: typed reads from request JSON (jansson) with Docker-style errors, and small
 * encoders for the engine's C types. A member that is absent or null reads as "not given";
 * a member of the wrong type is ERR_INVALID naming the field.
 */
#ifndef SOCKERLESS_API_JSONX_H
#define SOCKERLESS_API_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "engine/container.h"

/* *out = a new copy, or NULL when absent/null. */
int jsonx_string(json_t *obj, const char *key, char **out, struct err **err);
int jsonx_bool(json_t *obj, const char *key, bool *out, struct err **err);
int jsonx_int(json_t *obj, const char *key, int64_t *out, bool *given, struct err **err);
/* ConsoleSize: [height, width], each 0..65535; absent or null leaves *h and *w as they are. */
int jsonx_console_size(json_t *obj, const char *key, int *h, int *w, struct err **err);
/* A list of strings; a plain string is accepted as a one-element list where Docker accepts it
 * (Cmd, Entrypoint: allow_string). *out NULL when absent/null. */
int jsonx_strv(json_t *obj, const char *key, bool allow_string, char ***out, struct err **err);
/* A map of string to string into labels. */
int jsonx_labels(json_t *obj, const char *key, struct labels *out, struct err **err);

json_t *jsonx_from_labels(const struct labels *l);
/* RFC 3339 nano; ns == 0 gives Go's zero time "0001-01-01T00:00:00Z". */
json_t *jsonx_time(int64_t ns);

#endif
