/* GET /events: past events since `since`, then live ones until `until` (or for as long as the
 * client stays), filtered as Docker filters them. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/filters_json.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/engine.h"

struct events_stream {
    struct events_sub *sub;
    struct filters *filters;
    int64_t until_ns; /* -1: no end */
    char *pending;    /* the encoded event being sent */
    size_t pending_len, pending_off;
};

static void
events_stream_free(void *ctx)
{
    struct events_stream *st = ctx;
    events_unsubscribe(st->sub);
    filters_free(st->filters);
    free(st->pending);
    free(st);
}

/* Docker's events.Message, with the legacy status/id/from fields that docker-py and compose
 * still read for container and image events (compat-notes 25). */
static char *
encode_event(const struct event *ev, size_t *len)
{
    json_t *attrs = json_object();
    for (size_t i = 0; i < ev->n_attrs; i++)
        json_object_set_new(attrs, ev->attr_keys[i], json_string(ev->attr_values[i]));
    json_t *msg = json_object();
    if (strcmp(ev->type, "container") == 0 || strcmp(ev->type, "image") == 0) {
        json_object_set_new(msg, "status", json_string(ev->action));
        json_object_set_new(msg, "id", json_string(ev->actor_id));
        const char *from = event_attr(ev, "image");
        if (from != NULL)
            json_object_set_new(msg, "from", json_string(from));
    }
    json_object_set_new(msg, "Type", json_string(ev->type));
    json_object_set_new(msg, "Action", json_string(ev->action));
    json_object_set_new(msg, "Actor",
                        json_pack("{s:s, s:o}", "ID", ev->actor_id, "Attributes", attrs));
    json_object_set_new(msg, "scope", json_string(ev->scope));
    json_object_set_new(msg, "time", json_integer(ev->time_ns / 1000000000));
    json_object_set_new(msg, "timeNano", json_integer(ev->time_ns));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    char *line = xmalloc(n + 2);
    memcpy(line, text, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    free(text);
    *len = n + 1;
    return line;
}

static ssize_t
events_produce(struct http_stream *s, void *ctx, char *buf, size_t max)
{
    struct events_stream *st = ctx;
    for (;;) {
        if (st->pending != NULL) {
            size_t n = st->pending_len - st->pending_off;
            if (n > max)
                n = max;
            memcpy(buf, st->pending + st->pending_off, n);
            st->pending_off += n;
            if (st->pending_off == st->pending_len) {
                free(st->pending);
                st->pending = NULL;
            }
            return (ssize_t)n;
        }
        struct event *ev = events_sub_next(st->sub);
        if (ev != NULL) {
            bool past_until = st->until_ns >= 0 && ev->time_ns > st->until_ns;
            if (!past_until && event_matches(ev, st->filters)) {
                st->pending = encode_event(ev, &st->pending_len);
                st->pending_off = 0;
            }
            event_unref(ev);
            if (past_until)
                return HTTP_STREAM_END;
            continue;
        }
        if (events_sub_closed(st->sub))
            return HTTP_STREAM_END;
        int timeout_ms = -1;
        if (st->until_ns >= 0) {
            int64_t left = st->until_ns - time_now_ns();
            if (left <= 0)
                return HTTP_STREAM_END;
            timeout_ms = left / 1000000 > 60000 ? 60000 : (int)(left / 1000000) + 1;
        }
        ssize_t end = http_stream_await(s, events_sub_fd(st->sub), timeout_ms);
        if (end != 0)
            return end;
    }
}

static int
query_time(struct http_request *req, const char *name, int64_t *out, struct err **err)
{
    const char *v = http_query(req, name);
    *out = -1;
    if (v == NULL || *v == '\0')
        return 0;
    if (time_parse_timestamp(v, out, err) < 0)
        return err_wrap(err, "invalid value for %s", name);
    return 0;
}

struct http_response *
api_events(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    int64_t since, until;
    if (query_time(req, "since", &since, &err) < 0 || query_time(req, "until", &until, &err) < 0)
        return api_error_response(&err);
    struct filters *f = api_query_filters(req, events_filter_keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    struct events_sub *sub = events_subscribe(api->eng->events, since);
    if (sub == NULL) {
        filters_free(f);
        err_errno(&err, "subscribe to events");
        return api_error_response(&err);
    }
    struct events_stream *st = xcalloc(1, sizeof(*st));
    st->sub = sub;
    st->filters = f;
    st->until_ns = until;
    return http_response_stream(200, "application/json", events_produce, st, events_stream_free);
}
