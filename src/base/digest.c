#include "base/digest.h"

#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct digest_sha256 {
    struct sha256_ctx ctx;
};

static void
hex_out(const unsigned char md[SHA256_DIGEST_SIZE], char out[DIGEST_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[7 + 2 * i + 1] = hex[md[i] & 15];
    }
    out[DIGEST_LEN] = '\0';
}

void
digest_sha256(const void *data, size_t len, char out[DIGEST_LEN + 1])
{
    struct sha256_ctx ctx;
    unsigned char md[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, sizeof(md), md);
    hex_out(md, out);
}

struct digest_sha256 *
digest_sha256_new(void)
{
    struct digest_sha256 *h = xmalloc(sizeof(*h));
    sha256_init(&h->ctx);
    return h;
}

void
digest_sha256_update(struct digest_sha256 *h, const void *data, size_t len)
{
    sha256_update(&h->ctx, len, data);
}

void
digest_sha256_final(struct digest_sha256 *h, char out[DIGEST_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_SIZE];
    sha256_digest(&h->ctx, sizeof(md), md); /* also resets the context */
    hex_out(md, out);
}

void
digest_sha256_reset(struct digest_sha256 *h)
{
    sha256_init(&h->ctx);
}

void
digest_sha256_free(struct digest_sha256 *h)
{
    free(h);
}
