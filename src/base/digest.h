/*
 * digest: SHA-256 in Docker's "sha256:<64 hex>" form (OpenSSL).
 */
#ifndef SOCKERLESS_BASE_DIGEST_H
#define SOCKERLESS_BASE_DIGEST_H

#include <stddef.h>

enum { DIGEST_LEN = 7 + 64 }; /* "sha256:" + hex */

/* Writes "sha256:<hex of SHA-256(data)>" and a NUL into out. */
void digest_sha256(const void *data, size_t len, char out[DIGEST_LEN + 1]);

#endif
