#include "http/response.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static struct http_response *
response_new(enum http_response_kind kind, unsigned status, const char *content_type)
{
    struct http_response *r = xcalloc(1, sizeof(*r));
    r->kind = kind;
    r->status = status;
    r->content_type = content_type ? xstrdup(content_type) : NULL;
    return r;
}

struct http_response *
http_response_data(unsigned status, const char *content_type, const void *data, size_t len)
{
    struct http_response *r = response_new(HTTP_RESP_BODY, status, content_type);
    if (data != NULL) {
        r->body = xmalloc(len + 1);
        memcpy(r->body, data, len);
        r->body[len] = '\0';
        r->body_len = len;
    }
    return r;
}

struct http_response *
http_response_json(unsigned status, json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    if (text == NULL)
        return http_response_error(500, "failed to encode response");
    size_t len = strlen(text);
    struct http_response *r = response_new(HTTP_RESP_BODY, status, "application/json");
    r->body = xmalloc(len + 2);
    memcpy(r->body, text, len);
    r->body[len] = '\n';
    r->body[len + 1] = '\0';
    r->body_len = len + 1;
    free(text);
    return r;
}

struct http_response *
http_response_json_text(unsigned status, char *text, size_t len)
{
    struct http_response *r = response_new(HTTP_RESP_BODY, status, "application/json");
    r->body = text;
    r->body_len = len;
    return r;
}

struct http_response *
http_response_error(unsigned status, const char *message)
{
    if (status == 304)
        return response_new(HTTP_RESP_BODY, status, NULL);
    json_t *obj = json_pack("{s:s}", "message", message ? message : "");
    if (obj == NULL) /* message was not valid UTF-8 */
        obj = json_pack("{s:s}", "message", "error (message not valid UTF-8)");
    return http_response_json(status, obj);
}

struct http_response *
http_response_fixed(const struct http_fixed_response *fixed)
{
    struct http_response *r = response_new(HTTP_RESP_FIXED, fixed->status, NULL);
    r->fixed = fixed;
    return r;
}

struct http_response *
http_response_stream(unsigned status, const char *content_type, http_stream_fn fn, void *ctx,
                     http_free_fn ctx_free)
{
    struct http_response *r = response_new(HTTP_RESP_STREAM, status, content_type);
    r->stream_fn = fn;
    r->ctx = ctx;
    r->ctx_free = ctx_free;
    return r;
}

struct http_response *
http_response_hijack(const char *content_type, http_hijack_fn fn, void *ctx, http_free_fn ctx_free)
{
    struct http_response *r = response_new(HTTP_RESP_HIJACK, 101, content_type);
    r->hijack_fn = fn;
    r->ctx = ctx;
    r->ctx_free = ctx_free;
    return r;
}

void
http_response_add_header(struct http_response *r, const char *name, const char *value)
{
    if (r->kind == HTTP_RESP_FIXED)
        abort(); /* it would be sent without the header */
    r->headers = xrealloc(r->headers, (r->n_headers + 1) * sizeof(*r->headers));
    r->headers[r->n_headers].name = xstrdup(name);
    r->headers[r->n_headers].value = xstrdup(value);
    r->n_headers++;
}

void
http_response_free(struct http_response *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->content_type);
    free(r->body);
    http_shared_unref(r->shared);
    if (r->ctx_free != NULL)
        r->ctx_free(r->ctx);
    free(r);
}
