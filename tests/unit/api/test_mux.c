#include "../cmocka_prelude.h"

#include <string.h>

#include "api/mux.h"

struct sink {
    char out[64], err[64];
    size_t out_len, err_len;
};

static void
collect(void *ctx, enum mux_stream stream, const char *data, size_t len)
{
    struct sink *s = ctx;
    if (stream == MUX_STDOUT) {
        memcpy(s->out + s->out_len, data, len);
        s->out_len += len;
    } else {
        memcpy(s->err + s->err_len, data, len);
        s->err_len += len;
    }
}

static void
test_header_bytes(void **state)
{
    (void)state;
    unsigned char h[MUX_HEADER_LEN];
    mux_header(MUX_STDERR, 0x01020304, h);
    const unsigned char want[] = {2, 0, 0, 0, 1, 2, 3, 4};
    assert_memory_equal(h, want, sizeof(want));
}

static void
test_decode_byte_by_byte(void **state)
{
    (void)state;
    char wire[64];
    size_t n = 0;
    unsigned char h[MUX_HEADER_LEN];
    mux_header(MUX_STDOUT, 5, h);
    memcpy(wire + n, h, 8);
    n += 8;
    memcpy(wire + n, "hello", 5);
    n += 5;
    mux_header(MUX_STDERR, 3, h);
    memcpy(wire + n, h, 8);
    n += 8;
    memcpy(wire + n, "bad", 3);
    n += 3;
    struct mux_decoder d;
    mux_decoder_init(&d);
    struct sink s = {0};
    for (size_t i = 0; i < n; i++)
        assert_true(mux_decoder_feed(&d, wire + i, 1, collect, &s));
    assert_int_equal(s.out_len, 5);
    assert_memory_equal(s.out, "hello", 5);
    assert_int_equal(s.err_len, 3);
    assert_memory_equal(s.err, "bad", 3);
}

static void
test_rejects_malformed(void **state)
{
    (void)state;
    struct mux_decoder d;
    struct sink s = {0};
    const char bad_stream[8] = {7, 0, 0, 0, 0, 0, 0, 1};
    mux_decoder_init(&d);
    assert_false(mux_decoder_feed(&d, bad_stream, 8, collect, &s));
    const char bad_pad[8] = {1, 1, 0, 0, 0, 0, 0, 1};
    mux_decoder_init(&d);
    assert_false(mux_decoder_feed(&d, bad_pad, 8, collect, &s));
    const char huge[8] = {1, 0, 0, 0, 0x7f, 0, 0, 0};
    mux_decoder_init(&d);
    assert_false(mux_decoder_feed(&d, huge, 8, collect, &s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_decode_byte_by_byte),
        cmocka_unit_test(test_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
