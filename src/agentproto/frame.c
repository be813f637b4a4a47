#include "agentproto/frame.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/xalloc.h"

static uint32_t
get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void
frame_encode_header(uint8_t out[AP_HDR_LEN], uint8_t type, uint8_t flags, uint32_t session,
                    uint32_t len)
{
    out[0] = type;
    out[1] = flags;
    out[2] = 0;
    out[3] = 0;
    put_be32(out + 4, session);
    put_be32(out + 8, len);
}

/* Which sessions, flags and lengths each type allows. */
static int
check_shape(const struct ap_frame *f, struct err **err)
{
    bool conn = f->session == 0;
    switch (f->type) {
    case AP_HELLO:
    case AP_WELCOME:
        if (!conn || f->flags != 0 || f->len == 0)
            break;
        return 0;
    case AP_PING:
    case AP_PONG:
        if (!conn || f->flags != 0 || f->len != 8)
            break;
        return 0;
    case AP_OPEN:
    case AP_REPLY:
    case AP_CONTROL:
    case AP_END:
        if (f->session < 1 || f->flags != 0 || f->len == 0)
            break;
        if ((f->type == AP_OPEN || f->type == AP_REPLY) && f->session < 2)
            break;
        return 0;
    case AP_DATA:
        if (conn || f->flags > 2 || f->len == 0)
            break;
        return 0;
    case AP_EOF:
        if (conn || f->flags > 2 || f->len != 0)
            break;
        return 0;
    case AP_CREDIT:
        if (conn || f->flags != 0 || f->len != 4)
            break;
        return 0;
    case AP_ERROR:
        if (f->flags != 0 || f->len == 0)
            break;
        return 0;
    case AP_CANCEL:
        if (f->session < 2 || f->flags != 0 || f->len != 0)
            break;
        return 0;
    default:
        return err_make(err, ERR_INVALID, 0, "unknown frame type 0x%02x", f->type);
    }
    return err_make(err, ERR_INVALID, 0,
                    "malformed frame: type 0x%02x, flags %u, session %u, length %u", f->type,
                    f->flags, f->session, f->len);
}

int
frame_parse(const uint8_t *buf, size_t len, size_t max_payload, struct ap_frame *out,
            struct err **err)
{
    if (len < AP_HDR_LEN)
        return 0;
    struct ap_frame f = {
        .type = buf[0], .flags = buf[1], .session = get_be32(buf + 4), .len = get_be32(buf + 8)};
    if (buf[2] != 0 || buf[3] != 0)
        return err_make(err, ERR_INVALID, 0, "frame with reserved bits set");
    if (f.len > max_payload)
        return err_make(err, ERR_INVALID, 0, "frame payload of %u bytes (limit %zu)", f.len,
                        max_payload);
    if (check_shape(&f, err) < 0)
        return -1;
    if (len - AP_HDR_LEN < f.len)
        return 0;
    f.payload = buf + AP_HDR_LEN;
    *out = f;
    return 1;
}

json_t *
frame_json(const struct ap_frame *f, struct err **err)
{
    json_error_t je;
    json_t *o = json_loadb((const char *)f->payload, f->len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL) {
        err_make(err, ERR_INVALID, 0, "malformed message: %s", je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        err_make(err, ERR_INVALID, 0, "malformed message: not an object");
        return NULL;
    }
    return o;
}

uint32_t
frame_credit(const struct ap_frame *f)
{
    return get_be32(f->payload);
}

int
frame_get_str(json_t *o, const char *key, bool optional, size_t max_len, const char **out,
              struct err **err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v)) {
        if (!optional)
            return err_make(err, ERR_INVALID, 0, "message without %s", key);
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) > max_len ||
        strlen(json_string_value(v)) != json_string_length(v))
        return err_make(err, ERR_INVALID, 0, "bad %s in message", key);
    *out = json_string_value(v);
    return 0;
}

int
frame_get_int(json_t *o, const char *key, bool optional, int64_t min, int64_t max, int64_t *out,
              struct err **err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v)) {
        if (!optional)
            return err_make(err, ERR_INVALID, 0, "message without %s", key);
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return err_make(err, ERR_INVALID, 0, "bad %s in message", key);
    *out = json_integer_value(v);
    return 0;
}

int
frame_get_bool(json_t *o, const char *key, bool *out, struct err **err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return err_make(err, ERR_INVALID, 0, "bad %s in message", key);
    *out = json_is_true(v);
    return 0;
}

int
frame_get_strv(json_t *o, const char *key, size_t max_items, char ***out, struct err **err)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > max_items)
        return err_make(err, ERR_INVALID, 0, "bad %s in message", key);
    size_t n = json_array_size(v);
    char **r = xcalloc(n + 1, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
            for (size_t j = 0; j < i; j++)
                free(r[j]);
            free(r);
            return err_make(err, ERR_INVALID, 0, "bad %s in message", key);
        }
        r[i] = xstrdup(json_string_value(s));
    }
    *out = r;
    return 0;
}

static const char *const kind_names[] = {
    [ERR_INVALID] = "invalid",         [ERR_NOT_FOUND] = "not_found",
    [ERR_CONFLICT] = "conflict",       [ERR_NOT_MODIFIED] = "conflict",
    [ERR_FORBIDDEN] = "forbidden",     [ERR_UNSUPPORTED] = "unsupported",
    [ERR_UNAVAILABLE] = "unavailable", [ERR_TOO_LARGE] = "too_large",
    [ERR_INTERNAL] = "internal",
};

const char *
frame_kind_wire_name(enum err_kind kind)
{
    if ((size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]) && kind_names[kind] != NULL)
        return kind_names[kind];
    return "internal";
}

json_t *
frame_err_json(const struct err *e)
{
    if (e == NULL)
        return json_pack("{s:s, s:i, s:s}", "kind", "internal", "errno", 0, "message",
                         "unknown error");
    return json_pack("{s:s, s:i, s:s}", "kind", frame_kind_wire_name(e->kind), "errno", e->errnum,
                     "message", e->msg);
}

int
frame_err_from_json(json_t *o, const char *context, struct err **err)
{
    const char *kind = NULL, *msg = NULL;
    int64_t errnum = 0;
    struct err *ignored = NULL;
    if (frame_get_str(o, "kind", true, 64, &kind, &ignored) < 0 ||
        frame_get_str(o, "message", true, ERR_MSG_MAX, &msg, &ignored) < 0 ||
        frame_get_int(o, "errno", true, 0, 4095, &errnum, &ignored) < 0) {
        err_clear(&ignored);
        return err_make(err, ERR_INTERNAL, 0, "%s: malformed error from the peer", context);
    }
    enum err_kind k = ERR_INTERNAL;
    for (size_t i = 0; kind != NULL && i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
        if (i != ERR_NOT_MODIFIED && strcmp(kind_names[i], kind) == 0)
            k = (enum err_kind)i;
    return err_make(err, k, (int)errnum, "%s: %s", context, msg != NULL ? msg : "error");
}

bool
frame_token_equal(const char *a, const char *b)
{
    unsigned char da[32], db[32];
    unsigned int la = 0, lb = 0;
    if (EVP_Digest(a, strlen(a), da, &la, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(b, strlen(b), db, &lb, EVP_sha256(), NULL) != 1 || la != 32 || lb != 32)
        return false;
    return CRYPTO_memcmp(da, db, 32) == 0;
}
