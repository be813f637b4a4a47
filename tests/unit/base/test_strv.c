#include "../cmocka_prelude.h"

#include <string.h>

#include "base/strv.h"

static char **
list(const char *a, const char *b, const char *c)
{
    char **v = NULL;
    if (a)
        v = strv_append(v, a);
    if (b)
        v = strv_append(v, b);
    if (c)
        v = strv_append(v, c);
    return v;
}

static void
test_env_merge_by_key(void **state)
{
    (void)state;
    char **image = list("PATH=/bin", "A=1", "B=2");
    char **req = list("B=20", "C=3", "PATH=/usr/bin");
    char **m = strv_env_merge(image, req);
    assert_int_equal(strv_len(m), 4);
    assert_string_equal(m[0], "B=20"); /* the request's entries first, as dockerd */
    assert_string_equal(m[1], "C=3");
    assert_string_equal(m[2], "PATH=/usr/bin");
    assert_string_equal(m[3], "A=1"); /* then the image's other keys */
    assert_string_equal(strv_env_get(m, "B"), "20");
    assert_null(strv_env_get(m, "PAT"));
    strv_free(m);
    m = strv_env_merge(NULL, NULL);
    assert_int_equal(strv_len(m), 0);
    strv_free(m);
    strv_free(image);
    strv_free(req);
}

static void
test_dup_contains(void **state)
{
    (void)state;
    char **v = list("a", "b", NULL);
    char **d = strv_dup(v);
    assert_true(strv_contains(d, "b"));
    assert_false(strv_contains(d, "c"));
    assert_null(strv_dup(NULL));
    strv_free(v);
    strv_free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_merge_by_key),
        cmocka_unit_test(test_dup_contains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
