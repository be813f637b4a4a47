/*
 * fuzz_mux: multiplexed stream frames (compat-notes 8) from arbitrary bytes through the
 * incremental mux_decoder, fed whole and fed in pieces (sizes from the first byte): both must
 * agree on the verdict and on every payload byte, and what a valid stream delivers must
 * re-encode (mux_header) to the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/mux.h"
#include "base/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The payload pieces in order, each tagged with its stream; adjacent pieces of one stream are
 * merged so that the whole and the piecewise feeds compare equal. */
struct sink {
    struct buf out;
    int last_stream;
};

static void
collect(void *ctx, enum mux_stream stream, const char *data, size_t len)
{
    struct sink *s = ctx;
    if (len == 0)
        abort(); /* the decoder never hands out empty pieces */
    if ((int)stream != s->last_stream) {
        char tag = (char)('0' + stream);
        (void)buf_append(&s->out, &tag, 1, NULL);
        s->last_stream = (int)stream;
    }
    (void)buf_append(&s->out, data, len, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    size_t step = (size_t)data[0] % 13 + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    struct sink whole = {.last_stream = -1}, pieces = {.last_stream = -1};
    buf_init(&whole.out, 1 << 20);
    buf_init(&pieces.out, 1 << 20);
    struct mux_decoder d;
    mux_decoder_init(&d);
    bool ok_whole = mux_decoder_feed(&d, in, len, collect, &whole);
    bool at_boundary = d.left == 0 && d.hdr_have == 0;

    mux_decoder_init(&d);
    bool ok_pieces = true;
    for (size_t off = 0; off < len && ok_pieces; off += step)
        ok_pieces =
            mux_decoder_feed(&d, in + off, len - off < step ? len - off : step, collect, &pieces);
    if (ok_whole != ok_pieces)
        abort();
    if (ok_whole &&
        (whole.out.len != pieces.out.len ||
         (whole.out.len > 0 && memcmp(whole.out.data, pieces.out.data, whole.out.len) != 0)))
        abort();

    /* A valid stream that ends on a frame boundary and has no empty frames re-encodes to
     * itself: walk it again with the header's own lengths. */
    if (ok_whole && at_boundary) {
        size_t off = 0, payload = 0;
        while (off + MUX_HEADER_LEN <= len) {
            const unsigned char *h = (const unsigned char *)in + off;
            uint32_t n = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
            unsigned char again[MUX_HEADER_LEN];
            mux_header((enum mux_stream)h[0], n, again);
            if (memcmp(again, h, MUX_HEADER_LEN) != 0)
                abort();
            off += MUX_HEADER_LEN + n;
            payload += n;
        }
        if (off != len)
            abort();
        if (payload > whole.out.len)
            abort(); /* every payload byte was delivered (plus the stream tags) */
    }
    buf_fini(&whole.out);
    buf_fini(&pieces.out);
    return 0;
}
