#include "api/filters_json.h"

#include <jansson.h>
#include <string.h>

struct filters *
filters_json_parse(const char *text, struct err **err)
{
    struct filters *f = filters_new();
    if (text == NULL || *text == '\0')
        return f;
    size_t len = strlen(text);
    if (len > FILTERS_JSON_MAX) {
        filters_free(f);
        err_make(err, ERR_INVALID, 0, "filters too long");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        if (root == NULL)
            err_make(err, ERR_INVALID, 0, "invalid filter: %s", jerr.text);
        else
            err_make(err, ERR_INVALID, 0, "invalid filter: expected a JSON object");
        json_decref(root);
        filters_free(f);
        return NULL;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (json_is_array(val)) {
            size_t i;
            json_t *item;
            json_array_foreach(val, i, item)
            {
                if (!json_is_string(item))
                    goto bad;
                filters_add(f, key, json_string_value(item));
            }
        } else if (json_is_object(val)) {
            const char *v;
            json_t *on;
            json_object_foreach(val, v, on)
            {
                if (!json_is_boolean(on))
                    goto bad;
                if (json_is_true(on))
                    filters_add(f, key, v);
            }
        } else {
            goto bad;
        }
    }
    json_decref(root);
    return f;
bad:
    err_make(err, ERR_INVALID, 0, "invalid filter '%s': values must be a list or a map of booleans",
             key);
    json_decref(root);
    filters_free(f);
    return NULL;
}
