/*
 * err: the error object every fallible function reports through.
 *
 * An error is made where it happens (err_make), wrapped with context on the
 * way up (err_wrap), and handled once: logged and freed, or mapped to an HTTP
 * status by api/. It carries a kind, which decides the status; nobody reads
 * the message text to decide anything.
 *
 * Convention: fallible functions take `struct err **err` last and return -1
 * (or NULL) on failure with *err set; on success *err is left untouched.
 * `err` may be NULL when the caller does not want the details.
 */
#ifndef SOCKERLESS_BASE_ERR_H
#define SOCKERLESS_BASE_ERR_H

#include <stdarg.h>

enum err_kind {
    ERR_INVALID,      /* bad input from the client: 400 */
    ERR_NOT_FOUND,    /* 404 */
    ERR_CONFLICT,     /* 409 */
    ERR_NOT_MODIFIED, /* 304 */
    ERR_FORBIDDEN,    /* 403 */
    ERR_UNSUPPORTED,  /* the request is valid but not served here: 501 */
    ERR_UNAVAILABLE,  /* a dependency is down or the daemon is stopping: 503 */
    ERR_TOO_LARGE,    /* an input exceeded its cap: 413 */
    ERR_INTERNAL,     /* anything else: 500 */
};

enum { ERR_MSG_MAX = 1024 };

struct err {
    enum err_kind kind;
    int errnum; /* errno at the origin, 0 when none */
    char msg[ERR_MSG_MAX];
};

/* Sets *err (when err != NULL) to a new error; frees a previous one. Always
 * returns -1 so that `return err_make(...)` reads naturally. */
int err_make(struct err **err, enum err_kind kind, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Like err_make with kind ERR_INTERNAL and errnum = errno, message "what: strerror". */
int err_errno(struct err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the message of *err with "context: ". Returns -1. No-op on NULL. */
int err_wrap(struct err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees *err and sets it to NULL. */
void err_clear(struct err **err);

/* The kind of *err, ERR_INTERNAL when err or *err is NULL. */
enum err_kind err_kind_of(struct err *const *err);

const char *err_kind_name(enum err_kind kind);

#endif
