#include "driver/logsink.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/container.h"
#include "engine/logbuf.h"

enum { LINE_MAX_BYTES = 16 * 1024 };

/* A line of the current feed: where its text is, where its json-file line is in s->text. */
struct log_line_span {
    size_t start, len;
    size_t text_off, text_len; /* text_len 0: not in the file */
};

void
log_sink_init(struct log_sink *s, struct container *c)
{
    *s = (struct log_sink){.c = c, .json_fd = -1};
}

int
log_sink_open(struct log_sink *s, const char *path, struct err **err)
{
    if (s->json_fd >= 0)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        err_errno(err, "open %s", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    s->json_fd = fd;
    s->json_off = (uint64_t)st.st_size;
    return logbuf_set_file(s->c->logs, path, err);
}

void
log_sink_fini(struct log_sink *s)
{
    if (s->json_fd >= 0)
        close(s->json_fd);
    logfile_text_fini(&s->text);
    free(s->spans);
    free(s->entries);
    log_sink_init(s, s->c);
}

/* Writes the feed's lines to the file in one write; on a failure (a full disk) the file is cut
 * back to its last whole line and none of them is in it. */
static bool
write_lines(struct log_sink *s)
{
    if (s->json_fd < 0 || s->text.len == 0)
        return false;
    if (fsutil_write_all(s->json_fd, s->text.data, s->text.len) == 0) {
        s->json_off += s->text.len;
        return true;
    }
    if (ftruncate(s->json_fd, (off_t)s->json_off) < 0) {
        /* Lines after a piece of one: the readers skip what does not parse. */
        struct stat st;
        if (fstat(s->json_fd, &st) == 0)
            s->json_off = (uint64_t)st.st_size;
    }
    return false;
}

/* Logs the lines of buf given by spans[0, n), all read at time ns: their json-file lines in one
 * write, then the entries into the buffer under one lock. */
static void
log_lines(struct log_sink *s, int stream, const char *buf, size_t n, int64_t ns)
{
    char ts[TIME_RFC3339_MAX + 1];
    time_format_rfc3339nano(ns, ts, sizeof(ts));
    s->text.len = 0;
    for (size_t i = 0; i < n && s->json_fd >= 0; i++) {
        struct log_line_span *sp = &s->spans[i];
        sp->text_off = s->text.len;
        logfile_format_line(&s->text, stream, buf + sp->start, sp->len, ts);
        sp->text_len = s->text.len - sp->text_off;
    }
    uint64_t base = s->json_off;
    bool written = write_lines(s);
    if (s->entries_cap < n) {
        s->entries_cap = s->spans_cap;
        s->entries = xrealloc(s->entries, s->entries_cap * sizeof(*s->entries));
    }
    for (size_t i = 0; i < n; i++) {
        struct log_line_span *sp = &s->spans[i];
        s->entries[i] = (struct log_entry){.stream = stream,
                                           .time_ns = ns,
                                           .len = sp->len,
                                           .data = (char *)buf + sp->start,
                                           .file_off = written ? base + sp->text_off : 0,
                                           .file_len = written ? sp->text_len : 0};
    }
    logbuf_add_many(s->c->logs, s->entries, n);
}

static struct log_line_span *
add_span(struct log_sink *s, size_t *n)
{
    if (*n == s->spans_cap) {
        s->spans_cap = s->spans_cap ? s->spans_cap * 2 : 64;
        s->spans = xrealloc(s->spans, s->spans_cap * sizeof(*s->spans));
    }
    return &s->spans[(*n)++];
}

void
log_sink_feed(struct log_sink *s, struct out_stream *os, const char *data, size_t n)
{
    /* The lines are taken from data itself; only a piece of a line waits in os->pending. */
    const char *buf = data;
    size_t len = n;
    if (os->len > 0) {
        os->pending = xrealloc(os->pending, os->len + n);
        memcpy(os->pending + os->len, data, n);
        buf = os->pending;
        len = os->len + n;
    }
    size_t start = 0, lines = 0;
    for (;;) {
        size_t left = len - start, lim = left < LINE_MAX_BYTES ? left : LINE_MAX_BYTES;
        const char *nl = memchr(buf + start, '\n', lim);
        size_t line = nl != NULL ? (size_t)(nl - (buf + start)) + 1 : lim;
        if (nl == NULL && lim < LINE_MAX_BYTES)
            break;
        *add_span(s, &lines) = (struct log_line_span){.start = start, .len = line};
        start += line;
    }
    /* One time for all the lines of a read, as in the file */
    if (lines > 0)
        log_lines(s, os->stream, buf, lines, time_now_ns());
    size_t rest = len - start;
    if (buf == os->pending) {
        memmove(os->pending, os->pending + start, rest);
    } else if (rest > 0) {
        os->pending = xrealloc(os->pending, rest);
        memcpy(os->pending, buf + start, rest);
    }
    os->len = rest;
}

void
log_sink_flush(struct log_sink *s, struct out_stream *os)
{
    if (os->len > 0) {
        size_t lines = 0;
        *add_span(s, &lines) = (struct log_line_span){.start = 0, .len = os->len};
        log_lines(s, os->stream, os->pending, lines, time_now_ns());
    }
    os->len = 0;
}
