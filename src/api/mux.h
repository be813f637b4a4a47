/*
 * mux: Docker's multiplexed stream framing (compat-notes 8), used by logs, attach and exec
 * without a TTY: an 8-byte header [stream, 0, 0, 0, size as big-endian uint32], then the
 * payload. stdin = 0, stdout = 1, stderr = 2. A zero-length frame is never produced.
 */
#ifndef SOCKERLESS_API_MUX_H
#define SOCKERLESS_API_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mux_stream { MUX_STDIN = 0, MUX_STDOUT = 1, MUX_STDERR = 2 };
enum { MUX_HEADER_LEN = 8, MUX_MAX_FRAME = 1 << 20 };

/* Writes the header of a frame carrying len bytes of stream into hdr. */
void mux_header(enum mux_stream stream, uint32_t len, unsigned char hdr[MUX_HEADER_LEN]);

/* Incremental decoder for the other direction (tests, the agent protocol's peers). */
struct mux_decoder {
    unsigned char hdr[MUX_HEADER_LEN];
    size_t hdr_have;
    enum mux_stream stream;
    uint32_t left; /* payload bytes still to come in the current frame */
};

/* Called for each payload piece. */
typedef void (*mux_payload_fn)(void *ctx, enum mux_stream stream, const char *data, size_t len);

void mux_decoder_init(struct mux_decoder *d);
/* Feeds bytes; returns false on a malformed header (unknown stream, nonzero padding, frame
 * larger than MUX_MAX_FRAME). */
bool mux_decoder_feed(struct mux_decoder *d, const char *data, size_t len, mux_payload_fn fn,
                      void *ctx);

#endif
