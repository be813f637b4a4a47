#include "image/changes.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/digest.h"
#include "base/strv.h"
#include "base/xalloc.h"

/* ["a","b"] (JSON form) or a shell-form command line -> ["/bin/sh","-c", line]. */
static char **
command_of(const char *args)
{
    json_t *v = json_loads(args, 0, NULL);
    if (json_is_array(v)) {
        char **out = xcalloc(1, sizeof(char *));
        size_t i;
        json_t *it;
        bool ok = true;
        json_array_foreach(v, i, it)
        {
            if (!json_is_string(it))
                ok = false;
            else
                out = strv_append(out, json_string_value(it));
        }
        json_decref(v);
        if (ok)
            return out;
        strv_free(out);
        return NULL;
    }
    json_decref(v);
    char **out = strv_append(NULL, "/bin/sh");
    out = strv_append(out, "-c");
    return strv_append(out, args);
}

static char *
unquote(const char *s, size_t n)
{
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0])
        return xstrndup(s + 1, n - 2);
    return xstrndup(s, n);
}

/* "k=v k2=v2" (values may be quoted) or the legacy "k v". */
static int
key_values(const char *args, bool legacy_ok, void (*put)(void *, const char *, const char *),
           void *ctx, struct err **err)
{
    const char *p = args;
    const char *first_space = strpbrk(p, " \t");
    const char *first_eq = strchr(p, '=');
    if (legacy_ok && first_space != NULL && (first_eq == NULL || first_space < first_eq)) {
        char *k = xstrndup(p, (size_t)(first_space - p));
        const char *v = first_space + strspn(first_space, " \t");
        put(ctx, k, v);
        free(k);
        return 0;
    }
    while (*p) {
        p += strspn(p, " \t");
        if (*p == '\0')
            break;
        const char *eq = strchr(p, '=');
        if (eq == NULL)
            return err_make(err, ERR_INVALID, 0, "invalid key=value pair: %s", p);
        const char *v = eq + 1;
        size_t vn;
        if (*v == '"' || *v == '\'') {
            const char *close = strchr(v + 1, *v);
            if (close == NULL)
                return err_make(err, ERR_INVALID, 0, "unterminated quote in %s", args);
            vn = (size_t)(close - v) + 1;
        } else {
            vn = strcspn(v, " \t");
        }
        char *k = xstrndup(p, (size_t)(eq - p));
        char *val = unquote(v, vn);
        put(ctx, k, val);
        free(k);
        free(val);
        p = v + vn;
    }
    return 0;
}

static void
put_env(void *ctx, const char *k, const char *v)
{
    struct image_config *c = ctx;
    char *entry = xasprintf("%s=%s", k, v);
    char **one = strv_append(NULL, entry);
    char **merged = strv_env_merge(c->env, one);
    strv_free(c->env);
    strv_free(one);
    c->env = merged;
    free(entry);
}

static void
put_label(void *ctx, const char *k, const char *v)
{
    labels_add(&((struct image_config *)ctx)->labels, k, v);
}

static void
replace(char **field, const char *v)
{
    free(*field);
    *field = xstrdup(v);
}

int
image_apply_change(struct image_config *c, const char *line, struct err **err)
{
    const char *p = line + strspn(line, " \t");
    size_t kn = strcspn(p, " \t");
    char *instr = xstrndup(p, kn);
    const char *args = p + kn;
    args += strspn(args, " \t");
    int rc = 0;
    if (strcasecmp(instr, "CMD") == 0 || strcasecmp(instr, "ENTRYPOINT") == 0) {
        char **cmd = command_of(args);
        if (cmd == NULL)
            rc = err_make(err, ERR_INVALID, 0, "invalid %s: %s", instr, args);
        else if (strcasecmp(instr, "CMD") == 0) {
            strv_free(c->cmd);
            c->cmd = cmd;
        } else {
            strv_free(c->entrypoint);
            c->entrypoint = cmd;
        }
    } else if (strcasecmp(instr, "ENV") == 0) {
        rc = key_values(args, true, put_env, c, err);
    } else if (strcasecmp(instr, "LABEL") == 0) {
        rc = key_values(args, false, put_label, c, err);
    } else if (strcasecmp(instr, "WORKDIR") == 0) {
        replace(&c->working_dir, args);
    } else if (strcasecmp(instr, "USER") == 0) {
        replace(&c->user, args);
    } else if (strcasecmp(instr, "STOPSIGNAL") == 0) {
        replace(&c->stop_signal, args);
    } else if (strcasecmp(instr, "EXPOSE") == 0) {
        for (const char *q = args; *q;) {
            q += strspn(q, " \t");
            size_t n = strcspn(q, " \t");
            if (n == 0)
                break;
            char *port = memchr(q, '/', n) ? xstrndup(q, n) : xasprintf("%.*s/tcp", (int)n, q);
            if (!strv_contains(c->exposed_ports, port))
                c->exposed_ports = strv_append(c->exposed_ports, port);
            free(port);
            q += n;
        }
    } else {
        rc = err_make(err, ERR_INVALID, 0, "%s is not a valid change command", instr);
    }
    free(instr);
    return rc;
}

int
image_layer_digest(const void *data, size_t len, char out[72], int64_t *size, struct err **err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK ||
        archive_read_next_header(a, &e) != ARCHIVE_OK) {
        err_make(err, ERR_INVALID, 0, "invalid layer archive: %s", archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    struct digest_sha256 *md = digest_sha256_new();
    char chunk[65536];
    la_ssize_t n;
    int64_t total = 0;
    while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
        digest_sha256_update(md, chunk, (size_t)n);
        total += n;
    }
    digest_sha256_final(md, out);
    digest_sha256_free(md);
    archive_read_free(a);
    if (n < 0)
        return err_make(err, ERR_INVALID, 0, "invalid layer archive");
    *size = total;
    return 0;
}
