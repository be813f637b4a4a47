#include "../cmocka_prelude.h"

#include "api/filters_json.h"

static void
test_map_and_list_forms(void **state)
{
    (void)state;
    struct err *err = NULL;
    struct filters *f = filters_json_parse("{\"type\":{\"container\":true,\"image\":false},"
                                           "\"label\":[\"a=1\",\"b\"]}",
                                           &err);
    assert_non_null(f);
    const struct filter_key *k = filters_find(f, "type");
    assert_int_equal(k->n_values, 1); /* false values are not selected */
    assert_string_equal(k->values[0], "container");
    k = filters_find(f, "label");
    assert_int_equal(k->n_values, 2);
    filters_free(f);
}

static void
test_empty(void **state)
{
    (void)state;
    struct filters *f = filters_json_parse(NULL, NULL);
    assert_int_equal(f->n_keys, 0);
    filters_free(f);
    f = filters_json_parse("", NULL);
    assert_int_equal(f->n_keys, 0);
    filters_free(f);
    f = filters_json_parse("{}", NULL);
    assert_int_equal(f->n_keys, 0);
    filters_free(f);
}

static void
test_rejects_bad_shapes(void **state)
{
    (void)state;
    const char *bad[] = {"notjson",           "[]",
                         "{\"a\":1}",         "{\"a\":[1]}",
                         "{\"a\":{\"x\":1}}", "{\"a\":\"x\"}",
                         "{\"a\":[\"x\"]",    "\"str\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct err *err = NULL;
        assert_null(filters_json_parse(bad[i], &err));
        assert_int_equal(err->kind, ERR_INVALID);
        err_clear(&err);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_and_list_forms),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_rejects_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
