#include "driver/logsink.h"

#include <jansson.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/container.h"
#include "engine/logbuf.h"

enum { LINE_MAX_BYTES = 16 * 1024 };

static void
log_line(struct log_sink *s, int stream, const char *data, size_t len)
{
    logbuf_append(s->c->logs, stream, data, len);
    if (s->json == NULL)
        return;
    char ts[64];
    time_format_rfc3339nano(time_now_ns(), ts, sizeof(ts));
    json_t *o = json_pack("{s:s%, s:s, s:s}", "log", data, len, "stream",
                          stream == 2 ? "stderr" : "stdout", "time", ts);
    if (o != NULL) {
        json_dumpf(o, s->json, JSON_COMPACT);
        fputc('\n', s->json);
        json_decref(o);
    }
}

void
log_sink_feed(struct log_sink *s, struct out_stream *os, const char *data, size_t n)
{
    os->pending = xrealloc(os->pending, os->len + n);
    memcpy(os->pending + os->len, data, n);
    os->len += n;
    size_t start = 0;
    for (size_t i = 0; i < os->len; i++) {
        if (os->pending[i] == '\n' || i + 1 - start >= LINE_MAX_BYTES) {
            log_line(s, os->stream, os->pending + start, i + 1 - start);
            start = i + 1;
        }
    }
    memmove(os->pending, os->pending + start, os->len - start);
    os->len -= start;
}

void
log_sink_flush(struct log_sink *s, struct out_stream *os)
{
    if (os->len > 0)
        log_line(s, os->stream, os->pending, os->len);
    os->len = 0;
}
