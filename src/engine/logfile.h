/*
 * logfile: a container's json-file log, dockerd's format: one JSON object a line,
 * {"log":TEXT,"stream":"stdout"|"stderr","time":RFC3339NANO}. Formats the lines a driver
 * writes, and reads them back for the log buffer (engine/logbuf.h) with bounded memory: a
 * cursor moving forward through a range of the file, and a backward scan for `tail`.
 *
 * Not a writer: who writes the file (driver/logsink.c) owns its fd and its offsets.
 */
#ifndef SOCKERLESS_ENGINE_LOGFILE_H
#define SOCKERLESS_ENGINE_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct log_entry;

/* A growable text buffer the lines are formatted into. */
struct logfile_text {
    char *data; /* owned */
    size_t len, cap;
};

/*
 * Appends the json-file line (with its final newline) of one entry to t: stream 1 stdout or 2
 * stderr, ts its RFC 3339 time. Bytes that are not UTF-8 are written as U+FFFD, as dockerd
 * does. Always true (kept for callers that check).
 */
bool logfile_format_line(struct logfile_text *t, int stream, const char *data, size_t len,
                         const char *ts);
void logfile_text_fini(struct logfile_text *t);

/* Parses one line (without its newline), with jansson, into *out: stream, time_ns, data
 * (malloc'd), len; seq and the file fields zero. False when it is not such a line. */
bool logfile_parse_line(const char *line, size_t len, struct log_entry *out);

/* The last time text parsed, and its value: consecutive lines mostly share it. */
struct logfile_time_cache {
    char text[48];
    size_t len;
    int64_t ns;
};

/* A reading position in a json-file: the file from off, read ahead into buf. */
struct logfile_cursor {
    int fd; /* borrowed */
    uint64_t off;
    char *buf; /* owned; buf[start, len) is the file from off */
    size_t start, len, cap;
    struct logfile_time_cache time;
};

void logfile_cursor_init(struct logfile_cursor *c);
void logfile_cursor_fini(struct logfile_cursor *c);
/* Positions c at off of fd, dropping what was read ahead. */
void logfile_cursor_seek(struct logfile_cursor *c, int fd, uint64_t off);
/*
 * The next line that ends at or before end, parsed into *out (out->data malloc'd), and off
 * moved past it; lines that do not parse are skipped. 0 when no complete line is left before
 * end (off is then end), -1 when the file cannot be read.
 */
int logfile_cursor_next(struct logfile_cursor *c, uint64_t end, struct log_entry *out);

/* The offset where the last n lines before end (a line boundary) begin, reading backwards from
 * end a block at a time: 0 when there are fewer, or on a read error. */
uint64_t logfile_lines_back(int fd, uint64_t end, size_t n);

#endif
