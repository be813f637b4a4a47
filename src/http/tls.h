/*
 * tls: the server's TLS material for TCP listeners (--tls, --tlsverify), as dockerd takes it.
 *
 * Loads the PEM certificate, key and, for client verification, the CA bundle from files and
 * checks them at start-up (the key matches the certificate, the CA file holds at least one
 * certificate), so that a mistake is a start-up error rather than a failed handshake later.
 * The handshake itself is libmicrohttpd's (GnuTLS); see server.h.
 */
#ifndef SOCKERLESS_HTTP_TLS_H
#define SOCKERLESS_HTTP_TLS_H

#include <stdbool.h>

#include "base/err.h"

struct http_tls {
    char *cert_pem; /* owned, NUL-terminated */
    char *key_pem;  /* owned, NUL-terminated */
    char *ca_pem;   /* owned; NULL: client certificates are not asked for */
};

/* Reads and checks the files; ca_path NULL for TLS without client verification. ERR_INVALID
 * with the file name for a missing, unreadable, oversized or malformed file. */
struct http_tls *http_tls_load(const char *cert_path, const char *key_path, const char *ca_path,
                               struct err **err);
void http_tls_free(struct http_tls *tls);
/* True when a client must present a certificate signed by the CA (--tlsverify). */
bool http_tls_verifies_clients(const struct http_tls *tls);

/* On a server session (a gnutls_session_t) before its handshake: the handshake fails unless
 * the client presents a certificate that verifies against the session's trust list. */
void http_tls_session_require_cert(void *session);
/* True when the session's client presented a certificate that verifies. */
bool http_tls_session_verified(void *session);

#endif
