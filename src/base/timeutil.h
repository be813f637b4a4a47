/*
 * timeutil: wall-clock time as nanoseconds since the Unix epoch, and the two
 * text forms Docker's API uses for it.
 */
#ifndef SOCKERLESS_BASE_TIMEUTIL_H
#define SOCKERLESS_BASE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* "2006-01-02T15:04:05.123456789Z" plus NUL, with room to spare. */
enum { TIME_RFC3339_MAX = 40 };

/* CLOCK_REALTIME in nanoseconds. */
int64_t time_now_ns(void);
/* CLOCK_MONOTONIC in nanoseconds, for deadlines and durations. */
int64_t time_mono_ns(void);

/* Writes ns as RFC 3339 with nine fraction digits in UTC ("...T12:15:08.831993854Z"), Docker's
 * timestamp form (compat-notes 14). */
void time_format_rfc3339nano(int64_t ns, char *out, size_t size);

/*
 * Parses a timestamp a client may send in `since`/`until`: Unix seconds with an optional
 * fraction ("1700000000", "1700000000.5", "-5" is refused), or RFC 3339 with an optional
 * fraction and a Z or +hh:mm offset. ERR_INVALID on anything else.
 */
int time_parse_timestamp(const char *text, int64_t *out_ns, struct err **err);

#endif
