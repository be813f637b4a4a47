#include "../cmocka_prelude.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/dl.h"

static void
test_open_missing_library_says_why(void **state)
{
    (void)state;
    struct dl_lib l = {.soname = "libsockerless-missing.so.9"};
    assert_false(dl_open(&l));
    assert_null(l.handle);
    assert_non_null(strstr(l.error, "cannot load libsockerless-missing.so.9: "));
}

static void
test_sym_resolves_and_names_what_is_missing(void **state)
{
    (void)state;
    struct dl_lib l = {.soname = "libc.so.6"};
    assert_true(dl_open(&l));
    size_t (*len)(const char *) = NULL;
    assert_true(dl_sym(&l, "strlen", &len, sizeof(len)));
    assert_int_equal(len("four"), 4);
    void (*none)(void) = NULL;
    assert_false(dl_sym(&l, "sockerless_no_such_function", &none, sizeof(none)));
    assert_null(none);
    assert_string_equal(l.error, "libc.so.6 has no sockerless_no_such_function");
}

static int loads;
static int load_result;

static int
count_load(void)
{
    loads++;
    return load_result;
}

static void
test_once_loads_once_and_keeps_the_result(void **state)
{
    (void)state;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    _Atomic int ok = DL_UNTRIED, failed = DL_UNTRIED;
    loads = 0;
    load_result = DL_LOADED;
    assert_true(dl_once(&ok, &lock, count_load));
    assert_true(dl_once(&ok, &lock, count_load));
    assert_int_equal(loads, 1);
    load_result = DL_FAILED;
    assert_false(dl_once(&failed, &lock, count_load));
    assert_false(dl_once(&failed, &lock, count_load));
    assert_int_equal(loads, 2); /* a failure is not retried */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_missing_library_says_why),
        cmocka_unit_test(test_sym_resolves_and_names_what_is_missing),
        cmocka_unit_test(test_once_loads_once_and_keeps_the_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
