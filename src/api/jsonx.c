#include "api/jsonx.h"

#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

static int
type_error(struct err **err, const char *key, const char *want)
{
    return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal %s: %s expected", key, want);
}

int
jsonx_string(json_t *obj, const char *key, char **out, struct err **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return type_error(err, key, "string");
    *out = xstrdup(json_string_value(v));
    return 0;
}

int
jsonx_bool(json_t *obj, const char *key, bool *out, struct err **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return type_error(err, key, "boolean");
    *out = json_is_true(v);
    return 0;
}

int
jsonx_console_size(json_t *obj, const char *key, int *h, int *w, struct err **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    json_t *jh = json_array_get(v, 0), *jw = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(jh) ||
        !json_is_integer(jw) || json_integer_value(jh) < 0 || json_integer_value(jh) > 65535 ||
        json_integer_value(jw) < 0 || json_integer_value(jw) > 65535)
        return err_make(err, ERR_INVALID, 0, "%s must be an array of two sizes: [height, width]",
                        key);
    *h = (int)json_integer_value(jh);
    *w = (int)json_integer_value(jw);
    return 0;
}

int
jsonx_int(json_t *obj, const char *key, int64_t *out, bool *given, struct err **err)
{
    json_t *v = json_object_get(obj, key);
    if (given != NULL)
        *given = false;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return type_error(err, key, "integer");
    *out = json_integer_value(v);
    if (given != NULL)
        *given = true;
    return 0;
}

int
jsonx_strv(json_t *obj, const char *key, bool allow_string, char ***out, struct err **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (allow_string && json_is_string(v)) {
        *out = strv_append(NULL, json_string_value(v));
        return 0;
    }
    if (!json_is_array(v))
        return type_error(err, key, "list of strings");
    char **list = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item)) {
            strv_free(list);
            return type_error(err, key, "list of strings");
        }
        list = strv_append(list, json_string_value(item));
    }
    *out = list;
    return 0;
}

int
jsonx_labels(json_t *obj, const char *key, struct labels *out, struct err **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return type_error(err, key, "map of strings");
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val)
    {
        if (!json_is_string(val))
            return type_error(err, key, "map of strings");
        labels_add(out, k, json_string_value(val));
    }
    return 0;
}

json_t *
jsonx_from_labels(const struct labels *l)
{
    json_t *o = json_object();
    for (size_t i = 0; i < l->n; i++)
        json_object_set_new(o, l->keys[i], json_string(l->values[i]));
    return o;
}

json_t *
jsonx_time(int64_t ns)
{
    if (ns == 0)
        return json_string("0001-01-01T00:00:00Z");
    /* Go's JSON times are RFC3339Nano, which drops trailing zeros of the fraction (logs use
     * the fixed nine digits instead: compat-notes 14). */
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339nano(ns, buf, sizeof(buf));
    char *dot = strchr(buf, '.');
    char *z = strchr(buf, 'Z');
    if (dot != NULL && z != NULL) {
        char *end = z;
        while (end > dot + 1 && end[-1] == '0')
            end--;
        if (end == dot + 1)
            end = dot;
        memmove(end, z, strlen(z) + 1);
    }
    return json_string(buf);
}
