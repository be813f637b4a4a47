#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void
buf_init(struct buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void
buf_fini(struct buf *b)
{
    free(b->data);
    buf_init(b, b->cap);
}

/* Room for need bytes in all (the NUL included), doubling from 256. */
static void
grow(struct buf *b, size_t need)
{
    if (need <= b->alloc)
        return;
    size_t alloc = b->alloc ? b->alloc : 256;
    while (alloc < need)
        alloc *= 2;
    b->data = xrealloc(b->data, alloc);
    b->alloc = alloc;
}

void
buf_reserve(struct buf *b, size_t n)
{
    size_t room = b->cap - b->len;
    grow(b, b->len + (n < room ? n : room) + 1);
    b->data[b->len] = '\0'; /* a new buffer is a C string too */
}

int
buf_append(struct buf *b, const void *data, size_t n, struct err **err)
{
    if (n > b->cap - b->len)
        return err_make(err, ERR_TOO_LARGE, 0, "data exceeds the limit of %zu bytes", b->cap);
    grow(b, b->len + n + 1);
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

char *
buf_take(struct buf *b, size_t *len)
{
    char *data = b->data ? b->data : xstrdup("");
    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return data;
}
