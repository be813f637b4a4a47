/*
 * frame: the agent protocol's frame header and its control messages (docs/agent-protocol.md),
 * pure encoding and decoding with no I/O, shared by the daemon's client and the agent. Every
 * decoder treats its input as hostile: bounded lengths, exact sizes, and an error (never a
 * crash) for anything the protocol does not allow.
 */
#ifndef SOCKERLESS_AGENTPROTO_FRAME_H
#define SOCKERLESS_AGENTPROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"

enum {
    AP_VERSION = 1,
    AP_HDR_LEN = 12,
    AP_MAX_PAYLOAD = 65536,
    AP_MAX_PREAUTH_PAYLOAD = 16384, /* the HELLO/WELCOME/ERROR of the handshake */
    AP_WINDOW = 262144,             /* the initial credit of each direction of a session */
    AP_MAIN_SESSION = 1,
};

enum ap_type {
    AP_HELLO = 0x01,
    AP_WELCOME = 0x02,
    AP_PING = 0x03,
    AP_PONG = 0x04,
    AP_OPEN = 0x05,
    AP_REPLY = 0x06,
    AP_DATA = 0x07,
    AP_EOF = 0x08,
    AP_CREDIT = 0x09,
    AP_CONTROL = 0x0A,
    AP_END = 0x0B,
    AP_ERROR = 0x0C,
    AP_CANCEL = 0x0D,
};

struct ap_frame {
    uint8_t type;
    uint8_t flags;
    uint32_t session;
    uint32_t len;
    const uint8_t *payload; /* borrowed from the buffer the frame was parsed from */
};

/* Writes the 12-byte header of a frame into out. */
void frame_encode_header(uint8_t out[AP_HDR_LEN], uint8_t type, uint8_t flags, uint32_t session,
                         uint32_t len);

/* Parses one frame from the front of buf (len bytes available) with payloads up to
 * max_payload. Returns 1 and fills *out (payload pointing into buf) when a whole frame is
 * there, 0 when more bytes are needed, -1 with ERR_INVALID on a protocol error: unknown type,
 * reserved bits set, flags or session id or length out of range for the type. */
int frame_parse(const uint8_t *buf, size_t len, size_t max_payload, struct ap_frame *out,
                struct err **err);

/* The payload of a control frame as a JSON object (a new reference), or NULL with ERR_INVALID
 * when it is not exactly one JSON object. */
json_t *frame_json(const struct ap_frame *f, struct err **err);

/* The u32 of a CREDIT frame. */
uint32_t frame_credit(const struct ap_frame *f);

/* Typed field getters over a message object: ERR_INVALID when the field is missing (unless
 * optional), of the wrong type, or out of range. The string getter's result is borrowed. */
int frame_get_str(json_t *o, const char *key, bool optional, size_t max_len, const char **out,
                  struct err **err);
int frame_get_int(json_t *o, const char *key, bool optional, int64_t min, int64_t max, int64_t *out,
                  struct err **err);
int frame_get_bool(json_t *o, const char *key, bool *out, struct err **err);
/* A NULL-ended array copy of a JSON array of strings (at most max_items); NULL member: none.
 * *out is NULL when the key is absent or null. */
int frame_get_strv(json_t *o, const char *key, size_t max_items, char ***out, struct err **err);

/* ERROR payloads: the JSON of an error, and an error from the JSON (kind by name; unknown
 * kinds read as ERR_INTERNAL). frame_err_from_json returns -1 (the err_make convention). */
json_t *frame_err_json(const struct err *e);
int frame_err_from_json(json_t *o, const char *context, struct err **err);
const char *frame_kind_wire_name(enum err_kind kind);

/* SHA-256 of both tokens compared with CRYPTO_memcmp: the time depends on neither. */
bool frame_token_equal(const char *a, const char *b);

#endif
