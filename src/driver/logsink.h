/*
 * logsink: a running container's output as its logs keep it: split into lines (16 KiB at most,
 * a longer line is logged in pieces as dockerd does), written to its json-file log and then
 * added to its log buffer (logs, attach) with the offset of each line, so the buffer's readers
 * find in the file what memory no longer holds (engine/logbuf.h). The process driver feeds it
 * from the process's pipes, the agent driver from the agent's main-output session.
 */
#ifndef SOCKERLESS_DRIVER_LOGSINK_H
#define SOCKERLESS_DRIVER_LOGSINK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "engine/logfile.h"

struct container;
struct log_entry;

/* One output stream of a container and its bytes not yet ended by a newline. */
struct out_stream {
    int fd;        /* the driver's source, if any (not used here) */
    int stream;    /* 1 stdout, 2 stderr */
    char *pending; /* owned */
    size_t len;
};

struct log_line_span; /* log_sink's own */

struct log_sink {
    struct container *c; /* borrowed */
    int json_fd;         /* the json-file log, append-only, or -1 */
    uint64_t json_off;   /* its size: where the next line goes */
    /* the lines of one feed, formatted and located (reused from feed to feed) */
    struct logfile_text text;
    struct log_line_span *spans;
    size_t spans_cap;
    struct log_entry *entries; /* as many as spans */
    size_t entries_cap;
};

/* An empty sink for c (no json-file yet). */
void log_sink_init(struct log_sink *s, struct container *c);
/* Opens (creating it) the json-file log at path and tells c's log buffer to read history
 * there; a sink already open keeps its file. */
int log_sink_open(struct log_sink *s, const char *path, struct err **err);
/* Closes the json-file and frees what the sink holds; the sink is empty again. */
void log_sink_fini(struct log_sink *s);
/* Appends data to os's pending bytes and logs every complete line (and long pieces). */
void log_sink_feed(struct log_sink *s, struct out_stream *os, const char *data, size_t n);
/* Logs what is pending (the stream ended). */
void log_sink_flush(struct log_sink *s, struct out_stream *os);

#endif
