/*
 * logsink: a running container's output as its logs keep it: split into lines (16 KiB at most,
 * a longer line is logged in pieces as dockerd does) for the container's log buffer (logs,
 * attach) and its json-file log. The process driver feeds it from the process's pipes, the
 * agent driver from the agent's main-output session.
 */
#ifndef SOCKERLESS_DRIVER_LOGSINK_H
#define SOCKERLESS_DRIVER_LOGSINK_H

#include <stddef.h>
#include <stdio.h>

struct container;

/* One output stream of a container and its bytes not yet ended by a newline. */
struct out_stream {
    int fd;        /* the driver's source, if any (not used here) */
    int stream;    /* 1 stdout, 2 stderr */
    char *pending; /* owned */
    size_t len;
};

struct log_sink {
    struct container *c; /* borrowed */
    FILE *json;          /* json-file log, or NULL */
};

/* Appends data to os's pending bytes and logs every complete line (and long pieces). */
void log_sink_feed(struct log_sink *s, struct out_stream *os, const char *data, size_t n);
/* Logs what is pending (the stream ended). */
void log_sink_flush(struct log_sink *s, struct out_stream *os);

#endif
