#include "../cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

static void
test_append_and_take(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "hello", 5, NULL), 0);
    assert_int_equal(buf_append(&b, " world", 6, NULL), 0);
    assert_int_equal(b.len, 11);
    assert_string_equal(b.data, "hello world");
    size_t len;
    char *s = buf_take(&b, &len);
    assert_int_equal(len, 11);
    assert_string_equal(s, "hello world");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
    buf_fini(&b);
}

static void
test_cap_refuses_and_keeps_data(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    struct err *err = NULL;
    assert_int_equal(buf_append(&b, "12345678", 8, &err), 0);
    assert_null(err);
    assert_int_equal(buf_append(&b, "9", 1, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->kind, ERR_TOO_LARGE);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "12345678", 8);
    err_clear(&err);
    buf_fini(&b);
}

static void
test_take_empty_gives_empty_string(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    size_t len = 99;
    char *s = buf_take(&b, &len);
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    free(s);
}

static void
test_reserve_keeps_content_and_stops_at_the_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100000);
    assert_int_equal(buf_append(&b, "ab", 2, NULL), 0);
    buf_reserve(&b, 5000);
    assert_true(b.alloc >= 5003);
    assert_string_equal(b.data, "ab");
    char *data = b.data;
    for (int i = 0; i < 2500; i++) /* 5000 more bytes: no reallocation */
        assert_int_equal(buf_append(&b, "cd", 2, NULL), 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.len, 5002);
    buf_fini(&b);
    buf_init(&b, 10);
    buf_reserve(&b, 1u << 30); /* no more than the cap allows */
    assert_true(b.alloc >= 11 && b.alloc <= 256);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_take),
        cmocka_unit_test(test_cap_refuses_and_keeps_data),
        cmocka_unit_test(test_take_empty_gives_empty_string),
        cmocka_unit_test(test_reserve_keeps_content_and_stops_at_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
