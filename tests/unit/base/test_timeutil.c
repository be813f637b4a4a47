#include "../cmocka_prelude.h"

#include "base/timeutil.h"

static void
test_format_rfc3339nano(void **state)
{
    (void)state;
    char out[TIME_RFC3339_MAX];
    time_format_rfc3339nano(1700000000123456789LL, out, sizeof(out));
    assert_string_equal(out, "2023-11-14T22:13:20.123456789Z");
    time_format_rfc3339nano(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01T00:00:00.000000000Z");
}

static void
parses_to(const char *text, int64_t want)
{
    int64_t ns = -1;
    struct err *err = NULL;
    assert_int_equal(time_parse_timestamp(text, &ns, &err), 0);
    assert_null(err);
    assert_int_equal(ns, want);
}

static void
refuses(const char *text)
{
    int64_t ns = 42;
    struct err *err = NULL;
    assert_int_equal(time_parse_timestamp(text, &ns, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_int_equal(ns, 42);
    err_clear(&err);
}

static void
test_parse_unix(void **state)
{
    (void)state;
    parses_to("1700000000", 1700000000000000000LL);
    parses_to("1700000000.5", 1700000000500000000LL);
    parses_to("1700000000.000000001", 1700000000000000001LL);
    parses_to("1700000000.1234567891", 1700000000123456789LL);
}

static void
test_parse_rfc3339(void **state)
{
    (void)state;
    parses_to("2023-11-14T22:13:20Z", 1700000000000000000LL);
    parses_to("2023-11-14T22:13:20.25Z", 1700000000250000000LL);
    parses_to("2023-11-15T00:13:20+02:00", 1700000000000000000LL);
    parses_to("2023-11-14T21:13:20-01:00", 1700000000000000000LL);
}

static void
test_parse_refuses_garbage(void **state)
{
    (void)state;
    refuses("");
    refuses("abc");
    refuses("-5");
    refuses("12.");
    refuses("1.5x");
    refuses("99999999999999999999");
    refuses("2023-11-14");
    refuses("2023-13-14T22:13:20Z");
    refuses("2023-11-14T22:13:20");
    refuses("2023-11-14T22:13:20Zjunk");
}

/* Found by fuzz_filters: times nanoseconds since the epoch cannot hold overflowed. */
static void
test_parse_refuses_out_of_range(void **state)
{
    (void)state;
    refuses("9223372039");
    refuses("9223372036.9");
    refuses("4048-01-01T00:00:00Z");
    refuses("1000-01-01T00:00:00Z");
    parses_to("9223372035", 9223372035000000000LL);
    parses_to("2262-01-01T00:00:00Z", 9214646400000000000LL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_rfc3339nano),
        cmocka_unit_test(test_parse_unix),
        cmocka_unit_test(test_parse_rfc3339),
        cmocka_unit_test(test_parse_refuses_garbage),
        cmocka_unit_test(test_parse_refuses_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
