#include "../cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "http/router.h"

static struct http_response *
dummy(struct http_request *req, void *app)
{
    (void)req;
    (void)app;
    return NULL;
}

static const struct route routes[] = {
    {"GET", "/_ping", dummy, 0},
    {"HEAD", "/_ping", dummy, 0},
    {"GET", "/containers/{id}/json", dummy, 0},
    {"POST", "/containers/{id}/start", dummy, 0},
    {"GET", "/images/{name*}/json", dummy, 0},
    {"POST", "/images/{name*}/tag", dummy, 0},
    {"GET", "/images/json", dummy, 0},
    {"DELETE", "/images/{name*}", dummy, 0},
};
enum { N = sizeof(routes) / sizeof(routes[0]) };

static const struct route *
match(const char *method, const char *path, struct route_params *p, enum router_result want)
{
    const struct route *r = NULL;
    assert_int_equal(router_match(routes, N, method, path, &r, p), want);
    return want == ROUTER_FOUND ? r : NULL;
}

static void
test_literal_and_params(void **state)
{
    (void)state;
    struct route_params p;
    const struct route *r = match("GET", "/_ping", &p, ROUTER_FOUND);
    assert_string_equal(r->pattern, "/_ping");
    route_params_fini(&p);
    r = match("GET", "/containers/abc123/json", &p, ROUTER_FOUND);
    assert_string_equal(r->pattern, "/containers/{id}/json");
    assert_string_equal(route_params_get(&p, "id"), "abc123");
    assert_null(route_params_get(&p, "i"));
    route_params_fini(&p);
}

static void
test_greedy_image_names(void **state)
{
    (void)state;
    struct route_params p;
    match("GET", "/images/localhost:5000/team/app:v1/json", &p, ROUTER_FOUND);
    assert_string_equal(route_params_get(&p, "name"), "localhost:5000/team/app:v1");
    route_params_fini(&p);
    /* A literal route wins over nothing: /images/json is its own route. */
    const struct route *r = match("GET", "/images/json", &p, ROUTER_FOUND);
    assert_string_equal(r->pattern, "/images/json");
    route_params_fini(&p);
    match("DELETE", "/images/docker.io/library/busybox", &p, ROUTER_FOUND);
    assert_string_equal(route_params_get(&p, "name"), "docker.io/library/busybox");
    route_params_fini(&p);
    /* The server decoded the path already (router_unescape): the router takes it as it is. */
    match("GET", "/images/a%41/json", &p, ROUTER_FOUND);
    assert_string_equal(route_params_get(&p, "name"), "a%41");
    route_params_fini(&p);
    match("GET", "/images/%zz/json", &p, ROUTER_FOUND);
    assert_string_equal(route_params_get(&p, "name"), "%zz");
    route_params_fini(&p);
}

static void
test_not_found_and_bad_method(void **state)
{
    (void)state;
    struct route_params p;
    match("GET", "/nope", &p, ROUTER_NOT_FOUND);
    match("GET", "/containers//json", &p, ROUTER_NOT_FOUND); /* empty parameter */
    match("GET", "/containers/a/json/extra", &p, ROUTER_NOT_FOUND);
    match("DELETE", "/_ping", &p, ROUTER_BAD_METHOD);
    match("GET", "/containers/abc/start", &p, ROUTER_BAD_METHOD);
    match("GET", "", &p, ROUTER_NOT_FOUND);
    match("GET", "/images/%00/json", &p, ROUTER_NOT_FOUND); /* NUL never reaches a handler */
    match("GET", "/images/a%00b/json", &p, ROUTER_NOT_FOUND);
}

static void
test_too_many_segments_and_long_params(void **state)
{
    (void)state;
    struct route_params p;
    char path[512] = "";
    for (int i = 0; i < 100; i++)
        strcat(path, "/a");
    match("GET", path, &p, ROUTER_NOT_FOUND);
    char *longp = malloc(ROUTE_PARAM_MAX + 64);
    strcpy(longp, "/containers/");
    memset(longp + 12, 'x', ROUTE_PARAM_MAX + 1);
    strcpy(longp + 12 + ROUTE_PARAM_MAX + 1, "/json");
    match("GET", longp, &p, ROUTER_NOT_FOUND);
    free(longp);
}

static void
test_version_prefix(void **state)
{
    (void)state;
    struct api_version v;
    const char *rest;
    bool malformed;
    assert_true(router_split_version("/v1.41/containers/json", &v, &rest, &malformed));
    assert_int_equal(v.major, 1);
    assert_int_equal(v.minor, 41);
    assert_string_equal(rest, "/containers/json");
    assert_true(router_split_version("/v1.24", &v, &rest, &malformed));
    assert_string_equal(rest, "/");
    assert_false(router_split_version("/version", &v, &rest, &malformed));
    assert_string_equal(rest, "/version");
    assert_false(malformed);
    assert_false(router_split_version("/vabc/version", &v, &rest, &malformed));
    assert_false(malformed);
    assert_false(router_split_version("/v1.2.3/version", &v, &rest, &malformed));
    assert_true(malformed);
    assert_false(router_split_version("/v99999.1/x", &v, &rest, &malformed));
    assert_true(malformed);
}

static void
test_version_compare(void **state)
{
    (void)state;
    struct api_version a, b;
    assert_true(api_version_parse("1.9", 3, &a));
    assert_true(api_version_parse("1.24", 4, &b));
    assert_true(api_version_cmp(a, b) < 0); /* numeric, not lexical */
    assert_int_equal(api_version_cmp(b, b), 0);
    assert_true(api_version_parse("2.0", 3, &a));
    assert_true(api_version_cmp(a, b) > 0);
    assert_false(api_version_parse("1.", 2, &a));
    assert_false(api_version_parse(".1", 2, &a));
    assert_false(api_version_parse("1", 1, &a));
}

static void
test_unescape(void **state)
{
    (void)state;
    char s[][16] = {"a%20b%2fc", "%4", "%", "%00", "%41", "%2541", "x%zz"};
    const char *want[] = {"a b/c", "%4", "%", "%00", "A", "%41", "x%zz"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(router_unescape(s[i]), strlen(want[i]));
        assert_string_equal(s[i], want[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_params),
        cmocka_unit_test(test_greedy_image_names),
        cmocka_unit_test(test_not_found_and_bad_method),
        cmocka_unit_test(test_too_many_segments_and_long_params),
        cmocka_unit_test(test_version_prefix),
        cmocka_unit_test(test_version_compare),
        cmocka_unit_test(test_unescape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
