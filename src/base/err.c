#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static int
err_vmake(struct err **err, enum err_kind kind, int errnum, const char *fmt, va_list ap)
{
    if (err == NULL)
        return -1;
    if (*err == NULL)
        *err = xcalloc(1, sizeof(**err));
    (*err)->kind = kind;
    (*err)->errnum = errnum;
    vsnprintf((*err)->msg, sizeof((*err)->msg), fmt, ap);
    return -1;
}

int
err_make(struct err **err, enum err_kind kind, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vmake(err, kind, errnum, fmt, ap);
    va_end(ap);
    return -1;
}

int
err_errno(struct err **err, const char *fmt, ...)
{
    int saved = errno;
    char what[ERR_MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    err_make(err, ERR_INTERNAL, saved, "%s: %s", what, strerror(saved));
    errno = saved;
    return -1;
}

int
err_wrap(struct err **err, const char *fmt, ...)
{
    if (err == NULL || *err == NULL)
        return -1;
    char prefix[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    /* Truncation is fine: a message is for people and keeps its start. */
    char joined[2 * ERR_MSG_MAX + 2];
    snprintf(joined, sizeof(joined), "%s: %s", prefix, (*err)->msg);
    size_t n = strnlen(joined, sizeof((*err)->msg) - 1);
    memcpy((*err)->msg, joined, n);
    (*err)->msg[n] = '\0';
    return -1;
}

void
err_clear(struct err **err)
{
    if (err == NULL)
        return;
    free(*err);
    *err = NULL;
}

enum err_kind
err_kind_of(struct err *const *err)
{
    if (err == NULL || *err == NULL)
        return ERR_INTERNAL;
    return (*err)->kind;
}

const char *
err_kind_name(enum err_kind kind)
{
    switch (kind) {
    case ERR_INVALID:
        return "invalid";
    case ERR_NOT_FOUND:
        return "not found";
    case ERR_CONFLICT:
        return "conflict";
    case ERR_NOT_MODIFIED:
        return "not modified";
    case ERR_FORBIDDEN:
        return "forbidden";
    case ERR_UNSUPPORTED:
        return "unsupported";
    case ERR_UNAVAILABLE:
        return "unavailable";
    case ERR_TOO_LARGE:
        return "too large";
    case ERR_INTERNAL:
        return "internal";
    }
    return "internal";
}
