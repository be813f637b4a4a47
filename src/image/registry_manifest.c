/* Manifests and tag lists of a repository. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/digest.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "image/manifest.h"
#include "image/registry_internal.h"

enum { SMALL_TIMEOUT_S = 120, MAX_TAG_PAGES = 100 };

/* ---- manifests ---- */

void
registry_manifest_fini(struct registry_manifest *m)
{
    free(m->body);
    free(m->content_type);
    memset(m, 0, sizeof(*m));
}

int
registry_get_manifest(struct registry *r, const char *ref, struct registry_manifest *out,
                      struct err **err)
{
    struct buf body;
    buf_init(&body, MANIFEST_MAX_BYTES);
    struct reg_request q;
    reg_request_init(&q, "GET", reg_url(r, "manifests/%s", ref));
    q.accept = MANIFEST_ACCEPT;
    q.timeout_s = SMALL_TIMEOUT_S;
    q.out = &body;
    int rc = reg_do(r, &q, err);
    if (rc == 0 && q.out_overflow)
        rc = err_make(err, ERR_TOO_LARGE, 0, "manifest %s is over %d bytes", ref,
                      MANIFEST_MAX_BYTES);
    else if (rc == 0 && (q.status < 200 || q.status > 299))
        rc = reg_status_error(&q, err);
    if (rc == 0) {
        memset(out, 0, sizeof(*out));
        out->body = buf_take(&body, &out->len);
        out->content_type = q.content_type_out ? xstrdup(q.content_type_out) : NULL;
        digest_sha256(out->body, out->len, out->digest);
        if (manifest_is_digest(ref) && strcmp(ref, out->digest) != 0) {
            registry_manifest_fini(out);
            rc = err_make(err, ERR_INVALID, 0, "manifest verification failed for digest %s", ref);
        }
    }
    buf_fini(&body);
    free(q.url);
    reg_request_fini(&q);
    return rc;
}

int
registry_put_manifest(struct registry *r, const char *tag, const char *media_type, const char *body,
                      size_t len, struct err **err)
{
    char digest[72];
    digest_sha256(body, len, digest);
    struct reg_request q;
    reg_request_init(&q, "PUT", reg_url(r, "manifests/%s", tag ? tag : digest));
    q.content_type = media_type;
    q.body = body;
    q.body_len = len;
    q.has_body = true;
    q.timeout_s = SMALL_TIMEOUT_S;
    int rc = reg_do(r, &q, err);
    if (rc == 0 && (q.status < 200 || q.status > 299))
        rc = reg_status_error(&q, err);
    free(q.url);
    reg_request_fini(&q);
    return rc;
}

/* The next page of a tag list: the URL in `Link: </v2/...?last=x&n=y>; rel="next"`. */
static char *
next_page(const struct registry *r, const char *link)
{
    if (link == NULL || strstr(link, "rel=\"next\"") == NULL)
        return NULL;
    const char *lt = strchr(link, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (gt == NULL)
        return NULL;
    cleanup_free char *rel = xstrndup(lt + 1, (size_t)(gt - lt - 1));
    return reg_resolve(r, rel);
}

char **
registry_list_tags(struct registry *r, struct err **err)
{
    char **tags = xcalloc(1, sizeof(char *));
    char *url = reg_url(r, "tags/list");
    for (int page = 0; url != NULL; page++) {
        struct buf body;
        buf_init(&body, MANIFEST_MAX_BYTES);
        struct reg_request q;
        reg_request_init(&q, "GET", url);
        q.timeout_s = SMALL_TIMEOUT_S;
        q.out = &body;
        int rc = page >= MAX_TAG_PAGES ? err_make(err, ERR_TOO_LARGE, 0, "too many tag pages")
                                       : reg_do(r, &q, err);
        if (rc == 0 && (q.status < 200 || q.status > 299))
            rc = reg_status_error(&q, err);
        json_t *root = rc == 0 ? json_loadb(body.data ? body.data : "", body.len, 0, NULL) : NULL;
        json_t *list = json_object_get(root, "tags");
        size_t i;
        json_t *t;
        json_array_foreach(list, i, t)
        {
            if (json_is_string(t))
                tags = strv_append(tags, json_string_value(t));
        }
        json_decref(root);
        free(url);
        url = rc == 0 ? next_page(r, q.link) : NULL;
        buf_fini(&body);
        reg_request_fini(&q);
        if (rc < 0) {
            strv_free(tags);
            return NULL;
        }
    }
    return tags;
}
