/*
 * container_doc: what api/ keeps of a create request for inspect to echo: the HostConfig
 * with Docker's defaults filled in, and the Config members the engine does not model
 * (ExposedPorts, Volumes, Healthcheck, OnBuild, Shell, ...). Attached to the container as its
 * opaque api_doc.
 */
#ifndef SOCKERLESS_API_CONTAINER_DOC_H
#define SOCKERLESS_API_CONTAINER_DOC_H

#include <jansson.h>

#include "base/err.h"
#include "engine/engine.h"
#include "http/request.h"

struct container_doc {
    json_t *host_config; /* full, defaults filled */
    json_t *config;      /* the request's Config members, as given */
    /* The list entry's members that never change after create (Id, Image, Command, Labels,
     * Mounts, ...) encoded once, without braces, by the first list that shows the container;
     * under the engine lock. NULL until then. */
    char *list_fixed;
};

void container_doc_free(void *doc);
/* Decodes a create body into req (spec, name from the query, doc). ERR_INVALID on bad input. */
int container_doc_decode(const struct http_request *hreq, json_t *body,
                         struct container_create *req, struct err **err);

#endif
