#include <ctype.h>
#include "http/request.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "http/upload.h"

const char *
http_param(const struct http_request *req, const char *name)
{
    return route_params_get(&req->params, name);
}

const char *
http_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_all {
    const char *name;
    char **values;
};

static enum MHD_Result
collect_value(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct query_all *q = cls;
    if (key != NULL && strcmp(key, q->name) == 0)
        q->values = strv_append(q->values, value ? value : "");
    return MHD_YES;
}

char **
http_query_all(const struct http_request *req, const char *name)
{
    struct query_all q = {.name = name, .values = xcalloc(1, sizeof(char *))};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_value, &q);
    return q.values;
}

const char *
http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int
http_parse_bool(const char *name, const char *v, bool def, bool *out, struct err **err)
{
    if (v == NULL || *v == '\0') {
        *out = def;
        return 0;
    }
    /* dockerd's httputils.BoolValue: only these spellings are false, any other value is true. */
    static const char *const no[] = {"0", "no", "false", "none"};
    size_t len = strlen(v);
    while (len > 0 && isspace((unsigned char)*v))
        v++, len--;
    while (len > 0 && isspace((unsigned char)v[len - 1]))
        len--;
    *out = true;
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (strlen(no[i]) == len && strncasecmp(v, no[i], len) == 0)
            *out = false;
    (void)name;
    (void)err;
    return 0;
}

int
http_query_bool(const struct http_request *req, const char *name, bool def, bool *out,
                struct err **err)
{
    return http_parse_bool(name, http_query(req, name), def, out, err);
}

int
http_parse_int(const char *name, const char *v, int64_t def, int64_t min, int64_t max, int64_t *out,
               struct err **err)
{
    if (v == NULL || *v == '\0') {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return err_make(err, ERR_INVALID, 0, "invalid value for %s: %.64s", name, v);
    *out = n;
    return 0;
}

int
http_query_int(const struct http_request *req, const char *name, int64_t def, int64_t min,
               int64_t max, int64_t *out, struct err **err)
{
    return http_parse_int(name, http_query(req, name), def, min, max, out, err);
}

void
http_request_body(const struct http_request *req, const void **data, size_t *len)
{
    if (req->spool_map != NULL) {
        *data = req->spool_map;
        *len = req->spool_len;
    } else {
        *data = req->body.data ? req->body.data : "";
        *len = req->body.len;
    }
}

ssize_t
http_request_read(struct http_request *req, void *buf, size_t len)
{
    if (req->upload == NULL) {
        errno = EINVAL;
        return -1;
    }
    return http_upload_read(req->upload, buf, len);
}

int
http_request_client_fd(const struct http_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

/* True when the comma-separated header value contains token (case-insensitive). */
static bool
header_has_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = value; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (trimmed == tlen && strncasecmp(p, token, tlen) == 0)
            return true;
        p += len;
    }
    return false;
}

bool
http_request_wants_upgrade(const struct http_request *req)
{
    const char *connection = http_header(req, "Connection");
    const char *upgrade = http_header(req, "Upgrade");
    return connection != NULL && upgrade != NULL && header_has_token(connection, "upgrade");
}
