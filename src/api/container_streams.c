/* Container streams: wait, logs, attach, and resize. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/mux.h"
#include "driver/driver.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/engine.h"

/* ---- wait ---- */

enum wait_cond { WAIT_NOT_RUNNING, WAIT_NEXT_EXIT, WAIT_REMOVED };

struct wait_stream {
    struct engine *eng;
    struct container *c;
    enum wait_cond cond;
    uint64_t exits_at_start;
    int watch_fd;
    bool done;
};

static void
wait_stream_free(void *p)
{
    struct wait_stream *w = p;
    engine_watch_close(w->eng, w->watch_fd);
    container_unref(w->c);
    free(w);
}

/* True (with the exit code) when w's condition holds. Lock held. */
static bool
wait_met(const struct wait_stream *w, int *code)
{
    const struct container *c = w->c;
    *code = c->state.exit_code;
    switch (w->cond) {
    case WAIT_NOT_RUNNING:
        return !container_is_running(c) || c->removed;
    case WAIT_NEXT_EXIT:
        return c->state.exits > w->exits_at_start || c->removed;
    case WAIT_REMOVED:
        return c->removed;
    }
    return true;
}

static ssize_t
wait_produce(struct http_stream *s, void *ctx, char *buf, size_t max)
{
    struct wait_stream *w = ctx;
    if (w->done)
        return HTTP_STREAM_END;
    for (;;) {
        int code;
        engine_lock(w->eng);
        bool met = wait_met(w, &code);
        engine_unlock(w->eng);
        if (met) {
            w->done = true;
            int n = snprintf(buf, max, "{\"Error\":null,\"StatusCode\":%d}\n", code);
            return n > 0 && (size_t)n < max ? n : HTTP_STREAM_ERROR;
        }
        ssize_t end = http_stream_await(s, w->watch_fd, -1);
        if (end != 0)
            return end;
        uint64_t drained;
        ssize_t n = read(w->watch_fd, &drained, sizeof(drained));
        (void)n;
    }
}

struct http_response *
api_container_wait(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    const char *cond = http_query(req, "condition");
    enum wait_cond wc = WAIT_NOT_RUNNING;
    if (cond == NULL || *cond == '\0' || strcmp(cond, "not-running") == 0)
        wc = WAIT_NOT_RUNNING;
    else if (strcmp(cond, "next-exit") == 0)
        wc = WAIT_NEXT_EXIT;
    else if (strcmp(cond, "removed") == 0)
        wc = WAIT_REMOVED;
    else {
        err_make(&err, ERR_INVALID, 0, "invalid condition: \"%.32s\"", cond);
        return api_error_response(&err);
    }
    /* The watch opens before the state is read, so no change between the two is missed. */
    int fd = engine_watch_open(api->eng);
    if (fd < 0) {
        err_errno(&err, "wait");
        return api_error_response(&err);
    }
    struct container *c = engine_container_get(api->eng, http_param(req, "id"), &err);
    if (c == NULL) {
        engine_watch_close(api->eng, fd);
        return api_error_response(&err);
    }
    struct wait_stream *w = xcalloc(1, sizeof(*w));
    w->eng = api->eng;
    w->c = c;
    w->cond = wc;
    w->watch_fd = fd;
    engine_lock(api->eng);
    w->exits_at_start = c->state.exits;
    engine_unlock(api->eng);
    return http_response_stream(200, "application/json", wait_produce, w, wait_stream_free);
}

/* ---- logs ---- */

struct logs_stream {
    struct logbuf_reader *reader;
    bool want_out, want_err, timestamps, follow, tty;
    int64_t since_ns, until_ns; /* -1: unbounded */
    char *pending;
    size_t pending_len, pending_off;
    bool done; /* past `until`: the stream ends once what was produced is sent */
};

static void
logs_stream_free(void *p)
{
    struct logs_stream *l = p;
    logbuf_reader_free(l->reader);
    free(l->pending);
    free(l);
}

/* Frames one log entry (header unless TTY, optional timestamp) into l->pending. */
static void
frame_entry(struct logs_stream *l, const struct log_entry *e)
{
    char ts[TIME_RFC3339_MAX + 1] = "";
    if (l->timestamps) {
        time_format_rfc3339nano(e->time_ns, ts, sizeof(ts) - 1);
        strcat(ts, " ");
    }
    size_t tlen = strlen(ts);
    size_t hdr = l->tty ? 0 : MUX_HEADER_LEN;
    l->pending_len = hdr + tlen + e->len;
    l->pending = xmalloc(l->pending_len);
    if (!l->tty)
        mux_header(e->stream == 2 ? MUX_STDERR : MUX_STDOUT, (uint32_t)(tlen + e->len),
                   (unsigned char *)l->pending);
    memcpy(l->pending + hdr, ts, tlen);
    memcpy(l->pending + hdr + tlen, e->data, e->len);
    l->pending_off = 0;
}

static ssize_t
drain_pending(char **pending, size_t *len, size_t *off, char *buf, size_t max)
{
    size_t n = *len - *off;
    if (n > max)
        n = max;
    memcpy(buf, *pending + *off, n);
    *off += n;
    if (*off == *len) {
        free(*pending);
        *pending = NULL;
    }
    return (ssize_t)n;
}

static ssize_t
logs_produce(struct http_stream *s, void *ctx, char *buf, size_t max)
{
    struct logs_stream *l = ctx;
    /* As many entries as fit in buf: one chunk and one send for many short lines. */
    size_t off = 0;
    for (;;) {
        if (l->pending != NULL) {
            off += (size_t)drain_pending(&l->pending, &l->pending_len, &l->pending_off, buf + off,
                                         max - off);
            if (off == max)
                return (ssize_t)off;
            continue;
        }
        struct log_entry e;
        if (!l->done && logbuf_reader_next(l->reader, &e)) {
            bool stream_ok = e.stream == 2 ? l->want_err : l->want_out;
            bool time_ok = (l->since_ns < 0 || e.time_ns >= l->since_ns) &&
                           (l->until_ns < 0 || e.time_ns <= l->until_ns);
            if (l->until_ns >= 0 && e.time_ns > l->until_ns)
                l->done = true;
            else if (stream_ok && time_ok)
                frame_entry(l, &e);
            free(e.data);
            continue;
        }
        if (off > 0)
            return (ssize_t)off;
        if (l->done || !l->follow || logbuf_reader_at_end(l->reader))
            return HTTP_STREAM_END;
        ssize_t end = http_stream_await(s, logbuf_reader_fd(l->reader), -1);
        if (end != 0)
            return end;
    }
}

static int
query_time(struct http_request *req, const char *name, int64_t *out, struct err **err)
{
    const char *v = http_query(req, name);
    *out = -1;
    if (v == NULL || *v == '\0' || strcmp(v, "0") == 0)
        return 0;
    if (time_parse_timestamp(v, out, err) < 0)
        return err_wrap(err, "invalid value for %s", name);
    return 0;
}

struct http_response *
api_container_logs(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    struct logs_stream *l = xcalloc(1, sizeof(*l));
    /* dockerd: a tail it cannot read as a number, or a negative one, means all. */
    int64_t tail = -1;
    if (http_query_int(req, "tail", -1, INT64_MIN, INT64_MAX, &tail, NULL) < 0 || tail < 0)
        tail = -1;
    else if (tail > INT32_MAX)
        tail = INT32_MAX;
    if (http_query_bool(req, "stdout", false, &l->want_out, &err) < 0 ||
        http_query_bool(req, "stderr", false, &l->want_err, &err) < 0 ||
        http_query_bool(req, "timestamps", false, &l->timestamps, &err) < 0 ||
        http_query_bool(req, "follow", false, &l->follow, &err) < 0 ||
        query_time(req, "since", &l->since_ns, &err) < 0 ||
        query_time(req, "until", &l->until_ns, &err) < 0) {
        free(l);
        return api_error_response(&err);
    }
    if (!l->want_out && !l->want_err) {
        free(l);
        err_make(&err, ERR_INVALID, 0, "Bad parameters: you must choose at least one stream");
        return api_error_response(&err);
    }
    struct container *c = engine_container_get(api->eng, http_param(req, "id"), &err);
    if (c == NULL) {
        free(l);
        return api_error_response(&err);
    }
    l->tty = c->spec.tty;
    l->reader = logbuf_reader_new(c->logs, (long)tail);
    container_unref(c);
    if (l->reader == NULL) {
        free(l);
        err_errno(&err, "logs");
        return api_error_response(&err);
    }
    return http_response_stream(200,
                                l->tty ? "application/vnd.docker.raw-stream"
                                       : "application/vnd.docker.multiplexed-stream",
                                logs_produce, l, logs_stream_free);
}

/* ---- attach ---- */

struct attach_session {
    struct logbuf_reader *history; /* logs=1: what was already written */
    struct logbuf_reader *live;    /* stream=1: what comes from now on */
    bool want_out, want_err, want_in, tty, stdin_once;
    struct engine *eng;
    struct container *c; /* a reference */
};

static void
attach_free(void *p)
{
    struct attach_session *a = p;
    logbuf_reader_free(a->history);
    logbuf_reader_free(a->live);
    if (a->c != NULL)
        container_unref(a->c);
    free(a);
}

/*
 * Attach sends what the container printed as dockerd does: dockerd copies the container's
 * output to the client in reads of up to 32 KiB, each one frame (daemon/attach.go and
 * pkg/stdcopy: a frame is a Write, not a line). So consecutive entries of one stream that are
 * here together share a frame, up to ATTACH_FRAME_MAX bytes; a client reading more slowly gets
 * bigger frames, one keeping up gets a line each. Unlike `docker logs`, whose frames are one
 * json-file entry each in dockerd too. Frames are gathered and sent ATTACH_BATCH bytes at a
 * time.
 */
enum { ATTACH_BATCH = 64 * 1024, ATTACH_FRAME_MAX = 32 * 1024 };

struct frame_batch {
    char data[ATTACH_BATCH];
    size_t len;
    bool open;        /* the last frame in data may grow */
    size_t frame_at;  /* where its header is */
    size_t frame_len; /* its payload so far */
    int frame_stream;
};

static int
batch_flush(struct http_hijack *h, struct frame_batch *b)
{
    int rc = b->len > 0 ? http_hijack_write(h, b->data, b->len) : 0;
    b->len = 0;
    b->open = false;
    return rc;
}

static int
batch_add(struct http_hijack *h, struct frame_batch *b, const void *data, size_t len)
{
    if (b->len + len > sizeof(b->data) && batch_flush(h, b) < 0)
        return -1;
    if (len > sizeof(b->data))
        return http_hijack_write(h, data, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static int
send_entry(struct http_hijack *h, struct frame_batch *b, const struct attach_session *a,
           const struct log_entry *e)
{
    if (!(e->stream == 2 ? a->want_err : a->want_out))
        return 0;
    if (a->tty)
        return batch_add(h, b, e->data, e->len);
    if (b->open && b->frame_stream == e->stream && b->frame_len + e->len <= ATTACH_FRAME_MAX &&
        b->len + e->len <= sizeof(b->data)) {
        memcpy(b->data + b->len, e->data, e->len);
        b->len += e->len;
        b->frame_len += e->len;
        mux_header(e->stream == 2 ? MUX_STDERR : MUX_STDOUT, (uint32_t)b->frame_len,
                   (unsigned char *)b->data + b->frame_at);
        return 0;
    }
    unsigned char hdr[MUX_HEADER_LEN];
    mux_header(e->stream == 2 ? MUX_STDERR : MUX_STDOUT, (uint32_t)e->len, hdr);
    if (b->len + sizeof(hdr) + e->len > sizeof(b->data) && batch_flush(h, b) < 0)
        return -1;
    if (sizeof(hdr) + e->len > sizeof(b->data)) {
        if (http_hijack_write(h, hdr, sizeof(hdr)) < 0)
            return -1;
        return http_hijack_write(h, e->data, e->len);
    }
    b->frame_at = b->len;
    memcpy(b->data + b->len, hdr, sizeof(hdr));
    memcpy(b->data + b->len + sizeof(hdr), e->data, e->len);
    b->len += sizeof(hdr) + e->len;
    b->open = true;
    b->frame_len = e->len;
    b->frame_stream = e->stream;
    return 0;
}

/* Sends every entry r has now, in batches; -1 when the client is gone. */
static int
send_available(struct http_hijack *h, struct frame_batch *b, const struct attach_session *a,
               struct logbuf_reader *r)
{
    struct log_entry e;
    while (logbuf_reader_next(r, &e)) {
        int rc = send_entry(h, b, a, &e);
        free(e.data);
        if (rc < 0)
            return -1;
    }
    return batch_flush(h, b);
}

static void
attach_run(struct http_hijack *h, void *ctx)
{
    struct attach_session *a = ctx;
    struct frame_batch *b = xmalloc(sizeof(*b));
    b->len = 0;
    b->open = false;
    bool client_open = true;
    if (a->history != NULL && send_available(h, b, a, a->history) < 0)
        goto out;
    if (a->live == NULL) {
        http_hijack_close_write(h);
        goto out;
    }
    for (;;) {
        if (send_available(h, b, a, a->live) < 0)
            goto out;
        if (logbuf_reader_at_end(a->live))
            break;
        struct pollfd p[3] = {{.fd = logbuf_reader_fd(a->live), .events = POLLIN},
                              {.fd = http_hijack_shutdown_fd(h), .events = POLLIN},
                              {.fd = http_hijack_fd(h), .events = client_open ? POLLIN : 0}};
        if (poll(p, 3, -1) < 0)
            continue;
        if (p[1].revents)
            goto out;
        if (p[2].revents) {
            /* stdin goes to the container's process when its driver takes input and the
             * client asked to attach it; otherwise it is read and dropped (the synthetic
             * driver has no process: docs/drivers.md). EOF or an error only means the client
             * stopped sending; with StdinOnce the process then sees EOF too. */
            char in[16384];
            ssize_t n = http_hijack_read(h, in, sizeof(in));
            const struct driver *d = a->c->driver;
            bool forward = a->want_in && d->attach_stdin != NULL;
            if (n > 0 && forward) {
                struct err *err = NULL;
                if (d->attach_stdin(a->eng, a->c, in, (size_t)n, &err) < 0)
                    err_clear(&err);
            }
            if (n <= 0) {
                client_open = false;
                if (forward && a->stdin_once && d->attach_stdin_close != NULL)
                    d->attach_stdin_close(a->eng, a->c);
            }
        }
    }
    http_hijack_close_write(h);
out:
    free(b);
}

struct http_response *
api_container_attach(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    struct attach_session *a = xcalloc(1, sizeof(*a));
    bool logs = false, stream = false;
    if (http_query_bool(req, "logs", false, &logs, &err) < 0 ||
        http_query_bool(req, "stream", false, &stream, &err) < 0 ||
        http_query_bool(req, "stdin", false, &a->want_in, &err) < 0 ||
        http_query_bool(req, "stdout", false, &a->want_out, &err) < 0 ||
        http_query_bool(req, "stderr", false, &a->want_err, &err) < 0) {
        free(a);
        return api_error_response(&err);
    }
    struct container *c = engine_container_get(api->eng, http_param(req, "id"), &err);
    if (c == NULL) {
        free(a);
        return api_error_response(&err);
    }
    a->tty = c->spec.tty;
    a->stdin_once = c->spec.stdin_once;
    a->eng = api->eng;
    a->c = c; /* the session's reference */
    if (logs)
        a->history = logbuf_reader_new(c->logs, -1);
    if (stream) {
        /* Before a start the container has no process yet: the live reader waits for what it
         * will write (compat-notes 11), so a `docker run` or `docker start -a` (of a new or an
         * exited container) never misses its first output. */
        a->live = logbuf_reader_new(c->logs, 0);
        engine_lock(api->eng);
        bool stopped = c->state.status == CONTAINER_CREATED || c->state.status == CONTAINER_EXITED;
        engine_unlock(api->eng);
        if (stopped)
            logbuf_reopen(c->logs);
    }
    return http_response_hijack(a->tty ? "application/vnd.docker.raw-stream"
                                       : "application/vnd.docker.multiplexed-stream",
                                attach_run, a, attach_free);
}

struct http_response *
api_container_resize(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    int height, width;
    if (api_check_resize(req, &height, &width, &err) < 0)
        return api_error_response(&err);
    struct container *c = engine_container_get(api->eng, http_param(req, "id"), &err);
    if (c == NULL)
        return api_error_response(&err);
    /* A driver without terminals (synthetic) has nothing to resize. */
    int rc = 0;
    if (c->driver->resize != NULL)
        rc = c->driver->resize(api->eng, c, height, width, &err);
    container_unref(c);
    if (rc < 0)
        return api_error_response(&err);
    return http_response_data(200, "text/plain; charset=utf-8", NULL, 0);
}
