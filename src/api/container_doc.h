/*
 * container_doc: what api/ keeps of a create request for inspect to echo: the HostConfig
 * with Docker's defaults filled in, and the Config members the engine does not model
 * (ExposedPorts, Volumes, Healthcheck, OnBuild, Shell, ...). Attached to the container as its
 * opaque api_doc.
 */
#ifndef SOCKERLESS_API_CONTAINER_DOC_H
#define SOCKERLESS_API_CONTAINER_DOC_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "engine/engine.h"
#include "http/request.h"

struct container_doc {
    /* Full, defaults filled, until container_doc_compact leaves only the members that differ
     * from the defaults (a full tree costs ~10 KiB a container). */
    json_t *host_config;
    json_t *config; /* the request's Config members, as given */
    /* The list entry's members that never change after create (Id, Image, Command, Labels,
     * Mounts, ...) encoded once, without braces, by the first list that shows the container;
     * under the engine lock. NULL until then. */
    char *list_fixed;
    /* Encoded answers kept while the engine's gen (engine/engine.h) stays gen: nothing under
     * the engine lock changed since they were made. Under the engine lock. */
    uint64_t gen;
    struct http_shared *inspect; /* the inspect answer (a reference); NULL: none kept */
    char *list_head; /* the list entry up to the Status text: `{..., "Status":"`; or NULL */
    char *list_tail; /* and after it: `", "NetworkSettings":{...}}` */
    size_t list_head_len, list_tail_len;
};

void container_doc_free(void *doc);
/* Drops the HostConfig members equal to Docker's defaults (once the create request is
 * checked). */
void container_doc_compact(struct container_doc *doc);
/* The full HostConfig (new reference): the defaults with the container's members over them. */
json_t *container_doc_host_config(const struct container_doc *doc);
/* Decodes a create body into req (spec, name = the `name` query argument or NULL, doc).
 * ERR_INVALID on bad input; free req with container_create_fini either way. */
int container_doc_decode(const char *name, json_t *body, struct container_create *req,
                         struct err **err);

#endif
