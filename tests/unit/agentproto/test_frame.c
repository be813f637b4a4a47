/* The agent protocol's frame codec, message getters, token check and addresses, byte for byte. */
#include "../cmocka_prelude.h"

#include <string.h>

#include "agentproto/frame.h"
#include "agentproto/wire.h"

static void
test_header_bytes(void **state)
{
    (void)state;
    uint8_t h[AP_HDR_LEN];
    frame_encode_header(h, AP_DATA, 2, 0x01020304, 0x00010000);
    const uint8_t want[] = {0x07, 0x02, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00, 0x01, 0x00, 0x00};
    assert_memory_equal(h, want, sizeof(want));
}

static int
parse(const uint8_t *b, size_t n, struct ap_frame *f)
{
    struct err *e = NULL;
    int r = frame_parse(b, n, AP_MAX_PAYLOAD, f, &e);
    if (r < 0) {
        assert_int_equal(e->kind, ERR_INVALID);
        err_clear(&e);
    }
    return r;
}

static void
test_parse_whole_and_partial(void **state)
{
    (void)state;
    uint8_t b[AP_HDR_LEN + 3];
    frame_encode_header(b, AP_DATA, 1, 9, 3);
    memcpy(b + AP_HDR_LEN, "abc", 3);
    struct ap_frame f;
    for (size_t n = 0; n < sizeof(b); n++)
        assert_int_equal(parse(b, n, &f), 0); /* more bytes needed */
    assert_int_equal(parse(b, sizeof(b), &f), 1);
    assert_int_equal(f.type, AP_DATA);
    assert_int_equal(f.flags, 1);
    assert_int_equal(f.session, 9);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.payload, "abc", 3);
}

static void
test_parse_refuses_bad_frames(void **state)
{
    (void)state;
    struct ap_frame f;
    uint8_t b[AP_HDR_LEN + 8] = {0};
    /* unknown type */
    frame_encode_header(b, 0x7f, 0, 2, 0);
    assert_int_equal(parse(b, AP_HDR_LEN, &f), -1);
    /* reserved bits */
    frame_encode_header(b, AP_EOF, 0, 2, 0);
    b[3] = 1;
    assert_int_equal(parse(b, AP_HDR_LEN, &f), -1);
    /* oversize length: refused from the header alone, before the payload arrives */
    frame_encode_header(b, AP_DATA, 1, 2, AP_MAX_PAYLOAD + 1);
    assert_int_equal(parse(b, AP_HDR_LEN, &f), -1);
    struct err *e = NULL;
    frame_encode_header(b, AP_HELLO, 0, 0, AP_MAX_PREAUTH_PAYLOAD + 1);
    assert_int_equal(frame_parse(b, AP_HDR_LEN, AP_MAX_PREAUTH_PAYLOAD, &f, &e), -1);
    err_clear(&e);
    /* shapes: DATA on session 0, stream 3, empty DATA, PING of 7 bytes, CREDIT of 3 bytes,
     * OPEN on the main session, EOF with a payload */
    const uint8_t bad[][4] = {{AP_DATA, 1, 0, 1}, {AP_DATA, 3, 2, 1},   {AP_DATA, 1, 2, 0},
                              {AP_PING, 0, 0, 7}, {AP_CREDIT, 0, 2, 3}, {AP_OPEN, 0, 1, 2},
                              {AP_EOF, 0, 2, 1},  {AP_CANCEL, 0, 1, 0}, {AP_HELLO, 0, 3, 2}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        frame_encode_header(b, bad[i][0], bad[i][1], bad[i][2], bad[i][3]);
        assert_int_equal(parse(b, sizeof(b), &f), -1);
    }
}

static void
test_json_and_getters(void **state)
{
    (void)state;
    const char *p = "{\"op\":\"exec\",\"argv\":[\"sh\",\"-c\"],\"height\":24,\"tty\":true}";
    struct ap_frame f = {
        .type = AP_OPEN, .session = 2, .len = (uint32_t)strlen(p), .payload = (const uint8_t *)p};
    struct err *e = NULL;
    json_t *o = frame_json(&f, &e);
    assert_non_null(o);
    const char *op;
    assert_int_equal(frame_get_str(o, "op", false, 32, &op, &e), 0);
    assert_string_equal(op, "exec");
    int64_t h = 0;
    assert_int_equal(frame_get_int(o, "height", false, 0, 65535, &h, &e), 0);
    assert_int_equal(h, 24);
    assert_int_equal(frame_get_int(o, "height", false, 0, 10, &h, &e), -1); /* range */
    err_clear(&e);
    assert_int_equal(frame_get_int(o, "width", false, 0, 10, &h, &e), -1); /* missing */
    err_clear(&e);
    bool tty = false;
    assert_int_equal(frame_get_bool(o, "tty", &tty, &e), 0);
    assert_true(tty);
    char **argv = NULL;
    assert_int_equal(frame_get_strv(o, "argv", 16, &argv, &e), 0);
    assert_string_equal(argv[1], "-c");
    assert_null(argv[2]);
    free(argv[0]), free(argv[1]), free(argv);
    assert_int_equal(frame_get_strv(o, "argv", 1, &argv, &e), -1); /* too many */
    err_clear(&e);
    json_decref(o);
    /* not an object, trailing bytes, embedded NUL in a string */
    const char *bad[] = {"[1]", "{} x", "{\"op\":\"a\\u0000b\"}"};
    for (size_t i = 0; i < 3; i++) {
        f.payload = (const uint8_t *)bad[i];
        f.len = (uint32_t)strlen(bad[i]);
        o = frame_json(&f, &e);
        if (o != NULL) {
            assert_int_equal(frame_get_str(o, "op", false, 32, &op, &e), -1);
            json_decref(o);
        }
        assert_non_null(e);
        err_clear(&e);
    }
}

static void
test_error_round_trip(void **state)
{
    (void)state;
    struct err *e = NULL;
    err_make(&e, ERR_NOT_FOUND, 2, "no such file");
    json_t *o = frame_err_json(e);
    err_clear(&e);
    assert_int_equal(frame_err_from_json(o, "stat", &e), -1);
    assert_int_equal(e->kind, ERR_NOT_FOUND);
    assert_int_equal(e->errnum, 2);
    assert_string_equal(e->msg, "stat: no such file");
    err_clear(&e);
    json_decref(o);
    o = json_pack("{s:s}", "kind", "martian");
    frame_err_from_json(o, "x", &e);
    assert_int_equal(e->kind, ERR_INTERNAL);
    err_clear(&e);
    json_decref(o);
}

static void
test_token_equal(void **state)
{
    (void)state;
    assert_true(frame_token_equal("secret", "secret"));
    assert_false(frame_token_equal("secret", "secreT"));
    assert_false(frame_token_equal("secret", "secret2"));
    assert_false(frame_token_equal("", "secret"));
}

static void
test_addresses(void **state)
{
    (void)state;
    struct wire_addr a;
    assert_int_equal(wire_addr_parse("tcp:10.0.0.1:7000", &a, NULL), 0);
    assert_false(a.is_unix);
    assert_string_equal(a.host, "10.0.0.1");
    assert_string_equal(a.port, "7000");
    wire_addr_fini(&a);
    assert_int_equal(wire_addr_parse("tcp://[::1]:80", &a, NULL), 0);
    assert_string_equal(a.host, "::1");
    wire_addr_fini(&a);
    assert_int_equal(wire_addr_parse("unix:/run/a.sock", &a, NULL), 0);
    assert_true(a.is_unix);
    assert_string_equal(a.host, "/run/a.sock");
    wire_addr_fini(&a);
    const char *bad[] = {"tcp:host",   "tcp::80", "tcp:h:99999",  "tcp:h:8x",
                         "http://h:1", "unix:",   "tcp://[::1]80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct err *e = NULL;
        assert_int_equal(wire_addr_parse(bad[i], &a, &e), -1);
        assert_int_equal(e->kind, ERR_INVALID);
        err_clear(&e);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_parse_whole_and_partial),
        cmocka_unit_test(test_parse_refuses_bad_frames),
        cmocka_unit_test(test_json_and_getters),
        cmocka_unit_test(test_error_round_trip),
        cmocka_unit_test(test_token_equal),
        cmocka_unit_test(test_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
