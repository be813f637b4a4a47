#include "../cmocka_prelude.h"

#include <stdio.h>
#include <string.h>

#include "base/map.h"

static void
test_put_get_replace_delete(void **state)
{
    (void)state;
    struct map m;
    map_init(&m);
    int a = 1, b = 2;
    assert_null(map_get(&m, "x"));
    map_put(&m, "x", &a, NULL);
    assert_ptr_equal(map_get(&m, "x"), &a);
    void *old;
    map_put(&m, "x", &b, &old);
    assert_ptr_equal(old, &a);
    assert_ptr_equal(map_get(&m, "x"), &b);
    assert_int_equal(m.len, 1);
    assert_ptr_equal(map_del(&m, "x"), &b);
    assert_null(map_get(&m, "x"));
    assert_null(map_del(&m, "x"));
    assert_int_equal(m.len, 0);
    map_fini(&m);
}

static void
test_many_keys_and_churn(void **state)
{
    (void)state;
    struct map m;
    map_init(&m);
    static int vals[5000];
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        map_put(&m, key, &vals[i], NULL);
    }
    assert_int_equal(m.len, 5000);
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_ptr_equal(map_del(&m, key), &vals[i]);
    }
    /* Churn: tombstones must not make the table fill up or lose keys. */
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 500; i++) {
            snprintf(key, sizeof(key), "t%d-%d", round, i);
            map_put(&m, key, &vals[i], NULL);
        }
        for (int i = 0; i < 500; i++) {
            snprintf(key, sizeof(key), "t%d-%d", round, i);
            assert_ptr_equal(map_del(&m, key), &vals[i]);
        }
    }
    for (int i = 1; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_ptr_equal(map_get(&m, key), &vals[i]);
    }
    size_t it = 0, n = 0;
    const char *k;
    void *v;
    while (map_next(&m, &it, &k, &v))
        n++;
    assert_int_equal(n, 2500);
    assert_true(m.cap <= 16384);
    map_fini(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_delete),
        cmocka_unit_test(test_many_keys_and_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
