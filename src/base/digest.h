/*
 * digest: SHA-256 in Docker's "sha256:<64 hex>" form (nettle, linked statically: hashing a
 * layer does not load OpenSSL, base/ossl_dl.h).
 */
#ifndef SOCKERLESS_BASE_DIGEST_H
#define SOCKERLESS_BASE_DIGEST_H

#include <stddef.h>

enum { DIGEST_LEN = 7 + 64 }; /* "sha256:" + hex */

/* Writes "sha256:<hex of SHA-256(data)>" and a NUL into out. */
void digest_sha256(const void *data, size_t len, char out[DIGEST_LEN + 1]);

/* An incremental SHA-256: new (aborts when out of memory), update, final; reset starts over. */
struct digest_sha256;
struct digest_sha256 *digest_sha256_new(void);
void digest_sha256_update(struct digest_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" of everything hashed since new or reset, then resets h. */
void digest_sha256_final(struct digest_sha256 *h, char out[DIGEST_LEN + 1]);
void digest_sha256_reset(struct digest_sha256 *h);
void digest_sha256_free(struct digest_sha256 *h);

#endif
