#include "../cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "image/reference.h"

static void
norm(const char *in, const char *full, const char *familiar)
{
    struct reference r;
    struct err *err = NULL;
    assert_int_equal(reference_parse(in, &r, &err), 0);
    char *f = reference_full(&r), *fam = reference_familiar(&r);
    assert_string_equal(f, full);
    assert_string_equal(fam, familiar);
    free(f);
    free(fam);
    reference_fini(&r);
}

static void
test_normalization(void **state)
{
    (void)state;
    norm("alpine", "docker.io/library/alpine:latest", "alpine:latest");
    norm("alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19");
    norm("docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest");
    norm("index.docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest");
    norm("user/app", "docker.io/user/app:latest", "user/app:latest");
    norm("localhost:5000/team/app:v1", "localhost:5000/team/app:v1", "localhost:5000/team/app:v1");
    norm("localhost/app", "localhost/app:latest", "localhost/app:latest");
    norm("a.b/c__d-e.f:T_1", "a.b/c__d-e.f:T_1", "a.b/c__d-e.f:T_1");
    char digest[200] = "busybox@sha256:";
    memset(digest + strlen(digest), 'a', 64);
    struct reference r;
    assert_int_equal(reference_parse(digest, &r, NULL), 0);
    assert_null(r.tag);
    assert_non_null(r.digest);
    reference_fini(&r);
}

/* The 255-character limit counts the normalized name: "docker.io/library/" included. */
static void
test_name_too_long(void **state)
{
    (void)state;
    char name[300];
    struct reference r;
    memset(name, 'a', 237);
    name[237] = '\0'; /* docker.io/library/ + 237 = 255 */
    assert_int_equal(reference_parse(name, &r, NULL), 0);
    char *full = reference_full(&r);
    struct reference again;
    assert_int_equal(reference_parse(full, &again, NULL), 0);
    free(full);
    reference_fini(&again);
    reference_fini(&r);
    name[237] = 'a';
    name[238] = '\0';
    struct err *err = NULL;
    assert_int_equal(reference_parse(name, &r, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
}

static void
test_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "UPPER", "a//b", "-a", "a-", "a:", "a:-x", "a@sha256:xyz", "a..b", "a b", ":tag"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct reference r;
        struct err *err = NULL;
        assert_int_equal(reference_parse(bad[i], &r, &err), -1);
        assert_int_equal(err->kind, ERR_INVALID);
        assert_non_null(strstr(err->msg, "invalid reference format"));
        err_clear(&err);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalization),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_name_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
