/*
 * buf: a growable byte buffer with a hard cap.
 *
 * Every buffer filled from input has a cap; appending past it fails with
 * ERR_TOO_LARGE and leaves the buffer as it was. The data is always followed
 * by a NUL byte (not counted in len) so text can be used as a C string.
 */
#ifndef SOCKERLESS_BASE_BUF_H
#define SOCKERLESS_BASE_BUF_H

#include <stddef.h>

#include "base/err.h"

struct buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t alloc;
    size_t cap; /* maximum len */
};

void buf_init(struct buf *b, size_t cap);
void buf_fini(struct buf *b);
/* Makes room for n more bytes without changing the content (at most up to the cap), so that
 * appends up to that size do not reallocate. */
void buf_reserve(struct buf *b, size_t n);
/* Appends n bytes; ERR_TOO_LARGE if len + n would exceed the cap. */
int buf_append(struct buf *b, const void *data, size_t n, struct err **err);
/* Takes the data (NUL-terminated, never NULL) and resets the buffer; the caller frees it. */
char *buf_take(struct buf *b, size_t *len);

#endif
