#include "http/upload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct http_upload {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* data, room, or an end: both sides wait on it */
    char *ring;
    size_t cap, head, used; /* data is ring[head .. head + used) modulo cap */
    size_t batch;           /* a reader waits for this much (or the end) before it wakes */
    size_t want;            /* what the waiting reader waits for (at most batch) */
    bool ended, aborted, reader_done;
    bool writer_waits, reader_waits; /* a wake-up is owed only to a side that waits */
};

struct http_upload *
http_upload_new(size_t cap)
{
    struct http_upload *u = xcalloc(1, sizeof(*u));
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->changed, NULL);
    u->ring = xmalloc(cap);
    u->cap = cap;
    u->batch = cap / 4 > 0 ? cap / 4 : 1;
    return u;
}

void
http_upload_free(struct http_upload *u)
{
    if (u == NULL)
        return;
    pthread_cond_destroy(&u->changed);
    pthread_mutex_destroy(&u->lock);
    free(u->ring);
    free(u);
}

void
http_upload_write(struct http_upload *u, const char *data, size_t len)
{
    pthread_mutex_lock(&u->lock);
    while (len > 0 && !u->reader_done && !u->aborted) {
        if (u->used == u->cap) {
            u->writer_waits = true;
            pthread_cond_wait(&u->changed, &u->lock);
            u->writer_waits = false;
            continue;
        }
        size_t tail = (u->head + u->used) % u->cap;
        size_t n = u->cap - u->used;
        if (n > u->cap - tail)
            n = u->cap - tail; /* up to the end of the ring; the rest on the next turn */
        if (n > len)
            n = len;
        memcpy(u->ring + tail, data, n);
        u->used += n;
        data += n;
        len -= n;
        /* Wake the reader for a batch rather than for every piece: fewer switches. */
        if (u->reader_waits && u->used >= u->want)
            pthread_cond_broadcast(&u->changed);
    }
    pthread_mutex_unlock(&u->lock);
}

static void
finish(struct http_upload *u, bool aborted)
{
    pthread_mutex_lock(&u->lock);
    u->ended = true;
    u->aborted = u->aborted || aborted;
    pthread_cond_broadcast(&u->changed);
    pthread_mutex_unlock(&u->lock);
}

void
http_upload_end(struct http_upload *u)
{
    finish(u, false);
}

void
http_upload_abort(struct http_upload *u)
{
    finish(u, true);
}

ssize_t
http_upload_read(struct http_upload *u, void *buf, size_t len)
{
    pthread_mutex_lock(&u->lock);
    u->want = len < u->batch ? len : u->batch;
    while (u->used < u->want && !u->ended && !u->aborted) {
        u->reader_waits = true;
        pthread_cond_wait(&u->changed, &u->lock);
        u->reader_waits = false;
    }
    ssize_t rc;
    if (u->aborted) {
        errno = ECONNABORTED;
        rc = -1;
    } else {
        size_t n = u->used < len ? u->used : len;
        if (n > u->cap - u->head)
            n = u->cap - u->head;
        memcpy(buf, u->ring + u->head, n);
        u->head = (u->head + n) % u->cap;
        u->used -= n;
        rc = (ssize_t)n;
        if (u->writer_waits)
            pthread_cond_broadcast(&u->changed);
    }
    pthread_mutex_unlock(&u->lock);
    return rc;
}

void
http_upload_reader_done(struct http_upload *u)
{
    pthread_mutex_lock(&u->lock);
    u->reader_done = true;
    pthread_cond_broadcast(&u->changed);
    pthread_mutex_unlock(&u->lock);
}
