#include "../cmocka_prelude.h"

#include "engine/filters.h"

static void
test_exact_and_fuzzy(void **state)
{
    (void)state;
    struct filters *f = filters_new();
    assert_true(filters_exact_match(f, "type", "container")); /* absent key matches */
    filters_add(f, "type", "container");
    filters_add(f, "type", "image");
    filters_add(f, "type", "image"); /* kept once */
    assert_int_equal(filters_find(f, "type")->n_values, 2);
    assert_true(filters_exact_match(f, "type", "image"));
    assert_false(filters_exact_match(f, "type", "network"));
    assert_false(filters_exact_match(f, "type", NULL));
    filters_add(f, "container", "abc");
    assert_true(filters_fuzzy_match(f, "container", "abcdef"));
    assert_false(filters_fuzzy_match(f, "container", "xabc"));
    filters_free(f);
}

static void
test_labels(void **state)
{
    (void)state;
    const char *keys[] = {"a", "b"};
    const char *values[] = {"1", ""};
    struct filters *f = filters_new();
    assert_true(filters_match_labels(f, "label", keys, values, 2));
    filters_add(f, "label", "a");
    assert_true(filters_match_labels(f, "label", keys, values, 2));
    filters_add(f, "label", "a=1");
    assert_true(filters_match_labels(f, "label", keys, values, 2));
    filters_add(f, "label", "b=");
    assert_true(filters_match_labels(f, "label", keys, values, 2));
    filters_add(f, "label", "a=2"); /* every label value must match */
    assert_false(filters_match_labels(f, "label", keys, values, 2));
    filters_free(f);
}

static void
test_labels_not(void **state)
{
    (void)state;
    const char *keys[] = {"a"};
    const char *values[] = {"1"};
    struct filters *f = filters_new();
    assert_true(filters_match_labels_not(f, "label!", keys, values, 1));
    filters_add(f, "label!", "b");
    assert_true(filters_match_labels_not(f, "label!", keys, values, 1));
    filters_add(f, "label!", "a=2");
    assert_true(filters_match_labels_not(f, "label!", keys, values, 1));
    filters_add(f, "label!", "a=1"); /* any match excludes */
    assert_false(filters_match_labels_not(f, "label!", keys, values, 1));
    filters_free(f);
}

static void
test_check_keys(void **state)
{
    (void)state;
    static const char *const allowed[] = {"type", "label", NULL};
    struct filters *f = filters_new();
    filters_add(f, "type", "x");
    struct err *err = NULL;
    assert_int_equal(filters_check_keys(f, allowed, &err), 0);
    filters_add(f, "bogus", "x");
    assert_int_equal(filters_check_keys(f, allowed, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_string_equal(err->msg, "Invalid filter 'bogus'");
    err_clear(&err);
    filters_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_fuzzy),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_labels_not),
        cmocka_unit_test(test_check_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
