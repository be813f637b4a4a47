/*
 * ossl_dl: OpenSSL (libssl and libcrypto) loaded with dlopen at its first use instead of linked.
 *
 * Mapping and relocating libcrypto (bound at load, 20,000 relocations) was the largest part of
 * the daemon's start-up once libarchive and libmicrohttpd were static, and the largest library
 * in its idle memory (bench/README.md), yet a daemon that only answers queries never talks TLS
 * to an agent or a registry (layers are hashed with nettle, base/digest.h). With
 * SOCKERLESS_STATIC_LIBS this file defines the OpenSSL functions the daemon calls (image/, api/,
 * driver/agent.c, agentproto/);
 * the first call loads libssl.so.3, whose dependency is libcrypto.so.3, and each call goes to
 * the loaded library. libcurl, loaded later (image/curl_dl.h), shares the same two libraries, so
 * an SSL_CTX that libcurl hands to a callback is the one these functions work on.
 *
 * When the library cannot be loaded, every function fails the OpenSSL way (0, NULL, -1) or does
 * nothing, and ossl_dl_load says why. Not for: a build that links OpenSSL itself
 * (SOCKERLESS_STATIC_LIBS off), where ossl_dl_load only succeeds.
 */
#ifndef SOCKERLESS_BASE_OSSL_DL_H
#define SOCKERLESS_BASE_OSSL_DL_H

#include "base/err.h"

/* Loads OpenSSL once; ERR_UNSUPPORTED with dlopen's or dlsym's message when it cannot. */
int ossl_dl_load(struct err **err);

#endif
