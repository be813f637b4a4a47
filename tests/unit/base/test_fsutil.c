#include "../cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"

static void
expect_clean(char *(*clean)(const char *), const char *in, const char *want)
{
    char *got = clean(in);
    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void
test_clean_relative(void **state)
{
    (void)state;
    expect_clean(fsutil_clean_relative, "/etc//./hosts", "etc/hosts");
    expect_clean(fsutil_clean_relative, "a/b/../c/", "a/c");
    expect_clean(fsutil_clean_relative, "/", "");
    expect_clean(fsutil_clean_relative, "a/..", "");
    expect_clean(fsutil_clean_relative, "../x", NULL); /* above the root */
    expect_clean(fsutil_clean_relative, "/a/../../x", NULL);
}

static void
test_clean_absolute(void **state)
{
    (void)state;
    /* Go's filepath.Clean on absolute paths */
    expect_clean(fsutil_clean_absolute, "/a/../etc/./x/", "/etc/x");
    expect_clean(fsutil_clean_absolute, "/", "/");
    expect_clean(fsutil_clean_absolute, "//", "/");
    expect_clean(fsutil_clean_absolute, "/..", "/");
    expect_clean(fsutil_clean_absolute, "/../../x/..y", "/x/..y");
    expect_clean(fsutil_clean_absolute, "/etc/passwd/.", "/etc/passwd");
    expect_clean(fsutil_clean_absolute, "/w/...", "/w/...");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_relative),
        cmocka_unit_test(test_clean_absolute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
