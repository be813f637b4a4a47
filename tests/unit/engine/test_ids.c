#include "../cmocka_prelude.h"

#include <string.h>

#include "engine/ids.h"

static void
test_ids(void **state)
{
    (void)state;
    char a[ID_LEN + 1], b[ID_LEN + 1];
    id_generate(a);
    id_generate(b);
    assert_int_equal(strlen(a), ID_LEN);
    assert_true(id_is_full(a));
    assert_string_not_equal(a, b);
    assert_true(strspn(a, "0123456789") < SHORT_ID_LEN);
    assert_true(id_is_prefix("abc123"));
    assert_false(id_is_prefix("ABC"));
    assert_false(id_is_prefix(""));
    assert_false(id_is_full("abc"));
}

static void
test_names(void **state)
{
    (void)state;
    assert_int_equal(name_validate("web", NULL), 0);
    assert_int_equal(name_validate("/web-1.a_b", NULL), 0);
    const char *bad[] = {"a", "/a", "-web", "_x", "we b", "x/y", "", "/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct err *err = NULL;
        assert_int_equal(name_validate(bad[i], &err), -1);
        assert_int_equal(err->kind, ERR_INVALID);
        assert_non_null(strstr(err->msg, "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
        err_clear(&err);
    }
    char n[64];
    for (int i = 0; i < 50; i++) {
        name_generate(n, sizeof(n), 0);
        assert_int_equal(name_validate(n, NULL), 0);
        assert_non_null(strchr(n, '_'));
    }
    name_generate(n, sizeof(n), 7);
    assert_true(n[strlen(n) - 1] == '7');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
