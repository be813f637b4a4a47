#include "api/mux.h"

#include <string.h>

void
mux_header(enum mux_stream stream, uint32_t len, unsigned char hdr[MUX_HEADER_LEN])
{
    hdr[0] = (unsigned char)stream;
    hdr[1] = hdr[2] = hdr[3] = 0;
    hdr[4] = (unsigned char)(len >> 24);
    hdr[5] = (unsigned char)(len >> 16);
    hdr[6] = (unsigned char)(len >> 8);
    hdr[7] = (unsigned char)len;
}

void
mux_decoder_init(struct mux_decoder *d)
{
    memset(d, 0, sizeof(*d));
}

bool
mux_decoder_feed(struct mux_decoder *d, const char *data, size_t len, mux_payload_fn fn, void *ctx)
{
    while (len > 0) {
        if (d->left == 0) {
            size_t take = MUX_HEADER_LEN - d->hdr_have;
            if (take > len)
                take = len;
            memcpy(d->hdr + d->hdr_have, data, take);
            d->hdr_have += take;
            data += take;
            len -= take;
            if (d->hdr_have < MUX_HEADER_LEN)
                return true;
            d->hdr_have = 0;
            if (d->hdr[0] > MUX_STDERR || d->hdr[1] || d->hdr[2] || d->hdr[3])
                return false;
            d->stream = (enum mux_stream)d->hdr[0];
            d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                      (uint32_t)d->hdr[6] << 8 | d->hdr[7];
            if (d->left > MUX_MAX_FRAME)
                return false;
            continue;
        }
        size_t take = d->left < len ? d->left : len;
        fn(ctx, d->stream, data, take);
        d->left -= (uint32_t)take;
        data += take;
        len -= take;
    }
    return true;
}
