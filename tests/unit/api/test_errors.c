#include "../cmocka_prelude.h"

#include <string.h>

#include "api/api.h"

static void
test_status_per_kind(void **state)
{
    (void)state;
    assert_int_equal(api_status_for(ERR_INVALID), 400);
    assert_int_equal(api_status_for(ERR_NOT_FOUND), 404);
    assert_int_equal(api_status_for(ERR_CONFLICT), 409);
    assert_int_equal(api_status_for(ERR_NOT_MODIFIED), 304);
    assert_int_equal(api_status_for(ERR_FORBIDDEN), 403);
    assert_int_equal(api_status_for(ERR_UNSUPPORTED), 501);
    assert_int_equal(api_status_for(ERR_UNAVAILABLE), 503);
    assert_int_equal(api_status_for(ERR_TOO_LARGE), 413);
    assert_int_equal(api_status_for(ERR_INTERNAL), 500);
}

static void
test_error_body_is_json_message(void **state)
{
    (void)state;
    struct err *err = NULL;
    err_make(&err, ERR_CONFLICT, 0, "name \"/x\" is \"taken\"");
    struct http_response *r = api_error_response(&err);
    assert_null(err); /* consumed */
    assert_int_equal(r->status, 409);
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(r->body, "{\"message\":\"name \\\"/x\\\" is \\\"taken\\\"\"}\n");
    http_response_free(r);
}

static void
test_not_modified_has_no_body(void **state)
{
    (void)state;
    struct err *err = NULL;
    err_make(&err, ERR_NOT_MODIFIED, 0, "container already started");
    struct http_response *r = api_error_response(&err);
    assert_int_equal(r->status, 304);
    assert_null(r->body);
    assert_null(r->content_type);
    http_response_free(r);
}

static void
test_invalid_utf8_message_still_encodes(void **state)
{
    (void)state;
    struct http_response *r = http_response_error(400, "bad \xff byte");
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(r->body, "message"));
    http_response_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_per_kind),
        cmocka_unit_test(test_error_body_is_json_message),
        cmocka_unit_test(test_not_modified_has_no_body),
        cmocka_unit_test(test_invalid_utf8_message_still_encodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
