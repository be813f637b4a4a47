/*
 * fuzz_filters: a `filters` query value from arbitrary bytes (up to a NUL) through
 * filters_json_parse, then the matchers handlers use (key check, exact, fuzzy, label and
 * label! matching) and the timestamps of `until`/`since` values.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api/filters_json.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"label", "name", "id", "until", "since", NULL};
    static const char *const keys[] = {"a", "com.example.x", ""};
    static const char *const values[] = {"1", "", "x=y"};
    static const char *const probe[] = {"label", "label!", "name", "id", "until", "since", "a"};
    if (size > FILTERS_JSON_MAX + 16)
        return 0;
    char *text = xstrndup((const char *)data, size);
    struct err *err = NULL;
    struct filters *f = filters_json_parse(text, &err);
    if (f == NULL) {
        err_clear(&err);
        free(text);
        return 0;
    }
    (void)filters_check_keys(f, allowed, &err);
    err_clear(&err);
    for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        (void)filters_has(f, probe[i]);
        (void)filters_exact_match(f, probe[i], "abc");
        (void)filters_fuzzy_match(f, probe[i], "abcdef");
        (void)filters_match_labels(f, probe[i], keys, values, 3);
        (void)filters_match_labels_not(f, probe[i], keys, values, 3);
    }
    for (size_t i = 0; i < f->n_keys; i++) {
        for (size_t j = 0; j < f->keys[i].n_values; j++) {
            int64_t ns;
            (void)time_parse_timestamp(f->keys[i].values[j], &ns, &err);
            err_clear(&err);
        }
    }
    filters_free(f);
    free(text);
    return 0;
}
