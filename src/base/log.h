/*
 * log: leveled logging to stderr, one line per event.
 *
 * The macros check the level before formatting anything, so a debug line on
 * a hot path costs one comparison when debug logging is off. Never log
 * request bodies, X-Registry-Auth headers or tokens.
 */
#ifndef SOCKERLESS_BASE_LOG_H
#define SOCKERLESS_BASE_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
    LOG_LEVEL_FATAL
};

extern enum log_level log_threshold;

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn"/"warning", "error", "fatal". Returns false on an unknown name. */
bool log_parse_level(const char *name, enum log_level *out);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= log_threshold)                                                              \
            log_write((level), __VA_ARGS__);                                                       \
    } while (0)
#define LOG_DEBUG(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
