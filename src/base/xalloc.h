/*
 * xalloc: allocation that aborts on out-of-memory.
 *
 * Running out of memory is not a recoverable condition for the daemon; every
 * size driven by input is capped before it reaches these functions, so an
 * allocation failure here means the machine itself is exhausted.
 */
#ifndef SOCKERLESS_BASE_XALLOC_H
#define SOCKERLESS_BASE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A freshly allocated formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees *p and sets it to NULL: the cleanup attribute handler for char * and friends. */
void xfreep(void *p);
#define cleanup_free __attribute__((cleanup(xfreep)))

#endif
