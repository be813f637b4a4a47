/*
 * logbuf: a container's output as Docker's logs endpoint serves it: entries of one stream
 * (stdout or stderr) with the time they were produced, readable from any point and followable.
 *
 * The newest entries are kept in memory up to a byte cap (the oldest dropped first). When the
 * driver keeps a json-file log (logbuf_set_file; process and agent drivers), every entry is
 * written there before it is added here, with its line's offset, and the file is the history:
 * a reader starts in the file and goes on in memory where the file's part ends, and a follower
 * that falls behind the memory (entries dropped under it) goes back to the file where it was.
 * So no reader loses an entry, however slow, and memory stays bounded. Without a file
 * (synthetic driver), what was dropped is gone: a reader goes on at the oldest kept entry.
 * Thread-safe; file reads happen outside the lock.
 */
#ifndef SOCKERLESS_ENGINE_LOGBUF_H
#define SOCKERLESS_ENGINE_LOGBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct log_entry {
    int stream; /* 1 stdout, 2 stderr */
    int64_t time_ns;
    uint64_t seq;
    size_t len;
    char *data;
    /* Its json-file line: [file_off, file_off + file_len); file_len 0 when it is not in the
     * file (no file, or a write that failed), file_off then where it would have been. */
    uint64_t file_off;
    size_t file_len;
};

struct logbuf;
struct logbuf_reader;

struct logbuf *logbuf_new(size_t max_bytes);
void logbuf_free(struct logbuf *lb);
/* Adds an entry that is in no file, timed now. */
void logbuf_append(struct logbuf *lb, int stream, const char *data, size_t len);
/* Adds a copy of e (seq ignored): e's time and file line as its writer made them. */
void logbuf_add(struct logbuf *lb, const struct log_entry *e);
/* The same for e[0, n), under one lock and with one wake-up of the readers. */
void logbuf_add_many(struct logbuf *lb, const struct log_entry *e, size_t n);
/*
 * The json-file the entries' file_off refer to, opened for reading (once: later calls keep
 * the first). Readers keep it open, so a removed container's file stays readable to them.
 */
int logbuf_set_file(struct logbuf *lb, const char *path, struct err **err);
/* No more entries will come (the container stopped); followers see the end. Reopened by
 * logbuf_reopen when the container starts again. */
void logbuf_close(struct logbuf *lb);
void logbuf_reopen(struct logbuf *lb);

/*
 * A reader positioned at the first entry (in the file, or the first kept), or, with tail >= 0,
 * at the last `tail` entries (the file read backwards for those no longer in memory).
 * Readers hold a reference to the buffer, so the container may be removed meanwhile.
 */
struct logbuf_reader *logbuf_reader_new(struct logbuf *lb, long tail);
void logbuf_reader_free(struct logbuf_reader *r);
/* Copies the next entry into *out (out->data malloc'd: free it); false when none is there now.
 * May read the file (not under the buffer's lock). */
bool logbuf_reader_next(struct logbuf_reader *r, struct log_entry *out);
/* An eventfd readable when an entry was appended or the buffer closed since
 * logbuf_reader_next last returned false (it is only written then: one write per wait). */
int logbuf_reader_fd(struct logbuf_reader *r);
bool logbuf_reader_at_end(struct logbuf_reader *r); /* closed and everything read */

#endif
