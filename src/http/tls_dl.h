/*
 * tls_dl: GnuTLS loaded with dlopen when the first TLS listener is set up, instead of linked.
 *
 * GnuTLS is only needed for TCP listeners with --tls or --tlsverify, yet linking it costs every
 * daemon its start-up: the loader maps it with p11-kit, nettle, hogweed, gmp, libtasn1, libidn2
 * and libunistring, and its constructor initialises the library (bench/README.md, cold start).
 * The build links libmicrohttpd from its static archive (SOCKERLESS_STATIC_LIBS) and this file
 * defines the GnuTLS functions that libmicrohttpd and http/tls.c call: each loads the library
 * on first use and calls the real one. libmicrohttpd's constructor calls gnutls_global_init;
 * until the library is loaded that call is only counted, and replayed at the load.
 *
 * Not for: a build that links GnuTLS itself (SOCKERLESS_STATIC_LIBS off), where these
 * definitions are left out and tls_dl_load only succeeds.
 */
#ifndef SOCKERLESS_HTTP_TLS_DL_H
#define SOCKERLESS_HTTP_TLS_DL_H

#include "base/err.h"

/* Loads GnuTLS once (later calls return at once); ERR_UNSUPPORTED with dlopen's or dlsym's
 * message when it cannot, after which every GnuTLS call fails (GNUTLS_E_INTERNAL_ERROR,
 * NULL) or does nothing. */
int tls_dl_load(struct err **err);

#endif
