#include "../cmocka_prelude.h"

#include <stdlib.h>

#include "engine/creds.h"

static void
test_put_get_replace(void **state)
{
    (void)state;
    struct creds *c = creds_new();
    struct cred out;
    assert_false(creds_get(c, "localhost:5000", &out));
    creds_put(c, "http://localhost:5000/", "u", "p", NULL);
    assert_true(creds_get(c, "localhost:5000", &out));
    assert_string_equal(out.username, "u");
    assert_string_equal(out.password, "p");
    assert_string_equal(out.identity_token, "");
    cred_fini(&out);
    creds_put(c, "localhost:5000", "u2", "p2", "tok");
    assert_true(creds_get(c, "https://localhost:5000", &out));
    assert_string_equal(out.username, "u2");
    assert_string_equal(out.identity_token, "tok");
    cred_fini(&out);
    creds_free(c);
}

static void
test_docker_hub_aliases(void **state)
{
    (void)state;
    char *a = creds_normalize_server("https://index.docker.io/v1/");
    char *b = creds_normalize_server("");
    char *c = creds_normalize_server("registry-1.docker.io");
    assert_string_equal(a, "docker.io");
    assert_string_equal(b, "docker.io");
    assert_string_equal(c, "docker.io");
    free(a);
    free(b);
    free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace),
        cmocka_unit_test(test_docker_hub_aliases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
