#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/timeutil.h"

enum log_level log_threshold = LOG_LEVEL_INFO;

void
log_set_level(enum log_level level)
{
    log_threshold = level;
}

bool
log_parse_level(const char *name, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {
        {"debug", LOG_LEVEL_DEBUG},  {"info", LOG_LEVEL_INFO},   {"warn", LOG_LEVEL_WARN},
        {"warning", LOG_LEVEL_WARN}, {"error", LOG_LEVEL_ERROR}, {"fatal", LOG_LEVEL_FATAL},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

void
log_write(enum log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"debug", "info", "warn", "error", "fatal"};
    char ts[TIME_RFC3339_MAX];
    time_format_rfc3339nano(time_now_ns(), ts, sizeof(ts));
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One fprintf per line: stdio locks the stream, so lines from threads never interleave. */
    fprintf(stderr, "time=\"%s\" level=%s msg=\"%s\"\n", ts, tags[level], msg);
}
