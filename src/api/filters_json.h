/*
 * filters_json: decodes Docker's `filters` query parameter into struct
 * filters. Both forms are accepted (compat-notes 16): the map form
 * {"key":{"value":true}} and the legacy list form {"key":["value"]}.
 */
#ifndef SOCKERLESS_API_FILTERS_JSON_H
#define SOCKERLESS_API_FILTERS_JSON_H

#include <stddef.h>

#include "base/err.h"
#include "engine/filters.h"

enum { FILTERS_JSON_MAX = 64 * 1024 };

/* text NULL or empty gives an empty set. ERR_INVALID for malformed JSON or wrong shapes. */
struct filters *filters_json_parse(const char *text, struct err **err);

#endif
