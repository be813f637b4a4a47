/*
 * wire: one protocol connection's bytes: the socket (plain or TLS, non-blocking), a bounded
 * input buffer that frames are parsed from, and a bounded output queue of encoded frames.
 * Also the transport helpers both ends need: address parsing, dialling and listening, the TLS
 * contexts, and blocking handshake I/O with a deadline. Not thread-safe: the daemon's client
 * serialises access with its own lock, the agent is single-threaded.
 */
#ifndef SOCKERLESS_AGENTPROTO_WIRE_H
#define SOCKERLESS_AGENTPROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "agentproto/frame.h"
#include "base/err.h"

enum {
    WIRE_IN_CAP = 2 * (AP_HDR_LEN + AP_MAX_PAYLOAD),
    WIRE_OUT_CAP = 4 * 1024 * 1024 + 2 * AP_WINDOW, /* queued bytes beyond this: peer stuck */
};

struct wire {
    int fd;
    SSL *ssl; /* NULL: plaintext */
    uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_off, out_len, out_alloc;
    size_t max_payload; /* AP_MAX_PREAUTH_PAYLOAD until the handshake is done */
    bool ssl_read_wants_write, ssl_write_wants_read;
    bool eof;
};

/* Takes fd (made non-blocking here) and ssl (may be NULL; already handshaken). */
void wire_init(struct wire *w, int fd, SSL *ssl);
/* Closes the fd and frees the SSL and buffers. */
void wire_fini(struct wire *w);

/* Queues one frame. ERR_TOO_LARGE when the queue would pass WIRE_OUT_CAP. */
int wire_send(struct wire *w, uint8_t type, uint8_t flags, uint32_t session, const void *payload,
              size_t len, struct err **err);
/* Queues a control frame carrying obj (not consumed). */
int wire_send_json(struct wire *w, uint8_t type, uint32_t session, json_t *obj, struct err **err);
/* Queues an ERROR frame for e on session. */
int wire_send_err(struct wire *w, uint32_t session, const struct err *e, struct err **err);
/* Writes as much of the queue as the socket takes now. -1 when the connection failed. */
int wire_flush(struct wire *w, struct err **err);
bool wire_has_output(const struct wire *w);
/* Reads what the socket has now into the input buffer (until it is full). -1 on a failed
 * connection; the peer's orderly close sets w->eof and returns 0. */
int wire_fill(struct wire *w, struct err **err);
/* True when the TLS layer holds decrypted bytes the input buffer had no room for. */
bool wire_has_pending(const struct wire *w);
/* The next whole frame in the input buffer: 1 (f valid until wire_consume), 0 none, -1
 * protocol error. */
int wire_next(struct wire *w, struct ap_frame *f, struct err **err);
void wire_consume(struct wire *w, const struct ap_frame *f);
/* The poll events the wire waits for. */
short wire_poll_events(const struct wire *w);

/* Blocking helpers for the handshake: send everything queued, and wait for the next frame,
 * both until deadline_ms (timeutil monotonic milliseconds). */
int wire_flush_until(struct wire *w, int64_t deadline_ms, struct err **err);
int wire_recv_until(struct wire *w, struct ap_frame *f, int64_t deadline_ms, struct err **err);

/* A monotonic clock in milliseconds. */
int64_t wire_now_ms(void);

/* Addresses: "tcp:HOST:PORT", "tcp://HOST:PORT", "unix:PATH", "unix://PATH". *host (new
 * string, the TLS name to check) is NULL for unix. */
struct wire_addr {
    bool is_unix;
    char *host; /* tcp: host without brackets; unix: the path */
    char *port;
};
int wire_addr_parse(const char *s, struct wire_addr *out, struct err **err);
void wire_addr_fini(struct wire_addr *a);
/* A connected, close-on-exec, blocking socket to a, within timeout_ms. ERR_UNAVAILABLE. */
int wire_dial(const struct wire_addr *a, int timeout_ms, struct err **err);
/* A listening close-on-exec socket on a (a unix path is replaced when it is a stale socket). */
int wire_listen(const struct wire_addr *a, struct err **err);

/* TLS contexts: a client context that verifies peers with ca_file, a server context with
 * cert_file and key_file. ERR_INVALID when a file cannot be loaded. */
SSL_CTX *wire_tls_client_ctx(const char *ca_file, struct err **err);
SSL_CTX *wire_tls_server_ctx(const char *cert_file, const char *key_file, struct err **err);
/* Runs the TLS handshake on the blocking socket fd until deadline_ms; a client checks the
 * peer's certificate for name. Returns the SSL or NULL with ERR_UNAVAILABLE. */
SSL *wire_tls_handshake(SSL_CTX *ctx, int fd, bool server, const char *name, int64_t deadline_ms,
                        struct err **err);

#endif
