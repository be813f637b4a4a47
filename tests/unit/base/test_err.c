#include "../cmocka_prelude.h"

#include <errno.h>
#include <string.h>

#include "base/err.h"

static int
fails_not_found(struct err **err)
{
    return err_make(err, ERR_NOT_FOUND, 0, "No such container: %s", "abc");
}

static void
test_make_and_wrap(void **state)
{
    (void)state;
    struct err *err = NULL;
    assert_int_equal(fails_not_found(&err), -1);
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    assert_string_equal(err->msg, "No such container: abc");
    assert_int_equal(err_wrap(&err, "start %s", "x"), -1);
    assert_string_equal(err->msg, "start x: No such container: abc");
    assert_int_equal(err_kind_of(&err), ERR_NOT_FOUND);
    err_clear(&err);
    assert_null(err);
}

static void
test_null_err_is_allowed(void **state)
{
    (void)state;
    assert_int_equal(fails_not_found(NULL), -1);
    assert_int_equal(err_wrap(NULL, "x"), -1);
    err_clear(NULL);
    assert_int_equal(err_kind_of(NULL), ERR_INTERNAL);
}

static void
test_errno_message(void **state)
{
    (void)state;
    struct err *err = NULL;
    errno = ENOENT;
    err_errno(&err, "open %s", "/nope");
    assert_int_equal(err->kind, ERR_INTERNAL);
    assert_int_equal(err->errnum, ENOENT);
    assert_string_equal(err->msg, "open /nope: No such file or directory");
    err_clear(&err);
}

static void
test_long_messages_truncate(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct err *err = NULL;
    err_make(&err, ERR_INVALID, 0, "%s", big);
    assert_int_equal(strlen(err->msg), ERR_MSG_MAX - 1);
    err_wrap(&err, "ctx");
    assert_int_equal(strlen(err->msg), ERR_MSG_MAX - 1);
    assert_memory_equal(err->msg, "ctx: xxx", 8);
    err_clear(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_and_wrap),
        cmocka_unit_test(test_null_err_is_allowed),
        cmocka_unit_test(test_errno_message),
        cmocka_unit_test(test_long_messages_truncate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
