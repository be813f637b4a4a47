#include "engine/logbuf.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/logfile.h"

/*
 * A reader is in memory (next_seq: the entry it reads next) or in the file (cur.off: the line
 * it reads next). file_off is, in memory, where the next entry's line begins: where a reader
 * that falls behind goes on in the file.
 */
struct logbuf_reader {
    struct logbuf *lb;
    struct logbuf_reader *next;
    uint64_t next_seq;
    uint64_t file_off;
    bool in_file;
    struct logfile_cursor cur;
    int efd;
    bool signaled; /* efd is readable: appends need not write it again (under lb->lock) */
};

/* The entries' bytes, in FIFO blocks: appending is a copy into the newest block, dropping frees a
 * block once its last entry is gone (no malloc and free per line). */
struct logbuf_block {
    struct logbuf_block *next;
    size_t used, cap;
    size_t live; /* entries whose bytes are here */
    char data[];
};

enum { BLOCK_SIZE = 64 * 1024 };

struct logbuf {
    pthread_mutex_t lock;
    int refs;
    struct log_entry *entries; /* circular; data points into the blocks */
    struct logbuf_block *oldest, *newest;
    size_t cap, head, count; /* head: index of the oldest */
    size_t bytes, max_bytes;
    uint64_t next_seq; /* seq of the next appended entry; starts at 1 */
    int file_fd;       /* the json-file, read-only, or -1 */
    uint64_t file_end; /* where the last added entry's line ends */
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
    lb->file_fd = -1;
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
    while (lb->oldest != NULL) {
        struct logbuf_block *b = lb->oldest;
        lb->oldest = b->next;
        free(b);
    }
    free(lb->entries);
    if (lb->file_fd >= 0)
        close(lb->file_fd);
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
    e->data = NULL;
    lb->head = (lb->head + 1) % lb->cap;
    lb->count--;
    /* Entries and blocks are in the same order: the oldest entry's bytes are in the oldest
     * block. */
    struct logbuf_block *b = lb->oldest;
    if (--b->live == 0 && b != lb->newest) {
        lb->oldest = b->next;
        free(b);
    }
}

/* Room for n bytes in the newest block (a new block if they do not fit). Lock held. The newest
 * block is never empty: an add keeps at least its own entry. */
static char *
block_alloc(struct logbuf *lb, size_t n)
{
    struct logbuf_block *b = lb->newest;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        struct logbuf_block *nb = xmalloc(sizeof(*nb) + cap);
        *nb = (struct logbuf_block){.cap = cap};
        if (b != NULL)
            b->next = nb;
        else
            lb->oldest = nb;
        lb->newest = b = nb;
    }
    char *p = b->data + b->used;
    b->used += n;
    b->live++;
    return p;
}

/* Adds a copy of in. Lock held. */
static void
add_locked(struct logbuf *lb, const struct log_entry *in)
{
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
    *e = *in;
    e->seq = lb->next_seq++;
    e->data = block_alloc(lb, in->len);
    memcpy(e->data, in->data, in->len);
    if (e->file_len == 0 || e->file_off < lb->file_end)
        e->file_len = 0, e->file_off = lb->file_end; /* not in the file */
    lb->file_end = e->file_off + e->file_len;
    lb->count++;
    lb->bytes += in->len;
    while (lb->bytes > lb->max_bytes && lb->count > 1)
        drop_oldest(lb);
}

void
logbuf_add_many(struct logbuf *lb, const struct log_entry *in, size_t n)
{
    pthread_mutex_lock(&lb->lock);
    bool added = false;
    for (size_t i = 0; i < n; i++) {
        if (in[i].len > 0) {
            add_locked(lb, &in[i]);
            added = true;
        }
    }
    if (added)
        wake_readers(lb);
    pthread_mutex_unlock(&lb->lock);
}

void
logbuf_add(struct logbuf *lb, const struct log_entry *in)
{
    logbuf_add_many(lb, in, 1);
}

void
logbuf_append(struct logbuf *lb, int stream, const char *data, size_t len)
{
    struct log_entry e = {.stream = stream, .time_ns = time_now_ns(), .len = len};
    e.data = (char *)data; /* copied by logbuf_add */
    logbuf_add(lb, &e);
}

int
logbuf_set_file(struct logbuf *lb, const char *path, struct err **err)
{
    pthread_mutex_lock(&lb->lock);
    int rc = 0;
    if (lb->file_fd < 0) {
        lb->file_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (lb->file_fd < 0)
            rc = err_errno(err, "open %s", path);
    }
    pthread_mutex_unlock(&lb->lock);
    return rc;
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

/* Where the entries no longer in memory end in the file. Lock held. */
static uint64_t
history_end(const struct logbuf *lb)
{
    return lb->count ? lb->entries[lb->head].file_off : lb->file_end;
}

static const struct log_entry *
entry_at(const struct logbuf *lb, size_t i)
{
    return &lb->entries[(lb->head + i) % lb->cap];
}

/* Puts r in memory at the entry n from the newest (0: the next one to come). Lock held. */
static void
read_memory_from(struct logbuf_reader *r, size_t n)
{
    struct logbuf *lb = r->lb;
    r->in_file = false;
    r->next_seq = lb->next_seq - n;
    r->file_off = n ? entry_at(lb, lb->count - n)->file_off : lb->file_end;
}

/* Puts r in the file at off. Lock held, lb->file_fd open. */
static void
read_file_from(struct logbuf_reader *r, uint64_t off)
{
    r->in_file = true;
    logfile_cursor_seek(&r->cur, r->lb->file_fd, off);
}

struct logbuf_reader *
logbuf_reader_new(struct logbuf *lb, long tail)
{
    struct logbuf_reader *r = xcalloc(1, sizeof(*r));
    logfile_cursor_init(&r->cur);
    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->efd < 0) {
        free(r);
        return NULL;
    }
    pthread_mutex_lock(&lb->lock);
    lb->refs++;
    r->lb = lb;
    bool file = lb->file_fd >= 0 && history_end(lb) > 0;
    if (tail >= 0 && (size_t)tail <= lb->count) {
        read_memory_from(r, (size_t)tail);
    } else if (!file) {
        read_memory_from(r, lb->count);
    } else if (tail < 0) {
        read_file_from(r, 0);
    } else {
        /* The rest of the tail is in the file, before the memory's part: read backwards,
         * unlocked (the file's bytes before history_end never change). */
        int fd = lb->file_fd;
        uint64_t end = history_end(lb);
        size_t more = (size_t)tail - lb->count;
        pthread_mutex_unlock(&lb->lock);
        uint64_t off = logfile_lines_back(fd, end, more);
        pthread_mutex_lock(&lb->lock);
        read_file_from(r, off);
    }
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
    logfile_cursor_fini(&r->cur);
    close(r->efd);
    free(r);
    logbuf_unref(lb);
}

/* The next entry from memory, moving r to the file if what it needs was dropped. 1 got, 0 none
 * now, -1 r is in the file now. Lock held. */
static int
next_in_memory(struct logbuf_reader *r, struct log_entry *out)
{
    struct logbuf *lb = r->lb;
    uint64_t oldest = lb->count ? entry_at(lb, 0)->seq : lb->next_seq;
    if (r->next_seq < oldest) {
        if (lb->file_fd >= 0) {
            read_file_from(r, r->file_off);
            return -1;
        }
        r->next_seq = oldest; /* no file: what was dropped is gone */
    }
    if (r->next_seq >= lb->next_seq)
        return 0;
    const struct log_entry *e = entry_at(lb, (size_t)(r->next_seq - oldest));
    *out = *e;
    out->data = xmalloc(e->len);
    memcpy(out->data, e->data, e->len);
    r->next_seq++;
    r->file_off = e->file_off + e->file_len;
    return 1;
}

/* Back in memory where the file's part ends: at the first entry whose line is at or after r's
 * offset. Lock held. */
static void
leave_file(struct logbuf_reader *r)
{
    struct logbuf *lb = r->lb;
    size_t i = 0;
    while (i < lb->count && entry_at(lb, i)->file_off < r->cur.off)
        i++;
    read_memory_from(r, lb->count - i);
    r->file_off = r->cur.off;
}

bool
logbuf_reader_next(struct logbuf_reader *r, struct log_entry *out)
{
    struct logbuf *lb = r->lb;
    bool got = false;
    pthread_mutex_lock(&lb->lock);
    for (;;) {
        if (!r->in_file) {
            int rc = next_in_memory(r, out);
            if (rc >= 0) {
                got = rc == 1;
                break;
            }
        }
        uint64_t end = history_end(lb);
        if (r->cur.off >= end) {
            leave_file(r);
            continue;
        }
        pthread_mutex_unlock(&lb->lock);
        int rc = logfile_cursor_next(&r->cur, end, out);
        if (rc > 0)
            return true;
        pthread_mutex_lock(&lb->lock);
        if (rc < 0)
            r->cur.off = end; /* an unreadable file: what is left of it is lost */
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
    bool end = r->lb->closed && !r->in_file && r->next_seq >= r->lb->next_seq;
    pthread_mutex_unlock(&r->lb->lock);
    return end;
}
