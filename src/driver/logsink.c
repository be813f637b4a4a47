#include "driver/logsink.h"

#include <jansson.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/container.h"
#include "engine/logbuf.h"

enum { LINE_MAX_BYTES = 16 * 1024 };

/* One line into the container's logs; ts: the time of the read that brought it (one
 * formatted timestamp for all the lines of a read). */
static void
log_line(struct log_sink *s, int stream, const char *data, size_t len, const char *ts)
{
    logbuf_append(s->c->logs, stream, data, len);
    if (s->json == NULL)
        return;
    /* dockerd's json-file line: {"log":...,"stream":...,"time":...}; only the log text needs
     * encoding (jansson escapes it; not UTF-8: the line is left out). */
    json_t *text = json_stringn(data, len);
    if (text == NULL)
        return;
    fputs("{\"log\":", s->json);
    json_dumpf(text, s->json, JSON_ENCODE_ANY);
    fprintf(s->json, ",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream == 2 ? "stderr" : "stdout",
            ts);
    json_decref(text);
}

void
log_sink_feed(struct log_sink *s, struct out_stream *os, const char *data, size_t n)
{
    os->pending = xrealloc(os->pending, os->len + n);
    memcpy(os->pending + os->len, data, n);
    os->len += n;
    char ts[TIME_RFC3339_MAX + 1];
    time_format_rfc3339nano(time_now_ns(), ts, sizeof(ts));
    size_t start = 0;
    for (size_t i = 0; i < os->len; i++) {
        if (os->pending[i] == '\n' || i + 1 - start >= LINE_MAX_BYTES) {
            log_line(s, os->stream, os->pending + start, i + 1 - start, ts);
            start = i + 1;
        }
    }
    memmove(os->pending, os->pending + start, os->len - start);
    os->len -= start;
}

void
log_sink_flush(struct log_sink *s, struct out_stream *os)
{
    if (os->len > 0) {
        char ts[TIME_RFC3339_MAX + 1];
        time_format_rfc3339nano(time_now_ns(), ts, sizeof(ts));
        log_line(s, os->stream, os->pending, os->len, ts);
    }
    os->len = 0;
}
