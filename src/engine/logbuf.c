#include "engine/logbuf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "base/xalloc.h"

struct logbuf_reader {
    struct logbuf *lb;
    struct logbuf_reader *next;
    uint64_t next_seq;
    int efd;
    bool signaled; /* efd is readable: appends need not write it again (under lb->lock) */
};

struct logbuf {
    pthread_mutex_t lock;
    int refs;
    struct log_entry *entries; /* circular */
    size_t cap, head, count;   /* head: index of the oldest */
    size_t bytes, max_bytes;
    uint64_t next_seq; /* seq of the next appended entry; starts at 1 */
    bool closed;
    struct logbuf_reader *readers;
};

struct logbuf *
logbuf_new(size_t max_bytes)
{
    struct logbuf *lb = xcalloc(1, sizeof(*lb));
    pthread_mutex_init(&lb->lock, NULL);
    lb->refs = 1;
    lb->max_bytes = max_bytes;
    lb->next_seq = 1;
    return lb;
}

static void
logbuf_unref(struct logbuf *lb)
{
    pthread_mutex_lock(&lb->lock);
    bool last = --lb->refs == 0;
    pthread_mutex_unlock(&lb->lock);
    if (!last)
        return;
    for (size_t i = 0; i < lb->count; i++)
        free(lb->entries[(lb->head + i) % lb->cap].data);
    free(lb->entries);
    pthread_mutex_destroy(&lb->lock);
    free(lb);
}

void
logbuf_free(struct logbuf *lb)
{
    if (lb != NULL)
        logbuf_unref(lb);
}

static void
wake_readers(struct logbuf *lb)
{
    uint64_t one = 1;
    for (struct logbuf_reader *r = lb->readers; r != NULL; r = r->next) {
        if (r->signaled)
            continue; /* one write per wait, not one per entry */
        ssize_t n = write(r->efd, &one, sizeof(one));
        (void)n;
        r->signaled = true;
    }
}

static void
drop_oldest(struct logbuf *lb)
{
    struct log_entry *e = &lb->entries[lb->head];
    lb->bytes -= e->len;
    free(e->data);
    e->data = NULL;
    lb->head = (lb->head + 1) % lb->cap;
    lb->count--;
}

void
logbuf_append(struct logbuf *lb, int stream, const char *data, size_t len)
{
    if (len == 0)
        return;
    pthread_mutex_lock(&lb->lock);
    if (lb->count == lb->cap) {
        size_t cap = lb->cap ? lb->cap * 2 : 64;
        struct log_entry *e = xcalloc(cap, sizeof(*e));
        for (size_t i = 0; i < lb->count; i++)
            e[i] = lb->entries[(lb->head + i) % lb->cap];
        free(lb->entries);
        lb->entries = e;
        lb->cap = cap;
        lb->head = 0;
    }
    struct log_entry *e = &lb->entries[(lb->head + lb->count) % lb->cap];
    e->stream = stream;
    e->time_ns = time_now_ns();
    e->seq = lb->next_seq++;
    e->len = len;
    e->data = xmalloc(len);
    memcpy(e->data, data, len);
    lb->count++;
    lb->bytes += len;
    while (lb->bytes > lb->max_bytes && lb->count > 1)
        drop_oldest(lb);
    wake_readers(lb);
    pthread_mutex_unlock(&lb->lock);
}

static void
set_closed(struct logbuf *lb, bool closed)
{
    pthread_mutex_lock(&lb->lock);
    lb->closed = closed;
    wake_readers(lb);
    pthread_mutex_unlock(&lb->lock);
}

void
logbuf_close(struct logbuf *lb)
{
    set_closed(lb, true);
}

void
logbuf_reopen(struct logbuf *lb)
{
    set_closed(lb, false);
}

struct logbuf_reader *
logbuf_reader_new(struct logbuf *lb, long tail)
{
    struct logbuf_reader *r = xcalloc(1, sizeof(*r));
    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->efd < 0) {
        free(r);
        return NULL;
    }
    pthread_mutex_lock(&lb->lock);
    lb->refs++;
    r->lb = lb;
    uint64_t oldest = lb->count ? lb->entries[lb->head].seq : lb->next_seq;
    r->next_seq = oldest;
    if (tail >= 0 && (size_t)tail < lb->count)
        r->next_seq = lb->next_seq - (uint64_t)tail;
    r->next = lb->readers;
    lb->readers = r;
    uint64_t one = 1;
    ssize_t n = write(r->efd, &one, sizeof(one));
    (void)n;
    r->signaled = true;
    pthread_mutex_unlock(&lb->lock);
    return r;
}

void
logbuf_reader_free(struct logbuf_reader *r)
{
    if (r == NULL)
        return;
    struct logbuf *lb = r->lb;
    pthread_mutex_lock(&lb->lock);
    for (struct logbuf_reader **p = &lb->readers; *p != NULL; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    pthread_mutex_unlock(&lb->lock);
    close(r->efd);
    free(r);
    logbuf_unref(lb);
}

bool
logbuf_reader_next(struct logbuf_reader *r, struct log_entry *out)
{
    struct logbuf *lb = r->lb;
    bool got = false;
    pthread_mutex_lock(&lb->lock);
    if (lb->count > 0) {
        uint64_t oldest = lb->entries[lb->head].seq;
        if (r->next_seq < oldest)
            r->next_seq = oldest;
        if (r->next_seq < lb->next_seq) {
            const struct log_entry *e = &lb->entries[(lb->head + (r->next_seq - oldest)) % lb->cap];
            *out = *e;
            out->data = xmalloc(e->len);
            memcpy(out->data, e->data, e->len);
            r->next_seq++;
            got = true;
        }
    }
    if (!got && r->signaled) {
        /* Nothing left: the caller waits on efd next, so it must be readable again only after
         * a new append. Drained under the lock, so no append's wake-up is lost. */
        uint64_t drained;
        ssize_t n = read(r->efd, &drained, sizeof(drained));
        (void)n;
        r->signaled = false;
    }
    pthread_mutex_unlock(&lb->lock);
    return got;
}

int
logbuf_reader_fd(struct logbuf_reader *r)
{
    return r->efd;
}

bool
logbuf_reader_at_end(struct logbuf_reader *r)
{
    pthread_mutex_lock(&r->lb->lock);
    bool end = r->lb->closed && r->next_seq >= r->lb->next_seq;
    pthread_mutex_unlock(&r->lb->lock);
    return end;
}
