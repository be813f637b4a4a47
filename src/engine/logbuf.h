/*
 * logbuf: a container's output as Docker's logs endpoint serves it: entries of one stream
 * (stdout or stderr) with the time they were produced, kept in memory up to a byte cap (the
 * oldest dropped first), readable from any point and followable.
 *
 * The process driver will keep json-file logs on disk; the synthetic driver and the tests use
 * this in-memory form. Thread-safe.
 */
#ifndef SOCKERLESS_ENGINE_LOGBUF_H
#define SOCKERLESS_ENGINE_LOGBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct log_entry {
    int stream; /* 1 stdout, 2 stderr */
    int64_t time_ns;
    uint64_t seq;
    size_t len;
    char *data;
};

struct logbuf;
struct logbuf_reader;

struct logbuf *logbuf_new(size_t max_bytes);
void logbuf_free(struct logbuf *lb);
void logbuf_append(struct logbuf *lb, int stream, const char *data, size_t len);
/* No more entries will come (the container stopped); followers see the end. Reopened by
 * logbuf_reopen when the container starts again. */
void logbuf_close(struct logbuf *lb);
void logbuf_reopen(struct logbuf *lb);

/*
 * A reader positioned at the first kept entry, or, with tail >= 0, at the last `tail` entries.
 * Readers hold a reference to the buffer, so the container may be removed meanwhile.
 */
struct logbuf_reader *logbuf_reader_new(struct logbuf *lb, long tail);
void logbuf_reader_free(struct logbuf_reader *r);
/* Copies the next entry into *out (out->data malloc'd: free it); false when none is there now. */
bool logbuf_reader_next(struct logbuf_reader *r, struct log_entry *out);
/* An eventfd readable when an entry was appended or the buffer closed since
 * logbuf_reader_next last returned false (it is only written then: one write per wait). */
int logbuf_reader_fd(struct logbuf_reader *r);
bool logbuf_reader_at_end(struct logbuf_reader *r); /* closed and everything read */

#endif
