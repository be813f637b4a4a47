/*
 * decode: the request bodies of create, exec, network and volume endpoints decoded into the
 * engine's C types without touching the engine, so that what a client sends can be checked
 * (and fuzzed, tests/fuzz/fuzz_bodies.c) on its own. The handlers call these, then the engine.
 * Every decoder leaves *out to its _fini on failure too.
 */
#ifndef SOCKERLESS_API_DECODE_H
#define SOCKERLESS_API_DECODE_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "base/labels.h"
#include "engine/engine.h"
#include "engine/network.h"

/* A request body as a JSON object (ERR_INVALID when empty, malformed, duplicated keys or not an
 * object). New reference. */
json_t *api_parse_object(const void *data, size_t len, struct err **err);

/* POST /containers/{id}/exec. */
int api_exec_create_decode(json_t *body, struct exec_spec *out, struct err **err);

/* POST /networks/create, name checked. */
int api_network_create_decode(json_t *body, struct network_spec *out, struct err **err);

/* POST /networks/{id}/connect. */
struct network_connect_req {
    char *container; /* never empty after a successful decode */
    char *ipv4;      /* NULL when not given */
    char **aliases;  /* NULL-ended, or NULL */
};
int api_network_connect_decode(json_t *body, struct network_connect_req *out, struct err **err);
void network_connect_req_fini(struct network_connect_req *r);

/* POST /volumes/create: only the local driver, without options. */
struct volume_create_req {
    char *name;   /* NULL or empty: a generated name */
    char *driver; /* NULL, "" or "local" */
    struct labels labels;
    struct labels opts;
};
int api_volume_create_decode(json_t *body, struct volume_create_req *out, struct err **err);
void volume_create_req_fini(struct volume_create_req *r);

#endif
